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
use crate::domain::{Currency, Email, LineItem, Money, PayableId, PayableKind, PayableRef, UserId};
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
