//! The `{"message"}` error dialect of the payments, shop and payables APIs.

use lambda_http::{Body, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::{ApiError, Endpoint, ErrorFormat, json_of};

/// An error: `{"message": "…"}`.
#[derive(Serialize, ToSchema)]
pub struct MessageError {
    #[schema(example = "Order not found")]
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct FieldMessage {
    #[schema(example = "amount")]
    pub field: String,
    #[schema(example = "amount must be greater than zero")]
    pub message: String,
}

/// 400: every invalid field at once.
#[derive(Serialize, ToSchema)]
pub struct ValidationFailed {
    #[schema(example = "Validation failed")]
    pub message: String,
    pub errors: Vec<FieldMessage>,
}

/// Reads that answer `{"message"}` errors.
pub const READ: Endpoint = Endpoint {
    errors: &MessageErrors,
    idempotent: false,
};

/// Changes that answer `{"message"}` errors and honour Idempotency-Key.
pub const CHANGE: Endpoint = Endpoint {
    errors: &MessageErrors,
    idempotent: true,
};

/// `{"message"}`; validation: 400 `{"message":"Validation failed","errors":[{"field","message"}]}`.
pub struct MessageErrors;

impl ErrorFormat for MessageErrors {
    fn render(&self, error: &ApiError) -> Response<Body> {
        match error {
            ApiError::Validation(errors) => json_of(
                400,
                &ValidationFailed {
                    message: "Validation failed".into(),
                    errors: errors
                        .iter()
                        .map(|e| FieldMessage {
                            field: e.field(),
                            message: e.msg.clone(),
                        })
                        .collect(),
                },
            ),
            other => json_of(
                other.status(),
                &MessageError {
                    message: other.message(),
                },
            ),
        }
    }
}

/// Missing or invalid token.
#[derive(utoipa::IntoResponses)]
#[response(status = 401)]
pub struct BadToken(#[to_schema] pub MessageError);

/// Missing or invalid API key.
#[derive(utoipa::IntoResponses)]
#[response(status = 401)]
pub struct BadApiKey(#[to_schema] pub MessageError);

/// Missing or invalid token or API key.
#[derive(utoipa::IntoResponses)]
#[response(status = 401)]
pub struct BadCredentials(#[to_schema] pub MessageError);

/// The request body is over 64 KiB.
#[derive(utoipa::IntoResponses)]
#[response(status = 413)]
pub struct TooLarge(#[to_schema] pub MessageError);

/// A 400 body: every invalid field, or a single reason (a malformed
/// Idempotency-Key, a cursor this API did not issue, more than is left to pay).
pub struct BadRequestBody;

/// Either shape may match a validation body (it has a `message` too): any of them.
impl utoipa::PartialSchema for BadRequestBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::http::schema::any_of([
            <ValidationFailed as utoipa::PartialSchema>::schema(),
            <MessageError as utoipa::PartialSchema>::schema(),
        ])
    }
}

impl utoipa::ToSchema for BadRequestBody {}

/// Validation failed, or the request cannot be taken as it is.
#[derive(utoipa::IntoResponses)]
#[response(status = 400)]
pub struct BadRequest(#[to_schema] pub BadRequestBody);

/// This Idempotency-Key was already used with another request.
#[derive(utoipa::IntoResponses)]
#[response(status = 422)]
pub struct KeyReused(#[to_schema] pub MessageError);

/// The payment gateway could not be reached, or refused; nothing is known to
/// have happened there.
#[derive(utoipa::IntoResponses)]
#[response(status = 502)]
pub struct GatewayDown(#[to_schema] pub MessageError);

/// The payment gateway did not answer in time; it may have acted. Send the
/// same request again (with the same Idempotency-Key), which finds out what
/// it did.
#[derive(utoipa::IntoResponses)]
#[response(status = 504)]
pub struct GatewayTimedOut(#[to_schema] pub MessageError);

/// The deployment's default payment gateway is not configured (an
/// operator's mistake): nothing falls back to another gateway.
#[derive(utoipa::IntoResponses)]
#[response(status = 503)]
pub struct GatewayNotConfigured(#[to_schema] pub MessageError);
