//! Every five minutes: the refunds a gateway fault left unsent
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve_refund_pass(payment_shared::surfaces::refund_pass::run).await
}
