use lambda_http::{Body, Response};

use crate::ports::StoredResponse;

pub fn json(status: u16, value: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(value.to_string()));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        "content-type",
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    response
}

/// A stored first response, sent again with `Idempotent-Replayed: true`.
pub fn replayed(stored: &StoredResponse) -> Response<Body> {
    let mut response = Response::new(Body::Text(stored.body.clone()));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(stored.status)
        .unwrap_or(lambda_http::http::StatusCode::OK);
    let headers = response.headers_mut();
    if let Ok(ct) = lambda_http::http::HeaderValue::from_str(&stored.content_type) {
        headers.insert("content-type", ct);
    }
    headers.insert(
        "idempotent-replayed",
        lambda_http::http::HeaderValue::from_static("true"),
    );
    response
}
