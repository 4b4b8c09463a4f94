//! GET /
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve(payment_shared::surfaces::intents::root).await
}
