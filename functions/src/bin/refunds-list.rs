//! GET /api/v1/payments/{id}/refunds
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve(payment_shared::surfaces::refunds::list).await
}
