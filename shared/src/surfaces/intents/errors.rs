//! FastAPI's error bodies: 422 `{"detail": [{"loc", "msg", "type"}]}`,
//! otherwise `{"detail": "…"}`; and the responses every endpoint shares.

use lambda_http::{Body, Response};
use utoipa::IntoResponses;

use super::wire::{ErrorDetail, HTTPValidationError, ValidationError};
use crate::http::{ApiError, Endpoint, ErrorFormat, FieldError, json_of};

pub struct FastApi;

/// Reads answer with FastAPI's errors.
pub const READ: Endpoint = Endpoint {
    errors: &FastApi,
    idempotent: false,
};

/// Changes honour Idempotency-Key.
pub const CHANGE: Endpoint = Endpoint {
    errors: &FastApi,
    idempotent: true,
};

impl ErrorFormat for FastApi {
    fn render(&self, error: &ApiError) -> Response<Body> {
        let mut response = match error {
            ApiError::Validation(errors) => json_of(
                422,
                &HTTPValidationError {
                    detail: errors.iter().map(detail).collect(),
                },
            ),
            other => json_of(
                other.status(),
                &ErrorDetail {
                    detail: other.message(),
                },
            ),
        };
        if error.status() == 401 {
            response.headers_mut().insert(
                "www-authenticate",
                lambda_http::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

fn detail(e: &FieldError) -> ValidationError {
    ValidationError {
        loc: e.loc.clone(),
        msg: e.msg.clone(),
        kind: e.kind.to_owned(),
    }
}

/// Missing or invalid token.
#[derive(IntoResponses)]
#[response(status = 401)]
pub struct Unauthenticated(#[to_schema] pub ErrorDetail);

/// Validation Error
#[derive(IntoResponses)]
#[response(status = 422)]
pub struct Invalid(#[to_schema] pub HTTPValidationError);

/// The request body is over 64 KiB.
#[derive(IntoResponses)]
#[response(status = 413)]
pub struct TooLarge(#[to_schema] pub ErrorDetail);
