//! GET /api/v1/PaymentIntents/customer/{customerId}
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("payment-intents-list-by-customer").await
}
