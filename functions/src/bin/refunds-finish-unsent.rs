//! Every five minutes: the refunds a gateway fault left unsent
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::serve_function!("refunds-finish-unsent").await
}
