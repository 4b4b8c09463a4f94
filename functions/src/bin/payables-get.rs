//! GET /api/v1/payables/{kind}/{id}
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve(payment_shared::surfaces::payables::get).await
}
