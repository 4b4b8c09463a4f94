//! POST /api/v1/shop/orders/{orderId}/payment
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("shop-mark-paid").await
}
