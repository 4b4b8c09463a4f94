//! POST /api/v1/webhook-endpoints/{id}/rotate-secret
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("webhook-endpoints-rotate-secret").await
}
