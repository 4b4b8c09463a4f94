//! POST /payment/intents
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("intents-create").await
}
