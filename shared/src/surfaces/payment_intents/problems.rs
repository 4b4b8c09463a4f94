//! The PaymentIntents API's errors: RFC 9457 problem details as ASP.NET
//! Core writes them (`application/problem+json`, `type` pointing at the
//! status's section of RFC 9110, `traceId`), and its ValidationProblemDetails
//! (`errors`: each invalid field with its messages) for invalid input.

use std::collections::BTreeMap;

use lambda_http::http::HeaderValue;
use lambda_http::{Body, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::{ApiError, Endpoint, ErrorFormat, FieldError, json_of};
use crate::surfaces::error_responses::{FieldsOrReason, error_responses};

/// The media type of every error this API answers.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Reads answer problem details.
pub const READ: Endpoint = Endpoint::read(&Problems);

/// Changes answer problem details and honour Idempotency-Key.
pub const CHANGE: Endpoint = Endpoint::change(&Problems);

/// An error.
#[derive(Serialize, ToSchema)]
pub struct ProblemDetails {
    /// The status's definition.
    #[serde(rename = "type")]
    #[schema(example = "https://tools.ietf.org/html/rfc9110#section-15.5.5")]
    pub kind: String,
    #[schema(example = "Not Found")]
    pub title: String,
    #[schema(example = 404)]
    pub status: u16,
    #[schema(example = "Payment intent not found")]
    pub detail: String,
    /// The request's id: quote it when asking about this answer.
    #[serde(rename = "traceId")]
    #[schema(example = "BAQEBAQEBAQEBAQ=")]
    pub trace_id: String,
}

/// Invalid input (400): every invalid field at once, by its name as sent.
#[derive(Serialize, ToSchema)]
pub struct ValidationProblemDetails {
    #[serde(rename = "type")]
    #[schema(example = "https://tools.ietf.org/html/rfc9110#section-15.5.1")]
    pub kind: String,
    #[schema(example = "One or more validation errors occurred.")]
    pub title: String,
    #[schema(example = 400)]
    pub status: u16,
    #[schema(example = "See the errors of each field")]
    pub detail: String,
    #[serde(rename = "traceId")]
    pub trace_id: String,
    /// Field (camelCase as sent; `$` for the body as a whole) → its problems.
    #[schema(example = json!({"amount": ["USD allows at most 2 decimal places"]}))]
    pub errors: BTreeMap<String, Vec<String>>,
}

/// A 400 body: invalid fields, or a single reason (a malformed
/// Idempotency-Key, a cursor this API did not issue, an amount that is not
/// the payable's). Named, as the operations refer to it by name.
pub struct BadRequestBody;

impl utoipa::PartialSchema for BadRequestBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        FieldsOrReason::<ValidationProblemDetails, ProblemDetails>::schema()
    }
}

impl utoipa::ToSchema for BadRequestBody {}

/// The RFC defining a status, and its reason phrase, as ASP.NET Core names them.
fn kind_and_title(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => (
            "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            "Bad Request",
        ),
        401 => (
            "https://tools.ietf.org/html/rfc9110#section-15.5.2",
            "Unauthorized",
        ),
        403 => (
            "https://tools.ietf.org/html/rfc9110#section-15.5.4",
            "Forbidden",
        ),
        404 => (
            "https://tools.ietf.org/html/rfc9110#section-15.5.5",
            "Not Found",
        ),
        409 => (
            "https://tools.ietf.org/html/rfc9110#section-15.5.10",
            "Conflict",
        ),
        413 => (
            "https://tools.ietf.org/html/rfc9110#section-15.5.14",
            "Content Too Large",
        ),
        422 => (
            "https://tools.ietf.org/html/rfc9110#section-15.5.21",
            "Unprocessable Content",
        ),
        429 => (
            "https://tools.ietf.org/html/rfc6585#section-4",
            "Too Many Requests",
        ),
        502 => (
            "https://tools.ietf.org/html/rfc9110#section-15.6.3",
            "Bad Gateway",
        ),
        503 => (
            "https://tools.ietf.org/html/rfc9110#section-15.6.4",
            "Service Unavailable",
        ),
        504 => (
            "https://tools.ietf.org/html/rfc9110#section-15.6.5",
            "Gateway Timeout",
        ),
        _ => (
            "https://tools.ietf.org/html/rfc9110#section-15.6.1",
            "An error occurred while processing your request.",
        ),
    }
}

/// A field's name as its client sent it: the body as a whole is `$`.
fn field_name(e: &FieldError) -> String {
    match e.loc.as_slice() {
        [_] => "$".into(),
        _ => e.field(),
    }
}

pub struct Problems;

impl ErrorFormat for Problems {
    fn render(&self, error: &ApiError) -> Response<Body> {
        self.render_for(error, "")
    }

    fn render_for(&self, error: &ApiError, request_id: &str) -> Response<Body> {
        let mut response = match error {
            ApiError::Validation(fields) => {
                let (kind, _) = kind_and_title(400);
                let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for e in fields {
                    errors.entry(field_name(e)).or_default().push(e.msg.clone());
                }
                json_of(
                    400,
                    &ValidationProblemDetails {
                        kind: kind.into(),
                        title: "One or more validation errors occurred.".into(),
                        status: 400,
                        detail: "See the errors of each field".into(),
                        trace_id: request_id.into(),
                        errors,
                    },
                )
            }
            other => {
                let status = other.status();
                let (kind, title) = kind_and_title(status);
                json_of(
                    status,
                    &ProblemDetails {
                        kind: kind.into(),
                        title: title.into(),
                        status,
                        detail: other.message(),
                        trace_id: request_id.into(),
                    },
                )
            }
        };
        let headers = response.headers_mut();
        headers.insert("content-type", HeaderValue::from_static(PROBLEM_JSON));
        if error.status() == 401 {
            headers.insert("www-authenticate", HeaderValue::from_static("Bearer"));
        }
        response
    }
}

error_responses! {
    content_type = "application/problem+json";
    /// Missing or invalid token.
    Unauthenticated(401, ProblemDetails);
    /// The request body is over 64 KiB.
    TooLarge(413, ProblemDetails);
    /// This Idempotency-Key was already used with another request.
    KeyReused(422, ProblemDetails);
    /// The payment gateway could not be reached; nothing happened there that is known.
    GatewayDown(502, ProblemDetails);
    /// The payment gateway did not answer in time; it may have acted. Nothing
    /// was stored here: send the same request again (with the same
    /// Idempotency-Key), which finds out what it did.
    GatewayTimedOut(504, ProblemDetails);
    /// No `paymentGatewayId` was given and the deployment's default gateway is
    /// not configured (an operator's mistake): nothing falls back to another.
    GatewayNotConfigured(503, ProblemDetails);
    /// Not Admin or Support: only they read here, the payer included.
    NotStaff(403, ProblemDetails);
    /// `limit` out of range, or a cursor this API did not issue.
    BadPage(400, BadRequestBody);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).expect("json")
    }

    #[test]
    fn problems_carry_the_status_its_definition_and_the_request_id() {
        let r = Problems.render_for(
            &ApiError::NotFound("Payment intent not found".into()),
            "r-1",
        );
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()["content-type"], PROBLEM_JSON);
        assert_eq!(
            body(&r),
            serde_json::json!({
                "type": "https://tools.ietf.org/html/rfc9110#section-15.5.5",
                "title": "Not Found",
                "status": 404,
                "detail": "Payment intent not found",
                "traceId": "r-1",
            })
        );
        let r = Problems.render_for(&ApiError::Unauthorized("missing token".into()), "r-2");
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
    }

    #[test]
    fn invalid_fields_are_grouped_by_their_names_as_sent() {
        let r = Problems.render_for(
            &ApiError::Validation(vec![
                FieldError::new(&["body", "amount"], "too many decimals", "value_error"),
                FieldError::new(&["body", "amount"], "not positive", "value_error"),
                FieldError::new(&["body"], "JSON decode error", "json_invalid"),
                FieldError::new(&["query", "limit"], "1-100", "value_error"),
            ]),
            "r-3",
        );
        assert_eq!(r.status(), 400);
        let b = body(&r);
        assert_eq!(b["status"], 400);
        assert_eq!(b["traceId"], "r-3");
        assert_eq!(
            b["errors"],
            serde_json::json!({
                "amount": ["too many decimals", "not positive"],
                "$": ["JSON decode error"],
                "limit": ["1-100"],
            })
        );
    }
}
