//! GET /api/v1/PaymentIntents
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve(payment_shared::surfaces::payment_intents::list).await
}
