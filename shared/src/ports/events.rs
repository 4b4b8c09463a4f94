//! Events: read back what the writes of the other ports recorded beside their
//! changes. Nothing writes events through this port: each change writes its
//! own, in the same write (see the intents, payments and payables ports).

use time::OffsetDateTime;

use super::{Page, PageRequest, StoreError};
use crate::domain::{Event, EventId, EventType};

/// Which events a list holds; both filters may be given at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub kind: Option<EventType>,
    /// The object's id as `EventObject::id` gives it (a payable's is `kind/id`).
    pub object_id: Option<String>,
}

#[async_trait::async_trait]
pub trait EventStore: Send + Sync {
    /// The event, unless it never existed or expired by `now` (storage
    /// deletes expired items late, so reads check too).
    async fn get_event(
        &self,
        id: &EventId,
        now: OffsetDateTime,
    ) -> Result<Option<Event>, StoreError>;

    /// Unexpired events newest first; the events of one change in reverse of
    /// the order they were made (`Event::list_key`).
    async fn list_events(
        &self,
        filter: &EventFilter,
        page: &PageRequest,
        now: OffsetDateTime,
    ) -> Result<Page<Event>, StoreError>;
}
