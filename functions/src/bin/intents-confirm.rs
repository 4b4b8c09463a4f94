//! POST /payment/intents/confirm
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("intents-confirm").await
}
