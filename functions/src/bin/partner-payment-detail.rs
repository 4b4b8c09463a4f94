//! GET /api/v1/payment/detail/{id}
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve(payment_shared::surfaces::partner::payment_detail).await
}
