//! POST /api/v1/PaymentIntents/webhook/{gatewayId}
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("payment-intents-webhook").await
}
