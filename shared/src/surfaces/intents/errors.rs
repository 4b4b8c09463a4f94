//! FastAPI's error bodies: 422 `{"detail": [{"loc", "msg", "type"}]}`,
//! otherwise `{"detail": "…"}`; and the responses every endpoint shares.

use lambda_http::{Body, Response};

use super::wire::{ErrorDetail, HTTPValidationError, ValidationError};
use crate::http::{ApiError, Endpoint, ErrorFormat, FieldError, json_of};
use crate::surfaces::error_responses::{FieldsOrReason, error_responses};

pub struct FastApi;

/// Reads answer with FastAPI's errors.
pub const READ: Endpoint = Endpoint::read(&FastApi);

/// Changes honour Idempotency-Key.
pub const CHANGE: Endpoint = Endpoint::change(&FastApi);

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

error_responses! {
    content_type = "application/json";
    /// Missing or invalid token.
    Unauthenticated(401, ErrorDetail);
    /// Validation Error, or an Idempotency-Key already used with another request.
    Invalid(422, Unprocessable);
    /// An Idempotency-Key that is not 1-255 visible ASCII characters.
    BadKey(400, ErrorDetail);
    /// A pagination cursor that this API did not issue.
    BadCursor(400, ErrorDetail);
    /// The request body is over 64 KiB.
    TooLarge(413, ErrorDetail);
    /// The card intent's gateway could not be reached, or refused, to end it:
    /// nothing changed.
    GatewayDown(502, ErrorDetail);
    /// The card intent's gateway did not answer in time to end it: nothing
    /// changed; retry.
    GatewayTimedOut(504, ErrorDetail);
}

/// A 422 body: every invalid field, or why an Idempotency-Key was refused.
pub type Unprocessable = FieldsOrReason<HTTPValidationError, ErrorDetail>;
