//! An event's item.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::adapters::dynamo::codec::{Item, corrupt, n, parse_ts, s, ts};
use crate::adapters::dynamo::keys::{
    ALL_EVENTS_LIST, EVENT_PREFIX, EVENT_SK, event_pk, event_shard, object_events_partition,
    shard_partition, typed_events_list,
};
use crate::adapters::dynamo::table::{ALL_INTENTS, BY_PAYABLE, BY_USER, PK, SK, TTL_ATTRIBUTE};
use crate::domain::{Event, EventId, EventObject, EventType};
use crate::ports::StoreError;

use super::{
    intent_from_item, intent_to_item, payable_from_item, payable_to_item, payment_from_item,
    payment_to_item, refund_from_item, refund_to_item,
};

/// An event's item: what happened, when, and the object as its own item was
/// stored by the change (a map inside this one). It sits in three lists, one
/// per index: every event (sharded), the events of its type (sharded), the
/// events of its object. It expires `EVENT_RETENTION` after it happened.
pub fn event_to_item(event: &Event, position: usize) -> Result<Item, StoreError> {
    let object = match &event.object {
        EventObject::Intent(i) => intent_to_item(i, i.version())?,
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
