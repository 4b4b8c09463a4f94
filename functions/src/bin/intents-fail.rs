//! POST /payment/intents/fail
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("intents-fail").await
}
