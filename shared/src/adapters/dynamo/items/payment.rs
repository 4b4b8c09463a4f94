//! A payment's item.

use serde::{Deserialize, Serialize};

use super::{AmountItem, BusinessIdItem, ListedItem, PayableKeyItem, parse_opt, user};
use crate::adapters::dynamo::codec::{Item, corrupt, parse_ts, ts};
use crate::adapters::dynamo::keys::{PAYMENT_PREFIX, PAYMENT_SK, payment_pk};
use crate::domain::{
    BusinessId, IntentId, Payment, PaymentId, PaymentMethod, PaymentParts, PaymentStatus,
};
use crate::ports::StoreError;

#[derive(Debug, Serialize, Deserialize)]
pub struct PaymentItem {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub listed: ListedItem,
    pub id: String,
    #[serde(flatten)]
    pub payable: PayableKeyItem,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub intent_id: Option<String>,
    pub payer_user_id: String,
    #[serde(flatten)]
    pub amount: AmountItem,
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
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub business_id: Option<BusinessIdItem>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub review_reason: Option<String>,
    pub created_at: String,
}

pub fn payment_to_item(p: &Payment) -> Result<Item, StoreError> {
    let id = p.id().to_string();
    let payable = p.payable().as_ref();
    let item = PaymentItem {
        pk: payment_pk(&p.id()),
        sk: PAYMENT_SK.to_owned(),
        listed: ListedItem::new(
            p.payer_user_id(),
            payable,
            &format!("{PAYMENT_PREFIX}{}", p.list_key()),
        ),
        id,
        payable: PayableKeyItem::from(payable),
        intent_id: p.intent_id().map(|i| i.to_string()),
        payer_user_id: p.payer_user_id().to_string(),
        amount: AmountItem::from(p.amount()),
        method: p.method().as_str().to_owned(),
        status: p.status().as_str().to_owned(),
        transaction_id: p.transaction_id().clone(),
        fee_minor: p.fee_minor(),
        net_minor: p.net_minor(),
        refunded_minor: p.refunded_minor(),
        refund_held_minor: p.refund_held_minor(),
        business_id: p.business_id().map(BusinessIdItem::from),
        review_reason: p.review_reason().clone(),
        created_at: ts(p.created_at()),
    };
    serde_dynamo::to_item(item).map_err(|e| corrupt("payment", e))
}

pub fn payment_from_item(item: Item) -> Result<Payment, StoreError> {
    let p: PaymentItem = serde_dynamo::from_item(item).map_err(|e| corrupt("payment", e))?;
    Ok(Payment::restore(PaymentParts {
        id: PaymentId::parse(&p.id).map_err(|e| corrupt("payment id", e))?,
        payable: p.payable.payable()?,
        intent_id: parse_opt(p.intent_id.as_deref(), IntentId::parse, "intent id")?,
        payer_user_id: user(&p.payer_user_id)?,
        amount: p.amount.money()?,
        method: PaymentMethod::parse(&p.method).map_err(|e| corrupt("method", e))?,
        status: PaymentStatus::parse(&p.status).map_err(|e| corrupt("payment status", e))?,
        transaction_id: p.transaction_id,
        fee_minor: p.fee_minor,
        refunded_minor: p.refunded_minor,
        // Stored before pending refunds were told apart: its refunded sum
        // held it all.
        refund_held_minor: p.refund_held_minor.max(p.refunded_minor),
        business_id: p.business_id.map(BusinessId::from),
        review_reason: p.review_reason,
        created_at: parse_ts(&p.created_at)?,
    }))
}
