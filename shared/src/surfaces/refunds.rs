//! The refunds API: money given back on a payment, in the service's own
//! convention (snake_case, integer minor units with their currency, lists as
//! `{"data","has_more","next_cursor"}`). Errors as the payments API:
//! `{"message"}`, validation 400 with `errors[{field, message}]`.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Type};

use super::IdempotencyKey;
use super::message::{BadCredentials, BadRequest, CHANGE, MessageError, READ};
use super::paging::{PageSize, next_cursor_parameter};
use super::responses::CredentialedChangeErrors;
use crate::app::App;
use crate::app::refunds::{self, RefundRequest};
use crate::auth::Actor;
use crate::domain::money::MAX_MAJOR_UNITS;
use crate::domain::{PaymentId, Refund, RefundStatus};
use crate::http::{
    AllChecked, ApiError, Authenticate, Checked, FromRequest, SentIdempotencyKey, json_body,
    json_of, named, path_param, problem, schema,
};
use crate::ports::PageRequest;
use crate::wire_field;

/// The most minor units any amount has: the largest amount of a currency
/// with four decimals (no ISO 4217 currency has more).
pub const MAX_MINOR: i64 = MAX_MAJOR_UNITS * 10_000;

wire_field!(
    /// In minor units of the payment's currency (`1500` is 15.00 USD); at
    /// most what remains to refund, which is the default.
    AmountMinorField,
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(MAX_MINOR))
        .examples([1500])
);

wire_field!(
    /// Why the money goes back; kept with the refund.
    ReasonField,
    schema::text().examples(["requested_by_customer"])
);

/// Body of `POST /api/v1/payments/{id}/refunds`; every field optional.
#[derive(Deserialize, ToSchema, Default)]
pub struct CreateRefundRequest {
    #[serde(default)]
    #[schema(inline)]
    pub amount: AmountMinorField,
    #[serde(default)]
    #[schema(inline)]
    pub reason: ReasonField,
}

/// A refund.
#[derive(Serialize, ToSchema)]
pub struct RefundResponse {
    #[schema(example = "0193a0c4-4f1c-7b52-9e1a-4c0f6a1d2e3f")]
    pub id: String,
    /// Always `refund`.
    #[schema(schema_with = refund_object)]
    pub object: &'static str,
    #[schema(example = "0193a0c4-1d2e-7b52-9e1a-4c0f6a1d2e3f")]
    pub payment_id: String,
    /// In minor units of `currency`.
    #[schema(example = 1500)]
    pub amount: i64,
    #[schema(example = "USD")]
    pub currency: String,
    #[schema(example = "requested_by_customer")]
    pub reason: Option<String>,
    /// `pending` until the gateway confirms it, `succeeded`, or `failed`
    /// (its amount refundable again).
    #[schema(schema_with = refund_status)]
    pub status: &'static str,
    /// Unix seconds.
    #[schema(example = 1760000000)]
    pub created: i64,
}

fn refund_object() -> ObjectBuilder {
    schema::one_of(&["refund"])
}

fn refund_status() -> ObjectBuilder {
    schema::one_of(&RefundStatus::ALL.map(|s| s.as_str())).examples(["succeeded"])
}

impl From<&Refund> for RefundResponse {
    fn from(r: &Refund) -> Self {
        Self {
            id: r.id().to_string(),
            object: "refund",
            payment_id: r.payment_id().to_string(),
            amount: r.amount().minor(),
            currency: r.amount().currency().code().into(),
            reason: r.reason().clone(),
            status: r.status().as_str(),
            created: r.created().unix_timestamp(),
        }
    }
}

crate::cursor_list!(
    /// A page of a payment's refunds, newest first.
    RefundList of RefundResponse
);

/// Whole numbers, however JSON writes them (`3`, `3.0`, `3e2`), within `1..=MAX_MINOR`.
fn amount_minor(sent: &AmountMinorField) -> Checked<Option<i64>> {
    use rust_decimal::Decimal;
    use rust_decimal::prelude::ToPrimitive;
    let Some(raw) = sent.raw() else {
        return Ok(None);
    };
    Decimal::from_str_exact(raw)
        .or_else(|_| Decimal::from_scientific(raw))
        .ok()
        .filter(|d| d.fract().is_zero())
        .and_then(|d| d.to_i64())
        .filter(|m| (1..=MAX_MINOR).contains(m))
        .map_or_else(
            || {
                problem(
                    &["body", "amount"],
                    format!(
                        "amount must be an integer number of minor units from 1 to {MAX_MINOR}"
                    ),
                    "value_error",
                )
            },
            |m| Ok(Some(m)),
        )
}

/// The payment named is not one of this service's.
#[derive(utoipa::IntoResponses)]
#[response(status = 404, description = "No such payment")]
pub struct NoSuchPayment(pub MessageError);

/// The payment in the path; `None` for an id no payment can have, answered
/// as no payment once the caller's role is checked (see `named_payment`).
fn payment_id(req: &Request) -> Option<PaymentId> {
    PaymentId::parse(&path_param(req, "id")).ok()
}

/// The payment a malformed id names: none. Asked only after the caller's
/// role, so a caller without it hears 403 whatever the path holds.
fn named_payment(payment: Option<PaymentId>) -> Result<PaymentId, ApiError> {
    named(payment.ok_or(()), refunds::not_found)
}

/// The payment in the path and what the optional body asks for.
pub struct CreateInput {
    payment: Option<PaymentId>,
    request: RefundRequest,
}

impl FromRequest for CreateInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let bytes: &[u8] = req.body().as_ref();
        // No body, or JSON's null, asks for nothing: all that remains, no reason.
        let body: CreateRefundRequest = if bytes.is_empty() || bytes.trim_ascii() == b"null" {
            CreateRefundRequest::default()
        } else {
            json_body(req)?
        };
        let (amount_minor, reason) = (
            amount_minor(&body.amount),
            body.reason.optional_text(&["body", "reason"]),
        )
            .all()?;
        Ok(Self {
            payment: payment_id(req),
            request: RefundRequest {
                amount_minor,
                reason,
            },
        })
    }
}

/// Refunds a COMPLETED payment, in part or in full (X-API-Key, or a token
/// with the role Admin or Staff). A payment collected through a gateway is
/// refunded there: the test gateway at once, Stripe pending until it
/// confirms (its webhooks move the refund on). A payment whose money moved
/// outside any gateway is recorded as refunded by the caller. The refunds
/// of a payment never add up to more than the payment, however they race.
#[utoipa::path(post, path = "/api/v1/payments/{id}/refunds", tag = "refunds", operation_id = "create_refund",
    request_body(content = Option<CreateRefundRequest>, description = "Optional: how much (default: all that remains) and why"),
    params(("id" = String, Path, description = "The payment"), IdempotencyKey),
    responses(
        (status = 201, description = "The refund: succeeded, pending until the gateway confirms it, or failed when the gateway refused it (its amount is refundable again)", body = RefundResponse),
        CredentialedChangeErrors,
        (status = 403, description = "Only Admin or Staff, or an API key, may refund", body = MessageError),
        NoSuchPayment,
        (status = 409, description = "The payment is not COMPLETED, is already fully refunded, or pending refunds hold what remains of it; or concurrent refunds kept changing it (send it again); or this Idempotency-Key's first request is still running", body = MessageError),
        (status = 502, description = "The payment's gateway could not be reached: the refund waits, pending; send the same request again (with the same Idempotency-Key)", body = MessageError),
        (status = 504, description = "The payment's gateway did not answer in time and may have refunded: the refund waits, pending; send the same request again (with the same Idempotency-Key), which asks the gateway for the same refund", body = MessageError)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn create(app: Arc<App>, req: Request) -> Response<Body> {
    CHANGE
        .run(
            app,
            req,
            |app, actor: Actor, (input, key): (CreateInput, SentIdempotencyKey)| async move {
                let key = key.in_scope(&actor.scope());
                refunds::may_refund(&actor)?;
                let payment = named_payment(input.payment)?;
                let refund =
                    refunds::create(&app, &actor, key.as_ref(), &payment, &input.request).await?;
                Ok(json_of(201, &RefundResponse::from(&refund)))
            },
        )
        .await
}

/// A payment's refunds, 10 to a page unless `limit` says otherwise.
const PAGE: PageSize = PageSize::new(10, 100);

/// Which payment's refunds, which page.
pub struct ListInput {
    payment: Option<PaymentId>,
    page: PageRequest,
}

impl FromRequest for ListInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let (page,) = (PAGE.paging(req),).all()?;
        Ok(Self {
            payment: payment_id(req),
            page,
        })
    }
}

/// The query of the refunds list.
pub struct ListQuery;

impl utoipa::IntoParams for ListQuery {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        vec![PAGE.parameter(), next_cursor_parameter()]
    }
}

/// A payment's refunds, newest first (X-API-Key, or a token with the role
/// Admin, Support or Staff).
#[utoipa::path(get, path = "/api/v1/payments/{id}/refunds", tag = "refunds", operation_id = "list_refunds",
    params(("id" = String, Path, description = "The payment"), ListQuery),
    responses(
        (status = 200, description = "Newest first", body = RefundList),
        BadRequest,
        BadCredentials,
        (status = 403, description = "Only Admin, Support or Staff, or an API key, may read refunds", body = MessageError),
        NoSuchPayment),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn list(app: Arc<App>, req: Request) -> Response<Body> {
    READ.run(app, req, |app, actor: Actor, input: ListInput| async move {
        refunds::may_read(&actor)?;
        let payment = named_payment(input.payment)?;
        let page = refunds::list(&app, &actor, &payment, &input.page).await?;
        Ok(json_of(200, &RefundList::of(page)))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;

    #[test]
    fn no_currency_has_more_minor_units_than_the_limit_allows() {
        assert!(Currency::all().iter().all(|c| c.exponent() <= 4));
    }

    #[test]
    fn amounts_are_whole_minor_units_within_the_limit() {
        let read = |json: &str| {
            let body: CreateRefundRequest =
                serde_json::from_str(&format!(r#"{{"amount": {json}}}"#)).expect("json");
            amount_minor(&body.amount)
        };
        assert_eq!(read("1500"), Ok(Some(1500)));
        assert_eq!(read("15e2"), Ok(Some(1500)));
        assert_eq!(read("null"), Ok(None));
        for bad in ["0", "-5", "1.5", "\"1500\"", "true", "1e30"] {
            assert!(read(bad).is_err(), "{bad}");
        }
        assert_eq!(read(&MAX_MINOR.to_string()), Ok(Some(MAX_MINOR)));
        assert!(read(&(MAX_MINOR + 1).to_string()).is_err());
    }
}
