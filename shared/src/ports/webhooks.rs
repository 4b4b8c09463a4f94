//! Outgoing webhooks: the endpoints operators register, the deliveries of
//! events to them, the events themselves as sent, and the delivery sender
//! (the HTTP client that posts them). Events the gateways post to the
//! service are theirs: see the gateway port.

use std::sync::Arc;

use time::OffsetDateTime;

use super::{Page, PageRequest, StoreError};
use crate::domain::{Delivery, EndpointId, NoAnswer, SecretRotation, WebhookEndpoint};

/// What happened to an endpoint upsert.
#[derive(Debug, Clone)]
pub struct EndpointWrite {
    /// As stored: a replace keeps the secrets and the creation time.
    pub endpoint: WebhookEndpoint,
    pub created: bool,
}

#[async_trait::async_trait]
pub trait WebhookEndpointStore: Send + Sync {
    /// Creates the endpoint, or replaces its URL and event types (its
    /// secrets and creation time stay).
    async fn put_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<EndpointWrite, StoreError>;

    async fn get_endpoint(&self, id: &EndpointId) -> Result<Option<WebhookEndpoint>, StoreError>;

    /// Gives the endpoint the rotation's secret in one write, the secret it
    /// held at that moment becoming the retiring one: of two rotations at
    /// once, the later one retires the earlier one's secret, never one
    /// already replaced. The endpoint as written; `None` when there is none.
    async fn rotate_secret(
        &self,
        id: &EndpointId,
        rotation: &SecretRotation,
    ) -> Result<Option<WebhookEndpoint>, StoreError>;

    /// False when there was none.
    async fn delete_endpoint(&self, id: &EndpointId) -> Result<bool, StoreError>;

    /// Every endpoint (an operator has a handful), read consistently: an
    /// endpoint created before an event hears about it.
    async fn list_endpoints(&self) -> Result<Vec<WebhookEndpoint>, StoreError>;
}

/// What creating a delivery found.
#[derive(Debug, Clone)]
pub enum DeliveryCreate {
    Created,
    /// This event already has its delivery to this endpoint (a dispatch ran
    /// before): that one, as stored.
    Exists(Box<Delivery>),
}

#[async_trait::async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Creates the delivery unless its id exists (one per endpoint and event).
    async fn create_delivery(&self, delivery: &Delivery) -> Result<DeliveryCreate, StoreError>;

    /// Writes `delivery` at one above the version it was read at, if the
    /// stored one is still at that version; `Conflict` otherwise. Written,
    /// `delivery` carries the version it was stored at.
    async fn save_delivery(&self, delivery: &mut Delivery) -> Result<(), StoreError>;

    /// The pending deliveries of `delivery`'s lane but itself, in the lane's
    /// order, read consistently in one read: those before it hold it back,
    /// those after it wait for it. A lane is one endpoint and one object: a
    /// handful of events.
    async fn pending_in_lane(&self, delivery: &Delivery) -> Result<Vec<Delivery>, StoreError>;

    /// `endpoint`'s pending deliveries due at `now`, soonest first, at most
    /// `limit`; after `after` (the last one a read before returned) when
    /// given. An endpoint's due list is its id's: it still holds what was
    /// meant for a deleted endpoint that id named before.
    async fn due_deliveries_to(
        &self,
        endpoint: &EndpointId,
        now: OffsetDateTime,
        after: Option<&Delivery>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Pending deliveries due at `now` that are in no endpoint's due list,
    /// to any endpoint, soonest first, at most `limit`: a store that kept
    /// one due list for every endpoint before keeps what it listed there
    /// until each is written next (and it moves to its endpoint's list).
    async fn stray_due_deliveries(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// An endpoint's deliveries, newest first.
    async fn list_deliveries(
        &self,
        endpoint: &EndpointId,
        page: &PageRequest,
    ) -> Result<Page<Delivery>, StoreError>;
}

/// An event as it is delivered: its body is exactly the bytes signed and sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEvent {
    pub id: String,
    pub event_type: String,
    pub object_id: String,
    pub created: OffsetDateTime,
    /// The event's JSON, `{"id","object":"event","type","created","data":{"object"}}`.
    pub body: Vec<u8>,
    /// The events about the same object that its change wrote before it:
    /// they are delivered first.
    pub follows: Vec<String>,
}

/// The events to deliver, by id.
#[async_trait::async_trait]
pub trait EventsToDeliver: Send + Sync {
    async fn event(&self, id: &str) -> Result<Option<OutgoingEvent>, StoreError>;
}

/// One signed POST to an endpoint.
#[derive(Debug, Clone)]
pub struct DeliveryPost {
    pub url: String,
    /// `Stripe-Signature`: `t=<unix>,v1=<hex HMAC-SHA256>`.
    pub signature: String,
    pub body: Vec<u8>,
}

/// Sends a delivery: the endpoint's status code, whatever it is, or why
/// none came within [`SEND_TIMEOUT`](crate::domain::delivery::SEND_TIMEOUT)
/// (one of the reasons of a send, never
/// [`EventUnavailable`](NoAnswer::EventUnavailable)).
#[async_trait::async_trait]
pub trait DeliverySender: Send + Sync {
    async fn post(&self, post: &DeliveryPost) -> Result<u16, NoAnswer>;
}

/// The webhook ports, as the application holds them.
#[derive(Clone)]
pub struct Webhooks {
    pub endpoints: Arc<dyn WebhookEndpointStore>,
    pub deliveries: Arc<dyn DeliveryStore>,
    pub events: Arc<dyn EventsToDeliver>,
    pub sender: Arc<dyn DeliverySender>,
}

impl Webhooks {
    /// Endpoints and deliveries from one adapter (one table, or one memory),
    /// the events they carry from `events`.
    pub fn sharing<S>(
        store: Arc<S>,
        events: Arc<dyn EventsToDeliver>,
        sender: Arc<dyn DeliverySender>,
    ) -> Self
    where
        S: WebhookEndpointStore + DeliveryStore + 'static,
    {
        Self {
            endpoints: store.clone(),
            deliveries: store,
            events,
            sender,
        }
    }
}
