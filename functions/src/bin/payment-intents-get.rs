//! GET /api/v1/PaymentIntents/{id}
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve(payment_shared::surfaces::payment_intents::get).await
}
