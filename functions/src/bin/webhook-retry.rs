//! Every minute: the webhook deliveries that are due again
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve_deliveries(payment_shared::surfaces::deliveries::retry).await
}
