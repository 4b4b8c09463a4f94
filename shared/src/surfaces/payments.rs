//! Surface B, "Payments" (seed 002): offline payments recorded against orders.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::message::{MessageError, MessageErrors, ValidationFailed};
use super::{bearer_caller, iso_millis, parse_limit, service_caller};
use crate::app::payments::{self, Actor};
use crate::domain::{Payment, PaymentMethod, PaymentStatus};
use crate::http::{
    ApiError, ErrorFormat, FieldError, JsonBody, JsonDecimal, header, idempotent, json_of,
    json_page, path_param, query_param,
};
use crate::runtime::App;

/// Request body of `POST /payment` (read field by field; this documents it).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatePaymentRequest {
    /// In the order's currency, major units.
    #[schema(value_type = f64, example = 500)]
    pub amount: JsonDecimal,
    #[schema(example = "7e49b2a1-fa0c-4aac-b996-91f2411f14b7")]
    pub order_id: String,
    /// Bkash, Card, Cash, Bank Transfer, Nagad or Rocket.
    #[schema(example = "Bkash")]
    pub payment_method: String,
    /// PENDING (anyone); COMPLETED or FAILED (Admin, Staff or an API key).
    #[schema(example = "PENDING")]
    pub status: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentResponse {
    #[schema(example = "4b68917d-4452-4d18-9012-47e843f05c15")]
    pub id: String,
    #[schema(example = "7e49b2a1-fa0c-4aac-b996-91f2411f14b7")]
    pub order_id: Option<String>,
    #[schema(value_type = f64, example = 500)]
    pub amount: JsonDecimal,
    #[schema(example = "BDT")]
    pub currency: String,
    /// PENDING, COMPLETED, FAILED, CANCELLED or REFUNDED.
    #[schema(example = "COMPLETED")]
    pub status: String,
    #[schema(example = "Bkash")]
    pub payment_method: String,
    #[schema(example = "TXN123456")]
    pub transaction_id: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&Payment> for PaymentResponse {
    fn from(p: &Payment) -> Self {
        Self {
            id: p.id.to_string(),
            order_id: p.payable.as_ref().map(|r| r.id.to_string()),
            amount: JsonDecimal(p.amount.to_decimal()),
            currency: p.amount.currency().code().into(),
            status: p.status.as_str().into(),
            payment_method: p.method.as_str().into(),
            transaction_id: p.transaction_id.clone(),
            created_at: iso_millis(p.created_at),
        }
    }
}

fn list(payments: &[Payment]) -> Vec<PaymentResponse> {
    payments.iter().map(PaymentResponse::from).collect()
}

/// An API key when one is presented, else the bearer token.
async fn actor(app: &App, req: &Request) -> Result<Actor, ApiError> {
    if header(req, "x-api-key").is_some() {
        Ok(Actor::Service(service_caller(app, req).await?))
    } else {
        Ok(Actor::Person(bearer_caller(app, req).await?))
    }
}

fn invalid(field: &str, msg: impl Into<String>) -> ApiError {
    ApiError::Validation(vec![FieldError::new(&["body", field], msg, "value_error")])
}

/// Records a payment for an order: PENDING by its owner; COMPLETED or FAILED by
/// Admin, Staff or the payment system (X-API-Key). The PENDING and COMPLETED
/// payments of an order never sum past its total.
#[utoipa::path(post, path = "/payment", tag = "payments", operation_id = "create_payment",
    request_body = CreatePaymentRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses(
        (status = 201, description = "Recorded", body = PaymentResponse),
        (status = 400, description = "Validation failed, or more than is left to pay", body = ValidationFailed),
        (status = 401, description = "Missing or invalid token or API key", body = MessageError),
        (status = 403, description = "Only staff or the payment system records COMPLETED or FAILED", body = MessageError),
        (status = 404, description = "No such order of the caller's", body = MessageError),
        (status = 409, description = "Order paid, canceled or held by a payment intent", body = MessageError)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn create(app: Arc<App>, req: Request) -> Response<Body> {
    let actor = match actor(&app, &req).await {
        Ok(a) => a,
        Err(e) => return MessageErrors.render(&e),
    };
    let scope = match &actor {
        Actor::Person(c) => format!("user:{}", c.user_id),
        Actor::Service(s) => format!("service:{}", s.key_id),
    };
    let app2 = app.clone();
    idempotent(&app, req, &scope, &MessageErrors, |req| async move {
        record(&app2, &actor, &req)
            .await
            .unwrap_or_else(|e| MessageErrors.render(&e))
    })
    .await
}

async fn record(app: &App, actor: &Actor, req: &Request) -> Result<Response<Body>, ApiError> {
    let mut body = JsonBody::parse(req).map_err(|e| ApiError::Validation(vec![e]))?;
    let amount = match body.get("amount") {
        None => {
            body.errors.push(FieldError::new(
                &["body", "amount"],
                "amount is required",
                "missing",
            ));
            None
        }
        // The number's own digits; the order's currency decides what is valid.
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            body.invalid(&["body", "amount"], "amount must be a number");
            None
        }
    };
    let order_id = body.required_str("orderId");
    let method = body.required_str("paymentMethod").and_then(|m| {
        PaymentMethod::parse(&m)
            .ok()
            .filter(|m| *m != PaymentMethod::EmailOtp)
            .or_else(|| {
                body.invalid(
                    &["body", "paymentMethod"],
                    "paymentMethod must be one of Bkash, Card, Cash, Bank Transfer, Nagad, Rocket",
                );
                None
            })
    });
    let status = body.required_str("status").and_then(|s| {
        PaymentStatus::parse(&s)
            .ok()
            .filter(|s| {
                matches!(
                    s,
                    PaymentStatus::Pending | PaymentStatus::Completed | PaymentStatus::Failed
                )
            })
            .or_else(|| {
                body.invalid(
                    &["body", "status"],
                    "status must be one of PENDING, COMPLETED, FAILED",
                );
                None
            })
    });
    body.finish().map_err(ApiError::Validation)?;
    let (Some(amount), Some(order_id), Some(method), Some(status)) =
        (amount, order_id, method, status)
    else {
        return Err(ApiError::Internal);
    };
    let order = payments::order_ref(&order_id)?;
    let payment = payments::record(app, actor, &order, &amount, method, status)
        .await
        .map_err(|e| match e {
            // The amount's own faults are field errors, as the seed's validation shape has them.
            crate::app::AppError::Invalid(msg) => invalid("amount", msg),
            other => other.into(),
        })?;
    Ok(json_of(201, &PaymentResponse::from(&payment)))
}

async fn person<F, Fut>(app: Arc<App>, req: Request, f: F) -> Response<Body>
where
    F: FnOnce(Arc<App>, Request, Actor) -> Fut,
    Fut: std::future::Future<Output = Result<Response<Body>, ApiError>>,
{
    match bearer_caller(&app, &req).await {
        Ok(caller) => f(app, req, Actor::Person(caller))
            .await
            .unwrap_or_else(|e| MessageErrors.render(&e)),
        Err(e) => MessageErrors.render(&e),
    }
}

const LIST_DEFAULT: usize = 10;
const LIST_MAX: usize = 100;
/// Offsets walk the index; beyond this, callers should narrow the question.
const MAX_OFFSET: usize = 10_000;

fn parse_offset(raw: Option<String>) -> Result<usize, String> {
    match raw {
        None => Ok(0),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n <= MAX_OFFSET => Ok(n),
            _ => Err(format!(
                "offset must be an integer between 0 and {MAX_OFFSET}"
            )),
        },
    }
}

/// The caller's payments, newest first.
#[utoipa::path(get, path = "/payment", tag = "payments", operation_id = "list_payments",
    params(
        ("limit" = Option<u32>, Query, description = "Maximum number of payments to return (default 10, at most 100)"),
        ("offset" = Option<u32>, Query, description = "Number of payments to skip")),
    responses(
        (status = 200, description = "Newest first", body = Vec<PaymentResponse>),
        (status = 400, description = "Validation failed", body = ValidationFailed),
        (status = 401, description = "Missing or invalid token", body = MessageError)),
    security(("bearer" = [])))]
pub async fn list_mine(app: Arc<App>, req: Request) -> Response<Body> {
    person(app, req, |app, req, actor| async move {
        let limit = parse_limit(query_param(&req, "limit"), LIST_DEFAULT, LIST_MAX);
        let offset = parse_offset(query_param(&req, "offset"));
        let errors: Vec<FieldError> = [
            ("limit", limit.as_ref().err()),
            ("offset", offset.as_ref().err()),
        ]
        .into_iter()
        .filter_map(|(f, e)| e.map(|m| FieldError::new(&["query", f], m.clone(), "value_error")))
        .collect();
        let (Ok(limit), Ok(offset), true) = (limit, offset, errors.is_empty()) else {
            return Err(ApiError::Validation(errors));
        };
        let Actor::Person(caller) = &actor else {
            return Err(ApiError::Internal);
        };
        let mine = payments::list_mine(&app, caller, limit, offset).await?;
        Ok(json_of(200, &list(&mine)))
    })
    .await
}

#[utoipa::path(get, path = "/payment/{id}", tag = "payments", operation_id = "get_payment",
    params(("id" = String, Path, description = "Unique identifier of the payment")),
    responses(
        (status = 200, description = "The payment", body = PaymentResponse),
        (status = 401, description = "Missing or invalid token", body = MessageError),
        (status = 404, description = "No such payment visible to the caller", body = MessageError)),
    security(("bearer" = [])))]
pub async fn get(app: Arc<App>, req: Request) -> Response<Body> {
    person(app, req, |app, req, actor| async move {
        let payment =
            payments::get(&app, &actor, &path_param(&req, "id").unwrap_or_default()).await?;
        Ok(json_of(200, &PaymentResponse::from(&payment)))
    })
    .await
}

/// An order's payments, newest first: its owner, Admin, Staff or Support.
#[utoipa::path(get, path = "/payment/order/{orderId}", tag = "payments", operation_id = "list_order_payments",
    params(
        ("orderId" = String, Path, description = "The order"),
        ("limit" = Option<u32>, Query, description = "1-100, default 100"),
        ("cursor" = Option<String>, Query, description = "X-Next-Cursor of the previous page")),
    responses(
        (status = 200, description = "Newest first; X-Next-Cursor when more remain", body = Vec<PaymentResponse>),
        (status = 400, description = "Validation failed", body = ValidationFailed),
        (status = 401, description = "Missing or invalid token", body = MessageError),
        (status = 404, description = "No such order visible to the caller", body = MessageError)),
    security(("bearer" = [])))]
pub async fn list_for_order(app: Arc<App>, req: Request) -> Response<Body> {
    person(app, req, |app, req, actor| async move {
        let limit = parse_limit(query_param(&req, "limit"), LIST_MAX, LIST_MAX).map_err(|m| {
            ApiError::Validation(vec![FieldError::new(&["query", "limit"], m, "value_error")])
        })?;
        let order = payments::order_ref(&path_param(&req, "orderId").unwrap_or_default())?;
        let cursor = query_param(&req, "cursor");
        let page = payments::list_for_order(&app, &actor, &order, limit, cursor.as_deref()).await?;
        Ok(json_page(&list(&page.items), page.next))
    })
    .await
}
