//! Webhook endpoints, their deliveries and the events to deliver, in memory,
//! with the table's rules: conditional writes on the delivery's version,
//! one delivery per endpoint and event, lanes in delivery order.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use time::OffsetDateTime;

use super::cursor::page;
use crate::adapters::cursor_key::CursorKey;
use crate::domain::{Delivery, DeliveryId, EndpointId, SecretRotation, WebhookEndpoint};
use crate::ports::{
    DeliveryCreate, DeliveryStore, EndpointWrite, EventsToDeliver, OutgoingEvent, Page,
    PageRequest, StoreError, WebhookEndpointStore,
};

#[derive(Default)]
pub struct MemoryWebhooks {
    state: Mutex<State>,
    cursor_key: CursorKey,
}

#[derive(Default)]
struct State {
    endpoints: BTreeMap<EndpointId, WebhookEndpoint>,
    deliveries: BTreeMap<DeliveryId, Delivery>,
    events: BTreeMap<String, OutgoingEvent>,
}

impl MemoryWebhooks {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError::Unavailable("in-memory store poisoned".into()))
    }

    /// Stores an event as the outbox would have written it.
    pub fn add_event(&self, event: OutgoingEvent) {
        if let Ok(mut state) = self.lock() {
            state.events.insert(event.id.clone(), event);
        }
    }

    /// Every delivery, in no particular order (for tests).
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock()
            .map(|s| s.deliveries.values().cloned().collect())
            .unwrap_or_default()
    }
}

fn same_lane(a: &Delivery, b: &Delivery) -> bool {
    a.lane() == b.lane()
}

/// Where a delivery stands in its endpoint's due list, as the table sorts it.
fn due_key(d: &Delivery) -> (Option<OffsetDateTime>, DeliveryId) {
    (d.next_attempt_at, d.id.clone())
}

#[async_trait::async_trait]
impl WebhookEndpointStore for MemoryWebhooks {
    async fn put_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<EndpointWrite, StoreError> {
        let mut state = self.lock()?;
        let (stored, created) = match state.endpoints.get(endpoint.id()) {
            Some(old) => {
                let replaced = endpoint.clone().replacing(old);
                (replaced, false)
            }
            None => (endpoint.clone(), true),
        };
        state.endpoints.insert(stored.id().clone(), stored.clone());
        Ok(EndpointWrite {
            endpoint: stored,
            created,
        })
    }

    async fn get_endpoint(&self, id: &EndpointId) -> Result<Option<WebhookEndpoint>, StoreError> {
        Ok(self.lock()?.endpoints.get(id).cloned())
    }

    async fn rotate_secret(
        &self,
        id: &EndpointId,
        rotation: &SecretRotation,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        let mut state = self.lock()?;
        Ok(state.endpoints.get_mut(id).map(|endpoint| {
            endpoint.rotate(rotation);
            endpoint.clone()
        }))
    }

    async fn delete_endpoint(&self, id: &EndpointId) -> Result<bool, StoreError> {
        Ok(self.lock()?.endpoints.remove(id).is_some())
    }

    async fn list_endpoints(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        Ok(self.lock()?.endpoints.values().cloned().collect())
    }
}

#[async_trait::async_trait]
impl DeliveryStore for MemoryWebhooks {
    async fn create_delivery(&self, delivery: &Delivery) -> Result<DeliveryCreate, StoreError> {
        let mut state = self.lock()?;
        if let Some(existing) = state.deliveries.get(&delivery.id) {
            return Ok(DeliveryCreate::Exists(Box::new(existing.clone())));
        }
        state
            .deliveries
            .insert(delivery.id.clone(), delivery.clone());
        Ok(DeliveryCreate::Created)
    }

    async fn save_delivery(&self, delivery: &mut Delivery) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        match state.deliveries.get_mut(&delivery.id) {
            Some(stored) if stored.version == delivery.version => {
                delivery.version += 1;
                *stored = delivery.clone();
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    async fn pending_in_lane(&self, delivery: &Delivery) -> Result<Vec<Delivery>, StoreError> {
        let state = self.lock()?;
        let mut lane: Vec<Delivery> = state
            .deliveries
            .values()
            .filter(|d| same_lane(d, delivery) && d.is_pending() && d.id != delivery.id)
            .cloned()
            .collect();
        lane.sort_by_key(Delivery::order_key);
        Ok(lane)
    }

    async fn due_deliveries_to(
        &self,
        endpoint: &EndpointId,
        now: OffsetDateTime,
        after: Option<&Delivery>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let state = self.lock()?;
        let after = after.map(due_key);
        let mut due: Vec<Delivery> = state
            .deliveries
            .values()
            .filter(|d| &d.endpoint_id == endpoint && d.is_due(now))
            .filter(|d| after.as_ref().is_none_or(|after| &due_key(d) > after))
            .cloned()
            .collect();
        due.sort_by_key(due_key);
        due.truncate(limit);
        Ok(due)
    }

    /// Memory keeps every due list per endpoint: none strays.
    async fn stray_due_deliveries(
        &self,
        _now: OffsetDateTime,
        _limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        Ok(Vec::new())
    }

    async fn list_deliveries(
        &self,
        endpoint: &EndpointId,
        request: &PageRequest,
    ) -> Result<Page<Delivery>, StoreError> {
        let items: Vec<Delivery> = self
            .lock()?
            .deliveries
            .values()
            .filter(|d| &d.endpoint_id == endpoint)
            .cloned()
            .collect();
        page(
            &self.cursor_key,
            items,
            |d| format!("{:020}#{}", d.created.unix_timestamp_nanos(), d.id),
            &format!("DELIVERIES#{endpoint}"),
            request,
        )
    }
}

#[async_trait::async_trait]
impl EventsToDeliver for MemoryWebhooks {
    async fn event(&self, id: &str) -> Result<Option<OutgoingEvent>, StoreError> {
        Ok(self.lock()?.events.get(id).cloned())
    }
}
