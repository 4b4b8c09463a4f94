//! The container of ports every use case runs against: which adapters stand
//! behind them is decided where it is built (the functions' environment, the
//! local stack, the tests' in-memory store).

use std::ops::Deref;
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::OnceCell;

use crate::adapters::test_gateway::TestGateway;
use crate::config::Config;
use crate::domain::{Delivery, EndpointId, SecretRotation, WebhookEndpoint};
use crate::ports::{
    Clock, DeliveryCreate, EndpointWrite, Gateways, Mailer, OutgoingEvent, Page, PageRequest,
    SecretError, Secrets, SecretsProvider, StoreError, Stores, Webhooks,
};

/// Only ports: which adapters stand behind them is decided where the App is built.
///
/// The storage ports are reached as the App's own (`app.intents`): it holds
/// them as one [`Stores`] and reads as it.
pub struct App {
    pub config: Config,
    stores: Stores,
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
            stores,
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

impl Deref for App {
    type Target = Stores;

    fn deref(&self) -> &Stores {
        &self.stores
    }
}

/// What the functions that are not about webhooks, and those that only
/// manage endpoints, have of the deliveries' HTTP client: reaching it is a
/// wiring mistake that fails that delivery's attempt. (`App::new` starts
/// with it for every webhook port; the table's are connected by
/// [`App::storage_from_env`].)
pub(crate) struct NoWebhooks;

/// Each listed method of `$port` answers that this function is not connected
/// to webhooks.
macro_rules! not_connected {
    ($port:ident { $(fn $name:ident($($arg:ty),*) -> $ok:ty;)* }) => {
        #[async_trait::async_trait]
        impl crate::ports::$port for NoWebhooks {
            $(async fn $name(&self, $(_: $arg),*) -> Result<$ok, StoreError> {
                Err(StoreError::Unavailable(
                    "this function is not connected to webhooks".into(),
                ))
            })*
        }
    };
}

#[async_trait::async_trait]
impl crate::ports::DeliverySender for NoWebhooks {
    async fn post(&self, _: &crate::ports::DeliveryPost) -> Result<u16, crate::domain::NoAnswer> {
        // Nothing here takes the connection; the wiring test names the function.
        Err(crate::domain::NoAnswer::ConnectionRefused)
    }
}

not_connected!(WebhookEndpointStore {
    fn put_endpoint(&WebhookEndpoint) -> EndpointWrite;
    fn get_endpoint(&EndpointId) -> Option<WebhookEndpoint>;
    fn rotate_secret(&EndpointId, &SecretRotation) -> Option<WebhookEndpoint>;
    fn delete_endpoint(&EndpointId) -> bool;
    fn list_endpoints() -> Vec<WebhookEndpoint>;
});

not_connected!(DeliveryStore {
    fn create_delivery(&Delivery) -> DeliveryCreate;
    fn save_delivery(&mut Delivery) -> ();
    fn pending_in_lane(&Delivery) -> Vec<Delivery>;
    fn due_deliveries_to(&EndpointId, OffsetDateTime, Option<&Delivery>, usize) -> Vec<Delivery>;
    fn stray_due_deliveries(OffsetDateTime, usize) -> Vec<Delivery>;
    fn list_deliveries(&EndpointId, &PageRequest) -> Page<Delivery>;
});

not_connected!(EventsToDeliver {
    fn event(&str) -> Option<OutgoingEvent>;
});
