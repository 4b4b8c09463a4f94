//! POST /payment/intents/request-otp
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve_with_mail(payment_shared::surfaces::intents::request_otp).await
}
