//! Every minute: the webhook deliveries that are due again
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("webhook-retry").await
}
