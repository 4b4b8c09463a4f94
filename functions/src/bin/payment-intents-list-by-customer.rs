//! GET /api/v1/PaymentIntents/customer/{customerId}
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve(payment_shared::surfaces::payment_intents::list_by_customer)
        .await
}
