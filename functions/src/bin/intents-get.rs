//! GET /payment/intents/{intent_id}
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("intents-get").await
}
