//! The `{"message"}` error dialect of the payments, shop and payables APIs.

use lambda_http::{Body, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::{ApiError, Endpoint, ErrorFormat, json_of};
use crate::surfaces::error_responses::{FieldsOrReason, error_responses};

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
pub const READ: Endpoint = Endpoint::read(&MessageErrors);

/// Changes that answer `{"message"}` errors and honour Idempotency-Key.
pub const CHANGE: Endpoint = Endpoint::change(&MessageErrors);

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

error_responses! {
    content_type = "application/json";
    /// Missing or invalid token.
    BadToken(401, MessageError);
    /// Missing or invalid API key.
    BadApiKey(401, MessageError);
    /// Missing or invalid token or API key.
    BadCredentials(401, MessageError);
    /// The request body is over 64 KiB.
    TooLarge(413, MessageError);
    /// Validation failed, or the request cannot be taken as it is.
    BadRequest(400, BadRequestBody);
    /// This Idempotency-Key was already used with another request.
    KeyReused(422, MessageError);
    /// The payment gateway could not be reached, or refused; nothing is known to
    /// have happened there.
    GatewayDown(502, MessageError);
    /// The payment gateway did not answer in time; it may have acted. Send the
    /// same request again (with the same Idempotency-Key), which finds out what
    /// it did.
    GatewayTimedOut(504, MessageError);
    /// The deployment's default payment gateway is not configured (an
    /// operator's mistake): nothing falls back to another gateway.
    GatewayNotConfigured(503, MessageError);
}

/// A 400 body: every invalid field, or a single reason (a malformed
/// Idempotency-Key, a cursor this API did not issue, more than is left to pay).
pub type BadRequestBody = FieldsOrReason<ValidationFailed, MessageError>;
