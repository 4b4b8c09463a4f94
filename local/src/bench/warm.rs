//! Warm latency of the main flows through the local gateway (the handlers as
//! Lambda runs them, on one keep-alive connection), with the DynamoDB round
//! trips each request makes, each timed, against the floor: the same calls
//! made raw to the same DynamoDB Local, measured in the same run (floors.rs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use payment_shared::adapters::cursor_key::CursorKey;
use payment_shared::adapters::delivery_sender::HttpDeliverySender;
use payment_shared::adapters::dynamo::DynamoStore;
use payment_shared::adapters::env_secrets::EnvSecrets;
use payment_shared::adapters::ses::SesMailer;
use payment_shared::app::App;
use payment_shared::config::Config;
use payment_shared::domain::webhook_signature;
use payment_shared::ports::{Stores, SystemClock, Webhooks};
use payment_shared::runtime::aws_sdk_config;
use payment_shared::surfaces::events::DeliverableEvents;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

use super::calls::{self, Call, CallKind};
use super::waiting::{self, Waited};
use crate::{Gateway, template};

/// Requests per flow.
pub const REQUESTS: usize = 200;

/// Counts DynamoDB round trips (retries included) by operation, and times
/// each from its transmission to its answer's head.
#[derive(Debug, Default)]
struct CountCalls {
    calls: Arc<Mutex<Vec<Call>>>,
    /// The calls in flight, by the address of their operation's ConfigBag:
    /// the one thing both hooks of a call see. Each operation owns its bag,
    /// pinned in its future for the whole call, so parallel calls (the
    /// shard Queries) have distinct addresses; an entry is removed when its
    /// answer comes, so a later bag at the same address starts afresh.
    in_flight: Mutex<HashMap<usize, (CallKind, Instant)>>,
}

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "bench-dynamodb-calls"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let kind = calls::dynamodb_kind(
            request.headers().get("x-amz-target"),
            request.body().bytes().unwrap_or_default(),
        );
        let key = std::ptr::from_ref(cfg) as usize;
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (kind, Instant::now()));
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let end = Instant::now();
        let key = std::ptr::from_ref(cfg) as usize;
        let started = self
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
        if let Some((kind, start)) = started {
            self.calls
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(Call { kind, start, end });
        }
        Ok(())
    }
}

/// One flow's measurements.
pub struct Flow {
    pub name: &'static str,
    pub route: &'static str,
    pub latencies: Vec<Duration>,
    /// Each request's own time: its latency less its waiting on DynamoDB.
    pub ours: Vec<Duration>,
    /// The calls of its first request, in the order they were sent.
    pub calls: Vec<Call>,
    /// Statuses answered.
    pub statuses: Vec<u16>,
}

/// The warm flows.
pub struct Warm {
    pub flows: Vec<Flow>,
}

pub struct Client {
    port: u16,
    sender: Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>>,
    calls: Arc<Mutex<Vec<Call>>>,
}

pub struct Answer {
    pub(super) status: u16,
    pub(super) body: Value,
    took: Duration,
    /// The DynamoDB calls it made, in the order they were sent.
    pub(super) calls: Vec<Call>,
    waited: Waited,
}

impl Client {
    /// Sends what an API Gateway v2 event describes (method, raw path and
    /// query, headers, body) through the local gateway.
    pub(super) async fn replay(&mut self, event: &str) -> Result<Answer, String> {
        let event: Value = serde_json::from_str(event).map_err(|e| e.to_string())?;
        let http = &event["requestContext"]["http"];
        let method = http["method"].as_str().unwrap_or("GET").to_owned();
        let mut path = event["rawPath"].as_str().unwrap_or("/").to_owned();
        if let Some(query) = event["rawQueryString"].as_str().filter(|q| !q.is_empty()) {
            path = format!("{path}?{query}");
        }
        let headers: Vec<(String, String)> = event["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .filter(|(name, _)| {
                        !matches!(name.as_str(), "host" | "content-length" | "content-type")
                    })
                    .filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let body = match (event["body"].as_str(), event["isBase64Encoded"].as_bool()) {
            (Some(b), Some(true)) => Some(
                String::from_utf8(
                    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b)
                        .map_err(|e| e.to_string())?,
                )
                .map_err(|e| e.to_string())?,
            ),
            (Some(b), _) => Some(b.to_owned()),
            (None, _) => None,
        };
        self.send(&method, &path, &headers, body).await
    }

    /// The open connection, or a new one when the gateway closed the last.
    async fn connection(
        &mut self,
    ) -> Result<&mut hyper::client::conn::http1::SendRequest<Full<Bytes>>, String> {
        let open = self.sender.as_ref().is_some_and(|s| !s.is_closed());
        if !open {
            let stream = TcpStream::connect(("127.0.0.1", self.port))
                .await
                .map_err(|e| e.to_string())?;
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(connection);
            self.sender = Some(sender);
        }
        self.sender
            .as_mut()
            .ok_or_else(|| "no connection".to_owned())
    }

    pub(super) async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Answer, String> {
        let body = body.unwrap_or_default();
        let mut attempt = 0;
        let (response, started) = loop {
            attempt += 1;
            let mut request = hyper::Request::builder()
                .method(method)
                .uri(path)
                .header("host", "127.0.0.1")
                .header("content-type", "application/json");
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            let request = request
                .body(Full::new(Bytes::from(body.clone())))
                .map_err(|e| e.to_string())?;
            self.calls.lock().unwrap_or_else(|p| p.into_inner()).clear();
            let sender = self.connection().await?;
            let started = Instant::now();
            let sent = match sender.ready().await {
                Ok(()) => sender.send_request(request).await,
                Err(e) => Err(e),
            };
            match sent {
                Ok(response) => break (response, started),
                // The gateway closed the connection under us: once more on a new one.
                Err(e) if e.is_canceled() || e.is_closed() => {
                    self.sender = None;
                    if attempt >= 2 {
                        return Err(format!("{method} {path}: {e}"));
                    }
                }
                Err(e) => return Err(format!("{method} {path}: {e}")),
            }
        };
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?
            .to_bytes();
        let ended = Instant::now();
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone();
        calls.sort_by_key(|c| c.start);
        let spans: Vec<_> = calls.iter().map(|c| (c.start, c.end)).collect();
        Ok(Answer {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            took: ended - started,
            calls,
            waited: waiting::waited((started, ended), &spans),
        })
    }
}

fn flow(name: &'static str, route: &'static str) -> Flow {
    Flow {
        name,
        route,
        latencies: Vec::with_capacity(REQUESTS),
        ours: Vec::with_capacity(REQUESTS),
        calls: Vec::new(),
        statuses: Vec::new(),
    }
}

fn record(flow: &mut Flow, answer: &Answer) {
    if flow.latencies.is_empty() {
        flow.calls = answer.calls.clone();
    }
    flow.latencies.push(answer.took);
    flow.ours.push(answer.waited.ours());
    if !flow.statuses.contains(&answer.status) {
        flow.statuses.push(answer.status);
    }
}

pub(super) fn token(tokens: &[(&str, String)], name: &str) -> Result<String, String> {
    tokens
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| format!("Bearer {t}"))
        .ok_or_else(|| format!("no {name} from the demo setup"))
}

/// The template served on a free port by an App whose DynamoDB client
/// counts its calls: the warm flows measure through it, and the cold starts'
/// fixtures are created through it.
pub struct LocalApi {
    pub(super) client: Client,
    pub(super) sdk: payment_shared::runtime::SdkConfig,
    pub(super) table: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

impl LocalApi {
    pub async fn start(root: &std::path::Path) -> Result<Self, String> {
        let sdk = aws_sdk_config().await;
        let counter = CountCalls::default();
        let calls = counter.calls.clone();
        let counted = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(counter)
            .build();
        let config = Config::from_env().map_err(|e| e.to_string())?;
        let cursor = std::env::var("CURSOR_SECRET").unwrap_or_default();
        let table = config.table_name.clone();
        let store = Arc::new(
            DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(counted), &table)
                .with_cursor_key(CursorKey::new(cursor.as_bytes())),
        );
        let mailer = Arc::new(SesMailer::new(
            aws_sdk_ses::Client::new(&sdk),
            &config.sender_email,
        ));
        let mut app = App::new(
            config,
            Stores::sharing(store.clone()),
            mailer,
            Arc::new(EnvSecrets),
            Arc::new(SystemClock),
        );
        // Webhook endpoints on the same table, deliveries sent over HTTP.
        let events = DeliverableEvents::new(app.events.clone(), app.clock.clone());
        let sender = HttpDeliverySender::new(app.config.local);
        app.webhooks = Webhooks::sharing(store, Arc::new(events), Arc::new(sender));
        let functions = template::load(&root.join("template.yaml")).map_err(|e| e.to_string())?;
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let gateway = Arc::new(Gateway::new(&functions, Arc::new(app), port)?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(crate::serve(listener, gateway, async {
            let _ = stopped.await;
        }));
        Ok(Self {
            client: Client {
                port,
                sender: None,
                calls,
            },
            sdk,
            table,
            stop,
            server,
        })
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}

/// Sends each flow's requests in turn through `api`.
pub async fn run(api: &mut LocalApi, tokens: &[(&str, String)]) -> Result<Warm, String> {
    let flows = flows(&mut api.client, tokens).await?;
    Ok(Warm { flows })
}

async fn flows(client: &mut Client, tokens: &[(&str, String)]) -> Result<Vec<Flow>, String> {
    let payer = token(tokens, "TOKEN_USER1")?;
    let auth = [("authorization", payer.as_str())];
    let api_key = std::env::var("SERVICE_API_KEY")
        .unwrap_or_default()
        .split(',')
        .next()
        .unwrap_or_default()
        .to_owned();
    let service = [("x-api-key", api_key.as_str())];
    let webhook_secret = std::env::var("WEBHOOK_SECRET_TEST").unwrap_or_default();

    let mut create = flow(
        "create intent (OTP API; the open one after the first)",
        "POST /payment/intents",
    );
    // A registration of its own: the demo ones are the Python peer's too,
    // whose intents are not this service's items.
    let registration = format!("REG-WARM-{}", std::process::id());
    client
        .send(
            "PUT",
            &format!("/api/v1/payables/registration/{registration}"),
            &service,
            Some(
                json!({"user_id": "demo-user-1", "email": "demo-user-1@example.com",
                    "amount": "112.00", "currency": "USD"})
                .to_string(),
            ),
        )
        .await?;
    let mut intent_id = String::new();
    for _ in 0..REQUESTS {
        let a = client
            .send(
                "POST",
                "/payment/intents",
                &auth,
                Some(json!({"registration_id": registration}).to_string()),
            )
            .await?;
        intent_id = a.body["intent_id"].as_str().unwrap_or_default().to_owned();
        record(&mut create, &a);
    }
    let mut get = flow("get intent", "GET /payment/intents/{intent_id}");
    let mut list = flow(
        "list a user's intents",
        "GET /payment/intents/user/{user_id}",
    );
    for _ in 0..REQUESTS {
        let a = client
            .send("GET", &format!("/payment/intents/{intent_id}"), &auth, None)
            .await?;
        record(&mut get, &a);
        let a = client
            .send("GET", "/payment/intents/user/demo-user-1", &auth, None)
            .await?;
        record(&mut list, &a);
    }
    let mut open = flow(
        "create intent (PaymentIntents API, test gateway)",
        "POST /api/v1/PaymentIntents",
    );
    let mut opened = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let a = client
            .send(
                "POST",
                "/api/v1/PaymentIntents",
                &auth,
                Some(json!({"amount": 12.5, "currency": "USD"}).to_string()),
            )
            .await?;
        opened.push((
            a.body["id"].as_str().unwrap_or_default().to_owned(),
            a.body["gatewayIntentId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ));
        record(&mut open, &a);
    }
    let mut confirm = flow(
        "confirm (card succeeds: intent, payment and index in one transaction)",
        "POST /api/v1/PaymentIntents/{id}/confirm",
    );
    for (id, _) in &opened {
        let a = client
            .send(
                "POST",
                &format!("/api/v1/PaymentIntents/{id}/confirm"),
                &auth,
                Some("\"pm_card_visa\"".into()),
            )
            .await?;
        record(&mut confirm, &a);
    }
    let mut webhook = flow(
        "webhook (a success already recorded)",
        "POST /api/v1/PaymentIntents/webhook/{gatewayId}",
    );
    for (n, (_, gateway_intent)) in opened.iter().enumerate() {
        let body = json!({"id": format!("evt_bench_{n}_{}", std::process::id()), "type": "payment_intent.succeeded",
            "data": {"object": {"id": gateway_intent, "object": "payment_intent", "status": "succeeded"}}})
        .to_string();
        let t = time::OffsetDateTime::now_utc().unix_timestamp();
        let signature = webhook_signature::sign(webhook_secret.as_bytes(), t, body.as_bytes());
        let a = client
            .send(
                "POST",
                "/api/v1/PaymentIntents/webhook/test",
                &[("stripe-signature", signature.as_str())],
                Some(body),
            )
            .await?;
        record(&mut webhook, &a);
    }
    let mut pay = flow("record a COMPLETED payment (API key)", "POST /payment");
    for n in 0..REQUESTS {
        let order = format!("ORD-BENCH-{n}");
        client
            .send(
                "PUT",
                &format!("/api/v1/payables/order/{order}"),
                &service,
                Some(
                    json!({
                "user_id": "demo-user-2", "email": "demo-user-2@example.com",
                "amount": "10.00", "currency": "USD", "business_id": 123456})
                    .to_string(),
                ),
            )
            .await?;
        let a = client
            .send(
                "POST",
                "/payment",
                &service,
                Some(
                    json!({
                "amount": 10, "orderId": order, "paymentMethod": "Cash", "status": "COMPLETED"})
                    .to_string(),
                ),
            )
            .await?;
        record(&mut pay, &a);
    }
    Ok(vec![create, get, list, open, confirm, webhook, pay])
}
