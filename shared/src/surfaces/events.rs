//! The events API: what changed, newest first, for the operator's backend
//! (`X-API-Key`), in Stripe's event shape: `{id, object: "event", type,
//! created, data: {object}}`, the object rendered in this service's own
//! convention (snake_case, amounts in integer minor units with their
//! currency, times in unix seconds). Outgoing webhooks send the very same
//! body ([`event_body`]). Errors as the payables API: `{"message"}`.

use std::collections::BTreeMap;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::message::READ;
use super::paging::PageSize;
use super::params::EventsQuery;
use super::refunds::RefundResponse;
use super::responses::ApiKeyErrors;
use crate::app::App;
use crate::app::events;
use crate::auth::ServiceCaller;
use crate::domain::{Event, EventObject, EventType, Payable, PayableRef, Payment, PaymentIntent};
use crate::http::{AllChecked, ApiError, Checked, FromRequest, json, problem, query_param, schema};
use crate::ports::{EventFilter, Page, PageRequest};

/// Events, 10 to a page unless `limit` says otherwise (Stripe's default).
pub const PAGE: PageSize = PageSize::new(10, 100);

/// What `object_id` takes: an intent's or a payment's id, or a payable's
/// `kind/id`.
pub const OBJECT_ID_PATTERN: &str = "^[A-Za-z0-9._:/-]{1,160}$";
const OBJECT_ID_MAX: usize = 160;

fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// A string that is always `$value`: the `object` of each shape.
macro_rules! constant {
    ($name:ident, $value:literal) => {
        #[doc = concat!("Always `", $value, "`.")]
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str($value)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let schema: utoipa::openapi::schema::Schema =
                    schema::one_of(&[$value]).examples([$value]).into();
                schema.into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

constant!(EventName, "event");
constant!(IntentName, "payment_intent");
constant!(PaymentName, "payment");
constant!(PayableName, "payable");

/// A payable an intent or payment is for.
#[derive(Serialize, ToSchema)]
pub struct PayableRefObject {
    /// registration, order or invoice.
    #[schema(example = "order")]
    pub kind: &'static str,
    #[schema(example = "ORD-1001")]
    pub id: String,
}

impl From<&PayableRef> for PayableRefObject {
    fn from(p: &PayableRef) -> Self {
        Self {
            kind: p.kind.as_str(),
            id: p.id.to_string(),
        }
    }
}

/// What the payer must do at the gateway.
#[derive(Serialize, ToSchema)]
pub struct NextActionObject {
    #[serde(rename = "type")]
    #[schema(example = "redirect_to_url")]
    pub kind: String,
    pub url: Option<String>,
}

/// A payment intent, as events show it.
#[derive(Serialize, ToSchema)]
pub struct IntentObject {
    #[schema(example = "0193b2c4-5d6e-7f80-9a1b-2c3d4e5f6a7b")]
    pub id: String,
    #[schema(inline)]
    pub object: IntentName,
    /// Integer minor units of `currency`.
    #[schema(example = 11200)]
    pub amount: i64,
    #[schema(example = "USD")]
    pub currency: String,
    /// requires_payment_method, requires_confirmation, requires_action,
    /// processing, succeeded, canceled or failed.
    #[schema(example = "succeeded")]
    pub status: &'static str,
    /// The payer's user id.
    pub customer: String,
    #[schema(inline)]
    pub payable: Option<PayableRefObject>,
    /// otp, test or stripe.
    #[schema(example = "test")]
    pub gateway: &'static str,
    pub gateway_intent_id: Option<String>,
    pub description: Option<String>,
    pub failure_reason: Option<String>,
    pub cancellation_reason: Option<String>,
    #[schema(inline)]
    pub next_action: Option<NextActionObject>,
    /// Why a person must look at it (money arrived after it ended).
    pub review_reason: Option<String>,
    #[schema(example = 123456)]
    pub business_id: Option<u64>,
    pub metadata: BTreeMap<String, String>,
    /// Unix seconds, as every time here.
    #[schema(example = 1764000024)]
    pub created: i64,
    pub captured_at: Option<i64>,
    pub failed_at: Option<i64>,
    pub canceled_at: Option<i64>,
}

impl From<&PaymentIntent> for IntentObject {
    fn from(i: &PaymentIntent) -> Self {
        Self {
            id: i.id().to_string(),
            object: IntentName,
            amount: i.amount().minor(),
            currency: i.amount().currency().code().to_owned(),
            status: i.status().as_str(),
            customer: i.payer().user_id.to_string(),
            payable: i.payable().as_ref().map(PayableRefObject::from),
            gateway: i.gateway().as_str(),
            gateway_intent_id: i.gateway_intent_id().clone(),
            description: i.description().clone(),
            failure_reason: i.failure_reason().clone(),
            cancellation_reason: i.cancellation_reason().clone(),
            next_action: i.next_action().as_ref().map(|a| NextActionObject {
                kind: a.kind.clone(),
                url: a.url.clone(),
            }),
            review_reason: i.review_reason().clone(),
            business_id: i.business_id().map(|b| b.get()),
            metadata: i.metadata().clone(),
            created: unix(i.created_at()),
            captured_at: i.captured_at().map(unix),
            failed_at: i.failed_at().map(unix),
            canceled_at: i.canceled_at().map(unix),
        }
    }
}

/// A payment, as events show it.
#[derive(Serialize, ToSchema)]
pub struct PaymentObject {
    #[schema(example = "0193b2c4-5d6e-7f80-9a1b-2c3d4e5f6a7c")]
    pub id: String,
    #[schema(inline)]
    pub object: PaymentName,
    /// Integer minor units of `currency`.
    #[schema(example = 11200)]
    pub amount: i64,
    #[schema(example = "USD")]
    pub currency: String,
    /// PENDING, COMPLETED, FAILED, CANCELLED or REFUNDED.
    #[schema(example = "COMPLETED")]
    pub status: &'static str,
    #[schema(example = "Card")]
    pub payment_method: &'static str,
    #[schema(inline)]
    pub payable: Option<PayableRefObject>,
    /// The intent that collected it, if one did.
    pub intent_id: Option<String>,
    /// The payer's user id.
    pub customer: String,
    pub transaction_id: Option<String>,
    /// The processing fee, in minor units.
    #[schema(example = 355)]
    pub fee: i64,
    /// `amount` less `fee`, in minor units.
    #[schema(example = 10845)]
    pub net: i64,
    /// What its refunds gave back so far, in minor units.
    #[schema(example = 0)]
    pub amount_refunded: i64,
    pub business_id: Option<u64>,
    /// Why staff must look at it: a gateway collected it for an intent that
    /// had already ended another way (the payer may have paid twice).
    #[schema(example = json!(null))]
    pub review_reason: Option<String>,
    #[schema(example = 1764000024)]
    pub created: i64,
}

impl From<&Payment> for PaymentObject {
    fn from(p: &Payment) -> Self {
        Self {
            id: p.id().to_string(),
            object: PaymentName,
            amount: p.amount().minor(),
            currency: p.amount().currency().code().to_owned(),
            status: p.status().as_str(),
            payment_method: p.method().as_str(),
            payable: p.payable().as_ref().map(PayableRefObject::from),
            intent_id: p.intent_id().map(|i| i.to_string()),
            customer: p.payer_user_id().to_string(),
            transaction_id: p.transaction_id().clone(),
            fee: p.fee_minor(),
            net: p.net_minor(),
            amount_refunded: p.refunded_minor(),
            business_id: p.business_id().map(|b| b.get()),
            review_reason: p.review_reason().clone(),
            created: unix(p.created_at()),
        }
    }
}

/// A payable's line item.
#[derive(Serialize, ToSchema)]
pub struct LineItemObject {
    pub name: String,
    /// Unit price, integer minor units of `currency`.
    #[schema(example = 5600)]
    pub amount: i64,
    #[schema(example = "USD")]
    pub currency: String,
    #[schema(example = 2)]
    pub quantity: u32,
    pub description: Option<String>,
}

/// A payable, as events show it.
#[derive(Serialize, ToSchema)]
pub struct PayableObject {
    /// Its id within its kind, as your backend registered it.
    #[schema(example = "ORD-1001")]
    pub id: String,
    #[schema(inline)]
    pub object: PayableName,
    /// registration, order or invoice.
    #[schema(example = "order")]
    pub kind: &'static str,
    /// Integer minor units of `currency`.
    #[schema(example = 11200)]
    pub amount: i64,
    #[schema(example = "USD")]
    pub currency: String,
    /// open, paid or canceled.
    #[schema(example = "paid")]
    pub status: &'static str,
    /// The owner's user id.
    pub customer: String,
    pub email: String,
    pub number: Option<String>,
    pub description: Option<String>,
    #[schema(inline)]
    pub line_items: Vec<LineItemObject>,
    pub business_id: Option<u64>,
    /// What its COMPLETED payments hold, in minor units.
    #[schema(example = 11200)]
    pub amount_paid: i64,
    /// What refunds of its payments gave back, in minor units; it stays paid.
    #[schema(example = 0)]
    pub amount_refunded: i64,
    pub open_intent_id: Option<String>,
    #[schema(example = 1764000024)]
    pub created: i64,
    #[schema(example = 1764000024)]
    pub updated: i64,
}

impl From<&Payable> for PayableObject {
    fn from(p: &Payable) -> Self {
        Self {
            id: p.payable().id.to_string(),
            object: PayableName,
            kind: p.payable().kind.as_str(),
            amount: p.amount().minor(),
            currency: p.amount().currency().code().to_owned(),
            status: p.status().as_str(),
            customer: p.owner().user_id.to_string(),
            email: p.owner().email.to_string(),
            number: p.number().clone(),
            description: p.description().clone(),
            line_items: p
                .line_items()
                .iter()
                .map(|l| LineItemObject {
                    name: l.name.clone(),
                    amount: l.amount.minor(),
                    currency: l.amount.currency().code().to_owned(),
                    quantity: l.quantity,
                    description: l.description.clone(),
                })
                .collect(),
            business_id: p.business_id().map(|b| b.get()),
            amount_paid: p.paid_minor(),
            amount_refunded: p.refunded_minor(),
            open_intent_id: p.open_intent_id().map(|i| i.to_string()),
            created: unix(p.created_at()),
            updated: unix(p.updated_at()),
        }
    }
}

/// The object an event is about: one of the shapes above, told apart by its
/// `object`.
#[derive(Serialize)]
#[serde(untagged)]
pub enum DataObject {
    Intent(IntentObject),
    Payment(PaymentObject),
    Payable(PayableObject),
    Refund(RefundResponse),
}

impl utoipa::PartialSchema for DataObject {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        schema::any_of([
            <IntentObject as utoipa::PartialSchema>::schema(),
            <PaymentObject as utoipa::PartialSchema>::schema(),
            <PayableObject as utoipa::PartialSchema>::schema(),
            <RefundResponse as utoipa::PartialSchema>::schema(),
        ])
    }
}

impl ToSchema for DataObject {}

impl From<&EventObject> for DataObject {
    fn from(o: &EventObject) -> Self {
        match o {
            EventObject::Intent(i) => Self::Intent(i.into()),
            EventObject::Payment(p) => Self::Payment(p.into()),
            EventObject::Payable(p) => Self::Payable(p.into()),
            EventObject::Refund(r) => Self::Refund(r.into()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EventData {
    /// The object as the change left it.
    pub object: DataObject,
}

/// Stripe's names of what happened.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(transparent)]
pub struct TypeName(&'static str);

impl utoipa::PartialSchema for TypeName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let names = EventType::ALL.map(|t| t.as_str());
        let schema: utoipa::openapi::schema::Schema = schema::one_of(&names)
            .examples(["payment_intent.succeeded"])
            .into();
        schema.into()
    }
}

impl ToSchema for TypeName {}

/// An event: `{id, object: "event", type, created, data: {object}}`.
#[derive(Serialize, ToSchema)]
pub struct EventBody {
    #[schema(example = "evt_1NbQ7fKx9Vb2mP4sT6wYz8aC")]
    pub id: String,
    #[schema(inline)]
    pub object: EventName,
    #[serde(rename = "type")]
    #[schema(inline)]
    pub kind: TypeName,
    /// When it happened, unix seconds.
    #[schema(example = 1764000024)]
    pub created: i64,
    pub data: EventData,
}

impl From<&Event> for EventBody {
    fn from(e: &Event) -> Self {
        Self {
            id: e.id.to_string(),
            object: EventName,
            kind: TypeName(e.kind.as_str()),
            created: unix(e.created),
            data: EventData {
                object: DataObject::from(&e.object),
            },
        }
    }
}

crate::cursor_list!(
    /// A page of events, newest first.
    EventList of EventBody
);

/// The event as the events API and outgoing webhooks render it.
pub fn event_json(event: &Event) -> serde_json::Value {
    // Strings and integers only: always serializes, never through a float.
    serde_json::to_value(EventBody::from(event)).unwrap_or_default()
}

/// The bytes a webhook delivery posts (and signs): `event_json` as text.
pub fn event_body(event: &Event) -> Vec<u8> {
    event_json(event).to_string().into_bytes()
}

/// The events the deliveries send, each rendered as this API lists
/// it: an endpoint receives exactly the event `GET /api/v1/events` shows.
pub struct DeliverableEvents {
    events: Arc<dyn crate::ports::EventStore>,
    clock: Arc<dyn crate::ports::Clock>,
}

impl DeliverableEvents {
    pub fn new(
        events: Arc<dyn crate::ports::EventStore>,
        clock: Arc<dyn crate::ports::Clock>,
    ) -> Self {
        Self { events, clock }
    }
}

#[async_trait::async_trait]
impl crate::ports::EventsToDeliver for DeliverableEvents {
    async fn event(
        &self,
        id: &str,
    ) -> Result<Option<crate::ports::OutgoingEvent>, crate::ports::StoreError> {
        // Not one of our event ids: no such event (the record is reported).
        let Ok(id) = crate::domain::EventId::parse(id) else {
            return Ok(None);
        };
        let event = self.events.get_event(&id, self.clock.now()).await?;
        Ok(event.map(|e| crate::ports::OutgoingEvent {
            id: e.id.to_string(),
            event_type: e.kind.as_str().to_owned(),
            object_id: e.object.id(),
            created: e.created,
            body: event_body(&e),
            follows: e.follows.iter().map(ToString::to_string).collect(),
        }))
    }
}

/// Which events, which page.
pub struct EventsInput {
    filter: EventFilter,
    page: PageRequest,
}

fn kind(req: &Request) -> Checked<Option<EventType>> {
    match query_param(req, "type") {
        None => Ok(None),
        Some(t) => EventType::parse(&t)
            .map(Some)
            .or_else(|e| problem(&["query", "type"], e.0, "value_error")),
    }
}

fn object_id(req: &Request) -> Checked<Option<String>> {
    match query_param(req, "object_id") {
        None => Ok(None),
        Some(id)
            if !id.is_empty()
                && id.len() <= OBJECT_ID_MAX
                && id.chars().all(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '/' | '-')
                }) =>
        {
            Ok(Some(id))
        }
        Some(_) => problem(
            &["query", "object_id"],
            format!(
                "object_id must be 1-{OBJECT_ID_MAX} characters of letters, digits, '.', '_', ':', '/', '-'"
            ),
            "value_error",
        ),
    }
}

impl FromRequest for EventsInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let (kind, object_id, page) = (kind(req), object_id(req), PAGE.paging(req)).all()?;
        Ok(Self {
            filter: EventFilter { kind, object_id },
            page,
        })
    }
}

/// The page with each event's keys sorted, as outgoing webhooks render events.
fn page_json(page: Page<Event>) -> serde_json::Value {
    serde_json::to_value(EventList::of(page)).unwrap_or_default()
}

/// Events newest first (30 days of them), by type and by object.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", operation_id = "list_events",
    params(EventsQuery),
    responses(
        (status = 200, description = "Newest first; `next_cursor` is the next page's `cursor` while `has_more`", body = EventList),
        ApiKeyErrors),
    security(("api_key" = [])))]
pub async fn list(app: Arc<App>, req: Request) -> Response<Body> {
    READ.run(
        app,
        req,
        |app, _: ServiceCaller, input: EventsInput| async move {
            let page = events::list(&app, &input.filter, &input.page).await?;
            Ok(json(200, &page_json(page)))
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::domain::IntentStatus;
    use crate::domain::intent::NewIntent;
    use crate::domain::{
        Currency, Email, FeeSchedule, GatewayId, Money, NewPayable, PayableId, PayableKind, Payer,
        PaymentMethod, PaymentStatus, Refund, RefundId, UserId,
    };

    fn at() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_764_000_024).expect("time")
    }

    fn order() -> Payable {
        let usd = Currency::parse("USD").expect("usd");
        Payable::new(
            NewPayable {
                payable: PayableRef {
                    kind: PayableKind::Order,
                    id: PayableId::parse("ORD-1").expect("id"),
                },
                owner: Payer {
                    user_id: UserId::parse("u1").expect("user"),
                    email: Email::parse("u1@example.com").expect("email"),
                },
                amount: Money::from_minor(11_200, usd).expect("money"),
                number: Some("1001".into()),
                description: Some("Two shirts".into()),
                line_items: vec![
                    crate::domain::LineItem::new(
                        "Shirt",
                        Money::from_minor(5_600, usd).expect("money"),
                        2,
                        None,
                    )
                    .expect("item"),
                ],
                business_id: Some(crate::domain::BusinessId::new(123_456)),
            },
            at(),
        )
    }

    fn intent() -> PaymentIntent {
        let p = order();
        let mut i = PaymentIntent::open(
            NewIntent {
                payer: p.owner().clone(),
                payable: Some(p.payable().clone()),
                amount: p.amount(),
                gateway: GatewayId::Test,
                description: None,
                line_items: vec![],
                business_id: p.business_id(),
                return_url: None,
                cancel_url: None,
                metadata: BTreeMap::new(),
            },
            at(),
        );
        i.opened_at_gateway("pi_test_1".into(), "pi_test_1_secret_x".into());
        i
    }

    #[test]
    fn an_intent_event_is_stripes_shape_in_minor_units_without_secrets() {
        let i = intent();
        let event = Event::for_intent_change(None, &i, at()).remove(0);
        let body = event_json(&event);
        assert_eq!(body["id"], event.id.as_str());
        assert_eq!(body["object"], "event");
        assert_eq!(body["type"], "payment_intent.created");
        assert_eq!(body["created"], 1_764_000_024);
        assert_eq!(
            body["data"]["object"],
            json!({
                "id": i.id().to_string(),
                "object": "payment_intent",
                "amount": 11200,
                "currency": "USD",
                "status": "requires_payment_method",
                "customer": "u1",
                "payable": {"kind": "order", "id": "ORD-1"},
                "gateway": "test",
                "gateway_intent_id": "pi_test_1",
                "description": null,
                "failure_reason": null,
                "cancellation_reason": null,
                "next_action": null,
                "review_reason": null,
                "business_id": 123456,
                "metadata": {},
                "created": 1_764_000_024,
                "captured_at": null,
                "failed_at": null,
                "canceled_at": null,
            })
        );
        let text = String::from_utf8(event_body(&event)).expect("utf-8");
        assert!(!text.contains("secret"), "{text}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).expect("json"),
            body
        );
    }

    #[test]
    fn payment_and_payable_events_name_their_ids_and_money_in_minor_units() {
        let mut p = order();
        let payment = Payment::for_intent(
            &intent(),
            PaymentMethod::Card,
            "pi_test_1".into(),
            &FeeSchedule::standard(),
            at(),
        );
        let created = Event::for_new_payment(&payment, at());
        let body = event_json(&created[1]);
        assert_eq!(body["type"], "payment.completed");
        assert_eq!(
            body["data"]["object"],
            json!({
                "id": payment.id().to_string(),
                "object": "payment",
                "amount": 11200,
                "currency": "USD",
                "status": "COMPLETED",
                "payment_method": "Card",
                "payable": {"kind": "order", "id": "ORD-1"},
                "intent_id": payment.intent_id().map(|i| i.to_string()),
                "customer": "u1",
                "review_reason": null,
                "transaction_id": "pi_test_1",
                "fee": 355,
                "net": 10845,
                "amount_refunded": 0,
                "business_id": 123456,
                "created": 1_764_000_024,
            })
        );
        p.mark_paid(at());
        let paid = Event::for_paid_payable(&p, at()).expect("paid");
        let body = event_json(&paid);
        assert_eq!(body["type"], "payable.paid");
        assert_eq!(
            body["data"]["object"],
            json!({
                "id": "ORD-1",
                "object": "payable",
                "kind": "order",
                "amount": 11200,
                "currency": "USD",
                "status": "paid",
                "customer": "u1",
                "email": "u1@example.com",
                "number": "1001",
                "description": "Two shirts",
                "line_items": [{"name": "Shirt", "amount": 5600, "currency": "USD", "quantity": 2, "description": null}],
                "business_id": 123456,
                "amount_paid": 11200,
                "amount_refunded": 0,
                "open_intent_id": null,
                "created": 1_764_000_024,
                "updated": 1_764_000_024,
            })
        );
        let pending = Payment::against(
            &order(),
            Money::from_minor(100, Currency::parse("JPY").expect("jpy")).expect("money"),
            PaymentMethod::Cash,
            PaymentStatus::Pending,
            &FeeSchedule::standard(),
            at(),
        );
        let body = event_json(&Event::for_new_payment(&pending, at())[0]);
        assert_eq!(
            (
                &body["data"]["object"]["amount"],
                &body["data"]["object"]["currency"]
            ),
            (&json!(100), &json!("JPY")),
            "minor units of the payment's own currency"
        );
        assert_eq!(body["data"]["object"]["status"], "PENDING");
    }

    #[test]
    fn refund_events_show_the_refund_as_the_refunds_api_does() {
        let payment = Payment::for_intent(
            &intent(),
            PaymentMethod::Card,
            "pi_test_1".into(),
            &FeeSchedule::standard(),
            at(),
        );
        let refund = Refund::of(
            RefundId::new(),
            &payment,
            Money::from_minor(1500, Currency::parse("USD").expect("usd")).expect("money"),
            Some("requested_by_customer".into()),
            Some(GatewayId::Stripe),
            at(),
        );
        let created = Event::for_refund_change(None, &refund, at());
        let body = event_json(&created[0]);
        assert_eq!(body["type"], "refund.created");
        assert_eq!(
            body["data"]["object"],
            json!({
                "id": refund.id().to_string(),
                "object": "refund",
                "payment_id": payment.id().to_string(),
                "amount": 1500,
                "currency": "USD",
                "reason": "requested_by_customer",
                "status": "pending",
                "created": 1_764_000_024,
            })
        );
    }

    #[test]
    fn every_intent_status_renders_snake_case() {
        let base = intent();
        for status in IntentStatus::ALL {
            let i = PaymentIntent::restore(
                crate::domain::intent::IntentParts {
                    status,
                    ..base.clone().into_parts()
                },
                base.version(),
            );
            let body = event_json(&Event::new(
                EventType::IntentCreated,
                EventObject::Intent(i.clone()),
                at(),
            ));
            assert_eq!(body["data"]["object"]["status"], status.as_str());
        }
    }
}
