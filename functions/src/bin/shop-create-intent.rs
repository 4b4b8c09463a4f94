//! POST /api/v1/shop/orders/{orderId}/payment-intent
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve_with_gateways(payment_shared::surfaces::shop::create_intent)
        .await
}
