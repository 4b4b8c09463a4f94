//! POST /api/v1/shop/orders/{orderId}/payment-intent
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("shop-create-intent").await
}
