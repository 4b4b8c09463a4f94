//! GET /payment/order/{orderId}
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("payments-list-by-order").await
}
