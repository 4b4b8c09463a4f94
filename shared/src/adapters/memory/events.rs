//! Events in memory: written by the other aggregates' writes under the same
//! lock as their change, read back newest first.

use time::OffsetDateTime;

use super::cursor::page;
use super::{MemoryStore, State};
use crate::domain::{Event, EventId};
use crate::ports::{EventFilter, EventStore, Page, PageRequest, StoreError};

/// An event and its place in the lists.
pub(super) struct StoredEvent {
    event: Event,
    list_key: String,
}

impl State {
    /// Stores the events of one change, in the order they happened; a write
    /// calls this only once everything else it does is sure to happen.
    pub(super) fn record_events(&mut self, events: Vec<Event>) {
        for (position, event) in Event::in_sequence(events).into_iter().enumerate() {
            let list_key = event.list_key(position);
            self.events
                .insert(event.id.clone(), StoredEvent { event, list_key });
        }
    }
}

/// Names a list in its cursors: a cursor of one list opens no other.
fn list_name(filter: &EventFilter) -> String {
    format!(
        "events/type/{}/object/{}",
        filter.kind.map_or("*", |k| k.as_str()),
        filter.object_id.as_deref().unwrap_or("*")
    )
}

#[async_trait::async_trait]
impl EventStore for MemoryStore {
    async fn get_event(
        &self,
        id: &EventId,
        now: OffsetDateTime,
    ) -> Result<Option<Event>, StoreError> {
        let state = self.lock()?;
        Ok(state
            .events
            .get(id)
            .filter(|s| !s.event.is_expired(now))
            .map(|s| s.event.clone()))
    }

    async fn list_events(
        &self,
        filter: &EventFilter,
        request: &PageRequest,
        now: OffsetDateTime,
    ) -> Result<Page<Event>, StoreError> {
        let state = self.lock()?;
        let items: Vec<(String, Event)> = state
            .events
            .values()
            .filter(|s| {
                !s.event.is_expired(now)
                    && filter.kind.is_none_or(|k| s.event.kind == k)
                    && filter
                        .object_id
                        .as_ref()
                        .is_none_or(|id| &s.event.object.id() == id)
            })
            .map(|s| (s.list_key.clone(), s.event.clone()))
            .collect();
        let found = page(
            &self.cursor_key,
            items,
            |(key, _)| key.clone(),
            &list_name(filter),
            request,
        )?;
        Ok(Page {
            items: found.items.into_iter().map(|(_, e)| e).collect(),
            next: found.next,
        })
    }
}
