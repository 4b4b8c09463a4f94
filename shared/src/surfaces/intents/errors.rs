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

/// A 422 body: every invalid field, or why an Idempotency-Key was refused.
pub struct Unprocessable;

impl utoipa::PartialSchema for Unprocessable {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::http::schema::any_of([
            <HTTPValidationError as utoipa::PartialSchema>::schema(),
            <ErrorDetail as utoipa::PartialSchema>::schema(),
        ])
    }
}

impl utoipa::ToSchema for Unprocessable {}

/// Validation Error, or an Idempotency-Key already used with another request.
#[derive(IntoResponses)]
#[response(status = 422)]
pub struct Invalid(#[to_schema] pub Unprocessable);

/// An Idempotency-Key that is not 1-255 visible ASCII characters.
#[derive(IntoResponses)]
#[response(status = 400)]
pub struct BadKey(#[to_schema] pub ErrorDetail);

/// A pagination cursor that this API did not issue.
#[derive(IntoResponses)]
#[response(status = 400)]
pub struct BadCursor(#[to_schema] pub ErrorDetail);

/// The request body is over 64 KiB.
#[derive(IntoResponses)]
#[response(status = 413)]
pub struct TooLarge(#[to_schema] pub ErrorDetail);

/// The card intent's gateway could not be reached, or refused, to end it:
/// nothing changed.
#[derive(utoipa::IntoResponses)]
#[response(status = 502)]
pub struct GatewayDown(#[to_schema] pub ErrorDetail);

/// The card intent's gateway did not answer in time to end it: nothing
/// changed; retry.
#[derive(utoipa::IntoResponses)]
#[response(status = 504)]
pub struct GatewayTimedOut(#[to_schema] pub ErrorDetail);
