//! Where each aggregate lives in the table: its key, and its sort key in the
//! by-user, by-payable and all-intents indexes; and where events live, in
//! partitions of their own in those same three indexes.

use sha2::{Digest, Sha256};

use crate::domain::{
    EventId, EventType, GatewayId, IntentId, PayableRef, PaymentId, Refund, RefundId, UserId,
};

pub const INTENT_SK: &str = "INTENT";
pub const PAYABLE_SK: &str = "PAYABLE";
/// Beside its payable: the intents that had codes sent for it lately.
pub const OTP_SENDERS_SK: &str = "OTP_SENDERS";
pub const PAYMENT_SK: &str = "PAYMENT";
/// The item that turns a gateway's name for an intent into ours.
pub const GATEWAY_INTENT_SK: &str = "GATEWAY_INTENT";
pub const EVENT_SK: &str = "EVENT";
pub const REFUND_SK: &str = "REFUND";
/// The item that turns a gateway's name for a refund into ours.
pub const GATEWAY_REFUND_SK: &str = "GATEWAY_REFUND";

pub fn intent_pk(id: &IntentId) -> String {
    format!("INTENT#{id}")
}

pub fn payable_pk(p: &PayableRef) -> String {
    format!("PAYABLE#{}#{}", p.kind, p.id)
}

pub fn payment_pk(id: &PaymentId) -> String {
    format!("PAYMENT#{id}")
}

pub fn event_pk(id: &EventId) -> String {
    format!("EVENT#{id}")
}

/// The id of the event an item's key names, if it is an event's item (the
/// table's stream names items by their keys alone).
pub fn event_id_in_key<'k>(pk: &'k str, sk: &str) -> Option<&'k str> {
    (sk == EVENT_SK)
        .then(|| pk.strip_prefix("EVENT#"))
        .flatten()
}

pub fn refund_pk(id: &RefundId) -> String {
    format!("REFUND#{id}")
}

/// A payment's refunds, newest first, in the by-payable index: a list of
/// the payment's own, beside the payable lists it shares that index with.
pub fn refunds_of_partition(payment: &PaymentId) -> String {
    format!("REFUNDS_OF#{payment}")
}

/// Refunds the gateway is still to be asked for (a fault cut their request),
/// oldest first, in the all-intents index: few at any time, so one
/// partition; a refund leaves it once the gateway names it or it ends.
pub const UNSENT_REFUNDS: &str = "REFUNDS_UNSENT";

/// An unsent refund's place in [`UNSENT_REFUNDS`]: by the time it was made.
pub fn unsent_refund_sk(r: &Refund) -> String {
    format!("{REFUND_PREFIX}{}", r.list_key())
}

/// Gateways name refunds by their own ids, which are unique only per gateway.
pub fn gateway_refund_pk(gateway: GatewayId, gateway_refund_id: &str) -> String {
    format!("GATEWAY_REFUND#{}#{gateway_refund_id}", gateway.as_str())
}

/// Gateways name intents by their own ids, which are unique only per gateway.
pub fn gateway_intent_pk(gateway: GatewayId, gateway_intent_id: &str) -> String {
    format!("GATEWAY_INTENT#{}#{gateway_intent_id}", gateway.as_str())
}

/// `prefix` then a digest of `scope` and `name`: a key of bounded length
/// that keeps what it names (a caller's id, a token) out of the table.
pub fn hashed_pk(prefix: &str, scope: &str, name: &str) -> String {
    let digest = Sha256::new()
        .chain_update(scope.as_bytes())
        .chain_update([0u8])
        .chain_update(name.as_bytes())
        .finalize();
    format!("{prefix}{}", hex::encode(digest))
}

pub fn user_partition(user: &UserId) -> String {
    format!("USER#{user}")
}

/// Partitions of the all-intents index. Every new intent lands in one of them,
/// so the intents of a busy day spread their writes instead of all hitting one
/// partition; a read asks each and merges.
pub const ALL_INTENTS_SHARDS: u8 = 8;

/// Names the all-intents list in its cursors: one position serves every shard,
/// since they all share one order.
pub const ALL_INTENTS_LIST: &str = "INTENTS";

/// The shard an item always lands in among `shards`: derived from its id
/// alone, so a rewrite never moves it.
fn shard_of(id: &str, shards: u8) -> u8 {
    Sha256::digest(id.as_bytes())[0] % shards
}

/// A sharded list's partition: the list's name and the shard.
pub fn shard_partition(list: &str, shard: u8) -> String {
    format!("{list}#{shard}")
}

pub fn all_intents_shard(id: &IntentId) -> u8 {
    shard_of(&id.to_string(), ALL_INTENTS_SHARDS)
}

pub fn all_intents_partition(shard: u8) -> String {
    shard_partition(ALL_INTENTS_LIST, shard)
}

/// Every event, newest first, in the all-intents index's table of shards:
/// events are written as often as intents change, so they spread the same way.
pub const EVENT_SHARDS: u8 = 8;
pub const ALL_EVENTS_LIST: &str = "EVENTS";

pub fn event_shard(id: &EventId) -> u8 {
    shard_of(id.as_str(), EVENT_SHARDS)
}

/// The events of one type: as busy as every event of a busy type, so sharded too.
pub fn typed_events_list(kind: EventType) -> String {
    format!("EVENTS_TYPED#{kind}")
}

/// The events of one object (an intent, a payment, a payable's `kind/id`):
/// a handful each, one partition.
pub fn object_events_partition(object_id: &str) -> String {
    format!("EVENTS_OF#{object_id}")
}

/// Sort-key prefixes inside the by-user and by-payable indexes.
pub const INTENT_PREFIX: &str = "INTENT#";
pub const PAYMENT_PREFIX: &str = "PAYMENT#";
/// Sort-key prefix of events in every index.
pub const EVENT_PREFIX: &str = "EVENT#";
pub const REFUND_PREFIX: &str = "REFUND#";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_spread_over_every_shard_and_stay_in_theirs() {
        let ids: Vec<IntentId> = (0..200).map(|_| IntentId::new()).collect();
        let shards: std::collections::BTreeSet<u8> = ids.iter().map(all_intents_shard).collect();
        assert_eq!(shards.len(), usize::from(ALL_INTENTS_SHARDS));
        for id in &ids {
            assert_eq!(all_intents_shard(id), all_intents_shard(id));
        }
        assert_eq!(all_intents_partition(3), "INTENTS#3");
    }

    #[test]
    fn an_event_item_is_named_by_its_key_and_nothing_else_is() {
        let id = EventId::new();
        assert_eq!(event_id_in_key(&event_pk(&id), EVENT_SK), Some(id.as_str()));
        assert_eq!(event_id_in_key(&event_pk(&id), PAYMENT_SK), None);
        assert_eq!(event_id_in_key("PAYMENT#x", EVENT_SK), None);
    }

    #[test]
    fn events_spread_over_every_shard() {
        let ids: Vec<EventId> = (0..200).map(|_| EventId::new()).collect();
        let shards: std::collections::BTreeSet<u8> = ids.iter().map(event_shard).collect();
        assert_eq!(shards.len(), usize::from(EVENT_SHARDS));
        assert_eq!(
            shard_partition(&typed_events_list(EventType::PayablePaid), 2),
            "EVENTS_TYPED#payable.paid#2"
        );
        assert_eq!(object_events_partition("order/O-1"), "EVENTS_OF#order/O-1");
    }
}
