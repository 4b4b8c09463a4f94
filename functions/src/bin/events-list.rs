//! GET /api/v1/events
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("events-list").await
}
