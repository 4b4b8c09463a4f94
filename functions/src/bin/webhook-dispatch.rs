//! The table's DynamoDB Stream: each new event, to every subscribed webhook endpoint
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("webhook-dispatch").await
}
