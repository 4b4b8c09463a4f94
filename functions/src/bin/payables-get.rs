//! GET /api/v1/payables/{kind}/{id}
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("payables-get").await
}
