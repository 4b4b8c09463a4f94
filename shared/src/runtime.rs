//! The container's shared state, built once, and the Lambda entry point.

use std::future::Future;
use std::sync::Arc;

use lambda_http::{Body, Request, Response, service_fn};
use tokio::sync::OnceCell;

use crate::adapters::dynamo::DynamoStore;
use crate::adapters::env_secrets::EnvSecrets;
use crate::adapters::secrets_manager::SecretsManagerSecrets;
use crate::adapters::ses::SesMailer;
use crate::config::Config;
use crate::ports::{
    Clock, IdempotencyStore, IntentStore, Mailer, PayableStore, PaymentStore, SecretError, Secrets,
    SecretsProvider, Stores, SystemClock,
};
use crate::telemetry;

/// Only ports: which adapters stand behind them is decided where the App is built.
pub struct App {
    pub config: Config,
    pub payables: Arc<dyn PayableStore>,
    pub intents: Arc<dyn IntentStore>,
    pub payments: Arc<dyn PaymentStore>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
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
            config,
            payables: stores.payables,
            intents: stores.intents,
            payments: stores.payments,
            idempotency: stores.idempotency,
            mailer,
            clock,
            secrets_provider,
            secrets: OnceCell::new(),
        }
    }

    /// AWS clients from the standard chain; endpoints from `AWS_ENDPOINT_URL_*` when set.
    pub async fn from_env() -> Result<Self, lambda_http::Error> {
        let config = Config::from_env()?;
        let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let store = Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&aws),
            &config.table_name,
        ));
        let mailer = Arc::new(SesMailer::new(
            aws_sdk_ses::Client::new(&aws),
            &config.sender_email,
        ));
        let secrets: Arc<dyn SecretsProvider> = match &config.secret_arn {
            Some(arn) => Arc::new(SecretsManagerSecrets::new(
                aws_sdk_secretsmanager::Client::new(&aws),
                arn,
            )),
            None => Arc::new(EnvSecrets),
        };
        Ok(Self::new(
            config,
            Stores::sharing(store),
            mailer,
            secrets,
            Arc::new(SystemClock),
        ))
    }

    /// Fetched on first use, then cached for the container's life.
    pub async fn secrets(&self) -> Result<&Secrets, SecretError> {
        self.secrets
            .get_or_try_init(|| self.secrets_provider.load())
            .await
    }
}

/// What every `functions/` main calls: build the App once, serve one handler.
pub async fn serve<H, Fut>(handler: H) -> Result<(), lambda_http::Error>
where
    H: Fn(Arc<App>, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send,
{
    telemetry::init();
    let app = Arc::new(App::from_env().await?);
    let handler = Arc::new(handler);
    lambda_http::run(service_fn(move |req: Request| {
        let app = app.clone();
        let handler = handler.clone();
        async move { Ok::<_, lambda_http::Error>(handler(app, req).await) }
    }))
    .await
}
