//! The OTP payment intents API ("Payment Service"): intents confirmed by a
//! code mailed to the payer, in FastAPI's shapes and error bodies.

pub mod errors;
pub mod wire;

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use utoipa::IntoResponses;

use super::paging::{PageSize, json_array};
use super::params::{RegistrationPath, UserIntentsQuery};
use super::responses::response_set;
use super::{IdempotencyKey, PageQuery, iso_millis};
use crate::app::App;
use crate::app::intents::{self, Ending};
use crate::auth::Caller;
use crate::domain::{
    GatewayId, IntentId, IntentStatus, OtpCode, PayableId, PayableKind, PayableRef, UserId,
};
use crate::http::{
    AllChecked, Anonymous, ApiError, Checked, FromRequest, json_body, json_of, named, path_param,
    problem, query_param,
};
use crate::ports::PageRequest;
use errors::{
    BadCursor, BadKey, CHANGE, GatewayDown, GatewayTimedOut, Invalid, READ, TooLarge,
    Unauthenticated,
};
use wire::*;

/// A registration's intents come 100 to a page unless `limit` says fewer.
pub const PAGE: PageSize = PageSize::new(100, 100);

response_set!(
    /// What any change may answer besides its own errors: a missing or
    /// invalid token (401), a body over 64 KiB (413), invalid fields or a
    /// reused Idempotency-Key (422).
    ChangeErrors = Unauthenticated, TooLarge, Invalid
);

/// The intent named is none of the caller's (or no intent at all).
#[derive(IntoResponses)]
#[response(status = 404, description = "No such intent of the caller's")]
pub struct NoSuchIntent(pub ErrorDetail);

/// The intent cannot end so from its status.
#[derive(IntoResponses)]
#[response(
    status = 409,
    description = "Illegal transition; or a card intent whose gateway has collected, or is collecting, its payment"
)]
pub struct CannotEnd(pub ErrorDetail);

response_set!(
    /// What ending an intent may answer besides the errors of any change:
    /// no such intent (404), one that cannot end from its status (409),
    /// and for a card intent, its gateway unreachable or refusing (502) or
    /// too slow (504); nothing changed.
    EndErrors = NoSuchIntent, CannotEnd, GatewayDown, GatewayTimedOut
);

response_set!(
    /// What a list may answer besides its own errors: a cursor it did not
    /// issue (400), a missing or invalid token (401), an invalid query (422).
    ListErrors = BadCursor, Unauthenticated, Invalid
);

fn registration(id: &str, loc: &[&str]) -> Checked<PayableRef> {
    match PayableId::parse(id) {
        Ok(id) => Ok(PayableRef {
            kind: PayableKind::Registration,
            id,
        }),
        Err(e) => problem(loc, e.0, "value_error"),
    }
}

/// Root: the service's name and version, as a liveness check.
#[utoipa::path(get, path = "/", tag = "default", operation_id = "root",
    responses((status = 200, description = "Service name and version", body = RootResponse)))]
pub async fn root(app: Arc<App>, req: Request) -> Response<Body> {
    READ.run(app, req, |_, _: Anonymous, ()| async {
        Ok(json_of(
            200,
            &RootResponse {
                message: "Payment Service is running".into(),
                service: "payment-service".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
        ))
    })
    .await
}

/// The registration a new intent is for.
pub struct CreateInput(PayableRef);

impl FromRequest for CreateInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let body: CreatePaymentIntentRequest = json_body(req)?;
        let loc = ["body", "registration_id"];
        let (payable,) = (body
            .registration_id
            .text(&loc)
            .and_then(|id| registration(&id, &loc)),)
            .all()?;
        Ok(Self(payable))
    }
}

/// Creates a payment intent for a registration the caller owns, or returns the open one.
#[utoipa::path(post, path = "/payment/intents", tag = "payment", operation_id = "create_payment_intent",
    request_body = CreatePaymentIntentRequest,
    params(IdempotencyKey),
    responses(
        (status = 200, description = "The new or already open intent", body = CreatePaymentIntentResponse),
        BadKey,
        ChangeErrors,
        (status = 404, description = "No such registration of the caller's", body = ErrorDetail),
        (status = 409, description = "Registration already paid or canceled", body = ErrorDetail)),
    security(("bearer" = [])))]
pub async fn create_intent(app: Arc<App>, req: Request) -> Response<Body> {
    CHANGE
        .run(
            app,
            req,
            |app, caller: Caller, CreateInput(payable)| async move {
                let (intent, created) = intents::open_for_payable(
                    &app,
                    &caller,
                    &payable,
                    GatewayId::Otp,
                    "Registration",
                )
                .await?;
                let message = if created {
                    "Payment intent created"
                } else {
                    "An open payment intent already exists for this registration"
                };
                Ok(json_of(
                    200,
                    &CreatePaymentIntentResponse {
                        message: message.into(),
                        intent_id: intent.id().to_string(),
                        status: intent.status().as_str().into(),
                    },
                ))
            },
        )
        .await
}

/// The intent a request names in its body.
pub struct IntentInput(IntentId);

impl FromRequest for IntentInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let body: RequestOTPRequest = json_body(req)?;
        let (id,) = (body.intent_id.text(&["body", "intent_id"]),).all()?;
        Ok(Self(intent(&id)?))
    }
}

/// The intent a request names: one no intent can have is no intent of the caller's.
fn intent(id: &str) -> Result<IntentId, ApiError> {
    named(IntentId::parse(id), intents::not_found)
}

/// Mails the payer a fresh 6-digit code, valid 5 minutes (resend after 30 s, at most 5 sends).
#[utoipa::path(post, path = "/payment/intents/request-otp", tag = "payment", operation_id = "request_otp",
    request_body = RequestOTPRequest,
    params(IdempotencyKey),
    responses(
        (status = 200, description = "Code sent", body = RequestOTPSuccessResponse),
        BadKey,
        ChangeErrors,
        NoSuchIntent,
        (status = 409, description = "Intent cannot take a code in its status", body = ErrorDetail),
        (status = 429, description = "Resend too soon, or 5 codes already sent", body = ErrorDetail),
        (status = 502, description = "The email could not be sent", body = ErrorDetail)),
    security(("bearer" = [])))]
pub async fn request_otp(app: Arc<App>, req: Request) -> Response<Body> {
    CHANGE
        .run(
            app,
            req,
            |app, caller: Caller, IntentInput(id)| async move {
                let expires_at = intents::request_otp(&app, &caller, &id).await?;
                Ok(json_of(
                    200,
                    &RequestOTPSuccessResponse {
                        message: "OTP sent to your email".into(),
                        expires_at: iso_millis(expires_at),
                    },
                ))
            },
        )
        .await
}

/// The intent and the code that confirms it.
pub struct ConfirmInput {
    intent_id: IntentId,
    code: OtpCode,
}

impl FromRequest for ConfirmInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let body: ConfirmPaymentRequest = json_body(req)?;
        let loc = ["body", "otp_code"];
        let (intent_id, code) = (
            body.intent_id.text(&["body", "intent_id"]),
            body.otp_code
                .text(&loc)
                .and_then(|c| OtpCode::parse(&c).or_else(|e| problem(&loc, e.0, "value_error"))),
        )
            .all()?;
        Ok(Self {
            intent_id: intent(&intent_id)?,
            code,
        })
    }
}

/// Confirms the payment with the mailed code; the fifth wrong code fails the intent.
#[utoipa::path(post, path = "/payment/intents/confirm", tag = "payment", operation_id = "confirm_payment",
    request_body = ConfirmPaymentRequest,
    params(IdempotencyKey),
    responses(
        (status = 200, description = "Payment collected", body = ConfirmPaymentResponse),
        (status = 400, description = "Wrong or expired code, or a malformed Idempotency-Key", body = ErrorDetail),
        ChangeErrors,
        NoSuchIntent,
        (status = 409, description = "Intent is not awaiting a code", body = ErrorDetail)),
    security(("bearer" = [])))]
pub async fn confirm(app: Arc<App>, req: Request) -> Response<Body> {
    CHANGE
        .run(
            app,
            req,
            |app, caller: Caller, input: ConfirmInput| async move {
                let (_, payment) =
                    intents::confirm_otp(&app, &caller, &input.intent_id, &input.code).await?;
                Ok(json_of(
                    200,
                    &ConfirmPaymentResponse {
                        message: "Payment confirmed".into(),
                        payment_id: payment.id().to_string(),
                        amount: payment.amount().to_string(),
                    },
                ))
            },
        )
        .await
}

/// The intent named in the path.
pub struct IntentPath(IntentId);

impl FromRequest for IntentPath {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        Ok(Self(intent(&path_param(req, "intent_id"))?))
    }
}

/// One of the caller's intents (any user's: Admin or Support).
#[utoipa::path(get, path = "/payment/intents/{intent_id}", tag = "payment", operation_id = "get_payment_intent",
    params(("intent_id" = String, Path, description = "intent_id")),
    responses(
        (status = 200, description = "The intent", body = PaymentIntentResponse),
        Unauthenticated,
        (status = 404, description = "No such intent visible to the caller", body = ErrorDetail)),
    security(("bearer" = [])))]
pub async fn get_intent(app: Arc<App>, req: Request) -> Response<Body> {
    READ.run(app, req, |app, caller: Caller, IntentPath(id)| async move {
        let intent = intents::get(&app, &caller, &id).await?;
        Ok(json_of(200, &PaymentIntentResponse::from(&intent)))
    })
    .await
}

/// The intent to end, and (to fail it) why.
pub struct EndInput {
    intent_id: IntentId,
    reason: Option<String>,
}

impl FromRequest for EndInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        // Cancel's body is fail's without a reason.
        let body: FailPaymentIntentRequest = json_body(req)?;
        let (intent_id, reason) = (
            body.intent_id.text(&["body", "intent_id"]),
            body.reason.optional_text(&["body", "reason"]),
        )
            .all()?;
        Ok(Self {
            intent_id: intent(&intent_id)?,
            reason,
        })
    }
}

async fn end(app: Arc<App>, req: Request, ending: Ending) -> Response<Body> {
    CHANGE
        .run(
            app,
            req,
            move |app, caller: Caller, input: EndInput| async move {
                let reason = match ending {
                    Ending::Fail => input.reason.as_deref(),
                    Ending::Cancel => None,
                };
                let intent = intents::end(&app, &caller, &input.intent_id, ending, reason).await?;
                let message = match ending {
                    Ending::Cancel => "Payment intent canceled",
                    Ending::Fail => "Payment intent marked as failed",
                };
                Ok(json_of(
                    200,
                    &PaymentIntentStatusResponse {
                        message: message.into(),
                        intent_id: intent.id().to_string(),
                        status: intent.status().as_str().into(),
                    },
                ))
            },
        )
        .await
}

/// Cancels an intent (the payer, or an Admin) and frees its registration.
#[utoipa::path(post, path = "/payment/intents/cancel", tag = "payment", operation_id = "cancel_payment_intent",
    request_body = CancelPaymentIntentRequest,
    params(IdempotencyKey),
    responses(
        (status = 200, description = "Canceled", body = PaymentIntentStatusResponse),
        BadKey,
        ChangeErrors,
        EndErrors),
    security(("bearer" = [])))]
pub async fn cancel(app: Arc<App>, req: Request) -> Response<Body> {
    end(app, req, Ending::Cancel).await
}

/// Marks an intent failed (the payer, or an Admin) and frees its registration.
#[utoipa::path(post, path = "/payment/intents/fail", tag = "payment", operation_id = "fail_payment_intent",
    request_body = FailPaymentIntentRequest,
    params(IdempotencyKey),
    responses(
        (status = 200, description = "Failed", body = PaymentIntentStatusResponse),
        BadKey,
        ChangeErrors,
        (status = 403, description = "A payer may not fail an intent the gateway is processing", body = ErrorDetail),
        EndErrors),
    security(("bearer" = [])))]
pub async fn fail(app: Arc<App>, req: Request) -> Response<Body> {
    end(app, req, Ending::Fail).await
}

/// Whose intents, in which status, which page.
pub struct UserListInput {
    user: UserId,
    status: Option<IntentStatus>,
    page: PageRequest,
}

impl FromRequest for UserListInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let status = match query_param(req, "status") {
            None => Ok(None),
            Some(s) => IntentStatus::parse(&s)
                .map(Some)
                .or_else(|e| problem(&["query", "status"], e.0, "enum")),
        };
        let (status, page) = (status, PAGE.paging(req)).all()?;
        Ok(Self {
            // No user has an id that is not one.
            user: named(
                UserId::parse(&path_param(req, "user_id")),
                intents::user_not_found,
            )?,
            status,
            page,
        })
    }
}

/// A user's intents, newest first (another user's: Admin or Support only).
#[utoipa::path(get, path = "/payment/intents/user/{user_id}", tag = "payment", operation_id = "list_user_payment_intents",
    params(UserIntentsQuery),
    responses(
        (status = 200, description = "Newest first; X-Next-Cursor when more remain", body = Vec<PaymentIntentResponse>),
        ListErrors,
        (status = 404, description = "Not the caller's", body = ErrorDetail)),
    security(("bearer" = [])))]
pub async fn list_by_user(app: Arc<App>, req: Request) -> Response<Body> {
    READ.run(
        app,
        req,
        |app, caller: Caller, input: UserListInput| async move {
            let page =
                intents::list_for_user(&app, &caller, &input.user, input.status, &input.page)
                    .await?;
            Ok(json_array::<PaymentIntentResponse, _>(page))
        },
    )
    .await
}

/// Which registration's intents, which page.
pub struct RegistrationListInput {
    registration: PayableRef,
    page: PageRequest,
}

impl FromRequest for RegistrationListInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let (page, registration) = (
            PAGE.paging(req),
            registration(
                &path_param(req, "registration_id"),
                &["path", "registration_id"],
            ),
        )
            .all()?;
        Ok(Self { registration, page })
    }
}

/// A registration's intents, newest first.
#[utoipa::path(get, path = "/payment/intents/registration/{registration_id}", tag = "payment",
    operation_id = "list_registration_payment_intents",
    params(RegistrationPath, PageQuery),
    responses(
        (status = 200, description = "Newest first; X-Next-Cursor when more remain", body = Vec<PaymentIntentResponse>),
        ListErrors,
        (status = 404, description = "No such registration visible to the caller", body = ErrorDetail)),
    security(("bearer" = [])))]
pub async fn list_by_registration(app: Arc<App>, req: Request) -> Response<Body> {
    READ.run(
        app,
        req,
        |app, caller: Caller, input: RegistrationListInput| async move {
            let page = intents::list_for_payable(
                &app,
                &caller,
                &input.registration,
                "Registration",
                &input.page,
            )
            .await?;
            Ok(json_array::<PaymentIntentResponse, _>(page))
        },
    )
    .await
}
