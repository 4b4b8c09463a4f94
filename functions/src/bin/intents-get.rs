//! GET /payment/intents/{intent_id}
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve(payment_shared::surfaces::intents::get_intent).await
}
