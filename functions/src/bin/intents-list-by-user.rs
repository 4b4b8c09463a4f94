//! GET /payment/intents/user/{user_id}
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("intents-list-by-user").await
}
