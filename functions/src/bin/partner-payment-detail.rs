//! GET /api/v1/payment/detail/{id}
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("partner-payment-detail").await
}
