//! Test harness: a fresh table on DynamoDB Local, the SES emulator, and helpers
//! to call handlers exactly as Lambda would. `scripts/test.sh` starts the stack.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonwebtoken::{EncodingKey, Header};
use lambda_http::http::Method;
use lambda_http::{Body, Request, RequestExt, Response};
use payment_shared::adapters::delivery_sender::HttpDeliverySender;
use payment_shared::adapters::dynamo::{DynamoStore, table};
use payment_shared::adapters::faulty::{Fault, FaultyStores};
pub use payment_shared::adapters::memory::{FixedSecrets, TestClock};

mod gateway_events;
pub use gateway_events::{gateway_event_call, gateway_signature, post_gateway_event};
use payment_shared::adapters::ses::SesMailer;
use payment_shared::adapters::stripe::{HttpTransport, StripeGateway, StripeTransport};
use payment_shared::app::App;
use payment_shared::config::{Config, JwtConfig};
use payment_shared::ports::{PartnerClient, Secrets, Stores, Webhooks};
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

pub const JWT_SECRET: &str = "test-jwt-secret";
pub const API_KEY: &str = "test-api-key";
pub const PEPPER: &str = "test-pepper";
pub const SENDER: &str = "payments@example.com";

pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the integration tests through `make test`, which starts the local stack")
    })
}

/// The partner clients the test App knows: (client id, secret, business).
pub const PARTNER: (&str, &str, u64) = ("demo-client", "test-partner-secret", 123_456);
pub const OTHER_PARTNER: (&str, &str, u64) = ("other-client", "other-partner-secret", 777);

/// The test gateway's webhook signing secret, as `.env.example` has it.
pub const WEBHOOK_SECRET: &str = "local-dev-webhook-secret";

/// localstripe's webhook signing secret and API key, as `.env.example` has them.
pub const STRIPE_WEBHOOK_SECRET: &str = "local-dev-stripe-webhook-secret";
pub const STRIPE_SECRET_KEY: &str = "sk_test_local";

/// Builds the Stripe connector around the real HTTP client to localstripe.
pub type StripeSetup = Box<dyn FnOnce(Arc<dyn StripeTransport>) -> StripeGateway + Send>;

/// Changes the App's configuration before it is built.
pub type Configure = Box<dyn FnOnce(&mut Config) + Send>;

pub fn test_secrets() -> Secrets {
    Secrets {
        jwt_key: SecretString::from(JWT_SECRET.to_owned()),
        api_key_hashes: vec![Sha256::digest(API_KEY.as_bytes()).into()],
        partner_clients: [PARTNER, OTHER_PARTNER]
            .into_iter()
            .map(|(id, secret, business)| {
                (
                    id.to_owned(),
                    PartnerClient {
                        secret: SecretString::from(secret.to_owned()),
                        business_id: payment_shared::domain::BusinessId::new(business),
                    },
                )
            })
            .collect(),
        webhook_secrets: HashMap::from([
            (
                "test".to_owned(),
                SecretString::from(WEBHOOK_SECRET.to_owned()),
            ),
            (
                "stripe".to_owned(),
                SecretString::from(STRIPE_WEBHOOK_SECRET.to_owned()),
            ),
        ]),
        otp_pepper: SecretString::from(PEPPER.to_owned()),
        cursor_key: None,
        stripe_secret_key: Some(SecretString::from(STRIPE_SECRET_KEY.to_owned())),
    }
}

pub async fn aws() -> payment_shared::runtime::SdkConfig {
    env("AWS_ENDPOINT_URL_DYNAMODB");
    payment_shared::runtime::aws_sdk_config().await
}

/// The DynamoDB operations a counting harness's App sent, in order.
#[derive(Debug, Clone, Default)]
pub struct Calls(Arc<Mutex<Vec<String>>>);

impl Calls {
    /// The operations since the last call.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[derive(Debug)]
struct CountCalls(Calls);

impl aws_sdk_dynamodb::config::Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "count-dynamodb-calls"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let operation = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("?")
            .to_owned();
        self.0
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(operation);
        Ok(())
    }
}

pub struct Harness {
    pub app: Arc<App>,
    pub store: Arc<DynamoStore>,
    pub clock: Arc<TestClock>,
    pub dynamo: aws_sdk_dynamodb::Client,
    _running: Option<tokio::sync::OwnedRwLockReadGuard<()>>,
}

/// Tests hold it shared while they run; a test that must run alone holds it
/// exclusively (see [`Harness::alone`]).
static RUNNING: std::sync::LazyLock<Arc<tokio::sync::RwLock<()>>> =
    std::sync::LazyLock::new(|| Arc::new(tokio::sync::RwLock::new(())));

/// Held by a test that must not overlap any other harness test.
pub type Alone = tokio::sync::OwnedRwLockWriteGuard<()>;

impl Harness {
    /// A new, empty table for this test: tests never see each other's data.
    pub async fn new() -> Self {
        Self::shared(
            |stores| stores,
            Box::new(StripeGateway::new),
            Box::new(|_| {}),
        )
        .await
    }

    /// As [`Harness::new`], its Stripe connector built by `stripe` around the
    /// real client (to record what is sent, or to fail on purpose).
    pub async fn with_stripe(stripe: StripeSetup) -> Self {
        Self::shared(|stores| stores, stripe, Box::new(|_| {})).await
    }

    /// As [`Harness::new`], its configuration changed by `configure`.
    pub async fn configured(configure: Configure) -> Self {
        Self::shared(|stores| stores, Box::new(StripeGateway::new), configure).await
    }

    /// As [`Harness::new`], the App's storage failing as `faults` say (the
    /// harness's own `store` stays direct, to look at what really was written).
    pub async fn with_faults(faults: Vec<Fault>) -> (Self, Arc<FaultyStores>) {
        let mut faulty = None;
        let h = Self::shared(
            |stores| {
                let f = FaultyStores::new(stores, faults);
                let wrapped = f.stores();
                faulty = Some(f);
                wrapped
            },
            Box::new(StripeGateway::new),
            Box::new(|_| {}),
        )
        .await;
        (h, faulty.expect("wrapped"))
    }

    /// As [`Harness::new`], its App's DynamoDB client noting the operation
    /// of every call it sends (`GetItem`, `TransactWriteItems`, …), in order.
    pub async fn counting_calls() -> (Self, Calls) {
        let mut h = Self::new().await;
        let calls = Calls::default();
        let counted = aws_sdk_dynamodb::config::Builder::from(&aws().await)
            .interceptor(CountCalls(calls.clone()))
            .build();
        let store = Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::from_conf(counted),
            h.store.table_name(),
        ));
        let mut app = App::new(
            h.app.config.clone(),
            Stores::sharing(store.clone()),
            h.app.mailer.clone(),
            Arc::new(FixedSecrets(test_secrets())),
            h.clock.clone(),
        );
        // The deliveries' calls are counted too.
        let events = payment_shared::surfaces::events::DeliverableEvents::new(
            app.events.clone(),
            app.clock.clone(),
        );
        app.webhooks = Webhooks::sharing(
            store,
            Arc::new(events),
            Arc::new(HttpDeliverySender::new(app.config.local)),
        );
        h.app = Arc::new(app);
        (h, calls)
    }

    /// Waits until no other harness test runs, and keeps them out while held.
    /// For a test that installs its own log subscriber: a log callsite that
    /// another thread registers at that moment can cache "nobody listens".
    pub async fn alone() -> Alone {
        RUNNING.clone().write_owned().await
    }

    /// A harness for the test holding [`Harness::alone`].
    pub async fn while_alone(_alone: &Alone) -> Self {
        Self::wrapping(
            |stores| stores,
            Box::new(StripeGateway::new),
            Box::new(|_| {}),
        )
        .await
    }

    /// A harness that runs beside other harness tests, never beside one that is alone.
    async fn shared(
        wrap: impl FnOnce(Stores) -> Stores,
        stripe: StripeSetup,
        configure: Configure,
    ) -> Self {
        let running = RUNNING.clone().read_owned().await;
        let mut h = Self::wrapping(wrap, stripe, configure).await;
        h._running = Some(running);
        h
    }

    async fn wrapping(
        wrap: impl FnOnce(Stores) -> Stores,
        stripe: StripeSetup,
        configure: Configure,
    ) -> Self {
        let aws = aws().await;
        let dynamo = aws_sdk_dynamodb::Client::new(&aws);
        let name = format!("test-{}", uuid::Uuid::now_v7().simple());
        table::create_table(&dynamo, &name)
            .await
            .expect("create table on DynamoDB Local");
        let store = Arc::new(DynamoStore::new(dynamo.clone(), &name));
        let clock = Arc::new(TestClock::at(OffsetDateTime::now_utc()));
        let mailer = Arc::new(SesMailer::new(aws_sdk_ses::Client::new(&aws), SENDER));
        let config = Config {
            table_name: name,
            sender_email: SENDER.into(),
            secret_arn: None,
            local: true,
            fees: payment_shared::domain::FeeSchedule::standard(),
            intent_ttl: payment_shared::config::DEFAULT_INTENT_TTL,
            stripe_api_base: payment_shared::adapters::stripe::DEFAULT_API_BASE.into(),
            // The test suite switches the test gateway on, and opens at it by default.
            enable_test_gateway: true,
            default_gateway: payment_shared::domain::GatewayId::Test,
            webhook_retry_base: payment_shared::config::LOCAL_WEBHOOK_RETRY_BASE,
            jwt: JwtConfig {
                algorithm: jsonwebtoken::Algorithm::HS256,
                issuer: None,
                audience: None,
            },
        };
        let mut config = config;
        configure(&mut config);
        let mut app = App::new(
            config,
            wrap(Stores::sharing(store.clone())),
            mailer,
            Arc::new(FixedSecrets(test_secrets())),
            clock.clone(),
        );
        // Webhooks on the table, sent over HTTP to receivers the tests run.
        // Deliveries carry each event as the events API renders it.
        let events = payment_shared::surfaces::events::DeliverableEvents::new(
            app.events.clone(),
            app.clock.clone(),
        );
        app.webhooks = Webhooks::sharing(
            store.clone(),
            Arc::new(events),
            Arc::new(HttpDeliverySender::new(app.config.local)),
        );
        // localstripe, when the stack runs it.
        if let Ok(base) = std::env::var("STRIPE_API_BASE") {
            let transport = HttpTransport::new(&base, STRIPE_SECRET_KEY.to_owned().into());
            app.gateways = app
                .gateways
                .clone()
                .with_stripe(Arc::new(stripe(Arc::new(transport))));
        }
        let app = Arc::new(app);
        Self {
            app,
            store,
            clock,
            dynamo,
            _running: None,
        }
    }
}

/// An event about `object` (an order of that id), stored as the outbox
/// stores events.
pub async fn record_order_event(
    h: &Harness,
    id: &str,
    event_type: &str,
    object: &str,
    created: i64,
) {
    use payment_shared::domain::{
        Currency, Email, Event, EventId, EventObject, EventType, Money, NewPayable, Payable,
        PayableId, PayableKind, PayableRef, Payer, UserId,
    };
    let at = OffsetDateTime::from_unix_timestamp(created).expect("a time");
    let usd = Currency::parse("USD").expect("USD");
    let payable = Payable::new(
        NewPayable {
            payable: PayableRef {
                kind: PayableKind::Order,
                id: PayableId::parse(object).expect("an id"),
            },
            owner: Payer {
                user_id: UserId::parse("webhook-owner").expect("a user"),
                email: Email::parse("webhook-owner@example.com").expect("an email"),
            },
            amount: Money::parse("10.00", usd).expect("money"),
            number: None,
            description: None,
            line_items: vec![],
            business_id: None,
        },
        at,
    );
    let event = Event {
        id: EventId::parse(id).expect("an event id"),
        kind: EventType::parse(event_type).expect("a type"),
        created: at,
        object: EventObject::Payable(payable),
        follows: Vec::new(),
    };
    h.store.record_event(&event).await.expect("event written");
}

/// A signed HS256 token for `sub`, valid for an hour.
pub fn token(sub: &str, roles: &[&str]) -> String {
    let claims = json!({
        "sub": sub,
        "email": format!("{sub}@example.com"),
        "roles": roles,
        "exp": OffsetDateTime::now_utc().unix_timestamp() + 3600,
    });
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("token encodes")
}

/// A request as lambda_http hands it to a handler.
pub struct Call {
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    path_params: HashMap<String, String>,
    query: HashMap<String, String>,
    body: Option<String>,
    /// Lambda's deadline for the invocation, in ms since the epoch.
    deadline_ms: Option<u64>,
}

pub fn call(method: Method, path: &str) -> Call {
    Call {
        method,
        path: path.to_owned(),
        headers: Vec::new(),
        path_params: HashMap::new(),
        query: HashMap::new(),
        body: None,
        deadline_ms: None,
    }
}

impl Call {
    pub fn bearer(mut self, token: &str) -> Self {
        self.headers
            .push(("authorization".into(), format!("Bearer {token}")));
        self
    }
    pub fn as_user(self, sub: &str) -> Self {
        self.bearer(&token(sub, &[]))
    }
    pub fn api_key(mut self, key: &str) -> Self {
        self.headers.push(("x-api-key".into(), key.into()));
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.path_params.insert(name.into(), value.into());
        self
    }
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.insert(name.into(), value.into());
        self
    }
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body.to_string());
        self
    }
    pub fn raw(mut self, body: &str) -> Self {
        self.body = Some(body.into());
        self
    }
    /// Invoked as Lambda invokes a function with `left` of its Timeout
    /// still to run: its context carries that deadline.
    pub fn deadline_in(mut self, left: std::time::Duration) -> Self {
        let ends = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            + left;
        self.deadline_ms = Some(u64::try_from(ends.as_millis()).expect("ms fit"));
        self
    }
    pub fn build(self) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method(self.method)
            .uri(self.path);
        for (k, v) in &self.headers {
            builder = builder.header(k, v);
        }
        if self.body.is_some() {
            builder = builder.header("content-type", "application/json");
        }
        let body = self.body.map(Body::Text).unwrap_or(Body::Empty);
        let request = builder
            .body(body)
            .expect("request builds")
            .with_path_parameters(self.path_params)
            .with_query_string_parameters(self.query);
        match self.deadline_ms {
            Some(deadline) => {
                let mut context = lambda_http::Context::default();
                context.deadline = deadline;
                request.with_lambda_context(context)
            }
            None => request,
        }
    }
}

/// Status, parsed JSON body and headers of a handler's response.
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: lambda_http::http::HeaderMap,
}

impl Reply {
    pub fn from(response: Response<Body>) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes: &[u8] = response.body().as_ref();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(bytes).expect("JSON body")
        };
        Self {
            status,
            body,
            headers,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Invokes `handler` with the request and returns its reply.
pub async fn invoke<H, Fut>(h: &Harness, handler: H, call: Call) -> Reply
where
    H: FnOnce(Arc<App>, Request) -> Fut,
    Fut: std::future::Future<Output = Response<Body>>,
{
    Reply::from(handler(h.app.clone(), call.build()).await)
}

/// The newest OTP the SES emulator holds for `to`.
pub async fn latest_otp(to: &str) -> String {
    let url = format!("{}/store", env("SES_EMULATOR_URL"));
    let store: Value = reqwest::get(&url)
        .await
        .expect("SES emulator answers")
        .json()
        .await
        .expect("store is JSON");
    let emails = store["emails"].as_array().cloned().unwrap_or_default();
    let text = emails
        .iter()
        .rev()
        .find(|m| m.to_string().contains(to))
        .map(|m| m.to_string())
        .unwrap_or_else(|| panic!("no email to {to} in {store}"));
    let start = text.find("code is ").expect("email states the code") + "code is ".len();
    text[start..start + 6].to_owned()
}

/// Every email the SES emulator holds for `to`, as JSON.
pub async fn emails_to(to: &str) -> Vec<Value> {
    let url = format!("{}/store", env("SES_EMULATOR_URL"));
    let store: Value = reqwest::get(&url)
        .await
        .expect("SES emulator answers")
        .json()
        .await
        .expect("store is JSON");
    store["emails"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.to_string().contains(to))
        .collect()
}

/// A unique id so tests sharing the SES emulator never read each other's mail.
/// Every sample event in `events/` (not `events/background/`), sorted, each
/// with its name (`<binary>` or `<binary>-<case>`).
pub fn sample_events() -> Vec<(String, std::path::PathBuf)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("events/")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no events/*.json");
    files
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, path)
        })
        .collect()
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

/// Flows shared by several test files.
pub mod flows {
    use super::*;
    use lambda_http::http::Method;
    use payment_shared::surfaces::{intents, payables};

    /// Registers a payable through the payables API and returns its JSON.
    pub async fn register(
        h: &Harness,
        kind: &str,
        id: &str,
        owner: &str,
        amount: &str,
        currency: &str,
    ) -> Value {
        let r = invoke(
            h,
            payables::put,
            call(Method::PUT, &format!("/api/v1/payables/{kind}/{id}"))
                .api_key(API_KEY)
                .param("kind", kind)
                .param("id", id)
                .json(json!({
                    "user_id": owner,
                    "email": format!("{owner}@example.com"),
                    "amount": amount,
                    "currency": currency,
                    "description": "Summer camp",
                })),
        )
        .await;
        assert!(
            r.status == 201 || r.status == 200,
            "register: {} {}",
            r.status,
            r.body
        );
        r.body
    }

    /// Registers an order with `body`'s fields (user_id, email, amount, currency, line_items...).
    pub async fn register_order(h: &Harness, id: &str, body: Value) -> Value {
        let r = invoke(
            h,
            payables::put,
            call(Method::PUT, &format!("/api/v1/payables/order/{id}"))
                .api_key(API_KEY)
                .param("kind", "order")
                .param("id", id)
                .json(body),
        )
        .await;
        assert!(
            r.status == 201 || r.status == 200,
            "register order: {} {}",
            r.status,
            r.body
        );
        r.body
    }

    /// An order of `amount` `currency` owned by `owner`.
    pub async fn order(h: &Harness, owner: &str, amount: &str, currency: &str) -> String {
        let id = unique("ORD");
        register_order(h, &id, json!({"user_id": owner, "email": format!("{owner}@example.com"), "amount": amount, "currency": currency})).await;
        id
    }

    pub async fn create(h: &Harness, user: &str, registration: &str) -> Reply {
        invoke(
            h,
            intents::create_intent,
            call(Method::POST, "/payment/intents")
                .as_user(user)
                .json(json!({"registration_id": registration})),
        )
        .await
    }

    pub async fn request_otp(h: &Harness, user: &str, intent: &str) -> Reply {
        invoke(
            h,
            intents::request_otp,
            call(Method::POST, "/payment/intents/request-otp")
                .as_user(user)
                .json(json!({"intent_id": intent})),
        )
        .await
    }

    pub async fn confirm(h: &Harness, user: &str, intent: &str, code: &str) -> Reply {
        invoke(
            h,
            intents::confirm,
            call(Method::POST, "/payment/intents/confirm")
                .as_user(user)
                .json(json!({"intent_id": intent, "otp_code": code})),
        )
        .await
    }

    /// Creates an intent through the PaymentIntents API as `user`.
    pub async fn create_payment_intent(h: &Harness, user: &str, body: Value) -> Reply {
        invoke(
            h,
            payment_shared::surfaces::payment_intents::create,
            call(Method::POST, "/api/v1/PaymentIntents")
                .as_user(user)
                .json(body),
        )
        .await
    }

    /// Confirms a PaymentIntents API intent as `user` with a payment method
    /// (the body is the method's JSON string, as the API takes it).
    pub async fn confirm_payment_intent(h: &Harness, user: &str, id: &str, method: &str) -> Reply {
        invoke(
            h,
            payment_shared::surfaces::payment_intents::confirm,
            call(
                Method::POST,
                &format!("/api/v1/PaymentIntents/{id}/confirm"),
            )
            .param("id", id)
            .raw(&format!("\"{method}\""))
            .as_user(user),
        )
        .await
    }

    pub async fn get(h: &Harness, user: &str, intent: &str) -> Reply {
        invoke(
            h,
            intents::get_intent,
            call(Method::GET, &format!("/payment/intents/{intent}"))
                .as_user(user)
                .param("intent_id", intent),
        )
        .await
    }

    /// A registration owned by a fresh user, with an intent awaiting its code.
    /// Returns (user, registration, intent id, code).
    pub async fn awaiting_code(h: &Harness) -> (String, String, String, String) {
        let user = unique("user");
        let reg = unique("REG");
        register(h, "registration", &reg, &user, "112.00", "USD").await;
        let intent = create(h, &user, &reg).await.body["intent_id"]
            .as_str()
            .expect("intent id")
            .to_owned();
        let r = request_otp(h, &user, &intent).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let code = latest_otp(&format!("{user}@example.com")).await;
        (user, reg, intent, code)
    }
}
