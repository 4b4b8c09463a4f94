//! The container of ports every use case runs against: which adapters stand
//! behind them is decided where it is built (the functions' environment, the
//! local stack, the tests' in-memory store).

use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::adapters::test_gateway::TestGateway;
use crate::config::Config;
use crate::ports::{
    Clock, EventStore, Gateways, IdempotencyStore, IntentStore, Mailer, PayableStore, PaymentStore,
    RefundStore, ReplayGuard, SecretError, Secrets, SecretsProvider, Stores, Webhooks,
};

/// Only ports: which adapters stand behind them is decided where the App is built.
pub struct App {
    pub config: Config,
    pub payables: Arc<dyn PayableStore>,
    pub intents: Arc<dyn IntentStore>,
    pub payments: Arc<dyn PaymentStore>,
    pub refunds: Arc<dyn RefundStore>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub replay: Arc<dyn ReplayGuard>,
    pub events: Arc<dyn EventStore>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    pub gateways: Gateways,
    /// Outgoing webhooks: endpoints, deliveries, the events they carry, and
    /// (only in the functions that deliver) the HTTP client that sends them.
    pub webhooks: Webhooks,
    secrets_provider: Arc<dyn SecretsProvider>,
    secrets: OnceCell<Secrets>,
}

impl App {
    pub fn new(
        config: Config,
        stores: Stores,
        mailer: Arc<dyn Mailer>,
        secrets_provider: Arc<dyn SecretsProvider>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            payables: stores.payables,
            intents: stores.intents,
            payments: stores.payments,
            refunds: stores.refunds,
            idempotency: stores.idempotency,
            replay: stores.replay,
            events: stores.events,
            mailer,
            clock,
            gateways: match config.enable_test_gateway {
                true => Gateways::none().with_test(Arc::new(TestGateway)),
                false => Gateways::none(),
            },
            webhooks: Webhooks::sharing(
                Arc::new(NoWebhooks),
                Arc::new(NoWebhooks),
                Arc::new(NoWebhooks),
            ),
            config,
            secrets_provider,
            secrets: OnceCell::new(),
        }
    }

    /// Fetched on first use, then cached for the container's life.
    pub async fn secrets(&self) -> Result<&Secrets, SecretError> {
        self.secrets
            .get_or_try_init(|| self.secrets_provider.load())
            .await
    }

    /// The secrets as loaded so far, without fetching them.
    pub(crate) fn loaded_secrets(&self) -> Option<&Secrets> {
        self.secrets.get()
    }

    /// Starts with secrets already loaded (and checked) by whoever built the App.
    pub(crate) fn with_loaded_secrets(self, loaded: Secrets) -> Self {
        // Freshly built, so the cell is empty; a second call keeps the first.
        let _ = self.secrets.set(loaded);
        self
    }
}

/// What the functions that are not about webhooks, and those that only
/// manage endpoints, have of the deliveries' HTTP client: reaching it is a
/// wiring mistake that fails that delivery's attempt. (`App::new` starts
/// with it for every webhook port; the table's are connected by
/// [`App::storage_from_env`].)
pub(crate) struct NoWebhooks;

fn not_connected() -> crate::ports::StoreError {
    crate::ports::StoreError::Unavailable("this function is not connected to webhooks".into())
}

#[async_trait::async_trait]
impl crate::ports::DeliverySender for NoWebhooks {
    async fn post(&self, _: &crate::ports::DeliveryPost) -> Result<u16, crate::domain::NoAnswer> {
        // Nothing here takes the connection; the wiring test names the function.
        Err(crate::domain::NoAnswer::ConnectionRefused)
    }
}

#[async_trait::async_trait]
impl crate::ports::WebhookEndpointStore for NoWebhooks {
    async fn put_endpoint(
        &self,
        _: &crate::domain::WebhookEndpoint,
    ) -> Result<crate::ports::EndpointWrite, crate::ports::StoreError> {
        Err(not_connected())
    }
    async fn get_endpoint(
        &self,
        _: &crate::domain::EndpointId,
    ) -> Result<Option<crate::domain::WebhookEndpoint>, crate::ports::StoreError> {
        Err(not_connected())
    }
    async fn rotate_secret(
        &self,
        _: &crate::domain::EndpointId,
        _: &crate::domain::SecretRotation,
    ) -> Result<Option<crate::domain::WebhookEndpoint>, crate::ports::StoreError> {
        Err(not_connected())
    }
    async fn delete_endpoint(
        &self,
        _: &crate::domain::EndpointId,
    ) -> Result<bool, crate::ports::StoreError> {
        Err(not_connected())
    }
    async fn list_endpoints(
        &self,
    ) -> Result<Vec<crate::domain::WebhookEndpoint>, crate::ports::StoreError> {
        Err(not_connected())
    }
}

#[async_trait::async_trait]
impl crate::ports::DeliveryStore for NoWebhooks {
    async fn create_delivery(
        &self,
        _: &crate::domain::Delivery,
    ) -> Result<crate::ports::DeliveryCreate, crate::ports::StoreError> {
        Err(not_connected())
    }
    async fn save_delivery(
        &self,
        _: &crate::domain::Delivery,
    ) -> Result<(), crate::ports::StoreError> {
        Err(not_connected())
    }
    async fn earlier_pending(
        &self,
        _: &crate::domain::Delivery,
    ) -> Result<Option<crate::domain::Delivery>, crate::ports::StoreError> {
        Err(not_connected())
    }
    async fn next_pending(
        &self,
        _: &crate::domain::Delivery,
    ) -> Result<Option<crate::domain::Delivery>, crate::ports::StoreError> {
        Err(not_connected())
    }
    async fn due_deliveries_to(
        &self,
        _: &crate::domain::EndpointId,
        _: time::OffsetDateTime,
        _: Option<&crate::domain::Delivery>,
        _: usize,
    ) -> Result<Vec<crate::domain::Delivery>, crate::ports::StoreError> {
        Err(not_connected())
    }
    async fn stray_due_deliveries(
        &self,
        _: time::OffsetDateTime,
        _: usize,
    ) -> Result<Vec<crate::domain::Delivery>, crate::ports::StoreError> {
        Err(not_connected())
    }
    async fn list_deliveries(
        &self,
        _: &crate::domain::EndpointId,
        _: usize,
        _: Option<&str>,
    ) -> Result<crate::ports::Page<crate::domain::Delivery>, crate::ports::StoreError> {
        Err(not_connected())
    }
}

#[async_trait::async_trait]
impl crate::ports::EventsToDeliver for NoWebhooks {
    async fn event(
        &self,
        _: &str,
    ) -> Result<Option<crate::ports::OutgoingEvent>, crate::ports::StoreError> {
        Err(not_connected())
    }
}
