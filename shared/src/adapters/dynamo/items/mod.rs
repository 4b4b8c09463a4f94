//! Storage items: the table's shape of each domain type, kept apart from the
//! domain. One file per aggregate; the parsing they share lives here.

mod event;
mod intent;
mod payable;
mod payment;
mod refund;
#[cfg(test)]
mod tests;

pub use event::{event_from_item, event_to_item};
pub use intent::{
    gateway_intent_from_item, gateway_intent_to_item, intent_from_item, intent_to_item,
};
pub use payable::{payable_from_item, payable_to_item};
pub use payment::{payment_from_item, payment_to_item};
pub use refund::{
    gateway_refund_from_item, gateway_refund_to_item, refund_from_item, refund_to_item,
};

use serde::{Deserialize, Serialize};

use super::codec::corrupt;
use super::keys::{payable_pk, user_partition};
use crate::domain::{
    BusinessId, Currency, Email, LineItem, Money, PayableId, PayableKind, PayableRef, UserId,
};
use crate::ports::StoreError;

/// A business id as items store it: a number. Items written while business
/// ids were strings of digits still read.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(transparent)]
pub struct BusinessIdItem(u64);

impl<'de> Deserialize<'de> for BusinessIdItem {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Number(u64),
            Text(String),
        }
        match Stored::deserialize(d)? {
            Stored::Number(n) => Ok(Self(n)),
            Stored::Text(t) => t.parse().map(Self).map_err(serde::de::Error::custom),
        }
    }
}

impl From<BusinessId> for BusinessIdItem {
    fn from(b: BusinessId) -> Self {
        Self(b.get())
    }
}

impl From<BusinessIdItem> for BusinessId {
    fn from(b: BusinessIdItem) -> Self {
        BusinessId::new(b.0)
    }
}

/// A stored value an item may lack, read by `parse`; `what` names it when
/// it does not parse.
fn parse_opt<T, E: std::fmt::Display>(
    stored: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, E>,
    what: &str,
) -> Result<Option<T>, StoreError> {
    stored.map(parse).transpose().map_err(|e| corrupt(what, e))
}

/// An amount as every item stores it: minor units and the currency's code,
/// two attributes of the item that holds it.
#[derive(Debug, Serialize, Deserialize)]
pub struct AmountItem {
    pub amount_minor: i64,
    pub currency: String,
}

impl From<Money> for AmountItem {
    fn from(m: Money) -> Self {
        Self {
            amount_minor: m.minor(),
            currency: m.currency().code().to_owned(),
        }
    }
}

impl AmountItem {
    fn money(&self) -> Result<Money, StoreError> {
        let currency = Currency::parse(&self.currency).map_err(|e| corrupt("currency", e))?;
        Money::from_minor(self.amount_minor, currency).map_err(|e| corrupt("amount", e))
    }
}

/// The payable an item is about, if any: its kind and id, two attributes of
/// the item, both absent when there is none.
#[derive(Debug, Serialize, Deserialize)]
pub struct PayableKeyItem {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payable_kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payable_id: Option<String>,
}

impl From<Option<&PayableRef>> for PayableKeyItem {
    fn from(payable: Option<&PayableRef>) -> Self {
        Self {
            payable_kind: payable.map(|p| p.kind.as_str().to_owned()),
            payable_id: payable.map(|p| p.id.to_string()),
        }
    }
}

/// Where an intent or a payment stands in its payer's list and, when it has
/// one, its payable's list: both ordered by the same key, its kind's prefix
/// and its creation time (an id named from an Idempotency-Key does not sort
/// by time).
#[derive(Debug, Serialize, Deserialize)]
pub struct ListedItem {
    pub gsi1pk: String,
    pub gsi1sk: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gsi2pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gsi2sk: Option<String>,
}

impl ListedItem {
    fn new(payer: &UserId, payable: Option<&PayableRef>, sort_key: &str) -> Self {
        Self {
            gsi1pk: user_partition(payer),
            gsi1sk: sort_key.to_owned(),
            gsi2pk: payable.map(payable_pk),
            gsi2sk: payable.map(|_| sort_key.to_owned()),
        }
    }
}

impl PayableKeyItem {
    fn payable(&self) -> Result<Option<PayableRef>, StoreError> {
        payable_ref(self.payable_kind.as_deref(), self.payable_id.as_deref())
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct LineItemItem {
    pub name: String,
    #[serde(flatten)]
    pub amount: AmountItem,
    pub quantity: u32,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
}

impl From<&LineItem> for LineItemItem {
    fn from(l: &LineItem) -> Self {
        Self {
            name: l.name.clone(),
            amount: AmountItem::from(l.amount),
            quantity: l.quantity,
            description: l.description.clone(),
        }
    }
}

impl LineItemItem {
    fn into_domain(self) -> Result<LineItem, StoreError> {
        Ok(LineItem {
            name: self.name,
            amount: self.amount.money()?,
            quantity: self.quantity,
            description: self.description,
        })
    }
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
