//! The payables API: trusted backends register what is owed (`X-API-Key`).
//! Errors as the payments API: `{"message"}`, validation 400 with `errors[{field, message}]`.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};

use super::message::{CHANGE, MessageError, READ};
use super::params::PayablePathParams;
use super::responses::{ApiKeyChangeErrors, ApiKeyErrors};
use super::{IdempotencyKey, iso_millis};
use crate::app::App;
use crate::app::payables;
use crate::auth::ServiceCaller;
use crate::domain::{
    BusinessId, Currency, Email, LineItem, Money, NewPayable, Payable, PayableId, PayableKind,
    PayableRef, Payer, UserId,
};
use crate::http::{
    AllChecked, ApiError, Checked, FromRequest, Sent, json_body, json_of, path_param, problem,
    schema,
};
use crate::wire_field;

/// A line item as the payables API shows it.
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

wire_field!(
    /// Free text.
    TextField,
    schema::text()
);

wire_field!(
    /// The merchant, an unsigned 64-bit integer.
    BusinessIdField,
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::Custom("uint64".into())))
        .minimum(Some(0))
        .maximum(Some(u64::MAX as f64))
        .examples([123456])
);

/// A business id: a JSON integer from 0 to 2^64 − 1, nothing else.
fn business_id(sent: &Sent) -> Checked<Option<BusinessId>> {
    let Some(raw) = sent.raw() else {
        return Ok(None);
    };
    // Digits only: no sign, fraction, exponent or string.
    match raw
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| raw.parse::<u64>())
    {
        Some(Ok(id)) => Ok(Some(BusinessId::new(id))),
        _ => problem(
            &["body", "business_id"],
            "business_id must be an integer from 0 to 18446744073709551615",
            "value_error",
        ),
    }
}

wire_field!(
    /// The payer's user id (the `sub` of their tokens).
    UserIdField,
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(UserId::PATTERN))
        .examples(["demo-user-2"])
);

wire_field!(
    /// Where the payer's one-time codes are mailed.
    EmailField,
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Email
        )))
        .max_length(Some(254))
        .examples(["demo-user-2@example.com"])
);

wire_field!(
    /// Decimal string in major units, with at most the currency's decimals.
    AmountField,
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(r"^[0-9]+(\.[0-9]+)?$"))
        .examples(["112.00"])
);

wire_field!(
    /// ISO 4217 code of a currency with minor units (lower case is taken too).
    CurrencyField,
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Currency::all().iter().map(Currency::code)))
        .examples(["USD"])
);

wire_field!(
    /// Unit price in minor units of the item's currency.
    MinorUnitsField,
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .examples([5600])
);

wire_field!(
    /// How many; 1 when absent.
    QuantityField,
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(MAX_QUANTITY))
        .examples([2])
);

/// Most line items one payable has.
const MAX_LINE_ITEMS: usize = 100;

/// Largest quantity of one line item.
const MAX_QUANTITY: u32 = 10_000;

/// A line item as a backend registers it.
#[derive(Deserialize, ToSchema)]
pub struct LineItemRequest {
    #[serde(default)]
    #[schema(inline, required = true)]
    pub name: TextField,
    #[serde(default)]
    #[schema(inline, required = true)]
    pub amount: MinorUnitsField,
    /// The payable's currency when absent.
    #[serde(default)]
    #[schema(inline)]
    pub currency: CurrencyField,
    #[serde(default)]
    #[schema(inline)]
    pub quantity: QuantityField,
    #[serde(default)]
    #[schema(inline)]
    pub description: AnyTextField,
}

wire_field!(
    /// Free text, possibly empty.
    AnyTextField,
    schema::any_text()
);

wire_field!(
    /// What the payable is made of; their total must equal its amount.
    LineItemsField,
    ArrayBuilder::new()
        .items(LineItemRequest::schema())
        .max_items(Some(MAX_LINE_ITEMS))
);

/// Body of `PUT /api/v1/payables/{kind}/{id}`.
#[derive(Deserialize, ToSchema)]
pub struct PayableRequest {
    #[serde(default)]
    #[schema(inline, required = true)]
    pub user_id: UserIdField,
    #[serde(default)]
    #[schema(inline, required = true)]
    pub email: EmailField,
    #[serde(default)]
    #[schema(inline, required = true)]
    pub amount: AmountField,
    #[serde(default)]
    #[schema(inline, required = true)]
    pub currency: CurrencyField,
    #[serde(default)]
    #[schema(inline)]
    pub number: TextField,
    #[serde(default)]
    #[schema(inline)]
    pub description: TextField,
    #[serde(default)]
    #[schema(inline)]
    pub line_items: LineItemsField,
    /// The merchant; partners see only their business's payments.
    #[serde(default)]
    #[schema(inline)]
    pub business_id: BusinessIdField,
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
    /// The merchant: an unsigned 64-bit integer.
    #[schema(example = 123456)]
    pub business_id: Option<u64>,
    /// open, paid or canceled: a refunded payable stays paid.
    #[schema(example = "open")]
    pub status: String,
    /// What succeeded refunds of its payments gave back, as `amount` is written.
    #[schema(example = "0.00")]
    pub refunded_amount: String,
    pub open_intent_id: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<&Payable> for PayableResponse {
    fn from(p: &Payable) -> Self {
        Self {
            kind: p.payable().kind.as_str().into(),
            id: p.payable().id.to_string(),
            user_id: p.owner().user_id.to_string(),
            email: p.owner().email.to_string(),
            amount: p.amount().to_string(),
            currency: p.amount().currency().code().into(),
            number: p.number().clone(),
            description: p.description().clone(),
            line_items: p
                .line_items()
                .iter()
                .map(|l| LineItemBody {
                    name: l.name.clone(),
                    amount: l.amount.minor(),
                    currency: l.amount.currency().code().to_ascii_lowercase(),
                    quantity: l.quantity,
                    description: l.description.clone(),
                })
                .collect(),
            business_id: p.business_id().map(|b| b.get()),
            status: p.status().as_str().into(),
            refunded_amount: rust_decimal::Decimal::new(
                p.refunded_minor(),
                p.amount().currency().exponent(),
            )
            .to_string(),
            open_intent_id: p.open_intent_id().map(|i| i.to_string()),
            created_at: iso_millis(p.created_at()),
            updated_at: iso_millis(p.updated_at()),
        }
    }
}

fn parsed<T, E: std::fmt::Display>(r: Result<T, E>, loc: &[&str]) -> Checked<T> {
    r.or_else(|e| problem(loc, e.to_string(), "value_error"))
}

/// The text that must be sent as `field`, as `parse` reads it.
fn required<T, E: std::fmt::Display>(
    sent: &Sent,
    field: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Checked<T> {
    let loc = ["body", field];
    sent.text(&loc).and_then(|text| parsed(parse(&text), &loc))
}

/// The payable named in the path.
pub struct PayablePath(PayableRef);

impl FromRequest for PayablePath {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let (kind, id) = (
            parsed(
                PayableKind::parse(&path_param(req, "kind")),
                &["path", "kind"],
            ),
            parsed(PayableId::parse(&path_param(req, "id")), &["path", "id"]),
        )
            .all()?;
        Ok(Self(PayableRef { kind, id }))
    }
}

/// A JSON number that is a whole number, however written (`3`, `3.0`, `3e0`).
fn json_integer(raw: &str) -> Option<i64> {
    use rust_decimal::Decimal;
    use rust_decimal::prelude::ToPrimitive;
    let value = Decimal::from_str_exact(raw)
        .or_else(|_| Decimal::from_scientific(raw))
        .ok()?;
    value.fract().is_zero().then(|| value.to_i64()).flatten()
}

/// One line item, unit `amount` in minor units, `currency` defaulting to the payable's.
fn line_item(item: &LineItemRequest, index: &str, currency: Option<Currency>) -> Checked<LineItem> {
    let loc = |field: &'static str| ["body", "line_items", index, field];
    let name = match item.name.optional_text(&loc("name")) {
        Ok(Some(name)) => Ok(name),
        _ => problem(&loc("name"), "name is required", "value_error"),
    };
    let minor = item.amount.raw().and_then(json_integer).map_or_else(
        || {
            problem(
                &loc("amount"),
                "amount must be an integer number of minor units",
                "value_error",
            )
        },
        Ok,
    );
    let quantity = match item.quantity.raw() {
        None => Ok(1),
        Some(raw) => json_integer(raw)
            .and_then(|q| u32::try_from(q).ok())
            .filter(|q| (1..=MAX_QUANTITY).contains(q))
            .map_or_else(
                || {
                    problem(
                        &loc("quantity"),
                        format!("quantity must be an integer between 1 and {MAX_QUANTITY}"),
                        "value_error",
                    )
                },
                Ok,
            ),
    };
    let item_currency = match item.currency.optional_text(&loc("currency")) {
        Ok(Some(code)) => Currency::parse(&code).ok(),
        _ => currency,
    };
    let currency = match (item_currency, currency) {
        (Some(c), _) => Ok(Some(c)),
        // The payable's own currency is wrong: reported there, not here.
        (None, None) => Ok(None),
        (None, Some(_)) => problem(
            &loc("currency"),
            "currency must be an ISO 4217 code",
            "value_error",
        ),
    };
    let description = item.description.optional_string(&loc("description"));
    let (name, minor, quantity, currency, description) =
        (name, minor, quantity, currency, description).checked()?;
    let Some(currency) = currency else {
        return Err(Vec::new());
    };
    let amount = parsed(Money::from_minor(minor, currency), &loc("amount"))?;
    parsed(
        LineItem::new(&name, amount, quantity, description),
        &loc("name"),
    )
}

fn line_items(sent: &Sent, currency: Option<Currency>) -> Checked<Vec<LineItem>> {
    let loc = ["body", "line_items"];
    let Some(items) =
        sent.optional_json::<Vec<LineItemRequest>>(&loc, "line_items must be an array")?
    else {
        return Ok(Vec::new());
    };
    if items.len() > MAX_LINE_ITEMS {
        return problem(
            &loc,
            format!("at most {MAX_LINE_ITEMS} line items"),
            "value_error",
        );
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match line_item(item, &i.to_string(), currency) {
            Ok(line) => out.push(line),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// A payable as the backend states it; the service's own fields come from storage.
pub struct PayableInput {
    payable: PayableRef,
    owner: Payer,
    amount: Money,
    number: Option<String>,
    description: Option<String>,
    line_items: Vec<LineItem>,
    business_id: Option<BusinessId>,
}

impl FromRequest for PayableInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let PayablePath(payable) = PayablePath::from_request(req)?;
        let body: PayableRequest = json_body(req)?;
        let user_id = required(&body.user_id, "user_id", UserId::parse);
        let email = required(&body.email, "email", Email::parse);
        let currency = required(&body.currency, "currency", Currency::parse);
        let amount = body
            .amount
            .text(&["body", "amount"])
            .and_then(|a| match &currency {
                Ok(c) => parsed(Money::parse(&a, *c), &["body", "amount"]),
                // Without a currency the amount cannot be judged; the currency's error says why.
                Err(_) => Err(Vec::new()),
            });
        let items = line_items(&body.line_items, currency.as_ref().ok().copied());
        let (user_id, email, _, amount, number, description, business_id, line_items) = (
            user_id,
            email,
            currency,
            amount,
            body.number.optional_text(&["body", "number"]),
            body.description.optional_text(&["body", "description"]),
            business_id(&body.business_id),
            items,
        )
            .all()?;
        Ok(Self {
            payable,
            owner: Payer { user_id, email },
            amount,
            number,
            description,
            line_items,
            business_id,
        })
    }
}

/// Creates (201) or replaces (200) a payable. Paid payables are final; while an
/// intent collects one, its amount, currency, owner and business cannot change.
#[utoipa::path(put, path = "/api/v1/payables/{kind}/{id}", tag = "service", operation_id = "put_payable",
    request_body = PayableRequest,
    params(PayablePathParams, IdempotencyKey),
    responses(
        (status = 200, description = "Replaced", body = PayableResponse),
        (status = 201, description = "Created", body = PayableResponse),
        ApiKeyChangeErrors,
        (status = 409, description = "Paid, pinned by an open intent, or this Idempotency-Key's first request is still running", body = MessageError)),
    security(("api_key" = [])))]
pub async fn put(app: Arc<App>, req: Request) -> Response<Body> {
    CHANGE
        .run(
            app,
            req,
            |app, _: ServiceCaller, input: PayableInput| async move {
                let now = app.clock.now();
                let (payable, created) = payables::upsert(
                    &app,
                    Payable::new(
                        NewPayable {
                            payable: input.payable,
                            owner: input.owner,
                            amount: input.amount,
                            number: input.number,
                            description: input.description,
                            line_items: input.line_items,
                            business_id: input.business_id,
                        },
                        now,
                    ),
                )
                .await?;
                Ok(json_of(
                    if created { 201 } else { 200 },
                    &PayableResponse::from(&payable),
                ))
            },
        )
        .await
}

/// A payable as registered, with its status, what has been refunded and the intent collecting it.
#[utoipa::path(get, path = "/api/v1/payables/{kind}/{id}", tag = "service", operation_id = "get_payable",
    params(PayablePathParams),
    responses(
        (status = 200, description = "The payable", body = PayableResponse),
        ApiKeyErrors,
        (status = 404, description = "No such payable", body = MessageError)),
    security(("api_key" = [])))]
pub async fn get(app: Arc<App>, req: Request) -> Response<Body> {
    READ.run(
        app,
        req,
        |app, _: ServiceCaller, PayablePath(payable)| async move {
            let payable = payables::get(&app, &payable).await?;
            Ok(json_of(200, &PayableResponse::from(&payable)))
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::json_integer;

    #[test]
    fn whole_numbers_however_written() {
        for (raw, want) in [
            ("3", Some(3)),
            ("3.0", Some(3)),
            ("3e2", Some(300)),
            ("-4", Some(-4)),
        ] {
            assert_eq!(json_integer(raw), want, "{raw}");
        }
        for raw in ["3.5", "1e400", "\"3\"", "true", "1e-2"] {
            assert_eq!(json_integer(raw), None, "{raw}");
        }
    }
}
