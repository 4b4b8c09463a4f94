//! Storage items: the table's shape of each domain type, kept apart from the domain.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use aws_sdk_dynamodb::types::AttributeValue;

use super::codec::{Item, corrupt, n, parse_opt_ts, parse_ts, s, ts};
use super::keys::{
    ALL_EVENTS_LIST, EVENT_PREFIX, EVENT_SK, GATEWAY_INTENT_SK, GATEWAY_REFUND_SK, INTENT_PREFIX,
    INTENT_SK, PAYABLE_SK, PAYMENT_PREFIX, PAYMENT_SK, REFUND_PREFIX, REFUND_SK, UNSENT_REFUNDS,
    all_intents_partition, all_intents_shard, event_pk, event_shard, gateway_intent_pk,
    gateway_refund_pk, intent_pk, object_events_partition, payable_pk, payment_pk, refund_pk,
    refunds_of_partition, shard_partition, typed_events_list, unsent_refund_sk, user_partition,
};
use super::table::{ALL_INTENTS, BY_PAYABLE, BY_USER, PK, SK, TTL_ATTRIBUTE};
use crate::domain::intent::{GatewayId, NextAction};
use crate::domain::otp::OtpState;
use crate::domain::{
    BusinessId, Currency, Email, Event, EventId, EventObject, EventType, IntentId, IntentStatus,
    LineItem, Money, OtpHash, Payable, PayableId, PayableKind, PayableRef, PayableStatus, Payer,
    Payment, PaymentId, PaymentIntent, PaymentMethod, PaymentStatus, Refund, RefundId,
    RefundStatus, UserId,
};
use crate::ports::StoreError;

/// Business ids are numbers; items written while they were strings of digits
/// still read.
fn business_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Number(u64),
        Text(String),
    }
    match Option::<Stored>::deserialize(d)? {
        None => Ok(None),
        Some(Stored::Number(n)) => Ok(Some(n)),
        Some(Stored::Text(t)) => t.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct LineItemItem {
    pub name: String,
    pub amount_minor: i64,
    pub currency: String,
    pub quantity: u32,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
}

impl From<&LineItem> for LineItemItem {
    fn from(l: &LineItem) -> Self {
        Self {
            name: l.name.clone(),
            amount_minor: l.amount.minor(),
            currency: l.amount.currency().code().to_owned(),
            quantity: l.quantity,
            description: l.description.clone(),
        }
    }
}

impl LineItemItem {
    fn into_domain(self) -> Result<LineItem, StoreError> {
        Ok(LineItem {
            name: self.name,
            amount: money(self.amount_minor, &self.currency)?,
            quantity: self.quantity,
            description: self.description,
        })
    }
}

fn money(minor: i64, currency: &str) -> Result<Money, StoreError> {
    let currency = Currency::parse(currency).map_err(|e| corrupt("currency", e))?;
    Money::from_minor(minor, currency).map_err(|e| corrupt("amount", e))
}

fn user(s: &str) -> Result<UserId, StoreError> {
    UserId::parse(s).map_err(|e| corrupt("user id", e))
}

fn email(s: &str) -> Result<Email, StoreError> {
    Email::parse(s).map_err(|e| corrupt("email", e))
}

fn payable_ref(kind: Option<&str>, id: Option<&str>) -> Result<Option<PayableRef>, StoreError> {
    match (kind, id) {
        (Some(kind), Some(id)) => Ok(Some(PayableRef {
            kind: PayableKind::parse(kind).map_err(|e| corrupt("payable kind", e))?,
            id: PayableId::parse(id).map_err(|e| corrupt("payable id", e))?,
        })),
        _ => Ok(None),
    }
}

pub fn line_items(items: Vec<LineItemItem>) -> Result<Vec<LineItem>, StoreError> {
    items.into_iter().map(LineItemItem::into_domain).collect()
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PayableItem {
    pub pk: String,
    pub sk: String,
    pub kind: String,
    pub id: String,
    pub owner_user_id: String,
    pub owner_email: String,
    pub amount_minor: i64,
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    #[serde(default)]
    pub line_items: Vec<LineItemItem>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "business_id"
    )]
    pub business_id: Option<u64>,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub open_intent_id: Option<String>,
    #[serde(default)]
    pub allocated_minor: i64,
    #[serde(default)]
    pub paid_minor: i64,
    /// Absent until its first refund.
    #[serde(default)]
    pub refunded_minor: i64,
    /// Absent until its first PENDING payment (and on payables stored before
    /// pending payments were counted, which count from none).
    #[serde(default)]
    pub pending_payments: u32,
    #[serde(default)]
    pub owner_fixed: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl PayableItem {
    pub fn into_domain(self) -> Result<Payable, StoreError> {
        let amount = money(self.amount_minor, &self.currency)?;
        Ok(Payable {
            payable: payable_ref(Some(&self.kind), Some(&self.id))?
                .ok_or_else(|| corrupt("payable", "no key"))?,
            owner: Payer {
                user_id: user(&self.owner_user_id)?,
                email: email(&self.owner_email)?,
            },
            amount,
            number: self.number,
            description: self.description,
            line_items: line_items(self.line_items)?,
            business_id: self.business_id.map(BusinessId::new),
            status: PayableStatus::parse(&self.status).map_err(|e| corrupt("payable status", e))?,
            open_intent_id: self
                .open_intent_id
                .as_deref()
                .map(IntentId::parse)
                .transpose()
                .map_err(|e| corrupt("open intent id", e))?,
            allocated_minor: self.allocated_minor,
            paid_minor: self.paid_minor,
            refunded_minor: self.refunded_minor,
            pending_payments: self.pending_payments,
            owner_fixed: self.owner_fixed,
            created_at: parse_ts(&self.created_at)?,
            updated_at: parse_ts(&self.updated_at)?,
        })
    }
}

impl PayableItem {
    /// The item as the payables' writes leave it (they write fields, not items).
    pub fn from_domain(p: &Payable) -> Self {
        Self {
            pk: payable_pk(&p.payable),
            sk: PAYABLE_SK.to_owned(),
            kind: p.payable.kind.as_str().to_owned(),
            id: p.payable.id.to_string(),
            owner_user_id: p.owner.user_id.to_string(),
            owner_email: p.owner.email.to_string(),
            amount_minor: p.amount.minor(),
            currency: p.amount.currency().code().to_owned(),
            number: p.number.clone(),
            description: p.description.clone(),
            line_items: p.line_items.iter().map(LineItemItem::from).collect(),
            business_id: p.business_id.map(|b| b.get()),
            status: p.status.as_str().to_owned(),
            open_intent_id: p.open_intent_id.map(|i| i.to_string()),
            allocated_minor: p.allocated_minor,
            paid_minor: p.paid_minor,
            refunded_minor: p.refunded_minor,
            pending_payments: p.pending_payments,
            owner_fixed: p.owner_fixed,
            created_at: ts(p.created_at),
            updated_at: ts(p.updated_at),
        }
    }
}

pub fn payable_to_item(p: &Payable) -> Result<Item, StoreError> {
    serde_dynamo::to_item(PayableItem::from_domain(p)).map_err(|e| corrupt("payable", e))
}

pub fn payable_from_item(item: Item) -> Result<Payable, StoreError> {
    let item: PayableItem = serde_dynamo::from_item(item).map_err(|e| corrupt("payable", e))?;
    item.into_domain()
}

#[derive(Debug, Serialize, Deserialize)]
pub struct IntentItem {
    pub pk: String,
    pub sk: String,
    pub gsi1pk: String,
    pub gsi1sk: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gsi2pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gsi2sk: Option<String>,
    /// Always written; absent on items stored before the all-intents index,
    /// which join it when next written.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gsi3pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gsi3sk: Option<String>,
    pub id: String,
    pub created_at: String,
    pub updated_at: String,
    pub payer_user_id: String,
    pub payer_email: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payable_kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payable_id: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub status: String,
    pub gateway: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gateway_intent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    #[serde(default)]
    pub line_items: Vec<LineItemItem>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "business_id"
    )]
    pub business_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub return_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cancel_url: Option<String>,
    /// Hex of HMAC-SHA256(pepper, intent id ‖ code); never the code itself.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub otp_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub otp_expires_at: Option<String>,
    pub otp_attempts: u32,
    pub otp_sends: u32,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub otp_last_sent_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub authorized_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub captured_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub failed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub canceled_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub failure_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cancellation_reason: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// The gateway's step the payer must complete (`redirect_to_url`, …);
    /// absent on items stored before intents kept one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_action_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_action_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub review_reason: Option<String>,
    pub version: u64,
}

impl IntentItem {
    /// The item as it will be stored with `version`.
    pub fn from_domain(i: &PaymentIntent, version: u64) -> Self {
        let id = i.id.to_string();
        let payable = i.payable.as_ref();
        Self {
            pk: intent_pk(&i.id),
            sk: INTENT_SK.to_owned(),
            gsi1pk: user_partition(&i.payer.user_id),
            gsi1sk: format!("{INTENT_PREFIX}{}", i.list_key()),
            gsi2pk: payable.map(payable_pk),
            gsi2sk: payable.map(|_| format!("{INTENT_PREFIX}{}", i.list_key())),
            gsi3pk: Some(all_intents_partition(all_intents_shard(&i.id))),
            gsi3sk: Some(format!("{INTENT_PREFIX}{}", i.list_key())),
            id,
            created_at: ts(i.created_at),
            updated_at: ts(i.updated_at),
            payer_user_id: i.payer.user_id.to_string(),
            payer_email: i.payer.email.to_string(),
            payable_kind: payable.map(|p| p.kind.as_str().to_owned()),
            payable_id: payable.map(|p| p.id.to_string()),
            amount_minor: i.amount.minor(),
            currency: i.amount.currency().code().to_owned(),
            status: i.status.as_str().to_owned(),
            gateway: i.gateway.as_str().to_owned(),
            gateway_intent_id: i.gateway_intent_id.clone(),
            client_secret: i.client_secret.clone(),
            description: i.description.clone(),
            line_items: i.line_items.iter().map(LineItemItem::from).collect(),
            business_id: i.business_id.map(|b| b.get()),
            return_url: i.return_url.clone(),
            cancel_url: i.cancel_url.clone(),
            otp_hash: i.otp.as_ref().map(|o| hex::encode(o.hash.as_bytes())),
            otp_expires_at: i.otp.as_ref().map(|o| ts(o.expires_at)),
            otp_attempts: i.otp_attempts,
            otp_sends: i.otp_sends,
            otp_last_sent_at: i.otp_last_sent_at.map(ts),
            authorized_at: i.authorized_at.map(ts),
            captured_at: i.captured_at.map(ts),
            failed_at: i.failed_at.map(ts),
            canceled_at: i.canceled_at.map(ts),
            failure_reason: i.failure_reason.clone(),
            cancellation_reason: i.cancellation_reason.clone(),
            metadata: i.metadata.clone(),
            next_action_type: i.next_action.as_ref().map(|a| a.kind.clone()),
            next_action_url: i.next_action.as_ref().and_then(|a| a.url.clone()),
            review_reason: i.review_reason.clone(),
            version,
        }
    }

    pub fn into_domain(self) -> Result<PaymentIntent, StoreError> {
        let otp = match (self.otp_hash, self.otp_expires_at) {
            (Some(hash), Some(expires_at)) => Some(OtpState {
                hash: hex::decode(&hash)
                    .ok()
                    .and_then(|b| OtpHash::from_bytes(&b))
                    .ok_or_else(|| corrupt("otp hash", "not 32 hex bytes"))?,
                expires_at: parse_ts(&expires_at)?,
            }),
            _ => None,
        };
        Ok(PaymentIntent {
            id: IntentId::parse(&self.id).map_err(|e| corrupt("intent id", e))?,
            created_at: parse_ts(&self.created_at)?,
            updated_at: parse_ts(&self.updated_at)?,
            payer: Payer {
                user_id: user(&self.payer_user_id)?,
                email: email(&self.payer_email)?,
            },
            payable: payable_ref(self.payable_kind.as_deref(), self.payable_id.as_deref())?,
            amount: money(self.amount_minor, &self.currency)?,
            status: IntentStatus::parse(&self.status).map_err(|e| corrupt("intent status", e))?,
            gateway: GatewayId::parse(&self.gateway).map_err(|e| corrupt("gateway", e))?,
            gateway_intent_id: self.gateway_intent_id,
            client_secret: self.client_secret,
            description: self.description,
            line_items: line_items(self.line_items)?,
            business_id: self.business_id.map(BusinessId::new),
            return_url: self.return_url,
            cancel_url: self.cancel_url,
            otp,
            otp_attempts: self.otp_attempts,
            otp_sends: self.otp_sends,
            otp_last_sent_at: parse_opt_ts(&self.otp_last_sent_at)?,
            authorized_at: parse_opt_ts(&self.authorized_at)?,
            captured_at: parse_opt_ts(&self.captured_at)?,
            failed_at: parse_opt_ts(&self.failed_at)?,
            canceled_at: parse_opt_ts(&self.canceled_at)?,
            failure_reason: self.failure_reason,
            cancellation_reason: self.cancellation_reason,
            metadata: self.metadata,
            next_action: self.next_action_type.map(|kind| NextAction {
                kind,
                url: self.next_action_url,
            }),
            review_reason: self.review_reason,
            version: self.version,
        })
    }
}

pub fn intent_to_item(i: &PaymentIntent, version: u64) -> Result<Item, StoreError> {
    serde_dynamo::to_item(IntentItem::from_domain(i, version)).map_err(|e| corrupt("intent", e))
}

pub fn intent_from_item(item: Item) -> Result<PaymentIntent, StoreError> {
    let item: IntentItem = serde_dynamo::from_item(item).map_err(|e| corrupt("intent", e))?;
    item.into_domain()
}

/// Points from a gateway's id for an intent to the intent: its webhooks name
/// intents only so.
#[derive(Debug, Serialize, Deserialize)]
pub struct GatewayIntentItem {
    pub pk: String,
    pub sk: String,
    pub intent_id: String,
}

/// The lookup item of an intent the gateway already named, if it did.
pub fn gateway_intent_to_item(i: &PaymentIntent) -> Result<Option<Item>, StoreError> {
    let Some(gateway_intent_id) = &i.gateway_intent_id else {
        return Ok(None);
    };
    let item = GatewayIntentItem {
        pk: gateway_intent_pk(i.gateway, gateway_intent_id),
        sk: GATEWAY_INTENT_SK.to_owned(),
        intent_id: i.id.to_string(),
    };
    serde_dynamo::to_item(item)
        .map(Some)
        .map_err(|e| corrupt("gateway intent", e))
}

pub fn gateway_intent_from_item(item: Item) -> Result<IntentId, StoreError> {
    let item: GatewayIntentItem =
        serde_dynamo::from_item(item).map_err(|e| corrupt("gateway intent", e))?;
    IntentId::parse(&item.intent_id).map_err(|e| corrupt("intent id", e))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PaymentItem {
    pub pk: String,
    pub sk: String,
    pub gsi1pk: String,
    pub gsi1sk: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gsi2pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gsi2sk: Option<String>,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payable_kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payable_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub intent_id: Option<String>,
    pub payer_user_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub method: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub transaction_id: Option<String>,
    pub fee_minor: i64,
    pub net_minor: i64,
    /// What succeeded refunds gave back. Absent until its first refund.
    #[serde(default)]
    pub refunded_minor: i64,
    /// What refunds hold, pending or succeeded: the refunds' bound is
    /// stated on it. Absent until its first refund.
    #[serde(default)]
    pub refund_held_minor: i64,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "business_id"
    )]
    pub business_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub review_reason: Option<String>,
    pub created_at: String,
}

pub fn payment_to_item(p: &Payment) -> Result<Item, StoreError> {
    let id = p.id.to_string();
    let payable = p.payable.as_ref();
    let item = PaymentItem {
        pk: payment_pk(&p.id),
        sk: PAYMENT_SK.to_owned(),
        gsi1pk: user_partition(&p.payer_user_id),
        // Newest first by creation time: an id named from an Idempotency-Key
        // does not sort by time.
        gsi1sk: format!("{PAYMENT_PREFIX}{}", p.list_key()),
        gsi2pk: payable.map(payable_pk),
        gsi2sk: payable.map(|_| format!("{PAYMENT_PREFIX}{}", p.list_key())),
        id,
        payable_kind: payable.map(|r| r.kind.as_str().to_owned()),
        payable_id: payable.map(|r| r.id.to_string()),
        intent_id: p.intent_id.map(|i| i.to_string()),
        payer_user_id: p.payer_user_id.to_string(),
        amount_minor: p.amount.minor(),
        currency: p.amount.currency().code().to_owned(),
        method: p.method.as_str().to_owned(),
        status: p.status.as_str().to_owned(),
        transaction_id: p.transaction_id.clone(),
        fee_minor: p.fee_minor,
        net_minor: p.net_minor(),
        refunded_minor: p.refunded_minor,
        refund_held_minor: p.refund_held_minor,
        business_id: p.business_id.map(|b| b.get()),
        review_reason: p.review_reason.clone(),
        created_at: ts(p.created_at),
    };
    serde_dynamo::to_item(item).map_err(|e| corrupt("payment", e))
}

pub fn payment_from_item(item: Item) -> Result<Payment, StoreError> {
    let p: PaymentItem = serde_dynamo::from_item(item).map_err(|e| corrupt("payment", e))?;
    Ok(Payment {
        id: PaymentId::parse(&p.id).map_err(|e| corrupt("payment id", e))?,
        payable: payable_ref(p.payable_kind.as_deref(), p.payable_id.as_deref())?,
        intent_id: p
            .intent_id
            .as_deref()
            .map(IntentId::parse)
            .transpose()
            .map_err(|e| corrupt("intent id", e))?,
        payer_user_id: user(&p.payer_user_id)?,
        amount: money(p.amount_minor, &p.currency)?,
        method: PaymentMethod::parse(&p.method).map_err(|e| corrupt("method", e))?,
        status: PaymentStatus::parse(&p.status).map_err(|e| corrupt("payment status", e))?,
        transaction_id: p.transaction_id,
        fee_minor: p.fee_minor,
        refunded_minor: p.refunded_minor,
        // Stored before pending refunds were told apart: its refunded sum
        // held it all.
        refund_held_minor: p.refund_held_minor.max(p.refunded_minor),
        business_id: p.business_id.map(BusinessId::new),
        review_reason: p.review_reason,
        created_at: parse_ts(&p.created_at)?,
    })
}

/// An event's item: what happened, when, and the object as its own item was
/// stored by the change (a map inside this one). It sits in three lists, one
/// per index: every event (sharded), the events of its type (sharded), the
/// events of its object. It expires `EVENT_RETENTION` after it happened.
pub fn event_to_item(event: &Event, position: usize) -> Result<Item, StoreError> {
    let object = match &event.object {
        EventObject::Intent(i) => intent_to_item(i, i.version)?,
        EventObject::Payment(p) => payment_to_item(p)?,
        EventObject::Payable(p) => payable_to_item(p)?,
        EventObject::Refund(r) => refund_to_item(r)?,
    };
    let object_id = event.object.id();
    let shard = event_shard(&event.id);
    let sort_key = format!("{EVENT_PREFIX}{}", event.list_key(position));
    let indexed = [
        (BY_USER, object_events_partition(&object_id)),
        (
            BY_PAYABLE,
            shard_partition(&typed_events_list(event.kind), shard),
        ),
        (ALL_INTENTS, shard_partition(ALL_EVENTS_LIST, shard)),
    ];
    let mut item: Item = [
        (PK, s(event_pk(&event.id))),
        (SK, s(EVENT_SK)),
        ("id", s(event.id.as_str())),
        ("type", s(event.kind.as_str())),
        ("object_kind", s(event.object.kind())),
        ("object_id", s(object_id.as_str())),
        ("created", s(ts(event.created))),
        ("object", AttributeValue::M(object)),
        (TTL_ATTRIBUTE, n(event.expires_at().unix_timestamp())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if !event.follows.is_empty() {
        let follows = event.follows.iter().map(|id| s(id.as_str())).collect();
        item.insert("follows".to_owned(), AttributeValue::L(follows));
    }
    for (index, partition) in indexed {
        item.insert(index.pk.to_owned(), s(partition));
        item.insert(index.sk.to_owned(), s(sort_key.clone()));
    }
    Ok(item)
}

pub fn event_from_item(mut item: Item) -> Result<Event, StoreError> {
    let text = |item: &Item, name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or_else(|| corrupt("event", format!("no {name}")))
    };
    let id = EventId::parse(&text(&item, "id")?).map_err(|e| corrupt("event id", e))?;
    let kind = EventType::parse(&text(&item, "type")?).map_err(|e| corrupt("event type", e))?;
    let created = parse_ts(&text(&item, "created")?)?;
    let object_kind = text(&item, "object_kind")?;
    let Some(AttributeValue::M(object)) = item.remove("object") else {
        return Err(corrupt("event", "no object"));
    };
    let object = match object_kind.as_str() {
        "payment_intent" => EventObject::Intent(intent_from_item(object)?),
        "payment" => EventObject::Payment(payment_from_item(object)?),
        "payable" => EventObject::Payable(payable_from_item(object)?),
        "refund" => EventObject::Refund(refund_from_item(object)?),
        other => return Err(corrupt("event object kind", other)),
    };
    // Absent on events written before events named the ones they follow.
    let follows = match item.get("follows") {
        Some(AttributeValue::L(ids)) => ids
            .iter()
            .map(|v| {
                v.as_s()
                    .map_err(|_| corrupt("event follows", "not a string"))
                    .and_then(|id| EventId::parse(id).map_err(|e| corrupt("event follows", e)))
            })
            .collect::<Result<_, _>>()?,
        _ => Vec::new(),
    };
    Ok(Event {
        id,
        kind,
        created,
        object,
        follows,
    })
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RefundItem {
    pub pk: String,
    pub sk: String,
    /// The payment's refunds, newest first, in the by-payable index.
    pub gsi2pk: String,
    pub gsi2sk: String,
    pub id: String,
    pub payment_id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payable_kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payable_id: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gateway: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gateway_refund_id: Option<String>,
    /// Only while the gateway is still to be asked for it: the list of
    /// unsent refunds the refund pass reads, oldest first.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gsi3pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gsi3sk: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

pub fn refund_to_item(r: &Refund) -> Result<Item, StoreError> {
    let payable = r.payable.as_ref();
    let item = RefundItem {
        pk: refund_pk(&r.id),
        sk: REFUND_SK.to_owned(),
        gsi2pk: refunds_of_partition(&r.payment_id),
        gsi2sk: format!("{REFUND_PREFIX}{}", r.list_key()),
        id: r.id.to_string(),
        payment_id: r.payment_id.to_string(),
        payable_kind: payable.map(|p| p.kind.as_str().to_owned()),
        payable_id: payable.map(|p| p.id.to_string()),
        amount_minor: r.amount.minor(),
        currency: r.amount.currency().code().to_owned(),
        reason: r.reason.clone(),
        status: r.status.as_str().to_owned(),
        gateway: r.gateway.map(|g| g.as_str().to_owned()),
        gateway_refund_id: r.gateway_refund_id.clone(),
        gsi3pk: r.is_unsent().then(|| UNSENT_REFUNDS.to_owned()),
        gsi3sk: r.is_unsent().then(|| unsent_refund_sk(r)),
        created_at: ts(r.created),
        updated_at: ts(r.updated),
    };
    serde_dynamo::to_item(item).map_err(|e| corrupt("refund", e))
}

pub fn refund_from_item(item: Item) -> Result<Refund, StoreError> {
    let r: RefundItem = serde_dynamo::from_item(item).map_err(|e| corrupt("refund", e))?;
    Ok(Refund {
        id: RefundId::parse(&r.id).map_err(|e| corrupt("refund id", e))?,
        payment_id: PaymentId::parse(&r.payment_id).map_err(|e| corrupt("payment id", e))?,
        payable: payable_ref(r.payable_kind.as_deref(), r.payable_id.as_deref())?,
        amount: money(r.amount_minor, &r.currency)?,
        reason: r.reason,
        status: RefundStatus::parse(&r.status).map_err(|e| corrupt("refund status", e))?,
        gateway: r
            .gateway
            .as_deref()
            .map(GatewayId::parse)
            .transpose()
            .map_err(|e| corrupt("gateway", e))?,
        gateway_refund_id: r.gateway_refund_id,
        created: parse_ts(&r.created_at)?,
        updated: parse_ts(&r.updated_at)?,
    })
}

/// Points from a gateway's id for a refund to the refund: its webhooks name
/// refunds only so.
#[derive(Debug, Serialize, Deserialize)]
pub struct GatewayRefundItem {
    pub pk: String,
    pub sk: String,
    pub refund_id: String,
}

/// The lookup item of a refund the gateway named, if it did.
pub fn gateway_refund_to_item(r: &Refund) -> Result<Option<Item>, StoreError> {
    let (Some(gateway), Some(gateway_refund_id)) = (r.gateway, &r.gateway_refund_id) else {
        return Ok(None);
    };
    let item = GatewayRefundItem {
        pk: gateway_refund_pk(gateway, gateway_refund_id),
        sk: GATEWAY_REFUND_SK.to_owned(),
        refund_id: r.id.to_string(),
    };
    serde_dynamo::to_item(item)
        .map(Some)
        .map_err(|e| corrupt("gateway refund", e))
}

pub fn gateway_refund_from_item(item: Item) -> Result<RefundId, StoreError> {
    let item: GatewayRefundItem =
        serde_dynamo::from_item(item).map_err(|e| corrupt("gateway refund", e))?;
    RefundId::parse(&item.refund_id).map_err(|e| corrupt("refund id", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::intent::{Confirmation, NewIntent};
    use time::OffsetDateTime;

    fn intent() -> PaymentIntent {
        PaymentIntent::open(
            NewIntent {
                payer: Payer {
                    user_id: UserId::parse("u1").expect("valid"),
                    email: Email::parse("u1@example.com").expect("valid"),
                },
                payable: None,
                amount: Money::from_minor(11200, Currency::parse("USD").expect("usd"))
                    .expect("valid"),
                gateway: GatewayId::Test,
                description: None,
                line_items: vec![],
                business_id: None,
                return_url: None,
                cancel_url: None,
                metadata: BTreeMap::new(),
            },
            OffsetDateTime::from_unix_timestamp(1_760_000_000).expect("valid"),
        )
    }

    #[test]
    fn an_intents_next_action_is_stored_and_read_back() {
        let mut i = intent();
        let action = Confirmation::RequiresAction {
            next_action: NextAction {
                kind: "redirect_to_url".to_owned(),
                url: Some("https://gateway.test/authenticate/pi_test_1".to_owned()),
            },
        };
        i.apply_confirmation(&action, i.created_at).expect("action");
        let read = intent_from_item(intent_to_item(&i, 0).expect("item")).expect("read");
        assert_eq!(read, i);
    }

    #[test]
    fn every_intent_item_joins_the_all_intents_index_in_its_shard() {
        let i = intent();
        let item = intent_to_item(&i, 1).expect("item");
        let shard = all_intents_shard(&i.id);
        assert_eq!(
            item.get("gsi3pk").and_then(|v| v.as_s().ok()),
            Some(&format!("INTENTS#{shard}"))
        );
        assert_eq!(
            item.get("gsi3sk"),
            item.get("gsi1sk"),
            "one order for every list"
        );
        let mut before_the_index = item;
        before_the_index.remove("gsi3pk");
        before_the_index.remove("gsi3sk");
        assert_eq!(intent_from_item(before_the_index).expect("read"), {
            let mut read = i.clone();
            read.version = 1;
            read
        });
    }

    #[test]
    fn a_gateway_named_intent_has_a_lookup_item() {
        let mut i = intent();
        assert!(gateway_intent_to_item(&i).expect("item").is_none());
        i.gateway_intent_id = Some("pi_test_abc".to_owned());
        let item = gateway_intent_to_item(&i).expect("item").expect("some");
        assert_eq!(
            item.get("pk")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str),
            Some("GATEWAY_INTENT#test#pi_test_abc")
        );
        assert_eq!(gateway_intent_from_item(item).expect("read"), i.id);
    }

    #[test]
    fn items_stored_before_intents_kept_an_action_still_read() {
        let i = intent();
        let mut item = intent_to_item(&i, 0).expect("item");
        assert!(!item.contains_key("next_action_type"), "absent when none");
        item.remove("next_action_url");
        assert_eq!(intent_from_item(item).expect("read").next_action, None);
    }

    #[test]
    fn an_event_carries_its_objects_item_and_reads_back() {
        let mut i = intent();
        i.version = 3;
        let events = Event::for_intent_change(None, &i, i.created_at);
        let item = event_to_item(&events[0], 0).expect("item");
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        assert_eq!(text("pk"), Some(format!("EVENT#{}", events[0].id)));
        assert_eq!(text("type").as_deref(), Some("payment_intent.created"));
        assert_eq!(text("object_id"), Some(i.id.to_string()));
        assert_eq!(text("gsi1pk"), Some(format!("EVENTS_OF#{}", i.id)));
        let shard = event_shard(&events[0].id);
        assert_eq!(
            text("gsi2pk"),
            Some(format!("EVENTS_TYPED#payment_intent.created#{shard}"))
        );
        assert_eq!(text("gsi3pk"), Some(format!("EVENTS#{shard}")));
        assert!(text("gsi3sk").is_some_and(|k| k.starts_with("EVENT#")));
        assert_eq!(text("gsi1sk"), text("gsi3sk"), "one order for every list");
        assert_eq!(
            item.get("ttl").and_then(|v| v.as_n().ok()),
            Some(
                &(i.created_at + crate::domain::EVENT_RETENTION)
                    .unix_timestamp()
                    .to_string()
            )
        );
        let object = item
            .get("object")
            .and_then(|v| v.as_m().ok())
            .expect("a map");
        assert_eq!(
            object
                .get("version")
                .and_then(|v| v.as_n().ok())
                .map(String::as_str),
            Some("3")
        );
        assert_eq!(event_from_item(item).expect("reads"), events[0]);
    }

    #[test]
    fn a_payable_item_reads_back_as_the_payable() {
        let t = OffsetDateTime::from_unix_timestamp(1_760_000_000).expect("valid");
        let p = Payable {
            payable: PayableRef {
                kind: PayableKind::Order,
                id: PayableId::parse("O-1").expect("id"),
            },
            owner: Payer {
                user_id: UserId::parse("u1").expect("valid"),
                email: Email::parse("u1@example.com").expect("valid"),
            },
            amount: Money::from_minor(500, Currency::parse("USD").expect("usd")).expect("valid"),
            number: Some("7".into()),
            description: None,
            line_items: vec![],
            business_id: Some(BusinessId::new(9)),
            status: PayableStatus::Paid,
            open_intent_id: None,
            allocated_minor: 500,
            paid_minor: 500,
            refunded_minor: 0,
            pending_payments: 0,
            owner_fixed: true,
            created_at: t,
            updated_at: t,
        };
        assert_eq!(
            payable_from_item(payable_to_item(&p).expect("item")).expect("read"),
            p
        );
    }

    #[test]
    fn business_ids_are_numbers_and_old_digit_strings_still_read() {
        use aws_sdk_dynamodb::types::AttributeValue;
        let mut i = intent();
        i.business_id = Some(BusinessId::new(u64::MAX));
        let mut item = intent_to_item(&i, 1).expect("item");
        assert_eq!(
            item.get("business_id"),
            Some(&AttributeValue::N(u64::MAX.to_string()))
        );
        assert_eq!(
            intent_from_item(item.clone()).expect("read").business_id,
            i.business_id
        );
        item.insert("business_id".into(), AttributeValue::S("123456".into()));
        assert_eq!(
            intent_from_item(item.clone()).expect("read").business_id,
            Some(BusinessId::new(123_456))
        );
        item.insert("business_id".into(), AttributeValue::S("biz-1".into()));
        assert!(intent_from_item(item).is_err(), "not a business id");
    }
}
