//! The PaymentIntents API: card payment intents collected through a gateway
//! (the payer confirms with a payment method; the gateway may answer later by
//! signed webhook), read by staff, in ASP.NET Core's camelCase shapes and
//! problem-details errors.

pub mod problems;
pub mod wire;

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use serde::de::IgnoredAny;

use super::IdempotencyKey;
use super::paging::{PageSize, json_array};
use super::params::{CustomerPath, PageQuery50};
use super::responses::response_set;
use crate::app::App;
use crate::app::gateway_events;
use crate::app::intents;
use crate::app::payment_intents::{self, NewGatewayIntent};
use crate::auth::Caller;
use crate::domain::{
    Currency, GatewayId, IntentId, Money, PayableId, PayableKind, PayableRef, UserId,
};
use crate::http::{
    AllChecked, Anonymous, ApiError, Authenticate, Checked, FieldError, FromRequest,
    SentIdempotencyKey, header, json_body, json_of, named, path_param, problem, request_id,
};
use crate::ports::PageRequest;
use problems::{
    BadPage, BadRequestBody, CHANGE, GatewayDown, GatewayNotConfigured, GatewayTimedOut, KeyReused,
    NotStaff, ProblemDetails, READ, TooLarge, Unauthenticated,
};
use wire::*;

/// Intents come 50 to a page unless `limit` says otherwise.
pub const PAGE: PageSize = PageSize::new(50, 100);

/// The intent named is none of the caller's (or no intent at all).
#[derive(utoipa::IntoResponses)]
#[response(
    status = 404,
    description = "No such payment intent of the caller's",
    content_type = "application/problem+json"
)]
pub struct NoSuchIntent(pub ProblemDetails);

response_set!(
    /// What a staff list may answer: a bad `limit` or `cursor` (400), a
    /// missing or invalid token (401), a caller who is not staff (403).
    StaffListErrors = BadPage, Unauthenticated, NotStaff
);

response_set!(
    /// What any change may answer besides its own errors: a missing or
    /// invalid token (401), a body over 64 KiB (413), a reused
    /// Idempotency-Key (422), and the gateway unreachable or refusing (502)
    /// or too slow (504).
    ChangeErrors = Unauthenticated, TooLarge, KeyReused, GatewayDown, GatewayTimedOut
);

/// Which page of a list.
pub struct PageInput(PageRequest);

impl FromRequest for PageInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let (page,) = (PAGE.paging(req),).all()?;
        Ok(Self(page))
    }
}

/// Every payment intent, newest first: Admin or Support.
#[utoipa::path(get, path = "/api/v1/PaymentIntents", tag = "PaymentIntents",
    operation_id = "list_payment_intents",
    params(PageQuery50),
    responses(
        (status = 200, description = "Newest first; X-Next-Cursor when more remain", body = Vec<PaymentIntentDto>),
        StaffListErrors),
    security(("bearer" = [])))]
pub async fn list(app: Arc<App>, req: Request) -> Response<Body> {
    READ.run(
        app,
        req,
        |app, caller: Caller, PageInput(page)| async move {
            let found = payment_intents::list_all(&app, &caller, &page).await?;
            Ok(json_array::<PaymentIntentDto, _>(found))
        },
    )
    .await
}

/// The intent named in the path; `None` for an id no intent can have, which
/// staff reads answer as no intent once the caller's role is checked.
pub struct IntentPath(Option<IntentId>);

impl FromRequest for IntentPath {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        Ok(Self(IntentId::parse(&path_param(req, "id")).ok()))
    }
}

/// The intent in the path: one no intent can have is no intent of the caller's.
fn intent_id(req: &Request) -> Result<IntentId, ApiError> {
    named(IntentId::parse(&path_param(req, "id")), intents::not_found)
}

/// One payment intent: Admin or Support.
#[utoipa::path(get, path = "/api/v1/PaymentIntents/{id}", tag = "PaymentIntents",
    operation_id = "get_payment_intent_by_id",
    params(("id" = String, Path, description = "The payment intent's id")),
    responses(
        (status = 200, description = "The payment intent", body = PaymentIntentDto),
        Unauthenticated,
        NotStaff,
        (status = 404, description = "No such payment intent", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get(app: Arc<App>, req: Request) -> Response<Body> {
    READ.run(app, req, |app, caller: Caller, IntentPath(id)| async move {
        payment_intents::staff_only(&caller)?;
        let id = named(id.ok_or(()), intents::not_found)?;
        let intent = payment_intents::get_for_staff(&app, &caller, &id).await?;
        Ok(json_of(200, &PaymentIntentDto::from(&intent)))
    })
    .await
}

/// Whose intents, which page.
pub struct CustomerListInput {
    /// None when the path holds no user id: no customer has it.
    customer: Option<UserId>,
    page: PageRequest,
}

impl FromRequest for CustomerListInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        Ok(Self {
            customer: UserId::parse(&path_param(req, "customerId")).ok(),
            page: PageInput::from_request(req)?.0,
        })
    }
}

/// One customer's payment intents, newest first: Admin or Support.
#[utoipa::path(get, path = "/api/v1/PaymentIntents/customer/{customerId}", tag = "PaymentIntents",
    operation_id = "list_customer_payment_intents",
    params(CustomerPath, PageQuery50),
    responses(
        (status = 200, description = "Newest first; X-Next-Cursor when more remain", body = Vec<PaymentIntentDto>),
        StaffListErrors),
    security(("bearer" = [])))]
pub async fn list_by_customer(app: Arc<App>, req: Request) -> Response<Body> {
    READ.run(
        app,
        req,
        |app, caller: Caller, input: CustomerListInput| async move {
            let found = payment_intents::list_for_customer(
                &app,
                &caller,
                input.customer.as_ref(),
                &input.page,
            )
            .await?;
            Ok(json_array::<PaymentIntentDto, _>(found))
        },
    )
    .await
}

fn payable(kind: PayableKind, id: Option<String>, field: &str) -> Checked<Option<PayableRef>> {
    match id.map(|id| PayableId::parse(&id)) {
        None => Ok(None),
        Some(Ok(id)) => Ok(Some(PayableRef { kind, id })),
        Some(Err(e)) => problem(&["body", field], e.0, "value_error"),
    }
}

fn url(sent: &crate::http::Sent, field: &str) -> Checked<Option<String>> {
    let loc = ["body", field];
    let Some(text) = sent.optional_string(&loc)? else {
        return Ok(None);
    };
    let absolute = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .is_some_and(|rest| {
            rest.chars()
                .next()
                .is_some_and(|c| !matches!(c, '/' | '?' | '#'))
        });
    if absolute && !text.chars().any(char::is_whitespace) {
        Ok(Some(text))
    } else {
        problem(
            &loc,
            format!("{field} must be an absolute http or https URL"),
            "value_error",
        )
    }
}

/// The amount as its number's own digits, in the currency it is stated in.
fn money(amount: &crate::http::Sent, currency: &crate::http::Sent) -> Checked<Option<Money>> {
    let currency = match currency.optional_text(&["body", "currency"]) {
        Ok(None) => Ok(None),
        Ok(Some(code)) => Currency::parse(&code)
            .map(Some)
            .or_else(|e| problem(&["body", "currency"], e.to_string(), "value_error")),
        Err(e) => Err(e),
    };
    let raw = match amount.raw() {
        None => Ok(None),
        Some(raw) if raw.starts_with(|c: char| c.is_ascii_digit() || c == '-') => {
            Ok(Some(raw.to_owned()))
        }
        Some(_) => problem(
            &["body", "amount"],
            "amount must be a number",
            "value_error",
        ),
    };
    match (raw, currency).checked()? {
        (None, None) => Ok(None),
        (Some(raw), Some(currency)) => Money::parse(&raw, currency)
            .map(Some)
            .or_else(|e| problem(&["body", "amount"], e.to_string(), "value_error")),
        (Some(_), None) => problem(
            &["body", "currency"],
            "currency is required with amount",
            "missing",
        ),
        (None, Some(_)) => problem(
            &["body", "amount"],
            "amount is required with currency",
            "missing",
        ),
    }
}

/// The gateway named, if any. Whether this deployment offers it is the use
/// case's to say, with the same answer as for a name no deployment knows.
fn gateway(sent: &crate::http::Sent) -> Checked<Option<GatewayId>> {
    let loc = ["body", "paymentGatewayId"];
    let refused = || {
        problem(
            &loc,
            crate::app::AppError::GatewayNotOffered.to_string(),
            "value_error",
        )
    };
    match sent.optional_string(&loc) {
        Ok(None) => Ok(None),
        Ok(Some(name)) if GATEWAYS.contains(&name.as_str()) => {
            GatewayId::parse(&name).map(Some).or_else(|_| refused())
        }
        Ok(Some(_)) => refused(),
        Err(_) => problem(
            &loc,
            "paymentGatewayId must be a gateway's name (a string), such as \"stripe\"",
            "string_type",
        ),
    }
}

impl FromRequest for NewGatewayIntent {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let body: CreatePaymentIntentDto = json_body(req)?;
        let invoice = body
            .invoice_id
            .optional_string(&["body", "invoiceId"])
            .and_then(|id| payable(PayableKind::Invoice, id, "invoiceId"));
        let order = body
            .order_id
            .optional_string(&["body", "orderId"])
            .and_then(|id| payable(PayableKind::Order, id, "orderId"));
        let (invoice, order, amount, gateway, return_url, cancel_url, description) = (
            invoice,
            order,
            money(&body.amount, &body.currency),
            gateway(&body.payment_gateway_id),
            url(&body.return_url, "returnUrl"),
            url(&body.cancel_url, "cancelUrl"),
            body.description.optional_string(&["body", "description"]),
        )
            .all()?;
        let payable = match (invoice, order) {
            (Some(_), Some(_)) => {
                return Err(ApiError::Validation(vec![FieldError::new(
                    &["body", "orderId"],
                    "give invoiceId or orderId, not both",
                    "value_error",
                )]));
            }
            (invoice, order) => invoice.or(order),
        };
        Ok(Self {
            payable,
            amount,
            gateway,
            description,
            return_url,
            cancel_url,
        })
    }
}

/// Opens a payment intent: for an invoice or order the caller owns (its open
/// intent is returned instead when it has one), or standalone for the amount given.
#[utoipa::path(post, path = "/api/v1/PaymentIntents", tag = "PaymentIntents",
    operation_id = "create_payment_intent_v1",
    request_body = CreatePaymentIntentDto,
    params(IdempotencyKey),
    responses(
        (status = 200, description = "The payable's open payment intent, already created", body = PaymentIntentDto),
        (status = 201, description = "Created", body = PaymentIntentDto),
        (status = 400, description = "Invalid fields; a paymentGatewayId this deployment does not offer; an amount or currency other than the payable's; a malformed Idempotency-Key", body = BadRequestBody, content_type = "application/problem+json"),
        ChangeErrors,
        (status = 404, description = "No such invoice or order of the caller's", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "Invoice or order paid or canceled, or this Idempotency-Key's first request is still running", body = ProblemDetails, content_type = "application/problem+json"),
        GatewayNotConfigured),
    security(("bearer" = [])))]
pub async fn create(app: Arc<App>, req: Request) -> Response<Body> {
    CHANGE
        .run(
            app,
            req,
            |app, caller: Caller, (new, key): (NewGatewayIntent, SentIdempotencyKey)| async move {
                let key = key.in_scope(&caller.scope());
                let (intent, created) =
                    payment_intents::create(&app, &caller, new, key.as_ref()).await?;
                let status = if created { 201 } else { 200 };
                Ok(json_of(status, &PaymentIntentDto::from(&intent)))
            },
        )
        .await
}

/// The intent in the path and the payment method in the body (a JSON string).
pub struct ConfirmInput {
    id: IntentId,
    payment_method: String,
}

impl FromRequest for ConfirmInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let bytes: &[u8] = req.body().as_ref();
        let invalid = |msg: &str, kind: &'static str| {
            ApiError::Validation(vec![FieldError::new(&["body"], msg, kind)])
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(invalid(
                "the payment method id is required, as a JSON string",
                "missing",
            ));
        }
        let method = match serde_json::from_slice::<String>(bytes) {
            Ok(method) => method,
            Err(e) if e.is_data() => {
                return Err(invalid(
                    "the body must be the payment method id as a JSON string, such as \"pm_card_visa\"",
                    "string_type",
                ));
            }
            Err(_) => return Err(invalid("JSON decode error", "json_invalid")),
        };
        let valid = !method.is_empty()
            && method.len() <= 255
            && method
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(invalid(
                "a payment method id is 1-255 letters, digits or underscores",
                "value_error",
            ));
        }
        Ok(Self {
            id: intent_id(req)?,
            payment_method: method,
        })
    }
}

/// Confirms the payer's intent with a payment method. The gateway's answer
/// is stored before this answers 200 with the intent: `Succeeded` (the payment
/// recorded), a decline (`RequiresPaymentMethod` with `failureReason`) or
/// `RequiresAction` with `nextAction`.
#[utoipa::path(post, path = "/api/v1/PaymentIntents/{id}/confirm", tag = "PaymentIntents",
    operation_id = "confirm_payment_intent_v1",
    params(("id" = String, Path, description = "The payment intent's id"), IdempotencyKey),
    request_body(content = PaymentMethodBody, description = "The payment method id, as a JSON string", content_type = "application/json"),
    responses(
        (status = 200, description = "The intent as the gateway left it", body = PaymentIntentDto),
        (status = 400, description = "Not a payment method id, no such payment method, or a malformed Idempotency-Key", body = BadRequestBody, content_type = "application/problem+json"),
        ChangeErrors,
        NoSuchIntent,
        (status = 409, description = "The intent cannot be confirmed in its status, or this Idempotency-Key's first request is still running", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn confirm(app: Arc<App>, req: Request) -> Response<Body> {
    CHANGE
        .run(
            app,
            req,
            |app, caller: Caller, input: ConfirmInput| async move {
                let intent =
                    payment_intents::confirm(&app, &caller, &input.id, &input.payment_method)
                        .await?;
                Ok(json_of(200, &PaymentIntentDto::from(&intent)))
            },
        )
        .await
}

/// The intent in the path; the body, if any, is empty or a JSON object.
pub struct CancelInput(IntentId);

impl FromRequest for CancelInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let bytes: &[u8] = req.body().as_ref();
        if !bytes.iter().all(u8::is_ascii_whitespace) {
            json_body::<IgnoredAny>(req)?;
        }
        Ok(Self(intent_id(req)?))
    }
}

/// Cancels an intent (its payer, or an Admin) at its gateway and here, freeing its payable.
#[utoipa::path(post, path = "/api/v1/PaymentIntents/{id}/cancel", tag = "PaymentIntents",
    operation_id = "cancel_payment_intent_v1",
    params(("id" = String, Path, description = "The payment intent's id"), IdempotencyKey),
    responses(
        (status = 200, description = "Canceled", body = PaymentIntentDto),
        (status = 400, description = "A body that is not a JSON object, or a malformed Idempotency-Key", body = BadRequestBody, content_type = "application/problem+json"),
        ChangeErrors,
        NoSuchIntent,
        (status = 409, description = "The intent cannot be canceled in its status, or this Idempotency-Key's first request is still running", body = ProblemDetails, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn cancel(app: Arc<App>, req: Request) -> Response<Body> {
    CHANGE
        .run(
            app,
            req,
            |app, caller: Caller, CancelInput(id)| async move {
                let intent = payment_intents::cancel(&app, &caller, &id).await?;
                Ok(json_of(200, &PaymentIntentDto::from(&intent)))
            },
        )
        .await
}

/// A webhook delivery, as received: signature checks need the exact bytes.
pub struct WebhookInput {
    gateway: GatewayId,
    signature: Option<String>,
    body: Vec<u8>,
    /// API Gateway's id of this request: names this run of the delivery.
    delivery: String,
}

impl FromRequest for WebhookInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        Ok(Self {
            gateway: named(
                GatewayId::parse(&path_param(req, "gatewayId")),
                gateway_events::unknown_gateway,
            )?,
            signature: header(req, "stripe-signature").map(str::to_owned),
            // lambda_http has already decoded a base64 body: these are the bytes sent.
            body: req.body().as_ref().to_vec(),
            delivery: request_id(req),
        })
    }
}

/// A webhook body: the gateway's event object, or a JSON string holding it.
pub struct WebhookBody;

impl utoipa::PartialSchema for WebhookBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        crate::http::schema::any_of([
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some(
                    "A Stripe-shaped event: id, type, data.object.id (the gateway intent's id)",
                ))
                .into(),
            // Its size is bounded by the 64 KiB body limit (413), not by this schema.
            ObjectBuilder::new().schema_type(Type::String).into(),
        ])
    }
}

impl utoipa::ToSchema for WebhookBody {}

/// Receives a signed event from a payment gateway (no token: the
/// `Stripe-Signature` header, HMAC-SHA256 over the raw body, proves it). Each
/// event is acted on once; duplicates, unknown intents, event types not acted
/// on and events that would move an intent backwards are acknowledged too.
#[utoipa::path(post, path = "/api/v1/PaymentIntents/webhook/{gatewayId}", tag = "PaymentIntents",
    operation_id = "payment_intents_webhook",
    params(
        ("gatewayId" = String, Path, description = "The gateway's name, such as test"),
        ("Stripe-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.\" + body)>")),
    request_body(content = WebhookBody, description = "The event, exactly as signed", content_type = "application/json"),
    responses(
        (status = 200, description = "Received", body = WebhookReceived),
        (status = 400, description = "Missing, bad or stale signature, or an unreadable event", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such gateway", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "Another delivery of this event is still being handled: send it again later", body = ProblemDetails, content_type = "application/problem+json"),
        TooLarge))]
pub async fn webhook(app: Arc<App>, req: Request) -> Response<Body> {
    // Not Idempotency-Key based: gateways redeliver by event id, which the use case deduplicates.
    READ.run(
        app,
        req,
        |app, _: Anonymous, input: WebhookInput| async move {
            gateway_events::receive(
                &app,
                input.gateway,
                input.signature.as_deref(),
                &input.body,
                &input.delivery,
            )
            .await?;
            Ok(json_of(200, &WebhookReceived { received: true }))
        },
    )
    .await
}
