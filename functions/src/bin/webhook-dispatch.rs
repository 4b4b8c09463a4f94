//! The table's DynamoDB Stream: each new event, to every subscribed webhook endpoint
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve_deliveries(payment_shared::surfaces::deliveries::dispatch).await
}
