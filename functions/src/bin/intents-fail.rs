//! POST /payment/intents/fail
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve_with_gateways(payment_shared::surfaces::intents::fail).await
}
