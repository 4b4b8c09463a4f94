//! GET /openapi.json
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    payment_shared::runtime::serve_without_gateways(payment_shared::surfaces::docs::openapi_json)
        .await
}
