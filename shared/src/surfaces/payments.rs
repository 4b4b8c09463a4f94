//! The payments API: offline payments recorded against orders.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Type};

use super::message::{BadRequest, BadToken, CHANGE, MessageError, READ};
use super::paging::{PageSize, json_array};
use super::params::{MAX_OFFSET, OffsetQuery, OrderPathParam};
use super::responses::{CredentialedChangeErrors, response_set};
use super::{IdempotencyKey, PageQuery, iso_millis};
use crate::app::App;
use crate::app::AppError;
use crate::app::payments;
use crate::auth::Actor;
use crate::auth::Caller;
use crate::domain::{PayableRef, Payment, PaymentId, PaymentMethod, PaymentStatus, StatedAmount};
use crate::http::{
    AllChecked, ApiError, Authenticate, Checked, FieldError, FromRequest, JsonDecimal, Sent,
    SentIdempotencyKey, json_body, json_of, named, path_param, problem, query_param, schema,
};
use crate::ports::PageRequest;
use crate::wire_field;

/// The methods a payment may be recorded with.
const METHODS: [&str; 6] = ["Bkash", "Card", "Cash", "Bank Transfer", "Nagad", "Rocket"];
/// The statuses a payment may be recorded in.
const RECORDED: [&str; 3] = ["PENDING", "COMPLETED", "FAILED"];

wire_field!(
    /// In the order's currency, major units, with at most its decimals: a JSON number, read exactly.
    AmountNumber,
    ObjectBuilder::new()
        .schema_type(Type::Number)
        .exclusive_minimum(Some(0))
        .examples([500])
);

wire_field!(
    /// The order: a payable of kind `order`.
    OrderIdField,
    schema::text().examples(["7e49b2a1-fa0c-4aac-b996-91f2411f14b7"])
);

wire_field!(
    /// How the money was paid.
    MethodField,
    schema::one_of(&METHODS).examples(["Bkash"])
);

wire_field!(
    /// PENDING (anyone); COMPLETED or FAILED (Admin, Staff or an API key).
    RecordedStatusField,
    schema::one_of(&RECORDED).examples(["PENDING"])
);

/// Request body of `POST /payment`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatePaymentRequest {
    #[serde(default)]
    #[schema(inline, required = true)]
    pub amount: AmountNumber,
    #[serde(default)]
    #[schema(inline, required = true)]
    pub order_id: OrderIdField,
    #[serde(default)]
    #[schema(inline, required = true)]
    pub payment_method: MethodField,
    #[serde(default)]
    #[schema(inline, required = true)]
    pub status: RecordedStatusField,
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
    /// PENDING, COMPLETED, FAILED, CANCELLED or REFUNDED (refunded in full).
    #[schema(example = "COMPLETED")]
    pub status: String,
    #[schema(example = "Bkash")]
    pub payment_method: String,
    #[schema(example = "TXN123456")]
    pub transaction_id: Option<String>,
    /// What its succeeded refunds gave back, in the same units as `amount` (0 when none); a pending refund counts once it succeeds.
    #[schema(value_type = f64, example = 0)]
    pub refunded_amount: JsonDecimal,
    /// Set when staff must look at it: a gateway collected it for an intent
    /// that had already ended another way (the payer may have paid twice).
    #[schema(example = json!(null))]
    pub review_reason: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&Payment> for PaymentResponse {
    fn from(p: &Payment) -> Self {
        Self {
            id: p.id().to_string(),
            order_id: p.payable().as_ref().map(|r| r.id.to_string()),
            amount: JsonDecimal(p.amount().to_decimal()),
            currency: p.amount().currency().code().into(),
            status: p.status().as_str().into(),
            payment_method: p.method().as_str().into(),
            transaction_id: p.transaction_id().clone(),
            refunded_amount: JsonDecimal(rust_decimal::Decimal::new(
                p.refunded_minor(),
                p.amount().currency().exponent(),
            )),
            review_reason: p.review_reason().clone(),
            created_at: iso_millis(p.created_at()),
        }
    }
}

fn invalid(field: &str, msg: impl Into<String>) -> ApiError {
    ApiError::Validation(vec![FieldError::new(&["body", field], msg, "value_error")])
}

/// The text sent as `field`, as `parse` reads it; what it does not read is
/// answered with the `allowed` values.
fn one_of<T>(
    sent: &Sent,
    field: &str,
    allowed: &[&str],
    parse: impl Fn(&str) -> Option<T>,
) -> Checked<T> {
    let loc = ["body", field];
    sent.text(&loc).and_then(|text| {
        parse(&text).map_or_else(
            || {
                problem(
                    &loc,
                    format!("{field} must be one of {}", allowed.join(", ")),
                    "value_error",
                )
            },
            Ok,
        )
    })
}

/// A payment as its recorder states it.
pub struct RecordInput {
    /// The number's own digits; the order's currency decides what is valid.
    amount: StatedAmount,
    order: PayableRef,
    method: PaymentMethod,
    status: PaymentStatus,
}

impl FromRequest for RecordInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let body: CreatePaymentRequest = json_body(req)?;
        let amount = match body.amount.raw() {
            None => problem(&["body", "amount"], "amount is required", "missing"),
            Some(raw) if raw.starts_with(|c: char| c.is_ascii_digit() || c == '-') => {
                StatedAmount::parse(raw)
                    .or_else(|e| problem(&["body", "amount"], e.to_string(), "value_error"))
            }
            Some(_) => problem(
                &["body", "amount"],
                "amount must be a number",
                "value_error",
            ),
        };
        let method = one_of(&body.payment_method, "paymentMethod", &METHODS, |m| {
            PaymentMethod::parse(m)
                .ok()
                .filter(|m| METHODS.contains(&m.as_str()))
        });
        let status = one_of(&body.status, "status", &RECORDED, |s| {
            PaymentStatus::parse(s)
                .ok()
                .filter(|s| RECORDED.contains(&s.as_str()))
        });
        let (amount, order_id, method, status) = (
            amount,
            body.order_id.text(&["body", "orderId"]),
            method,
            status,
        )
            .all()?;
        Ok(Self {
            amount,
            order: payments::order_ref(&order_id)?,
            method,
            status,
        })
    }
}

/// Records a payment for an order: PENDING by its owner; COMPLETED or FAILED by
/// Admin, Staff or the payment system (X-API-Key). The PENDING and COMPLETED
/// payments of an order never sum past its total, and an order holds at most
/// 40 PENDING payments.
#[utoipa::path(post, path = "/payment", tag = "payments", operation_id = "create_payment",
    request_body = CreatePaymentRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Recorded", body = PaymentResponse),
        CredentialedChangeErrors,
        (status = 403, description = "Only staff or the payment system records COMPLETED or FAILED", body = MessageError),
        (status = 404, description = "No such order of the caller's", body = MessageError),
        (status = 409, description = "Order paid, canceled or held by a payment intent; a PENDING payment on an order already holding 40 PENDING payments; or this Idempotency-Key's first request is still running", body = MessageError)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn create(app: Arc<App>, req: Request) -> Response<Body> {
    CHANGE
        .run(
            app,
            req,
            |app, actor: Actor, (input, key): (RecordInput, SentIdempotencyKey)| async move {
                let key = key.in_scope(&actor.scope());
                let payment = payments::record_under(
                    &app,
                    &actor,
                    key.as_ref(),
                    &input.order,
                    input.amount,
                    input.method,
                    input.status,
                )
                .await
                .map_err(|e| match e {
                    // The amount's own faults are field errors, as the validation shape has them.
                    e @ (AppError::Amount(_) | AppError::AmountRefused(_)) => {
                        invalid("amount", e.to_string())
                    }
                    // Not the amount's fault, but answered so since this API
                    // was first written; the statuses this API reads never reach it.
                    e @ AppError::StatusNotRecordable => invalid("amount", e.to_string()),
                    other => other.into(),
                })?;
                Ok(json_of(201, &PaymentResponse::from(&payment)))
            },
        )
        .await
}

response_set!(
    /// What a payer's read may answer besides its own errors: invalid input
    /// (400) and a missing or invalid token (401).
    TokenErrors = BadRequest, BadToken
);

/// The caller's payments, 10 to a page unless `limit` says otherwise.
pub const PAGE: PageSize = PageSize::new(10, 100);
/// An order's payments, 100 to a page unless `limit` says fewer.
pub const ORDER_PAGE: PageSize = PageSize::new(100, 100);

/// A page of the caller's payments, by offset.
pub struct MineInput {
    limit: usize,
    offset: usize,
}

impl FromRequest for MineInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let offset = match query_param(req, "offset") {
            None => Ok(0),
            Some(s) => match s.parse::<usize>() {
                Ok(n) if n <= MAX_OFFSET => Ok(n),
                _ => problem(
                    &["query", "offset"],
                    format!("offset must be an integer between 0 and {MAX_OFFSET}"),
                    "value_error",
                ),
            },
        };
        let (limit, offset) = (PAGE.of(req), offset).all()?;
        Ok(Self { limit, offset })
    }
}

/// The caller's payments, newest first.
#[utoipa::path(get, path = "/payment", tag = "payments", operation_id = "list_payments",
    params(OffsetQuery),
    responses(
        (status = 200, description = "Newest first", body = Vec<PaymentResponse>),
        TokenErrors),
    security(("bearer" = [])))]
pub async fn list_mine(app: Arc<App>, req: Request) -> Response<Body> {
    READ.run(
        app,
        req,
        |app, caller: Caller, input: MineInput| async move {
            let mine = payments::list_mine(&app, &caller, input.limit, input.offset).await?;
            let mine: Vec<PaymentResponse> = mine.iter().map(PaymentResponse::from).collect();
            Ok(json_of(200, &mine))
        },
    )
    .await
}

/// The payment named in the path.
pub struct PaymentPath(PaymentId);

impl FromRequest for PaymentPath {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        Ok(Self(named(
            PaymentId::parse(&path_param(req, "id")),
            payments::payment_not_found,
        )?))
    }
}

/// One payment: the caller's own; any for Admin, Staff, Support or the API key.
#[utoipa::path(get, path = "/payment/{id}", tag = "payments", operation_id = "get_payment",
    params(("id" = String, Path, description = "Unique identifier of the payment")),
    responses(
        (status = 200, description = "The payment", body = PaymentResponse),
        BadToken,
        (status = 404, description = "No such payment visible to the caller", body = MessageError)),
    security(("bearer" = [])))]
pub async fn get(app: Arc<App>, req: Request) -> Response<Body> {
    READ.run(
        app,
        req,
        |app, caller: Caller, PaymentPath(id)| async move {
            let payment = payments::get(&app, &Actor::Person(caller), &id).await?;
            Ok(json_of(200, &PaymentResponse::from(&payment)))
        },
    )
    .await
}

/// Which order's payments, which page.
pub struct OrderListInput {
    order: PayableRef,
    page: PageRequest,
}

impl FromRequest for OrderListInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let (page,) = (ORDER_PAGE.paging(req),).all()?;
        Ok(Self {
            order: payments::order_ref(&path_param(req, "orderId"))?,
            page,
        })
    }
}

/// An order's payments, newest first: its owner, Admin, Staff or Support.
#[utoipa::path(get, path = "/payment/order/{orderId}", tag = "payments", operation_id = "list_order_payments",
    params(OrderPathParam, PageQuery),
    responses(
        (status = 200, description = "Newest first; X-Next-Cursor when more remain", body = Vec<PaymentResponse>),
        TokenErrors,
        (status = 404, description = "No such order visible to the caller", body = MessageError)),
    security(("bearer" = [])))]
pub async fn list_for_order(app: Arc<App>, req: Request) -> Response<Body> {
    READ.run(
        app,
        req,
        |app, caller: Caller, input: OrderListInput| async move {
            let page =
                payments::list_for_order(&app, &Actor::Person(caller), &input.order, &input.page)
                    .await?;
            Ok(json_array::<PaymentResponse, _>(page))
        },
    )
    .await
}
