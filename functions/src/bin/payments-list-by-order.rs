//! GET /payment/order/{orderId}
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve(payment_shared::surfaces::payments::list_for_order).await
}
