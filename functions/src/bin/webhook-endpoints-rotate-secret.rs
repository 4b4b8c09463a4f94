//! POST /api/v1/webhook-endpoints/{id}/rotate-secret
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve(payment_shared::surfaces::webhook_endpoints::rotate_secret).await
}
