//! GET /payment/{id}
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve_without_gateways(payment_shared::surfaces::payments::get).await
}
