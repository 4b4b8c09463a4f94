//! POST /payment/intents/request-otp
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("intents-request-otp").await
}
