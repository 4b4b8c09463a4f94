//! GET /api/v1/payments/{id}/refunds
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("refunds-list").await
}
