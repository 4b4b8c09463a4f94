//! POST /api/v1/shop/orders/{orderId}/payment
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve_with_gateways(payment_shared::surfaces::shop::mark_paid).await
}
