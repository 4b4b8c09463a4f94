//! GET /payment/{id}
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("payments-get").await
}
