//! A refund's item, and the lookup item from a gateway's id for it.

use serde::{Deserialize, Serialize};

use super::{AmountItem, PayableKeyItem, parse_opt};
use crate::adapters::dynamo::codec::{Item, corrupt, parse_ts, ts};
use crate::adapters::dynamo::keys::{
    GATEWAY_REFUND_SK, REFUND_PREFIX, REFUND_SK, UNSENT_REFUNDS, gateway_refund_pk, refund_pk,
    refunds_of_partition, unsent_refund_sk,
};
use crate::domain::intent::GatewayId;
use crate::domain::{PaymentId, Refund, RefundId, RefundParts, RefundStatus};
use crate::ports::StoreError;

#[derive(Debug, Serialize, Deserialize)]
pub struct RefundItem {
    pub pk: String,
    pub sk: String,
    /// The payment's refunds, newest first, in the by-payable index.
    pub gsi2pk: String,
    pub gsi2sk: String,
    pub id: String,
    pub payment_id: String,
    #[serde(flatten)]
    pub payable: PayableKeyItem,
    #[serde(flatten)]
    pub amount: AmountItem,
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
    let payable = r.payable().as_ref();
    let item = RefundItem {
        pk: refund_pk(&r.id()),
        sk: REFUND_SK.to_owned(),
        gsi2pk: refunds_of_partition(&r.payment_id()),
        gsi2sk: format!("{REFUND_PREFIX}{}", r.list_key()),
        id: r.id().to_string(),
        payment_id: r.payment_id().to_string(),
        payable: PayableKeyItem::from(payable),
        amount: AmountItem::from(r.amount()),
        reason: r.reason().clone(),
        status: r.status().as_str().to_owned(),
        gateway: r.gateway().map(|g| g.as_str().to_owned()),
        gateway_refund_id: r.gateway_refund_id().clone(),
        gsi3pk: r.is_unsent().then(|| UNSENT_REFUNDS.to_owned()),
        gsi3sk: r.is_unsent().then(|| unsent_refund_sk(r)),
        created_at: ts(r.created()),
        updated_at: ts(r.updated()),
    };
    serde_dynamo::to_item(item).map_err(|e| corrupt("refund", e))
}

pub fn refund_from_item(item: Item) -> Result<Refund, StoreError> {
    let r: RefundItem = serde_dynamo::from_item(item).map_err(|e| corrupt("refund", e))?;
    Ok(Refund::restore(RefundParts {
        id: RefundId::parse(&r.id).map_err(|e| corrupt("refund id", e))?,
        payment_id: PaymentId::parse(&r.payment_id).map_err(|e| corrupt("payment id", e))?,
        payable: r.payable.payable()?,
        amount: r.amount.money()?,
        reason: r.reason,
        status: RefundStatus::parse(&r.status).map_err(|e| corrupt("refund status", e))?,
        gateway: parse_opt(r.gateway.as_deref(), GatewayId::parse, "gateway")?,
        gateway_refund_id: r.gateway_refund_id,
        created: parse_ts(&r.created_at)?,
        updated: parse_ts(&r.updated_at)?,
    }))
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
    let (Some(gateway), Some(gateway_refund_id)) = (r.gateway(), &r.gateway_refund_id()) else {
        return Ok(None);
    };
    let item = GatewayRefundItem {
        pk: gateway_refund_pk(gateway, gateway_refund_id),
        sk: GATEWAY_REFUND_SK.to_owned(),
        refund_id: r.id().to_string(),
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
