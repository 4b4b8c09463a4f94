//! Surface A, "Payment Service" (seed 000): FastAPI's shapes and error bodies.

use std::future::Future;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use super::{bearer_caller, iso_millis, parse_limit};
use crate::app::intents::{self, Ending};
use crate::auth::Caller;
use crate::domain::{
    GatewayId, IntentStatus, OtpCode, PayableId, PayableKind, PayableRef, PaymentIntent,
};
use crate::http::{
    ApiError, ErrorFormat, FieldError, JsonBody, idempotent, json, path_param, query_param,
};
use crate::runtime::App;

/// FastAPI: 422 `{"detail": [{"loc", "msg", "type"}]}`, otherwise `{"detail": "…"}`.
pub struct FastApi;

impl ErrorFormat for FastApi {
    fn render(&self, error: &ApiError) -> Response<Body> {
        let body = match error {
            ApiError::Validation(errors) => {
                json!({ "detail": errors.iter().map(detail).collect::<Vec<_>>() })
            }
            other => json!({ "detail": other.message() }),
        };
        let mut response = json(error.status(), &body);
        if error.status() == 401 {
            response.headers_mut().insert(
                "www-authenticate",
                lambda_http::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

fn detail(e: &FieldError) -> Value {
    let loc: Vec<Value> = e
        .loc
        .iter()
        .map(|l| match l {
            crate::http::Loc::Key(k) => json!(k),
            crate::http::Loc::Index(i) => json!(i),
        })
        .collect();
    json!({ "loc": loc, "msg": e.msg, "type": e.kind })
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

fn intent_view(i: &PaymentIntent) -> Value {
    json!({
        "id": i.id.to_string(),
        "created_at": iso_millis(i.created_at),
        "updated_at": iso_millis(i.updated_at),
        "payer_user_id": i.payer.user_id.as_str(),
        "payer_email": i.payer.email.as_str(),
        "registration_id": i.payable.as_ref().map(|p| p.id.as_str()),
        "amount": i.amount.to_string(),
        "currency": i.amount.currency().code(),
        "status": i.status.as_str(),
        "otp_attempts": i.otp_attempts,
        "failure_reason": i.failure_reason,
        "cancellation_reason": i.cancellation_reason,
    })
}

fn list_response(page: crate::ports::Page<PaymentIntent>) -> Response<Body> {
    let mut response = json(
        200,
        &Value::Array(page.items.iter().map(intent_view).collect()),
    );
    if let Some(next) = page
        .next
        .and_then(|n| lambda_http::http::HeaderValue::from_str(&n).ok())
    {
        response.headers_mut().insert("x-next-cursor", next);
    }
    response
}

fn registration(id: &str, loc: &[&str]) -> Result<PayableRef, ApiError> {
    let id = PayableId::parse(id)
        .map_err(|e| ApiError::Validation(vec![FieldError::new(loc, e.0, "value_error")]))?;
    Ok(PayableRef {
        kind: PayableKind::Registration,
        id,
    })
}

/// `GET /`
pub async fn root(_app: Arc<App>, _req: Request) -> Response<Body> {
    json(
        200,
        &json!({
            "message": "Payment Service is running",
            "service": "payment-service",
            "version": env!("CARGO_PKG_VERSION"),
        }),
    )
}

/// `POST /payment/intents`
pub async fn create_intent(app: Arc<App>, req: Request) -> Response<Body> {
    authed_post(app, req, |app, req, caller| async move {
        let [registration_id] = body_fields(&req, ["registration_id"])?;
        let payable = registration(&registration_id, &["body", "registration_id"])?;
        let (intent, created) =
            intents::open_for_payable(&app, &caller, &payable, GatewayId::Otp, "Registration").await?;
        let message = if created {
            "Payment intent created"
        } else {
            "An open payment intent already exists for this registration"
        };
        Ok(json(200, &json!({ "message": message, "intent_id": intent.id.to_string(), "status": intent.status.as_str() })))
    })
    .await
}

/// `POST /payment/intents/request-otp`
pub async fn request_otp(app: Arc<App>, req: Request) -> Response<Body> {
    authed_post(app, req, |app, req, caller| async move {
        let [intent_id] = body_fields(&req, ["intent_id"])?;
        let expires_at = intents::request_otp(&app, &caller, &intent_id).await?;
        Ok(json(
            200,
            &json!({ "message": "OTP sent to your email", "expires_at": iso_millis(expires_at) }),
        ))
    })
    .await
}

/// `POST /payment/intents/confirm`
pub async fn confirm(app: Arc<App>, req: Request) -> Response<Body> {
    authed_post(app, req, |app, req, caller| async move {
        let [intent_id, otp_code] = body_fields(&req, ["intent_id", "otp_code"])?;
        let code = OtpCode::parse(&otp_code)
            .map_err(|e| ApiError::Validation(vec![FieldError::new(&["body", "otp_code"], e.0, "value_error")]))?;
        let (_, payment) = intents::confirm_otp(&app, &caller, &intent_id, &code).await?;
        Ok(json(
            200,
            &json!({ "message": "Payment confirmed", "payment_id": payment.id.to_string(), "amount": payment.amount.to_string() }),
        ))
    })
    .await
}

/// `GET /payment/intents/{intent_id}`
pub async fn get_intent(app: Arc<App>, req: Request) -> Response<Body> {
    authed(app, req, |app, req, caller| async move {
        let id = path_param(&req, "intent_id").unwrap_or_default();
        let intent = intents::get(&app, &caller, &id).await?;
        Ok(json(200, &intent_view(&intent)))
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
        Ok(json(200, &json!({ "message": message, "intent_id": intent.id.to_string(), "status": intent.status.as_str() })))
    })
    .await
}

/// `POST /payment/intents/cancel`
pub async fn cancel(app: Arc<App>, req: Request) -> Response<Body> {
    end(app, req, Ending::Cancel).await
}

/// `POST /payment/intents/fail`
pub async fn fail(app: Arc<App>, req: Request) -> Response<Body> {
    end(app, req, Ending::Fail).await
}

fn list_params(req: &Request) -> Result<(usize, Option<String>), ApiError> {
    let limit = parse_limit(query_param(req, "limit"), LIST_DEFAULT, LIST_MAX).map_err(|m| {
        ApiError::Validation(vec![FieldError::new(&["query", "limit"], m, "value_error")])
    })?;
    Ok((limit, query_param(req, "cursor")))
}

/// `GET /payment/intents/user/{user_id}?status=`
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

/// `GET /payment/intents/registration/{registration_id}`
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
