//! GET /payment/intents/user/{user_id}
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve(payment_shared::surfaces::intents::list_by_user).await
}
