//! An intent's item, and the lookup item from a gateway's id for it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{
    AmountItem, BusinessIdItem, LineItemItem, ListedItem, PayableKeyItem, email, line_items, user,
};
use crate::adapters::dynamo::codec::{Item, corrupt, parse_opt_ts, parse_ts, ts};
use crate::adapters::dynamo::keys::{
    GATEWAY_INTENT_SK, INTENT_PREFIX, INTENT_SK, all_intents_partition, all_intents_shard,
    gateway_intent_pk, intent_pk,
};
use crate::domain::intent::{GatewayId, IntentParts, NextAction};
use crate::domain::otp::OtpState;
use crate::domain::{BusinessId, IntentId, IntentStatus, OtpHash, Payer, PaymentIntent};
use crate::ports::StoreError;

#[derive(Debug, Serialize, Deserialize)]
pub struct IntentItem {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub listed: ListedItem,
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
    #[serde(flatten)]
    pub payable: PayableKeyItem,
    #[serde(flatten)]
    pub amount: AmountItem,
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
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub business_id: Option<BusinessIdItem>,
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
        let id = i.id().to_string();
        let payable = i.payable().as_ref();
        let sort_key = format!("{INTENT_PREFIX}{}", i.list_key());
        Self {
            pk: intent_pk(&i.id()),
            sk: INTENT_SK.to_owned(),
            listed: ListedItem::new(&i.payer().user_id, payable, &sort_key),
            gsi3pk: Some(all_intents_partition(all_intents_shard(&i.id()))),
            gsi3sk: Some(sort_key),
            id,
            created_at: ts(i.created_at()),
            updated_at: ts(i.updated_at()),
            payer_user_id: i.payer().user_id.to_string(),
            payer_email: i.payer().email.to_string(),
            payable: PayableKeyItem::from(payable),
            amount: AmountItem::from(i.amount()),
            status: i.status().as_str().to_owned(),
            gateway: i.gateway().as_str().to_owned(),
            gateway_intent_id: i.gateway_intent_id().clone(),
            client_secret: i.client_secret().clone(),
            description: i.description().clone(),
            line_items: i.line_items().iter().map(LineItemItem::from).collect(),
            business_id: i.business_id().map(BusinessIdItem::from),
            return_url: i.return_url().clone(),
            cancel_url: i.cancel_url().clone(),
            otp_hash: i.otp().as_ref().map(|o| hex::encode(o.hash.as_bytes())),
            otp_expires_at: i.otp().as_ref().map(|o| ts(o.expires_at)),
            otp_attempts: i.otp_attempts(),
            otp_sends: i.otp_sends(),
            otp_last_sent_at: i.otp_last_sent_at().map(ts),
            authorized_at: i.authorized_at().map(ts),
            captured_at: i.captured_at().map(ts),
            failed_at: i.failed_at().map(ts),
            canceled_at: i.canceled_at().map(ts),
            failure_reason: i.failure_reason().clone(),
            cancellation_reason: i.cancellation_reason().clone(),
            metadata: i.metadata().clone(),
            next_action_type: i.next_action().as_ref().map(|a| a.kind.clone()),
            next_action_url: i.next_action().as_ref().and_then(|a| a.url.clone()),
            review_reason: i.review_reason().clone(),
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
        let parts = IntentParts {
            id: IntentId::parse(&self.id).map_err(|e| corrupt("intent id", e))?,
            created_at: parse_ts(&self.created_at)?,
            updated_at: parse_ts(&self.updated_at)?,
            payer: Payer {
                user_id: user(&self.payer_user_id)?,
                email: email(&self.payer_email)?,
            },
            payable: self.payable.payable()?,
            amount: self.amount.money()?,
            status: IntentStatus::parse(&self.status).map_err(|e| corrupt("intent status", e))?,
            gateway: GatewayId::parse(&self.gateway).map_err(|e| corrupt("gateway", e))?,
            gateway_intent_id: self.gateway_intent_id,
            client_secret: self.client_secret,
            description: self.description,
            line_items: line_items(self.line_items)?,
            business_id: self.business_id.map(BusinessId::from),
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
        };
        Ok(PaymentIntent::restore(parts, self.version))
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
    let Some(gateway_intent_id) = &i.gateway_intent_id() else {
        return Ok(None);
    };
    let item = GatewayIntentItem {
        pk: gateway_intent_pk(i.gateway(), gateway_intent_id),
        sk: GATEWAY_INTENT_SK.to_owned(),
        intent_id: i.id().to_string(),
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
