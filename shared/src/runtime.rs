//! Where the App is built from a function's environment (AWS clients,
//! configuration, secrets), once per container, and the Lambda entry points.

use std::future::Future;
use std::sync::Arc;

use lambda_http::{Body, Request, Response, service_fn};
use secrecy::{ExposeSecret, SecretString};

use crate::adapters::cursor_key::CursorKey;
use crate::adapters::delivery_sender::HttpDeliverySender;
use crate::adapters::dynamo::DynamoStore;
use crate::adapters::env_secrets::EnvSecrets;
use crate::adapters::secrets_manager::SecretsManagerSecrets;
use crate::adapters::ses::SesMailer;
use crate::adapters::stripe::{HttpTransport, StripeGateway};
use crate::app::{App, NoWebhooks};
use crate::config::Config;
use crate::ports::{Mailer, SecretError, Secrets, SecretsProvider, Stores, SystemClock, Webhooks};
use crate::surfaces::events::DeliverableEvents;
use crate::telemetry;

/// The AWS SDK's configuration of a function (see [`aws_sdk_config`]).
pub use aws_types::SdkConfig;

impl App {
    /// Everything a function may reach: the table, the secrets, the mail
    /// service, every gateway whose secret is configured and the webhook
    /// endpoints' HTTP client. The local stack serves every route, and
    /// delivers webhooks, from one such App.
    pub async fn from_env() -> Result<Self, lambda_http::Error> {
        let aws = aws_sdk_config().await;
        Ok(Self::storage_from_env(&aws)
            .await?
            .with_mail(&aws)
            .with_gateways()
            .with_delivery_sender())
    }

    /// The table and the secrets, no more. Secrets are loaded here, once:
    /// outside a local run a missing or weak secret stops the container
    /// before it serves anyone. A function built on it never reaches the
    /// mail service or a gateway, whose clients are then not linked into
    /// its binary (see [`with_mail`](Self::with_mail) and
    /// [`with_gateways`](Self::with_gateways)).
    pub async fn storage_from_env(aws: &SdkConfig) -> Result<Self, lambda_http::Error> {
        Self::storage(Config::from_env()?, aws).await
    }

    /// As [`storage_from_env`](Self::storage_from_env), from a configuration
    /// already read.
    pub async fn storage(config: Config, aws: &SdkConfig) -> Result<Self, lambda_http::Error> {
        let secrets: Arc<dyn SecretsProvider> = match &config.secret_arn {
            Some(arn) => Arc::new(SecretsManagerSecrets::new(
                aws_sdk_secretsmanager::Client::new(aws),
                arn,
            )),
            None => Arc::new(EnvSecrets),
        };
        let loaded = match secrets.load().await {
            Ok(loaded) => {
                refuse_weak_secrets(&config, &loaded)?;
                Some(loaded)
            }
            // Locally the gateway still starts, and says what is missing.
            Err(_) if config.local => None,
            Err(e) => return Err(e.into()),
        };
        let cursor_key = loaded
            .as_ref()
            .and_then(|s| s.cursor_key.as_ref())
            .map(|k| CursorKey::new(k.expose_secret().as_bytes()))
            // Only a local run gets here without one: its cursors live as long as the process.
            .unwrap_or_else(CursorKey::random);
        let store = Arc::new(
            DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), &config.table_name)
                .with_cursor_key(cursor_key),
        );
        let mut app = Self::new(
            config,
            Stores::sharing(store.clone()),
            Arc::new(NoMailService),
            secrets,
            Arc::new(SystemClock),
        );
        // Deliveries carry each event as the events API renders it: the wire
        // format is the surface's, and only this wiring, above both, joins them.
        let events = DeliverableEvents::new(app.events.clone(), app.clock.clone());
        app.webhooks = Webhooks::sharing(store, Arc::new(events), Arc::new(NoWebhooks));
        if let Some(loaded) = loaded {
            app = app.with_loaded_secrets(loaded);
        }
        Ok(app)
    }

    /// Sends mail through SES from the configured sender.
    pub fn with_mail(mut self, aws: &SdkConfig) -> Self {
        self.mailer = Arc::new(SesMailer::new(
            aws_sdk_ses::Client::new(aws),
            &self.config.sender_email,
        ));
        self
    }

    /// Connects every gateway whose secret is configured (the `test`
    /// gateway needs none: it is there when the configuration switches it on).
    pub fn with_gateways(mut self) -> Self {
        // Without a key, intents cannot name `stripe`: creating one is a 400.
        if let Some(key) = self
            .loaded_secrets()
            .and_then(|s| s.stripe_secret_key.clone())
        {
            let transport = HttpTransport::new(&self.config.stripe_api_base, key);
            self.gateways = self
                .gateways
                .clone()
                .with_stripe(Arc::new(StripeGateway::new(Arc::new(transport))));
        }
        self
    }

    /// Sends deliveries over HTTPS (only the deliveries' dispatch and retry
    /// pass carry the client).
    pub fn with_delivery_sender(mut self) -> Self {
        self.webhooks.sender = Arc::new(HttpDeliverySender::new(self.config.local));
        self
    }
}

/// The AWS SDK's configuration, from the environment Lambda sets (endpoints
/// from `AWS_ENDPOINT_URL_*` when set).
pub async fn aws_sdk_config() -> SdkConfig {
    crate::adapters::aws_http::sdk_config()
}

/// Shortest HMAC key accepted outside a local run: SHA-256's own output size.
pub const MIN_KEY_BYTES: usize = 32;

/// Short keys can be brute-forced offline from one token, one OTP hash or one
/// cursor; only the example values of a developer's machine may be short.
pub fn refuse_weak_secrets(config: &Config, secrets: &Secrets) -> Result<(), SecretError> {
    if config.local {
        return Ok(());
    }
    let short = |name: &str, value: Option<&SecretString>| match value {
        Some(v) if v.expose_secret().len() >= MIN_KEY_BYTES => Ok(()),
        Some(_) => Err(SecretError::Malformed(format!(
            "{name} is shorter than {MIN_KEY_BYTES} bytes"
        ))),
        None => Err(SecretError::Malformed(format!("{name} is not set"))),
    };
    if config.jwt.algorithm == jsonwebtoken::Algorithm::HS256 {
        short("the HS256 JWT key", Some(&secrets.jwt_key))?;
    }
    short("the OTP pepper", Some(&secrets.otp_pepper))?;
    short("the cursor key", secrets.cursor_key.as_ref())
}

/// What a function's App is connected to beyond the table and the secrets,
/// named as its registry line's `needs` names it. The entry a `main` serves
/// through names one of these, so only that client is linked into its binary.
pub mod connect {
    use super::{App, SdkConfig};

    /// Routed functions: what a handler behind API Gateway may reach.
    pub mod routed {
        use super::{App, SdkConfig};

        pub fn storage(app: App, _: &SdkConfig) -> App {
            app
        }

        /// The function that sends one-time codes by email.
        pub fn mail(app: App, aws: &SdkConfig) -> App {
            app.with_mail(aws)
        }

        /// The functions that reach a payment gateway: every configured one.
        pub fn gateways(app: App, _: &SdkConfig) -> App {
            app.with_gateways()
        }
    }

    /// Functions AWS feeds (the table's stream, a schedule).
    pub mod background {
        pub use super::routed::gateways;
        use super::{App, SdkConfig};

        /// The deliveries' dispatch and retry pass.
        pub fn delivery_sender(app: App, _: &SdkConfig) -> App {
            app.with_delivery_sender()
        }
    }

    /// How an App is connected, as the entries take it.
    pub type Connect = fn(App, &SdkConfig) -> App;
}

/// What a function behind API Gateway calls from its `main`: build the App
/// once (the table and the secrets), `connect` it to what the handler
/// reaches beyond them, and serve one handler.
pub async fn serve<H, Fut>(connect: connect::Connect, handler: H) -> Result<(), lambda_http::Error>
where
    H: Fn(Arc<App>, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send,
{
    telemetry::init();
    let aws = aws_sdk_config().await;
    let app = Arc::new(connect(App::storage_from_env(&aws).await?, &aws));
    let handler = Arc::new(handler);
    lambda_http::run(service_fn(move |req: Request| {
        let app = app.clone();
        let handler = handler.clone();
        async move { Ok::<_, lambda_http::Error>(AsAnswered(handler(app, req).await)) }
    }))
    .await
}

/// A handler's response, handed to Lambda as it stands. `lambda_http`
/// would otherwise re-read every body and decode it by its content type's
/// charset, which links every character encoding `encoding_rs` knows (about
/// 150 KB) into each function: every body a handler makes is already UTF-8
/// text of a text or JSON content type, so that pass could only hand it back
/// unchanged.
struct AsAnswered(Response<Body>);

impl lambda_http::IntoResponse for AsAnswered {
    fn into_response(self) -> crate::routes::HandlerFuture {
        let (parts, body) = self.0.into_parts();
        // An empty body leaves that pass as empty text; kept so, Lambda's
        // answer stays the same.
        let body = match body {
            Body::Empty => Body::Text(String::new()),
            body => body,
        };
        Box::pin(std::future::ready(Response::from_parts(parts, body)))
    }
}

/// What the functions AWS feeds (the table's stream, a schedule) call from
/// their `main`, rather than [`serve`]: `handler` takes the event Lambda hands
/// over, as `E`, and answers `R`. The App is built with the table and the
/// secrets, then `connect`ed to what it reaches beyond them.
pub async fn serve_background<E, R, H, Fut>(
    connect: connect::Connect,
    handler: H,
) -> Result<(), lambda_http::Error>
where
    E: serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize + Send + 'static,
    H: Fn(Arc<App>, E) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, lambda_http::Error>> + Send,
{
    use lambda_http::lambda_runtime::{self, LambdaEvent};
    telemetry::init();
    let aws = aws_sdk_config().await;
    let app = Arc::new(connect(App::storage_from_env(&aws).await?, &aws));
    let handler = Arc::new(handler);
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<E>| {
        let app = app.clone();
        let handler = handler.clone();
        // Bounded like a request: a pass that reaches a gateway must still
        // have time to store what it learned before Lambda stops it.
        let ends = event.context.deadline;
        async move { crate::ports::deadline::within(Some(ends), handler(app, event.payload)).await }
    }))
    .await
}

/// The mail port of a function that sends none: reaching it is a wiring
/// mistake (a handler that mails served without `connect::routed::mail`), which
/// fails that request instead of linking SES into every function.
struct NoMailService;

#[async_trait::async_trait]
impl Mailer for NoMailService {
    async fn send_otp(&self, _: &crate::ports::OtpEmail) -> Result<(), crate::ports::MailerError> {
        Err(crate::ports::MailerError(
            "this function is not connected to the mail service".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::config::{DEFAULT_INTENT_TTL, JwtConfig};

    fn config(local: bool, algorithm: jsonwebtoken::Algorithm) -> Config {
        Config {
            table_name: "t".into(),
            sender_email: "payments@example.com".into(),
            secret_arn: None,
            jwt: JwtConfig {
                algorithm,
                issuer: None,
                audience: None,
            },
            local,
            fees: crate::domain::FeeSchedule::standard(),
            intent_ttl: DEFAULT_INTENT_TTL,
            stripe_api_base: crate::adapters::stripe::DEFAULT_API_BASE.into(),
            enable_test_gateway: false,
            default_gateway: crate::config::DEFAULT_GATEWAY,
            webhook_retry_base: crate::config::LOCAL_WEBHOOK_RETRY_BASE,
        }
    }

    fn secrets(jwt: &str, pepper: &str, cursor: Option<&str>) -> Secrets {
        Secrets {
            jwt_key: SecretString::from(jwt.to_owned()),
            api_key_hashes: vec![],
            partner_clients: HashMap::new(),
            webhook_secrets: HashMap::new(),
            otp_pepper: SecretString::from(pepper.to_owned()),
            cursor_key: cursor.map(|c| SecretString::from(c.to_owned())),
            stripe_secret_key: None,
        }
    }

    #[test]
    fn short_keys_are_refused_outside_a_local_run() {
        use jsonwebtoken::Algorithm::{ES256, HS256};
        let long = "k".repeat(32);
        let short = "local-dev-jwt-secret";
        let strong = secrets(&long, &long, Some(&long));
        assert!(refuse_weak_secrets(&config(false, HS256), &strong).is_ok());
        for weak in [
            secrets(short, &long, Some(&long)),
            secrets(&long, "local-dev-pepper", Some(&long)),
            secrets(&long, &long, Some("local-dev-cursor-secret")),
            secrets(&long, &long, None),
        ] {
            assert!(refuse_weak_secrets(&config(false, HS256), &weak).is_err());
            assert!(refuse_weak_secrets(&config(true, HS256), &weak).is_ok());
        }
        // A PEM public key is not an HMAC key: its length is not the point.
        let pem = secrets("-----BEGIN PUBLIC KEY-----", &long, Some(&long));
        assert!(refuse_weak_secrets(&config(false, ES256), &pem).is_ok());
    }

    /// What `lambda_http`'s own pass makes of a response, and what
    /// [`AsAnswered`] hands over, for each kind of body a handler makes.
    #[tokio::test]
    async fn responses_reach_lambda_as_lambda_http_would_convert_them() {
        use lambda_http::IntoResponse;
        let response = |content_type: Option<&'static str>, body: Body| {
            let mut response = Response::new(body);
            if let Some(ct) = content_type {
                response.headers_mut().insert(
                    "content-type",
                    lambda_http::http::HeaderValue::from_static(ct),
                );
            }
            response
        };
        let cases = [
            (Some("application/json"), Body::Text(r#"{"a":"é"}"#.into())),
            (Some("application/problem+json"), Body::Text("{}".into())),
            (
                Some("text/html; charset=utf-8"),
                Body::Text("<p>ü</p>".into()),
            ),
            (None, Body::Text("plain".into())),
            (Some("application/json"), Body::Empty),
            (None, Body::Empty),
        ];
        for (content_type, body) in cases {
            let theirs = response(content_type, body.clone()).into_response().await;
            let ours = AsAnswered(response(content_type, body))
                .into_response()
                .await;
            assert_eq!(ours.body(), theirs.body(), "{content_type:?}");
            assert_eq!(ours.headers(), theirs.headers());
        }
    }
}
