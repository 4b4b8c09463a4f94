//! Surface F, the service API: trusted backends register what is owed (`X-API-Key`).
//! Errors as surface B: `{"message"}`, validation 400 with `errors[{field, message}]`.

use std::future::Future;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::message::{MessageError, MessageErrors, ValidationFailed};
use super::{iso_millis, service_caller};
use crate::app::payables;
use crate::domain::{
    Currency, Email, LineItem, Money, Payable, PayableId, PayableKind, PayableRef, PayableStatus,
    Payer, UserId,
};
use crate::http::{ApiError, ErrorFormat, FieldError, JsonBody, idempotent, json_of, path_param};
use crate::runtime::App;

#[derive(Serialize, ToSchema)]
pub struct LineItemBody {
    #[schema(example = "Shirt")]
    pub name: String,
    /// Unit price in minor units.
    #[schema(example = 5600)]
    pub amount: i64,
    #[schema(example = "usd")]
    pub currency: String,
    #[schema(example = 2)]
    pub quantity: u32,
    pub description: Option<String>,
}

/// Body of `PUT /api/v1/payables/{kind}/{id}`.
#[derive(Serialize, ToSchema)]
pub struct PayableRequest {
    #[schema(example = "demo-user-2")]
    pub user_id: String,
    #[schema(example = "demo-user-2@example.com")]
    pub email: String,
    /// Decimal string in major units.
    #[schema(example = "112.00")]
    pub amount: String,
    #[schema(example = "USD")]
    pub currency: String,
    pub number: Option<String>,
    pub description: Option<String>,
    pub line_items: Option<Vec<LineItemBody>>,
    /// The merchant; partners see only their business's payments.
    pub business_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PayableResponse {
    #[schema(example = "order")]
    pub kind: String,
    #[schema(example = "ORD-1001")]
    pub id: String,
    pub user_id: String,
    pub email: String,
    #[schema(example = "112.00")]
    pub amount: String,
    #[schema(example = "USD")]
    pub currency: String,
    pub number: Option<String>,
    pub description: Option<String>,
    pub line_items: Vec<LineItemBody>,
    pub business_id: Option<String>,
    /// open, paid or canceled.
    #[schema(example = "open")]
    pub status: String,
    pub open_intent_id: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<&Payable> for PayableResponse {
    fn from(p: &Payable) -> Self {
        Self {
            kind: p.payable.kind.as_str().into(),
            id: p.payable.id.to_string(),
            user_id: p.owner.user_id.to_string(),
            email: p.owner.email.to_string(),
            amount: p.amount.to_string(),
            currency: p.amount.currency().code().into(),
            number: p.number.clone(),
            description: p.description.clone(),
            line_items: p
                .line_items
                .iter()
                .map(|l| LineItemBody {
                    name: l.name.clone(),
                    amount: l.amount.minor(),
                    currency: l.amount.currency().code().to_ascii_lowercase(),
                    quantity: l.quantity,
                    description: l.description.clone(),
                })
                .collect(),
            business_id: p.business_id.clone(),
            status: p.status.as_str().into(),
            open_intent_id: p.open_intent_id.map(|i| i.to_string()),
            created_at: iso_millis(p.created_at),
            updated_at: iso_millis(p.updated_at),
        }
    }
}

async fn with_service<F, Fut>(
    app: Arc<App>,
    req: Request,
    idempotency: bool,
    f: F,
) -> Response<Body>
where
    F: FnOnce(Arc<App>, Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    let service = match service_caller(&app, &req).await {
        Ok(s) => s,
        Err(e) => return MessageErrors.render(&e),
    };
    let run = |req| {
        let app = app.clone();
        async move {
            f(app, req)
                .await
                .unwrap_or_else(|e| MessageErrors.render(&e))
        }
    };
    if idempotency {
        idempotent(
            &app,
            req,
            &format!("service:{}", service.key_id),
            &MessageErrors,
            run,
        )
        .await
    } else {
        run(req).await
    }
}

fn payable_ref(req: &Request) -> Result<PayableRef, ApiError> {
    let kind = PayableKind::parse(&path_param(req, "kind").unwrap_or_default());
    let id = PayableId::parse(&path_param(req, "id").unwrap_or_default());
    match (kind, id) {
        (Ok(kind), Ok(id)) => Ok(PayableRef { kind, id }),
        (kind, id) => Err(ApiError::Validation(
            [kind.err().map(|e| ("kind", e)), id.err().map(|e| ("id", e))]
                .into_iter()
                .flatten()
                .map(|(f, e)| FieldError::new(&["path", f], e.0, "value_error"))
                .collect(),
        )),
    }
}

/// Line items: unit `amount` in minor units, `currency` defaulting to the payable's.
fn line_items(body: &mut JsonBody, currency: Option<Currency>) -> Vec<LineItem> {
    let Some(value) = body.get("line_items").cloned() else {
        return Vec::new();
    };
    let Value::Array(items) = value else {
        body.invalid(&["body", "line_items"], "line_items must be an array");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let index = i.to_string();
        let mut bad =
            |field: &str, msg: String| body.invalid(&["body", "line_items", &index, field], msg);
        let name = item
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty());
        let minor = item.get("amount").and_then(Value::as_i64);
        let quantity = item
            .get("quantity")
            .map_or(Some(1), |q| q.as_u64().and_then(|q| u32::try_from(q).ok()))
            .filter(|q| (1..=10_000).contains(q));
        let item_currency = match item.get("currency").and_then(Value::as_str) {
            Some(code) => Currency::parse(code).ok(),
            None => currency,
        };
        let money = match (minor, item_currency) {
            (Some(m), Some(c)) => Money::from_minor(m, c)
                .map_err(|e| bad("amount", e.to_string()))
                .ok(),
            _ => None,
        };
        if name.is_none() {
            bad("name", "name is required".into());
        }
        if minor.is_none() {
            bad(
                "amount",
                "amount must be an integer number of minor units".into(),
            );
        }
        if quantity.is_none() {
            bad(
                "quantity",
                "quantity must be an integer between 1 and 10000".into(),
            );
        }
        if item_currency.is_none() && currency.is_some() {
            bad("currency", "currency must be an ISO 4217 code".into());
        }
        let description = item
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let (Some(name), Some(money), Some(quantity)) = (name, money, quantity) {
            match LineItem::new(name, money, quantity, description) {
                Ok(line) => out.push(line),
                Err(e) => bad("name", e.0),
            }
        }
    }
    out
}

/// Creates (201) or replaces (200) a payable. Paid payables are final; while an
/// intent collects one, its amount, currency and owner cannot change.
#[utoipa::path(put, path = "/api/v1/payables/{kind}/{id}", tag = "service", operation_id = "put_payable",
    request_body = PayableRequest,
    params(
        ("kind" = String, Path, description = "registration, order or invoice"),
        ("id" = String, Path, description = "The payable's id in your system"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses(
        (status = 200, description = "Replaced", body = PayableResponse),
        (status = 201, description = "Created", body = PayableResponse),
        (status = 400, description = "Validation failed", body = ValidationFailed),
        (status = 401, description = "Missing or invalid API key", body = MessageError),
        (status = 409, description = "Paid, or pinned by an open intent", body = MessageError)),
    security(("api_key" = [])))]
pub async fn put(app: Arc<App>, req: Request) -> Response<Body> {
    with_service(app, req, true, |app, req| async move {
        let payable_ref = payable_ref(&req)?;
        let mut body = JsonBody::parse(&req).map_err(|e| ApiError::Validation(vec![e]))?;
        let user = body.required_str("user_id");
        let email = body.required_str("email");
        let amount = body.required_str("amount");
        let currency_code = body.required_str("currency");
        let number = body.optional_str("number");
        let description = body.optional_str("description");
        let business_id = body.optional_str("business_id");
        let user = user.and_then(|u| {
            UserId::parse(&u)
                .map_err(|e| body.invalid(&["body", "user_id"], e.0))
                .ok()
        });
        let email = email.and_then(|e| {
            Email::parse(&e)
                .map_err(|e| body.invalid(&["body", "email"], e.0))
                .ok()
        });
        let currency = currency_code.and_then(|c| {
            Currency::parse(&c)
                .map_err(|e| body.invalid(&["body", "currency"], e.to_string()))
                .ok()
        });
        let amount = match (amount, currency) {
            (Some(a), Some(c)) => Money::parse(&a, c)
                .map_err(|e| body.invalid(&["body", "amount"], e.to_string()))
                .ok(),
            _ => None,
        };
        let items = line_items(&mut body, currency);
        body.finish().map_err(ApiError::Validation)?;
        let (Some(user_id), Some(email), Some(amount)) = (user, email, amount) else {
            return Err(ApiError::Internal);
        };
        let now = app.clock.now();
        let (payable, created) = payables::upsert(
            &app,
            Payable {
                payable: payable_ref,
                owner: Payer { user_id, email },
                amount,
                number,
                description,
                line_items: items,
                business_id,
                status: PayableStatus::Open,
                open_intent_id: None,
                allocated_minor: 0,
                paid_minor: 0,
                created_at: now,
                updated_at: now,
            },
        )
        .await?;
        Ok(json_of(
            if created { 201 } else { 200 },
            &PayableResponse::from(&payable),
        ))
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/payables/{kind}/{id}", tag = "service", operation_id = "get_payable",
    params(
        ("kind" = String, Path, description = "registration, order or invoice"),
        ("id" = String, Path, description = "The payable's id in your system")),
    responses(
        (status = 200, description = "The payable", body = PayableResponse),
        (status = 400, description = "Validation failed", body = ValidationFailed),
        (status = 401, description = "Missing or invalid API key", body = MessageError),
        (status = 404, description = "No such payable", body = MessageError)),
    security(("api_key" = [])))]
pub async fn get(app: Arc<App>, req: Request) -> Response<Body> {
    with_service(app, req, false, |app, req| async move {
        let payable = payables::get(&app, &payable_ref(&req)?).await?;
        Ok(json_of(200, &PayableResponse::from(&payable)))
    })
    .await
}
