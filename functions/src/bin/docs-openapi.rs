//! GET /openapi.json
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("docs-openapi").await
}
