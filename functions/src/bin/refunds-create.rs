//! POST /api/v1/payments/{id}/refunds
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve_with_gateways(payment_shared::surfaces::refunds::create).await
}
