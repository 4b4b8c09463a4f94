//! What the application needs from the outside world, as traits.
//!
//! Storage is one small trait per aggregate. A write that spans aggregates
//! belongs to the aggregate that drives it: an intent claims and frees its
//! payable, a payment adds itself to its payable's sums, a payable settles
//! its pending payments, a refund takes back from its payment and payable.

pub mod clock;
pub mod deadline;
pub mod events;
pub mod gateway;
pub mod idempotency;
pub mod intents;
pub mod mailer;
pub mod payables;
pub mod payments;
pub mod refunds;
pub mod replay;
pub mod secrets;
pub mod store;
pub mod webhooks;

pub use clock::{Clock, SystemClock};
pub use events::{EventFilter, EventStore};
pub use gateway::{
    Gateway, GatewayError, GatewayEvent, GatewayEventError, GatewayEventKind, GatewayIntent,
    GatewayRefund, Gateways,
};
pub use idempotency::{IdempotencyStore, Idempotent, StoredResponse};
pub use intents::{IntentStore, OpenOutcome};
pub use mailer::{Mailer, MailerError, OtpEmail};
pub use payables::{PayableStore, PayableWrite};
pub use payments::{PaymentStore, RecordOutcome};
pub use refunds::{RefundOutcome, RefundStore};
pub use replay::ReplayGuard;
pub use secrets::{PartnerClient, SecretError, Secrets, SecretsProvider};
pub use store::{Expected, Page, PageRequest, StoreError};
pub use webhooks::{
    DeliveryCreate, DeliveryPost, DeliverySender, DeliveryStore, EndpointWrite, EventsToDeliver,
    OutgoingEvent, WebhookEndpointStore, Webhooks,
};

use std::sync::Arc;

/// Every storage port, as the application holds them.
#[derive(Clone)]
pub struct Stores {
    pub payables: Arc<dyn PayableStore>,
    pub intents: Arc<dyn IntentStore>,
    pub payments: Arc<dyn PaymentStore>,
    pub refunds: Arc<dyn RefundStore>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub replay: Arc<dyn ReplayGuard>,
    pub events: Arc<dyn EventStore>,
}

impl Stores {
    /// Every port from one adapter that implements them over shared state
    /// (one DynamoDB table, or one in-memory map), so their cross-aggregate
    /// writes see each other.
    pub fn sharing<S>(store: Arc<S>) -> Self
    where
        S: PayableStore
            + IntentStore
            + PaymentStore
            + RefundStore
            + IdempotencyStore
            + ReplayGuard
            + EventStore
            + 'static,
    {
        Self {
            payables: store.clone(),
            intents: store.clone(),
            payments: store.clone(),
            refunds: store.clone(),
            idempotency: store.clone(),
            replay: store.clone(),
            events: store,
        }
    }
}
