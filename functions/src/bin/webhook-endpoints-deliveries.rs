//! GET /api/v1/webhook-endpoints/{id}/deliveries
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("webhook-endpoints-deliveries").await
}
