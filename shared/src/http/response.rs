use lambda_http::{Body, Response};
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

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

/// `value` as the JSON body. Serialized straight to text, so a [`JsonDecimal`]
/// inside stays the exact digits (a `serde_json::Value` would turn it into a float).
pub fn json_of<T: Serialize>(status: u16, value: &T) -> Response<Body> {
    // Wire structs of strings, numbers and decimals always serialize.
    let text = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        "content-type",
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    response
}

/// A page of a list: the items as JSON, and an opaque `X-Next-Cursor` when more remain.
pub fn json_page<T: Serialize>(items: &[T], next: Option<String>) -> Response<Body> {
    let mut response = json_of(200, &items);
    if let Some(next) = next.and_then(|n| lambda_http::http::HeaderValue::from_str(&n).ok()) {
        response.headers_mut().insert("x-next-cursor", next);
    }
    response
}

/// Money as a JSON number with exactly its decimal digits (`500`, `112.5`, `1.250`):
/// never through a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonDecimal(pub Decimal);

impl Serialize for JsonDecimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = serde_json::value::RawValue::from_string(self.0.normalize().to_string())
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_render_as_exact_json_numbers() {
        let render = |minor: i64, scale: u32| {
            serde_json::to_string(&JsonDecimal(Decimal::new(minor, scale))).expect("json")
        };
        assert_eq!(render(50000, 2), "500");
        assert_eq!(render(11250, 2), "112.5");
        assert_eq!(render(9_999_999_999, 2), "99999999.99");
        assert_eq!(render(1, 3), "0.001");
    }
}
