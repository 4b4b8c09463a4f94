//! POST /payment/intents/cancel
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("intents-cancel").await
}
