//! A payable's item: what is owed, and the sums paid and refunded against it.

use serde::{Deserialize, Serialize};

use super::{
    AmountItem, BusinessIdItem, LineItemItem, email, line_items, parse_opt, payable_ref, user,
};
use crate::adapters::dynamo::codec::{Item, corrupt, parse_ts, ts};
use crate::adapters::dynamo::keys::{PAYABLE_SK, payable_pk};
use crate::domain::{
    BusinessId, IntentId, NewPayable, Payable, PayableParts, PayableStatus, Payer,
};
use crate::ports::StoreError;

#[derive(Debug, Serialize, Deserialize)]
pub struct PayableItem {
    pub pk: String,
    pub sk: String,
    pub kind: String,
    pub id: String,
    pub owner_user_id: String,
    pub owner_email: String,
    #[serde(flatten)]
    pub amount: AmountItem,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    #[serde(default)]
    pub line_items: Vec<LineItemItem>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub business_id: Option<BusinessIdItem>,
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
        let amount = self.amount.money()?;
        Ok(Payable::restore(PayableParts {
            details: NewPayable {
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
                business_id: self.business_id.map(BusinessId::from),
            },
            status: PayableStatus::parse(&self.status).map_err(|e| corrupt("payable status", e))?,
            open_intent_id: parse_opt(
                self.open_intent_id.as_deref(),
                IntentId::parse,
                "open intent id",
            )?,
            allocated_minor: self.allocated_minor,
            paid_minor: self.paid_minor,
            refunded_minor: self.refunded_minor,
            pending_payments: self.pending_payments,
            owner_fixed: self.owner_fixed,
            created_at: parse_ts(&self.created_at)?,
            updated_at: parse_ts(&self.updated_at)?,
        }))
    }
}

impl PayableItem {
    /// The item as the payables' writes leave it (they write fields, not items).
    pub fn from_domain(p: &Payable) -> Self {
        Self {
            pk: payable_pk(p.payable()),
            sk: PAYABLE_SK.to_owned(),
            kind: p.payable().kind.as_str().to_owned(),
            id: p.payable().id.to_string(),
            owner_user_id: p.owner().user_id.to_string(),
            owner_email: p.owner().email.to_string(),
            amount: AmountItem::from(p.amount()),
            number: p.number().clone(),
            description: p.description().clone(),
            line_items: p.line_items().iter().map(LineItemItem::from).collect(),
            business_id: p.business_id().map(BusinessIdItem::from),
            status: p.status().as_str().to_owned(),
            open_intent_id: p.open_intent_id().map(|i| i.to_string()),
            allocated_minor: p.allocated_minor(),
            paid_minor: p.paid_minor(),
            refunded_minor: p.refunded_minor(),
            pending_payments: p.pending_payments(),
            owner_fixed: p.owner_fixed(),
            created_at: ts(p.created_at()),
            updated_at: ts(p.updated_at()),
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
