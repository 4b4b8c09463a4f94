use lambda_http::{Body, Response};

use crate::app::AppError;
use crate::auth::AuthError;
use crate::ports::{GatewayError, StoreError};

/// One invalid input, described once and rendered by each surface in its own shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Where, FastAPI-style: `["body", "intent_id"]`, `["query", "status"]`.
    pub loc: Vec<String>,
    pub msg: String,
    /// Machine-readable kind: `missing`, `string_type`, `value_error`, `json_invalid`.
    pub kind: &'static str,
}

impl FieldError {
    pub fn new(loc: &[&str], msg: impl Into<String>, kind: &'static str) -> Self {
        Self {
            loc: loc.iter().map(|s| (*s).to_owned()).collect(),
            msg: msg.into(),
            kind,
        }
    }

    /// The dotted field path without the leading location ("body", "query", "path").
    pub fn field(&self) -> String {
        match self.loc.as_slice() {
            [] => String::new(),
            [only] => only.clone(),
            [_, rest @ ..] => rest.join("."),
        }
    }
}

/// Every failure a handler can answer with, independent of wire format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    Unauthorized(String),
    Forbidden(String),
    NotFound(String),
    Conflict(String),
    /// A conditional write lost to a concurrent one: the same request may succeed
    /// when sent again, so its answer is never kept for the Idempotency-Key.
    ChangedConcurrently(String),
    BadRequest(String),
    Validation(Vec<FieldError>),
    /// Well-formed but refused, such as an Idempotency-Key reused with another body.
    Unprocessable(String),
    PayloadTooLarge(String),
    TooManyRequests(String),
    BadGateway(String),
    Unavailable(String),
    /// A payment gateway did not answer before the call's deadline: what it
    /// did is unknown until the same request is sent again.
    GatewayTimeout(String),
    Internal,
    /// A failure answered as the boxed error, whose cause only the log is
    /// told: the pipeline writes it, once, when it renders the answer.
    Logged(Box<ApiError>, Cause),
}

/// Why a request failed on the service's side, for the operator: never
/// answered to the caller, and never holding a secret, token or email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// What failed, in the log's words: "storage unavailable".
    pub what: &'static str,
    /// What the failing part said of it.
    pub detail: String,
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::Conflict(_) | Self::ChangedConcurrently(_) => 409,
            Self::PayloadTooLarge(_) => 413,
            Self::Validation(_) | Self::Unprocessable(_) => 422,
            Self::TooManyRequests(_) => 429,
            Self::Internal => 500,
            Self::BadGateway(_) => 502,
            Self::Unavailable(_) => 503,
            Self::GatewayTimeout(_) => 504,
            Self::Logged(answer, _) => answer.status(),
        }
    }

    /// Answered as `self`; `detail` of `what` failed goes to the log.
    pub fn logged(self, what: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Logged(
            Box::new(self),
            Cause {
                what,
                detail: detail.to_string(),
            },
        )
    }

    /// What the log is told of this failure, if anything.
    pub fn cause(&self) -> Option<&Cause> {
        match self {
            Self::Logged(_, cause) => Some(cause),
            _ => None,
        }
    }

    /// Whether sending the same request again may answer differently: a lost
    /// race, a cooldown, a server-side failure. Such answers release the
    /// Idempotency-Key instead of being replayed for a day.
    pub fn is_transient(&self) -> bool {
        if let Self::Logged(answer, _) = self {
            return answer.is_transient();
        }
        matches!(
            self,
            Self::ChangedConcurrently(_) | Self::TooManyRequests(_)
        ) || self.status() >= 500
    }

    pub fn message(&self) -> String {
        match self {
            Self::Unauthorized(m)
            | Self::Forbidden(m)
            | Self::NotFound(m)
            | Self::Conflict(m)
            | Self::ChangedConcurrently(m)
            | Self::BadRequest(m)
            | Self::Unprocessable(m)
            | Self::PayloadTooLarge(m)
            | Self::TooManyRequests(m)
            | Self::BadGateway(m)
            | Self::Unavailable(m)
            | Self::GatewayTimeout(m) => m.clone(),
            Self::Validation(_) => "Validation failed".into(),
            Self::Internal => "Internal server error".into(),
            Self::Logged(answer, _) => answer.message(),
        }
    }
}

/// A surface's error body.
pub trait ErrorFormat: Send + Sync {
    fn render(&self, error: &ApiError) -> Response<Body>;

    /// As [`render`](Self::render), answering the request API Gateway named
    /// `request_id`: a format whose bodies carry that id (to trace a support
    /// ticket to its log line) overrides this; the others ignore it.
    fn render_for(&self, error: &ApiError, request_id: &str) -> Response<Body> {
        let _ = request_id;
        self.render(error)
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        Self::Unauthorized(e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => Self::ChangedConcurrently(
                "The resource changed concurrently; retry the request".into(),
            ),
            StoreError::BadCursor => Self::BadRequest("Invalid pagination cursor".into()),
            StoreError::Corrupt(detail) => Self::Internal.logged("corrupt item", detail),
            StoreError::Unavailable(detail) => {
                Self::Unavailable("Storage is temporarily unavailable; retry later".into())
                    .logged("storage unavailable", detail)
            }
        }
    }
}

/// The one mapping from application errors to HTTP.
impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        use crate::domain::RefundRefused;
        use crate::domain::intent::OtpRequestError;
        use crate::domain::otp::OtpError;
        match e {
            AppError::NotFound(what) => Self::NotFound(format!("{what} not found")),
            AppError::Forbidden(m) => Self::Forbidden(m),
            e @ (AppError::Amount(_)
            | AppError::AmountRefused(_)
            | AppError::AmountNotTotal { .. }
            | AppError::AmountNotPayables { .. }
            | AppError::AmountRequired
            | AppError::PayerEmailMissing
            | AppError::ConfirmedByCode
            | AppError::StatusNotRecordable
            | AppError::NotCompletable(_)
            | AppError::LineItems(_)) => Self::BadRequest(e.to_string()),
            AppError::Transition(t) => Self::Conflict(t.to_string()),
            AppError::PayableNotOpen { noun, status } => {
                Self::Conflict(format!("{noun} is {status} and cannot be paid"))
            }
            AppError::PayableLocked(m) => Self::Conflict(m),
            e @ AppError::TooManyPending { .. } => Self::Conflict(e.to_string()),
            AppError::Otp(OtpRequestError::Transition(t)) => Self::Conflict(t.to_string()),
            AppError::Otp(e @ OtpRequestError::NotOtpGateway(_)) => Self::Conflict(e.to_string()),
            AppError::Otp(OtpRequestError::Otp(
                e @ (OtpError::Cooldown(..)
                | OtpError::TooManySends(_)
                | OtpError::TooManyIntentsForPayable(_)),
            )) => Self::TooManyRequests(e.to_string()),
            AppError::Otp(OtpRequestError::Otp(e @ OtpError::NotRequested)) => {
                Self::Conflict(e.to_string())
            }
            AppError::Otp(OtpRequestError::Otp(e @ OtpError::Expired)) => {
                Self::BadRequest(e.to_string())
            }
            AppError::WrongOtp { remaining } => Self::BadRequest(format!(
                "Invalid OTP code; {remaining} attempt(s) remaining"
            )),
            AppError::ReasonRequired => Self::Validation(vec![FieldError::new(
                &["body", "reason"],
                "a reason is required to fail a payment intent the gateway is processing",
                "missing",
            )]),
            AppError::OtpAttemptsExceeded => Self::BadRequest(
                "Invalid OTP code; too many wrong attempts, the payment intent has failed".into(),
            ),
            AppError::KeyReused => Self::Unprocessable(
                "This Idempotency-Key was already used with a different request".into(),
            ),
            // Only the PaymentIntents API lets a payer name a gateway.
            AppError::GatewayNotOffered => Self::Validation(vec![FieldError::new(
                &["body", "paymentGatewayId"],
                AppError::GatewayNotOffered.to_string(),
                "value_error",
            )]),
            AppError::DefaultGatewayMissing(gateway) => Self::Unavailable(format!(
                "The default payment gateway {} is not configured in this deployment; \
                 an operator must configure it or choose another DEFAULT_GATEWAY",
                gateway.as_str()
            )),
            AppError::Gateway(e @ GatewayError::UnknownPaymentMethod(_)) => {
                Self::BadRequest(e.to_string())
            }
            // The card payment is recorded when the gateway reports it; ending
            // the intent now would lose it.
            AppError::Gateway(e @ GatewayError::Collecting(_)) => Self::Conflict(format!(
                "{}; it is recorded when the gateway confirms it, so the payment intent was left as it is",
                capitalize(&e.to_string())
            )),
            AppError::Gateway(GatewayError::Unavailable(detail)) => {
                Self::BadGateway("The payment gateway is unavailable; retry later".into())
                    .logged("payment gateway unavailable", detail)
            }
            // Retryable like any 5xx (the Idempotency-Key is let go): the
            // same request sends the gateway the same keys, so it finds what
            // the unanswered call did instead of doing it twice.
            AppError::Gateway(GatewayError::TimedOut(detail)) => Self::GatewayTimeout(
                "The payment gateway did not answer in time; send the same request again".into(),
            )
            .logged("payment gateway did not answer in time", detail),
            AppError::Gateway(GatewayError::Refused(detail)) => {
                Self::BadGateway("The payment gateway refused the request".into())
                    .logged("payment gateway refused the request", detail)
            }
            AppError::Refund(
                e @ (RefundRefused::NotCompleted(_)
                | RefundRefused::FullyRefunded
                | RefundRefused::HeldByPending),
            ) => Self::Conflict(e.to_string()),
            // What the amount asks for is the field's fault, as the validation shape says.
            AppError::Refund(
                e @ (RefundRefused::NotPositive | RefundRefused::MoreThanRemains(_)),
            ) => Self::Validation(vec![FieldError::new(
                &["body", "amount"],
                e.to_string(),
                "value_error",
            )]),
            AppError::GatewayEvent(e) => Self::BadRequest(e.to_string()),
            AppError::Mail(e) => Self::BadGateway("The code could not be sent; retry later".into())
                .logged("mail not sent", e),
            AppError::Secrets(e) => Self::Internal.logged("secrets unavailable", e),
            AppError::Store(e) => e.into(),
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gateway_that_did_not_answer_in_time_is_a_retryable_504() {
        let timed_out: ApiError =
            AppError::Gateway(GatewayError::TimedOut("no answer within 8000 ms".into())).into();
        assert_eq!(timed_out.status(), 504);
        assert!(timed_out.is_transient(), "the Idempotency-Key is let go");
        assert!(
            !timed_out.message().contains("8000"),
            "the connector's detail is logged, not answered: {}",
            timed_out.message()
        );
        let unreachable: ApiError =
            AppError::Gateway(GatewayError::Unavailable("connection refused".into())).into();
        assert_eq!(unreachable.status(), 502);
        assert!(unreachable.is_transient());
        assert_eq!(
            unreachable.cause().map(|c| c.detail.as_str()),
            Some("connection refused"),
            "for the pipeline to log"
        );
    }

    #[test]
    fn what_is_wrong_with_a_request_is_answered_400_in_the_words_callers_know() {
        use crate::domain::{Currency, Money};
        let usd = Currency::parse("USD").expect("usd");
        let amount = Money::from_minor(5_000, usd).expect("money");
        for (error, message) in [
            (
                AppError::AmountNotPayables {
                    noun: "Order",
                    amount,
                },
                "amount and currency must be the order's: 50.00 USD",
            ),
            (
                AppError::AmountNotTotal { total: amount },
                "amount must be the order's total: 50.00 USD",
            ),
            (
                AppError::AmountRequired,
                "amount and currency are required for an intent without an invoiceId or orderId",
            ),
            (
                AppError::PayerEmailMissing,
                "the token carries no email address for the payer",
            ),
            (
                AppError::ConfirmedByCode,
                "this payment intent is confirmed with a one-time code, not a payment method",
            ),
        ] {
            assert_eq!(ApiError::from(error), ApiError::BadRequest(message.into()));
        }
    }
}
