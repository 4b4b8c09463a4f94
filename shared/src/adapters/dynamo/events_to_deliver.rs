//! The events the dispatcher delivers, read from their outbox items
//! (`EVENT#<id>` / `EVENT`: `type`, `object_id`, `created`, and the event's
//! `data` or its rendered `body`). The events store renders the body the events API shows; until
//! this reads through it, the body is built here from the item in the same
//! Stripe shape (`id`, `object`, `type`, `created`, `data.object`).

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::DynamoStore;
use super::codec::{Item, corrupt, unavailable};
use super::request::key;
use crate::ports::{EventsToDeliver, OutgoingEvent, StoreError};

/// The prefix of every event's partition key.
pub const EVENT_PREFIX: &str = "EVENT#";
pub const EVENT_SK: &str = "EVENT";

fn text<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| corrupt("event", format!("no {name}")))
}

/// `created`: unix seconds, or an RFC 3339 time.
fn created(item: &Item) -> Result<OffsetDateTime, StoreError> {
    match item.get("created") {
        Some(AttributeValue::N(n)) => n
            .parse::<i64>()
            .ok()
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .ok_or_else(|| corrupt("event created", n)),
        Some(AttributeValue::S(t)) => {
            OffsetDateTime::parse(t, &Rfc3339).map_err(|e| corrupt("event created", e))
        }
        _ => Err(corrupt("event", "no created")),
    }
}

fn event_from_item(item: &Item) -> Result<OutgoingEvent, StoreError> {
    let id = text(item, "id")
        .map(str::to_owned)
        .or_else(|_| text(item, "pk").map(|pk| pk.trim_start_matches(EVENT_PREFIX).to_owned()))?;
    let event_type = text(item, "type")?.to_owned();
    let object_id = text(item, "object_id")?.to_owned();
    let created = created(item)?;
    let object = match item.get("data") {
        Some(data) => {
            let data: Value = serde_dynamo::from_attribute_value(data.clone())
                .map_err(|e| corrupt("event data", e))?;
            data.get("object").cloned().unwrap_or(data)
        }
        None => json!({ "id": object_id }),
    };
    // A rendered body, when the item holds one, is sent as it is.
    if let Some(body) = item.get("body").and_then(|b| b.as_s().ok()) {
        return Ok(OutgoingEvent {
            id,
            event_type,
            object_id,
            created,
            body: body.clone().into_bytes(),
        });
    }
    let body = json!({
        "id": id,
        "object": "event",
        "type": event_type,
        "created": created.unix_timestamp(),
        "data": { "object": object },
    });
    Ok(OutgoingEvent {
        id,
        event_type,
        object_id,
        created,
        body: body.to_string().into_bytes(),
    })
}

#[async_trait::async_trait]
impl EventsToDeliver for DynamoStore {
    #[tracing::instrument(skip_all, fields(event = %id), err)]
    async fn event(&self, id: &str) -> Result<Option<OutgoingEvent>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("{EVENT_PREFIX}{id}"), EVENT_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item.as_ref().map(event_from_item).transpose()
    }
}
