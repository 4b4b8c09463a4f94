//! POST /api/v1/PaymentIntents/{id}/cancel
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("payment-intents-cancel").await
}
