//! GET /payment/intents/registration/{registration_id}
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("intents-list-by-registration").await
}
