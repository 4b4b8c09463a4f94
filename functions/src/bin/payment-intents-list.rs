//! GET /api/v1/PaymentIntents
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("payment-intents-list").await
}
