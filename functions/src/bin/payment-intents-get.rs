//! GET /api/v1/PaymentIntents/{id}
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("payment-intents-get").await
}
