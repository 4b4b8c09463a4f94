//! POST /payment/intents/fail
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve_without_gateways(payment_shared::surfaces::intents::fail).await
}
