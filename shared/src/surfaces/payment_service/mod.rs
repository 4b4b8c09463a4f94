//! Surface A, "Payment Service" (seed 000): FastAPI's shapes and error bodies.

pub mod wire;

use std::future::Future;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::json;

use super::{bearer_caller, iso_millis, parse_limit};
use crate::app::intents::{self, Ending};
use crate::auth::Caller;
use crate::domain::{
    GatewayId, IntentStatus, OtpCode, PayableId, PayableKind, PayableRef, PaymentIntent,
};
use crate::http::{
    ApiError, ErrorFormat, FieldError, JsonBody, idempotent, json_of, json_page, path_param,
    query_param,
};
use crate::runtime::App;
use wire::*;

/// FastAPI: 422 `{"detail": [{"loc", "msg", "type"}]}`, otherwise `{"detail": "…"}`.
pub struct FastApi;

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
    let loc = e
        .loc
        .iter()
        .map(|l| match l {
            crate::http::Loc::Key(k) => json!(k),
            crate::http::Loc::Index(i) => json!(i),
        })
        .collect();
    ValidationError {
        loc,
        msg: e.msg.clone(),
        kind: e.kind.to_owned(),
    }
}

fn ok<T: Serialize>(value: &T) -> Response<Body> {
    json_of(200, value)
}

const LIST_DEFAULT: usize = 100;
const LIST_MAX: usize = 100;

/// Authenticates, then runs `f`; every error is rendered in FastAPI's shape.
async fn authed<F, Fut>(app: Arc<App>, req: Request, f: F) -> Response<Body>
where
    F: FnOnce(Arc<App>, Request, Caller) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    match bearer_caller(&app, &req).await {
        Ok(caller) => f(app, req, caller)
            .await
            .unwrap_or_else(|e| FastApi.render(&e)),
        Err(e) => FastApi.render(&e),
    }
}

/// As `authed`, for POSTs: honours Idempotency-Key per caller.
async fn authed_post<F, Fut>(app: Arc<App>, req: Request, f: F) -> Response<Body>
where
    F: FnOnce(Arc<App>, Request, Caller) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    let caller = match bearer_caller(&app, &req).await {
        Ok(caller) => caller,
        Err(e) => return FastApi.render(&e),
    };
    let scope = format!("user:{}", caller.user_id);
    let app2 = app.clone();
    idempotent(&app, req, &scope, &FastApi, |req| async move {
        f(app2, req, caller)
            .await
            .unwrap_or_else(|e| FastApi.render(&e))
    })
    .await
}

/// The required string fields `names` of a JSON body, every problem reported at once.
fn body_fields<const N: usize>(req: &Request, names: [&str; N]) -> Result<[String; N], ApiError> {
    let mut body = JsonBody::parse(req).map_err(|e| ApiError::Validation(vec![e]))?;
    let values = names.map(|n| body.required_str(n));
    body.finish().map_err(ApiError::Validation)?;
    Ok(values.map(Option::unwrap_or_default))
}

fn list_response(page: crate::ports::Page<PaymentIntent>) -> Response<Body> {
    let items: Vec<PaymentIntentResponse> =
        page.items.iter().map(PaymentIntentResponse::from).collect();
    json_page(&items, page.next)
}

fn registration(id: &str, loc: &[&str]) -> Result<PayableRef, ApiError> {
    let id = PayableId::parse(id)
        .map_err(|e| ApiError::Validation(vec![FieldError::new(loc, e.0, "value_error")]))?;
    Ok(PayableRef {
        kind: PayableKind::Registration,
        id,
    })
}

#[utoipa::path(get, path = "/", tag = "default", operation_id = "root",
    responses((status = 200, description = "Service name and version", body = RootResponse)))]
pub async fn root(_app: Arc<App>, _req: Request) -> Response<Body> {
    ok(&RootResponse {
        message: "Payment Service is running".into(),
        service: "payment-service".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// Creates a payment intent for a registration the caller owns, or returns the open one.
#[utoipa::path(post, path = "/payment/intents", tag = "payment", operation_id = "create_payment_intent",
    request_body = CreatePaymentIntentRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses(
        (status = 200, description = "The new or already open intent", body = CreatePaymentIntentResponse),
        (status = 401, description = "Missing or invalid token", body = ErrorDetail),
        (status = 404, description = "No such registration of the caller's", body = ErrorDetail),
        (status = 409, description = "Registration already paid or canceled", body = ErrorDetail),
        (status = 422, description = "Validation Error", body = HTTPValidationError)),
    security(("bearer" = [])))]
pub async fn create_intent(app: Arc<App>, req: Request) -> Response<Body> {
    authed_post(app, req, |app, req, caller| async move {
        let [registration_id] = body_fields(&req, ["registration_id"])?;
        let payable = registration(&registration_id, &["body", "registration_id"])?;
        let (intent, created) =
            intents::open_for_payable(&app, &caller, &payable, GatewayId::Otp, "Registration")
                .await?;
        let message = if created {
            "Payment intent created"
        } else {
            "An open payment intent already exists for this registration"
        };
        Ok(ok(&CreatePaymentIntentResponse {
            message: message.into(),
            intent_id: intent.id.to_string(),
            status: intent.status.as_str().into(),
        }))
    })
    .await
}

/// Mails the payer a fresh 6-digit code, valid 5 minutes (resend after 30 s, at most 5 sends).
#[utoipa::path(post, path = "/payment/intents/request-otp", tag = "payment", operation_id = "request_otp",
    request_body = RequestOTPRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses(
        (status = 200, description = "Code sent", body = RequestOTPSuccessResponse),
        (status = 401, description = "Missing or invalid token", body = ErrorDetail),
        (status = 404, description = "No such intent of the caller's", body = ErrorDetail),
        (status = 409, description = "Intent cannot take a code in its status", body = ErrorDetail),
        (status = 422, description = "Validation Error", body = HTTPValidationError),
        (status = 429, description = "Resend too soon, or 5 codes already sent", body = ErrorDetail),
        (status = 502, description = "The email could not be sent", body = ErrorDetail)),
    security(("bearer" = [])))]
pub async fn request_otp(app: Arc<App>, req: Request) -> Response<Body> {
    authed_post(app, req, |app, req, caller| async move {
        let [intent_id] = body_fields(&req, ["intent_id"])?;
        let expires_at = intents::request_otp(&app, &caller, &intent_id).await?;
        Ok(ok(&RequestOTPSuccessResponse {
            message: "OTP sent to your email".into(),
            expires_at: iso_millis(expires_at),
        }))
    })
    .await
}

/// Confirms the payment with the mailed code; the fifth wrong code fails the intent.
#[utoipa::path(post, path = "/payment/intents/confirm", tag = "payment", operation_id = "confirm_payment",
    request_body = ConfirmPaymentRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses(
        (status = 200, description = "Payment collected", body = ConfirmPaymentResponse),
        (status = 400, description = "Wrong or expired code", body = ErrorDetail),
        (status = 401, description = "Missing or invalid token", body = ErrorDetail),
        (status = 404, description = "No such intent of the caller's", body = ErrorDetail),
        (status = 409, description = "Intent is not awaiting a code", body = ErrorDetail),
        (status = 422, description = "Validation Error", body = HTTPValidationError)),
    security(("bearer" = [])))]
pub async fn confirm(app: Arc<App>, req: Request) -> Response<Body> {
    authed_post(app, req, |app, req, caller| async move {
        let [intent_id, otp_code] = body_fields(&req, ["intent_id", "otp_code"])?;
        let code = OtpCode::parse(&otp_code).map_err(|e| {
            ApiError::Validation(vec![FieldError::new(
                &["body", "otp_code"],
                e.0,
                "value_error",
            )])
        })?;
        let (_, payment) = intents::confirm_otp(&app, &caller, &intent_id, &code).await?;
        Ok(ok(&ConfirmPaymentResponse {
            message: "Payment confirmed".into(),
            payment_id: payment.id.to_string(),
            amount: payment.amount.to_string(),
        }))
    })
    .await
}

#[utoipa::path(get, path = "/payment/intents/{intent_id}", tag = "payment", operation_id = "get_payment_intent",
    params(("intent_id" = String, Path, description = "intent_id")),
    responses(
        (status = 200, description = "The intent", body = PaymentIntentResponse),
        (status = 401, description = "Missing or invalid token", body = ErrorDetail),
        (status = 404, description = "No such intent visible to the caller", body = ErrorDetail)),
    security(("bearer" = [])))]
pub async fn get_intent(app: Arc<App>, req: Request) -> Response<Body> {
    authed(app, req, |app, req, caller| async move {
        let id = path_param(&req, "intent_id").unwrap_or_default();
        let intent = intents::get(&app, &caller, &id).await?;
        Ok(ok(&PaymentIntentResponse::from(&intent)))
    })
    .await
}

async fn end(app: Arc<App>, req: Request, ending: Ending) -> Response<Body> {
    authed_post(app, req, move |app, req, caller| async move {
        let [intent_id] = body_fields(&req, ["intent_id"])?;
        let intent = intents::end(&app, &caller, &intent_id, ending).await?;
        let message = match ending {
            Ending::Cancel => "Payment intent canceled",
            Ending::Fail => "Payment intent marked as failed",
        };
        Ok(ok(&PaymentIntentStatusResponse {
            message: message.into(),
            intent_id: intent.id.to_string(),
            status: intent.status.as_str().into(),
        }))
    })
    .await
}

/// Cancels an intent (the payer, or an Admin) and frees its registration.
#[utoipa::path(post, path = "/payment/intents/cancel", tag = "payment", operation_id = "cancel_payment_intent",
    request_body = CancelPaymentIntentRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses(
        (status = 200, description = "Canceled", body = PaymentIntentStatusResponse),
        (status = 401, description = "Missing or invalid token", body = ErrorDetail),
        (status = 404, description = "No such intent of the caller's", body = ErrorDetail),
        (status = 409, description = "Illegal transition", body = ErrorDetail),
        (status = 422, description = "Validation Error", body = HTTPValidationError)),
    security(("bearer" = [])))]
pub async fn cancel(app: Arc<App>, req: Request) -> Response<Body> {
    end(app, req, Ending::Cancel).await
}

/// Marks an intent failed (the payer, or an Admin) and frees its registration.
#[utoipa::path(post, path = "/payment/intents/fail", tag = "payment", operation_id = "fail_payment_intent",
    request_body = CancelPaymentIntentRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses(
        (status = 200, description = "Failed", body = PaymentIntentStatusResponse),
        (status = 401, description = "Missing or invalid token", body = ErrorDetail),
        (status = 404, description = "No such intent of the caller's", body = ErrorDetail),
        (status = 409, description = "Illegal transition", body = ErrorDetail),
        (status = 422, description = "Validation Error", body = HTTPValidationError)),
    security(("bearer" = [])))]
pub async fn fail(app: Arc<App>, req: Request) -> Response<Body> {
    end(app, req, Ending::Fail).await
}

fn list_params(req: &Request) -> Result<(usize, Option<String>), ApiError> {
    let limit = parse_limit(query_param(req, "limit"), LIST_DEFAULT, LIST_MAX).map_err(|m| {
        ApiError::Validation(vec![FieldError::new(&["query", "limit"], m, "value_error")])
    })?;
    Ok((limit, query_param(req, "cursor")))
}

/// A user's intents, newest first (another user's: Admin or Support only).
#[utoipa::path(get, path = "/payment/intents/user/{user_id}", tag = "payment", operation_id = "list_user_payment_intents",
    params(
        ("user_id" = String, Path, description = "user_id"),
        ("status" = Option<String>, Query, description = "Filter by status"),
        ("limit" = Option<u32>, Query, description = "1-100, default 100"),
        ("cursor" = Option<String>, Query, description = "X-Next-Cursor of the previous page")),
    responses(
        (status = 200, description = "Newest first; X-Next-Cursor when more remain", body = Vec<PaymentIntentResponse>),
        (status = 401, description = "Missing or invalid token", body = ErrorDetail),
        (status = 404, description = "Not the caller's", body = ErrorDetail),
        (status = 422, description = "Validation Error", body = HTTPValidationError)),
    security(("bearer" = [])))]
pub async fn list_by_user(app: Arc<App>, req: Request) -> Response<Body> {
    authed(app, req, |app, req, caller| async move {
        let status = query_param(&req, "status")
            .filter(|s| !s.is_empty())
            .map(|s| IntentStatus::parse(&s))
            .transpose()
            .map_err(|e| {
                ApiError::Validation(vec![FieldError::new(&["query", "status"], e.0, "enum")])
            })?;
        let (limit, cursor) = list_params(&req)?;
        let user = path_param(&req, "user_id").unwrap_or_default();
        let page =
            intents::list_for_user(&app, &caller, &user, status, limit, cursor.as_deref()).await?;
        Ok(list_response(page))
    })
    .await
}

/// A registration's intents, newest first.
#[utoipa::path(get, path = "/payment/intents/registration/{registration_id}", tag = "payment",
    operation_id = "list_registration_payment_intents",
    params(
        ("registration_id" = String, Path, description = "registration_id"),
        ("limit" = Option<u32>, Query, description = "1-100, default 100"),
        ("cursor" = Option<String>, Query, description = "X-Next-Cursor of the previous page")),
    responses(
        (status = 200, description = "Newest first; X-Next-Cursor when more remain", body = Vec<PaymentIntentResponse>),
        (status = 401, description = "Missing or invalid token", body = ErrorDetail),
        (status = 404, description = "No such registration visible to the caller", body = ErrorDetail),
        (status = 422, description = "Validation Error", body = HTTPValidationError)),
    security(("bearer" = [])))]
pub async fn list_by_registration(app: Arc<App>, req: Request) -> Response<Body> {
    authed(app, req, |app, req, caller| async move {
        let (limit, cursor) = list_params(&req)?;
        let id = path_param(&req, "registration_id").unwrap_or_default();
        let payable = registration(&id, &["path", "registration_id"])?;
        let page = intents::list_for_payable(
            &app,
            &caller,
            &payable,
            "Registration",
            limit,
            cursor.as_deref(),
        )
        .await?;
        Ok(list_response(page))
    })
    .await
}
