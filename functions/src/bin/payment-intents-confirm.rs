//! POST /api/v1/PaymentIntents/{id}/confirm
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve_with_gateways(payment_shared::surfaces::payment_intents::confirm)
        .await
}
