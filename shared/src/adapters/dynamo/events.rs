//! Events on DynamoDB. Every write that changes an intent, a payment or a
//! payable's paid state puts its events in the same TransactWriteItems as the
//! change (`put_events`): the change and its events are stored together or
//! not at all, so no crash, lost race or retry can leave one without the
//! other. Read back here by id or newest first.

use aws_sdk_dynamodb::types::TransactWriteItem;
use time::OffsetDateTime;

use super::DynamoStore;
use super::codec::Item;
use super::items::{event_from_item, event_to_item};
use super::keys::{
    ALL_EVENTS_LIST, EVENT_PREFIX, EVENT_SHARDS, EVENT_SK, event_pk, object_events_partition,
    typed_events_list,
};
use super::request::key;
use super::sharded::ShardedList;
use super::table::{ALL_INTENTS, BY_PAYABLE, BY_USER};
use crate::domain::{Event, EventId};
use crate::ports::{EventFilter, EventStore, Page, PageRequest, StoreError};

impl DynamoStore {
    /// Stores one event by itself, as a change's transaction would: for
    /// tools and tests that feed the deliveries an event directly.
    pub async fn record_event(&self, event: &Event) -> Result<(), StoreError> {
        let items = self.put_events(std::slice::from_ref(event))?;
        self.transact(items).await?;
        Ok(())
    }

    /// The transaction items that store `events`, the events of one change in
    /// the order they happened. Each is a new item: an event id names one
    /// event, ever.
    pub(super) fn put_events(
        &self,
        events: &[Event],
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        Event::in_sequence(events.to_vec())
            .iter()
            .enumerate()
            .map(|(position, event)| {
                let put = self.put_new(event_to_item(event, position)?)?;
                Ok(TransactWriteItem::builder().put(put).build())
            })
            .collect()
    }
}

/// Unexpired events of `page`. TTL deletes late, so expired items may still
/// be read; being the oldest, they end a list, so none after them is either.
fn unexpired(page: Page<Item>, now: OffsetDateTime) -> Result<Page<Event>, StoreError> {
    let mut items = Vec::with_capacity(page.items.len());
    for item in page.items {
        let event = event_from_item(item)?;
        if event.is_expired(now) {
            return Ok(Page { items, next: None });
        }
        items.push(event);
    }
    Ok(Page {
        items,
        next: page.next,
    })
}

#[async_trait::async_trait]
impl EventStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(event = %id), err)]
    async fn get_event(
        &self,
        id: &EventId,
        now: OffsetDateTime,
    ) -> Result<Option<Event>, StoreError> {
        let item = self.get_consistent(key(event_pk(id), EVENT_SK)).await?;
        Ok(item
            .map(event_from_item)
            .transpose()?
            .filter(|e| !e.is_expired(now)))
    }

    #[tracing::instrument(skip_all, fields(kind = ?filter.kind), err)]
    async fn list_events(
        &self,
        filter: &EventFilter,
        request: &PageRequest,
        now: OffsetDateTime,
    ) -> Result<Page<Event>, StoreError> {
        let page = match (&filter.object_id, filter.kind) {
            // An object has a handful of events: its partition, filtered by type.
            (Some(object), kind) => {
                self.query_newest_first(
                    BY_USER,
                    object_events_partition(object),
                    EVENT_PREFIX,
                    kind.map(|k| ("type", k.as_str())),
                    request,
                )
                .await?
            }
            (None, Some(kind)) => {
                let list = ShardedList {
                    index: BY_PAYABLE,
                    list: typed_events_list(kind),
                    shards: EVENT_SHARDS,
                };
                self.query_sharded(&list, request).await?
            }
            (None, None) => {
                let list = ShardedList {
                    index: ALL_INTENTS,
                    list: ALL_EVENTS_LIST.to_owned(),
                    shards: EVENT_SHARDS,
                };
                self.query_sharded(&list, request).await?
            }
        };
        unexpired(page, now)
    }
}
