//! The webhook endpoints API and the deliveries behind it, on DynamoDB
//! Local: endpoints managed over HTTP, events delivered to receivers run by
//! the test (signed, retried, in order), the dispatch's stream batches.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use aws_sdk_dynamodb::types::AttributeValue;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use integration_tests::*;
use lambda_http::http::Method;
use payment_shared::adapters::dynamo::deliveries::{
    LANE_PREFIX, due_partition, shared_due_partition,
};
use payment_shared::app::deliveries;
use payment_shared::domain::delivery::EventRef;
use payment_shared::domain::{Delivery, EndpointId, webhook_signature};
use payment_shared::ports::{Clock, DeliveryStore};
use payment_shared::surfaces::deliveries::{
    BatchResponse, ItemFailure, StreamBatch, StreamChange, StreamRecord, StreamValue,
};
use payment_shared::surfaces::webhook_endpoints;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use tokio::net::TcpListener;

/// One request a receiver got.
#[derive(Clone, Debug)]
pub(crate) struct Received {
    content_type: Option<String>,
    content_length: Option<String>,
    signature: Option<String>,
    body: Vec<u8>,
}

impl Received {
    fn event(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// A receiver on 127.0.0.1: answers as scripted (then 200), keeps what it got.
pub(crate) struct Receiver {
    pub(crate) url: String,
    got: Arc<Mutex<Vec<Received>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub(crate) async fn start(script: Vec<u16>) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("a port");
        let url = format!(
            "http://127.0.0.1:{}/hooks",
            listener.local_addr().expect("address").port()
        );
        let got = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let (kept, answers) = (got.clone(), script.clone());
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (kept, answers) = (kept.clone(), answers.clone());
                let service = hyper::service::service_fn(move |req: hyper::Request<_>| {
                    let (kept, answers) = (kept.clone(), answers.clone());
                    async move {
                        let header = |name: &str| {
                            req.headers()
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned)
                        };
                        let (content_type, content_length, signature) = (
                            header("content-type"),
                            header("content-length"),
                            header("stripe-signature"),
                        );
                        let body: hyper::body::Incoming = req.into_body();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        kept.lock().expect("kept").push(Received {
                            content_type,
                            content_length,
                            signature,
                            body: body.to_vec(),
                        });
                        let status = answers.lock().expect("script").pop_front().unwrap_or(200);
                        let mut response =
                            hyper::Response::new(Full::new(Bytes::from_static(b"ok")));
                        *response.status_mut() =
                            hyper::StatusCode::from_u16(status).expect("a status");
                        Ok::<_, Infallible>(response)
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, got, server }
    }

    pub(crate) fn got(&self) -> Vec<Received> {
        self.got.lock().expect("got").clone()
    }

    /// Waits up to `within` for `n` requests.
    async fn wait_for(&self, n: usize, within: StdDuration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        while self.got().len() < n && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
        self.got()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn put(h: &Harness, id: &str, body: Value) -> Reply {
    invoke(
        h,
        webhook_endpoints::put,
        call(Method::PUT, &format!("/api/v1/webhook-endpoints/{id}"))
            .api_key(API_KEY)
            .param("id", id)
            .json(body),
    )
    .await
}

async fn get(h: &Harness, id: &str) -> Reply {
    invoke(
        h,
        webhook_endpoints::get,
        call(Method::GET, &format!("/api/v1/webhook-endpoints/{id}"))
            .api_key(API_KEY)
            .param("id", id),
    )
    .await
}

async fn delete(h: &Harness, id: &str) -> Reply {
    invoke(
        h,
        webhook_endpoints::delete,
        call(Method::DELETE, &format!("/api/v1/webhook-endpoints/{id}"))
            .api_key(API_KEY)
            .param("id", id),
    )
    .await
}

async fn deliveries_of(h: &Harness, id: &str, query: &[(&str, &str)]) -> Reply {
    let mut c = call(
        Method::GET,
        &format!("/api/v1/webhook-endpoints/{id}/deliveries"),
    )
    .api_key(API_KEY)
    .param("id", id);
    for (k, v) in query {
        c = c.query(k, v);
    }
    invoke(h, webhook_endpoints::deliveries, c).await
}

/// Registers endpoint `id` for `events`; returns its signing secret.
pub(crate) async fn endpoint(h: &Harness, id: &str, url: &str, events: &[&str]) -> String {
    let r = put(h, id, json!({"url": url, "enabled_events": events})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["secret"].as_str().expect("secret").to_owned()
}

pub(crate) fn event_id() -> String {
    format!("evt_{}", &uuid::Uuid::now_v7().simple().to_string()[..24])
}

/// A stream record as Lambda hands it over: the insert of an event item.
pub(crate) fn record(event_id: &str, sequence: &str) -> StreamRecord {
    StreamRecord {
        event_name: "INSERT".into(),
        dynamodb: StreamChange {
            keys: [
                ("pk".to_owned(), format!("EVENT#{event_id}")),
                ("sk".to_owned(), "EVENT".to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k, StreamValue { s: Some(v) }))
            .collect(),
            sequence_number: sequence.into(),
        },
    }
}

pub(crate) async fn dispatch(h: &Harness, records: Vec<StreamRecord>) -> BatchResponse {
    payment_shared::surfaces::deliveries::dispatch(h.app.clone(), StreamBatch { records })
        .await
        .expect("the dispatch answers")
}

pub(crate) fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn endpoints_are_created_read_replaced_and_deleted() {
    let h = Harness::new().await;
    let id = unique("ops");
    let r = put(
        &h,
        &id,
        json!({"url": "https://example.com/hooks", "enabled_events": ["payment_intent.succeeded", "refund.succeeded"]}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.body["object"], "webhook_endpoint");
    let secret = r.body["secret"].as_str().expect("the secret, once");
    assert!(
        secret.starts_with("whsec_") && secret.len() > 20,
        "{secret}"
    );
    assert!(r.body["created"].as_i64().is_some());

    let got = get(&h, &id).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["url"], "https://example.com/hooks");
    assert_eq!(
        got.body["enabled_events"],
        json!(["payment_intent.succeeded", "refund.succeeded"])
    );
    assert!(got.body.get("secret").is_none(), "{}", got.body);

    let replaced = put(
        &h,
        &id,
        json!({"url": "https://example.org/other", "enabled_events": ["*"]}),
    )
    .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert!(replaced.body.get("secret").is_none());
    assert_eq!(replaced.body["created"], r.body["created"]);
    assert_eq!(get(&h, &id).await.body["enabled_events"], json!(["*"]));
    // The secret survived the replace.
    let stored = h
        .app
        .webhooks
        .endpoints
        .get_endpoint(&EndpointId::parse(&id).expect("id"))
        .await
        .expect("read")
        .expect("exists");
    use secrecy::ExposeSecret;
    assert_eq!(stored.secret().expose_secret(), secret);

    let deleted = delete(&h, &id).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(
        deleted.body,
        json!({"id": id, "object": "webhook_endpoint", "deleted": true})
    );
    assert_eq!(delete(&h, &id).await.status, 404);
    assert_eq!(get(&h, &id).await.status, 404);
    assert_eq!(deliveries_of(&h, &id, &[]).await.status, 404);
}

#[tokio::test]
async fn endpoints_need_the_api_key() {
    let h = Harness::new().await;
    let body = json!({"url": "https://example.com/hooks", "enabled_events": ["*"]});
    for c in [
        call(Method::PUT, "/api/v1/webhook-endpoints/x")
            .param("id", "x")
            .json(body.clone()),
        call(Method::PUT, "/api/v1/webhook-endpoints/x")
            .param("id", "x")
            .api_key("wrong-key")
            .json(body.clone()),
        call(Method::PUT, "/api/v1/webhook-endpoints/x")
            .param("id", "x")
            .as_user("someone")
            .json(body.clone()),
    ] {
        let r = invoke(&h, webhook_endpoints::put, c).await;
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(r.body["message"].is_string());
    }
    let anonymous = || call(Method::GET, "/api/v1/webhook-endpoints/x").param("id", "x");
    assert_eq!(
        invoke(&h, webhook_endpoints::get, anonymous()).await.status,
        401
    );
    assert_eq!(
        invoke(&h, webhook_endpoints::delete, anonymous())
            .await
            .status,
        401
    );
    assert_eq!(
        invoke(&h, webhook_endpoints::deliveries, anonymous())
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn invalid_endpoints_are_refused_with_every_field_named() {
    let h = Harness::new().await;
    for (body, fields) in [
        (
            json!({"url": "ftp://example.com", "enabled_events": ["charge.succeeded"]}),
            vec!["url", "enabled_events"],
        ),
        (json!({}), vec!["url", "enabled_events"]),
        (
            json!({"url": "https://example.com", "enabled_events": []}),
            vec!["enabled_events"],
        ),
        (
            json!({"url": "https://example.com", "enabled_events": ["*", "refund.created"]}),
            vec!["enabled_events"],
        ),
        (
            json!({"url": "https://example.com", "enabled_events": "*"}),
            vec!["enabled_events"],
        ),
        (
            json!({"url": "https://user:pw@example.com/", "enabled_events": ["*"]}),
            vec!["url"],
        ),
        (
            json!({"url": "http://example.com/", "enabled_events": ["*"]}),
            vec!["url"],
        ),
    ] {
        let r = put(&h, "ops", body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.body["message"], "Validation failed");
        let named: Vec<&str> = r.body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["field"].as_str().expect("field"))
            .collect();
        assert_eq!(named, fields, "{body}");
    }
    let bad_id = invoke(
        &h,
        webhook_endpoints::put,
        call(Method::PUT, "/api/v1/webhook-endpoints/a%20b")
            .api_key(API_KEY)
            .param("id", "a b")
            .json(json!({"url": "https://example.com", "enabled_events": ["*"]})),
    )
    .await;
    assert_eq!(bad_id.status, 400);
    assert_eq!(bad_id.body["errors"][0]["field"], "id");
    // Loopback over plain HTTP is for a developer's machine only.
    assert_eq!(
        put(
            &h,
            "local",
            json!({"url": "http://127.0.0.1:9/hooks", "enabled_events": ["*"]})
        )
        .await
        .status,
        201
    );
    let deployed = Harness::configured(Box::new(|c| c.local = false)).await;
    let r = put(
        &deployed,
        "local",
        json!({"url": "http://127.0.0.1:9/hooks", "enabled_events": ["*"]}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "url");
}

/// Hosts naming an address inside a network, in the spellings URL parsers
/// read as an address: refused wherever the service runs.
const NEVER_REACHED: [&str; 22] = [
    "https://10.0.0.5/",
    "https://10.1/hooks",
    "https://012.0.0.1/",
    "https://167772165/",
    "https://0xa000005/",
    "https://172.16.0.1/",
    "https://192.168.1.1:8443/",
    "https://169.254.169.254/latest/meta-data/",
    "https://0xa9.0xfe.0xa9.0xfe/",
    "https://2852039166/",
    "https://100.64.0.1/",
    "https://224.0.0.1/",
    "https://0.0.0.0/",
    "https://255.255.255.255/",
    "https://192.0.2.1/",
    "https://[fd00:ec2::254]/",
    "https://[fe80::1]/",
    "https://[fc00::1]/",
    "https://[::ffff:10.0.0.1]/",
    "https://[::ffff:a00:1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://1.2.3.4.5/",
];

/// This machine in its spellings: refused outside a developer's machine.
const THIS_MACHINE: [&str; 7] = [
    "https://127.0.0.1/",
    "https://[::1]/",
    "https://2130706433/",
    "https://0177.0.0.1/",
    "https://0x7f.0.0.1/",
    "https://0x7f000001/",
    "https://127.1/",
];

/// The reasons an attempt without a status records.
const REASONS: [&str; 6] = [
    "timeout",
    "connection_refused",
    "tls_error",
    "dns_failure",
    "blocked_address",
    "event_unavailable",
];

/// Each attempt of a delivery as the API shows it holds either a status
/// code or one reason of the list, never both, never other words.
fn assert_attempts_show_a_status_or_a_reason(delivery: &Value) {
    for attempt in delivery["attempts"].as_array().expect("attempts") {
        match (&attempt["status_code"], &attempt["error"]) {
            (Value::Number(_), Value::Null) => {}
            (Value::Null, Value::String(reason)) => {
                assert!(REASONS.contains(&reason.as_str()), "{attempt}");
            }
            _ => panic!("neither a status nor a reason alone: {attempt}"),
        }
    }
}

#[tokio::test]
async fn addresses_inside_networks_are_refused_in_every_spelling_and_nothing_is_stored() {
    let local = Harness::new().await;
    let deployed = Harness::configured(Box::new(|c| c.local = false)).await;
    let refused = NEVER_REACHED.iter().map(|url| (&local, *url));
    let refused_deployed = NEVER_REACHED
        .iter()
        .chain(&THIS_MACHINE)
        .map(|url| (&deployed, *url));
    for (h, url) in refused.chain(refused_deployed) {
        let id = unique("inside");
        let r = put(h, &id, json!({"url": url, "enabled_events": ["*"]})).await;
        assert_eq!(r.status, 400, "{url}: {}", r.body);
        assert_eq!(r.body["message"], "Validation failed");
        let errors = r.body["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 1, "{url}: {}", r.body);
        assert_eq!(errors[0]["field"], "url", "{url}");
        assert!(
            errors[0]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("url's host")),
            "{url}: {}",
            r.body
        );
        assert_eq!(get(h, &id).await.status, 404, "{url} was stored");
    }
    // On a developer's machine receivers listen on this machine.
    for url in THIS_MACHINE {
        let r = put(
            &local,
            &unique("here"),
            json!({"url": url, "enabled_events": ["*"]}),
        )
        .await;
        assert_eq!(r.status, 201, "{url}: {}", r.body);
    }
}

/// Dispatches one new event to endpoint `ops` and returns its delivery as
/// the deliveries API shows it.
async fn delivered_once(h: &Harness) -> Value {
    let id = event_id();
    record_order_event(h, &id, "payment.created", &unique("pay"), now()).await;
    let response = dispatch(h, vec![record(&id, "100")]).await;
    assert_eq!(response.batch_item_failures, vec![]);
    let listed = deliveries_of(h, "ops", &[]).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let d = listed.body["data"][0].clone();
    assert_eq!(d["event_id"], id.as_str(), "{d}");
    assert_attempts_show_a_status_or_a_reason(&d);
    d
}

#[tokio::test]
async fn a_receiver_that_refuses_connections_records_connection_refused() {
    let h = Harness::new().await;
    let closed = {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("a port");
        listener.local_addr().expect("address").port()
    };
    endpoint(
        &h,
        "ops",
        &format!("http://127.0.0.1:{closed}/hooks"),
        &["*"],
    )
    .await;
    let d = delivered_once(&h).await;
    assert_eq!(d["status"], "pending");
    assert_eq!(d["attempts"][0]["status_code"], Value::Null);
    assert_eq!(d["attempts"][0]["error"], "connection_refused");
}

#[tokio::test]
async fn a_receiver_that_never_answers_records_timeout() {
    let h = Harness::new().await;
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("a port");
    let port = listener.local_addr().expect("address").port();
    // Takes every connection, reads nothing and says nothing.
    let silent = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    endpoint(&h, "ops", &format!("http://127.0.0.1:{port}/hooks"), &["*"]).await;
    let d = delivered_once(&h).await;
    silent.abort();
    assert_eq!(d["attempts"][0]["status_code"], Value::Null);
    assert_eq!(d["attempts"][0]["error"], "timeout");
    assert!(
        d["attempts"][0]["latency_ms"]
            .as_u64()
            .is_some_and(|ms| ms >= 10_000),
        "{d}"
    );
}

#[tokio::test]
async fn a_name_that_names_this_machine_is_not_sent_to_outside_a_developers_machine() {
    let deployed = Harness::configured(Box::new(|c| c.local = false)).await;
    let receiver = Receiver::start(vec![]).await;
    let port = receiver.url.rsplit(':').next().expect("port and path");
    // Names are not looked up when registering; at the send, `localhost` is.
    endpoint(
        &deployed,
        "ops",
        &format!("https://localhost:{port}"),
        &["*"],
    )
    .await;
    let d = delivered_once(&deployed).await;
    assert_eq!(d["attempts"][0]["error"], "blocked_address");
    assert_eq!(d["attempts"][0]["status_code"], Value::Null);
    assert!(receiver.got().is_empty(), "nothing reached the receiver");
}

#[tokio::test]
async fn an_endpoint_stored_before_its_address_was_refused_reads_and_is_sent_nothing() {
    use payment_shared::domain::{EndpointId, EndpointUrl, WebhookEndpoint};
    let h = Harness::new().await;
    endpoint(&h, "ops", "https://example.com/hooks", &["*"]).await;
    // As an endpoint registered before link-local addresses were refused.
    let endpoints = &h.app.webhooks.endpoints;
    let id = EndpointId::parse("ops").expect("id");
    let mut old = endpoints
        .get_endpoint(&id)
        .await
        .expect("read")
        .expect("exists")
        .into_parts();
    old.url = EndpointUrl::stored("https://169.254.169.254/latest/").expect("stored");
    endpoints
        .put_endpoint(&WebhookEndpoint::restore(old))
        .await
        .expect("replaced");
    let shown = get(&h, "ops").await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.body["url"], "https://169.254.169.254/latest/");
    let d = delivered_once(&h).await;
    assert_eq!(d["attempts"][0]["error"], "blocked_address");
}

/// What the functions write while a payer pays an intent by the code
/// emailed to them and an operator then refunds it in full: the intent (its
/// `metadata` an empty map), its payment, the paid registration, the refund
/// and the events of each. Returns (intent, payment, refund).
async fn paid_by_code_then_refunded(h: &Harness) -> (String, String, String) {
    let (payer, _, intent, code) = flows::awaiting_code(h).await;
    let paid = flows::confirm(h, &payer, &intent, &code).await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    let payment = paid.body["payment_id"]
        .as_str()
        .expect("payment id")
        .to_owned();
    let refunded = crate::refunds::refund(h, &payment, None).await;
    assert_eq!(refunded.status, 201, "{}", refunded.body);
    assert_eq!(refunded.body["status"], "succeeded", "{}", refunded.body);
    let refund = refunded.body["id"].as_str().expect("refund id").to_owned();
    (intent, payment, refund)
}

/// The delivery carries one `v1` signature, the endpoint's secret's over
/// its time and the exact bytes sent, made within the tolerance.
fn assert_signed(delivery: &Received, secret: &str) {
    let header = delivery.signature.as_deref().expect("Stripe-Signature");
    let t: i64 = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split(',').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("a signing time in {header}"));
    assert_eq!(
        header,
        webhook_signature::sign(secret.as_bytes(), t, &delivery.body)
    );
    assert_eq!(
        webhook_signature::verify(
            secret.as_bytes(),
            Some(header),
            &delivery.body,
            OffsetDateTime::now_utc()
        ),
        Ok(())
    );
}

/// The whole way, as `make run` runs it: an event item written to the
/// table reaches the receiver through the table's stream, signed with the
/// endpoint's secret, within 5 s, behind what the functions wrote before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_reaches_a_local_receiver_through_the_stream_signed() {
    let h = Harness::new().await;
    let receiver = Receiver::start(vec![]).await;
    // Types that a payment by code and its refund never announce: the one
    // delivery expected is the event written below.
    let secret = endpoint(&h, "ops", &receiver.url, &["payment_intent.canceled"]).await;
    endpoint(
        &h,
        "failures-only",
        &receiver.url,
        &["payment_intent.payment_failed"],
    )
    .await;
    let reader = tokio::spawn(local_gateway::deliveries::read_stream(h.app.clone()));

    // The stream holds these records before the event's.
    paid_by_code_then_refunded(&h).await;
    let id = event_id();
    record_order_event(&h, &id, "payment_intent.canceled", "pi_1", now()).await;
    let got = receiver.wait_for(1, StdDuration::from_secs(5)).await;

    assert_eq!(got.len(), 1, "one subscribed endpoint, one delivery");
    let delivery = &got[0];
    assert_eq!(delivery.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        delivery.content_length.as_deref(),
        Some(delivery.body.len().to_string().as_str())
    );
    assert_signed(delivery, &secret);
    let event = delivery.event();
    assert_eq!(event["id"], id.as_str());
    assert_eq!(event["object"], "event");
    assert_eq!(event["type"], "payment_intent.canceled");
    assert_eq!(event["data"]["object"]["id"], "pi_1");

    // The receiver has the delivery before its sender stores the outcome.
    let mut listed = deliveries_of(&h, "ops", &[]).await;
    for _ in 0..50 {
        if listed.body["data"][0]["status"] != "pending" {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
        listed = deliveries_of(&h, "ops", &[]).await;
    }
    // Stopped only now: the sender stores the outcome after the POST.
    reader.abort();
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["has_more"], false);
    assert_eq!(listed.body["next_cursor"], Value::Null);
    let d = &listed.body["data"][0];
    assert_eq!(d["object"], "webhook_delivery");
    assert_eq!(d["endpoint_id"], "ops");
    assert_eq!(d["event_id"], id.as_str());
    assert_eq!(d["event_type"], "payment_intent.canceled");
    assert_eq!(d["status"], "succeeded");
    assert_eq!(d["next_attempt_at"], Value::Null);
    assert_eq!(d["attempts"][0]["status_code"], 200);
    assert_eq!(d["attempts"][0]["error"], Value::Null);
    assert!(d["attempts"][0]["latency_ms"].as_u64().is_some());
    assert_eq!(
        deliveries_of(&h, "failures-only", &[]).await.body["data"],
        json!([])
    );
}

/// A payer's payment by emailed code and its refund reach an operator's
/// endpoint as `make run` delivers them: through the table's stream on
/// DynamoDB Local, read by the local stack's reader, each signed with the
/// endpoint's secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_by_code_and_its_refund_reach_a_local_receiver_through_the_stream_signed() {
    let h = Harness::new().await;
    let receiver = Receiver::start(vec![]).await;
    let announced = [
        "payment_intent.succeeded",
        "payment.completed",
        "refund.succeeded",
    ];
    let secret = endpoint(&h, "ops", &receiver.url, &announced).await;
    let reader = tokio::spawn(local_gateway::deliveries::read_stream(h.app.clone()));

    let (intent, payment, refund) = paid_by_code_then_refunded(&h).await;
    // A bound on the test, not on the service: the first attempt's 5 s is
    // the test above's.
    let got = receiver
        .wait_for(announced.len(), StdDuration::from_secs(15))
        .await;
    reader.abort();

    for delivery in &got {
        assert_signed(delivery, &secret);
    }
    let mut events: Vec<(String, String)> = got
        .iter()
        .map(|d| {
            let event = d.event();
            (
                event["type"].as_str().expect("type").to_owned(),
                event["data"]["object"]["id"]
                    .as_str()
                    .expect("id")
                    .to_owned(),
            )
        })
        .collect();
    events.sort();
    assert_eq!(
        events,
        [
            ("payment.completed".to_owned(), payment.clone()),
            ("payment_intent.succeeded".to_owned(), intent),
            ("refund.succeeded".to_owned(), refund),
        ],
        "each announced change once"
    );
    let refunded = got
        .iter()
        .map(Received::event)
        .find(|e| e["type"] == "refund.succeeded")
        .expect("the refund's event");
    assert_eq!(refunded["data"]["object"]["payment_id"], payment.as_str());
}

/// A stream record the reader cannot read (DynamoDB Local renders an empty
/// map in an item's image as `{}`, which the DynamoDB Streams client refuses
/// with the whole answer) is skipped after a few tries, its sequence number
/// logged and nothing of the answer; so is a record the dispatch keeps
/// failing on; the records before and after them in the shard are still
/// delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_cannot_be_read_or_dispatched_are_skipped_and_their_shard_goes_on() {
    use tracing::instrument::WithSubscriber;
    // The reader's lines, and only them: its subscriber is the reader's alone.
    let captured = crate::log_hygiene::Captured::default();
    let writer = captured.clone();
    let subscriber =
        tracing::Dispatch::new(payment_shared::telemetry::subscriber("trace", move || {
            writer.clone()
        }));
    // With one subscriber, a log line another test's reader reaches first
    // (with none) would be silenced for this one too; with two, tracing asks
    // each one of them.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let h = Harness::new().await;
    let table = h.app.config.table_name.clone();
    // Images in the stream again, as the table's stream once carried them.
    for enabled in [false, true] {
        let spec = aws_sdk_dynamodb::types::StreamSpecification::builder()
            .stream_enabled(enabled)
            .set_stream_view_type(
                enabled.then_some(aws_sdk_dynamodb::types::StreamViewType::NewImage),
            )
            .build()
            .expect("a stream specification");
        h.dynamo
            .update_table()
            .table_name(&table)
            .stream_specification(spec)
            .send()
            .await
            .expect("stream changed");
    }
    let receiver = Receiver::start(vec![]).await;
    let secret = endpoint(&h, "ops", &receiver.url, &["*"]).await;
    let (before, after) = (event_id(), event_id());
    record_order_event(&h, &before, "payment.created", "pay_1", now()).await;
    h.dynamo
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("UNREADABLE#1".into()))
        .item("sk", AttributeValue::S("UNREADABLE".into()))
        .item("metadata", AttributeValue::M(Default::default()))
        .send()
        .await
        .expect("written");
    // An event item the dispatch cannot read: no type.
    h.dynamo
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S(format!("EVENT#{}", event_id())))
        .item("sk", AttributeValue::S("EVENT".into()))
        .item("created", AttributeValue::N(now().to_string()))
        .send()
        .await
        .expect("written");
    record_order_event(&h, &after, "payment.created", "pay_2", now()).await;
    let reader = tokio::spawn(
        local_gateway::deliveries::read_stream(h.app.clone()).with_subscriber(subscriber),
    );
    let got = receiver.wait_for(2, StdDuration::from_secs(20)).await;
    reader.abort();

    let sent: Vec<String> = got
        .iter()
        .map(|r| r.event()["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(sent, [before, after]);
    let logs = captured.text();
    let skipped: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("skipped records"))
        .collect();
    assert_eq!(skipped.len(), 1, "{logs}");
    assert!(
        skipped[0].contains("Union did not contain a valid variant"),
        "the cause: {logs}"
    );
    let named = skipped[0]
        .split("skipped records [")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .expect("the records named");
    assert!(
        !named.is_empty() && !named.contains(','),
        "the culprit alone, by its sequence number: {named}"
    );
    assert_eq!(
        logs.lines()
            .filter(|line| line.contains("gave up on records"))
            .count(),
        1,
        "the event without a type: {logs}"
    );
    // The images the answers held: the endpoint's secret, the payer's email.
    for leak in [
        secret.as_str(),
        "whsec_",
        "webhook-owner@example.com",
        "NewImage",
    ] {
        assert!(!logs.contains(leak), "log contains {leak}");
    }
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_the_event_once_as_a_success() {
    let h = Harness::new().await;
    let receiver = Receiver::start(vec![500, 503]).await;
    endpoint(&h, "ops", &receiver.url, &["*"]).await;
    let id = event_id();
    record_order_event(&h, &id, "payment.completed", "pay_1", now()).await;

    let response = dispatch(&h, vec![record(&id, "100")]).await;
    assert_eq!(response.batch_item_failures, vec![]);
    assert_eq!(receiver.got().len(), 1);
    let first = deliveries_of(&h, "ops", &[]).await;
    assert_eq!(first.body["data"][0]["status"], "pending");
    assert_eq!(first.body["data"][0]["attempts"][0]["status_code"], 500);
    let due = first.body["data"][0]["next_attempt_at"]
        .as_i64()
        .expect("a retry is due");
    assert_eq!(due, h.clock.now().unix_timestamp() + 1, "the base, 1 s");

    // Nothing is due before its time.
    assert_eq!(deliveries::retry_due(h.app.clone()).await.expect("pass"), 0);
    // The retry pass at the first retry's time, then at the second's (2 s later).
    for wait in [1, 2] {
        h.clock.advance(Duration::seconds(wait));
        let mut sent = 0;
        // The due list is an index: it may lag its table for a moment.
        for _ in 0..50 {
            sent = deliveries::retry_due(h.app.clone()).await.expect("pass");
            if sent > 0 {
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
        assert_eq!(sent, 1, "retry after {wait} s");
    }
    // Once succeeded, it is never sent again.
    h.clock.advance(Duration::seconds(60));
    assert_eq!(deliveries::retry_due(h.app.clone()).await.expect("pass"), 0);
    assert_eq!(
        dispatch(&h, vec![record(&id, "101")])
            .await
            .batch_item_failures,
        vec![]
    );

    let got = receiver.got();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| r.event()["id"] == id.as_str()));
    let listed = deliveries_of(&h, "ops", &[]).await;
    let d = &listed.body["data"][0];
    assert_eq!(listed.body["data"].as_array().expect("data").len(), 1);
    assert_eq!(d["status"], "succeeded");
    let codes: Vec<Value> = d["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["status_code"].clone())
        .collect();
    assert_eq!(codes, [json!(500), json!(503), json!(200)]);
    // An answer is its status; no reason beside it.
    assert_eq!(d["attempts"][0]["error"], Value::Null);
    assert_attempts_show_a_status_or_a_reason(d);
    assert_eq!(d["next_attempt_at"], Value::Null);
}

#[tokio::test]
async fn a_poison_record_does_not_hold_up_the_rest_of_its_batch() {
    let h = Harness::new().await;
    let receiver = Receiver::start(vec![]).await;
    endpoint(&h, "ops", &receiver.url, &["*"]).await;
    let (a, b) = (event_id(), event_id());
    record_order_event(&h, &a, "payment_intent.created", "pi_a", now()).await;
    record_order_event(&h, &b, "payment_intent.created", "pi_b", now()).await;
    // An event item the dispatch cannot read: no type.
    let poison = event_id();
    h.dynamo
        .put_item()
        .table_name(&h.app.config.table_name)
        .item("pk", AttributeValue::S(format!("EVENT#{poison}")))
        .item("sk", AttributeValue::S("EVENT".into()))
        .item("created", AttributeValue::N(now().to_string()))
        .send()
        .await
        .expect("written");

    let response = dispatch(
        &h,
        vec![
            record(&a, "1"),
            record(&poison, "2"),
            record(&event_id(), "3"),
            record(&b, "4"),
        ],
    )
    .await;
    assert_eq!(
        response.batch_item_failures,
        vec![
            ItemFailure {
                item_identifier: "2".into()
            },
            ItemFailure {
                item_identifier: "3".into()
            },
        ],
        "the unreadable event and the one that does not exist, only"
    );
    let mut sent: Vec<String> = receiver
        .got()
        .iter()
        .map(|r| r.event()["id"].as_str().expect("id").to_owned())
        .collect();
    sent.sort();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(sent, expected);
}

#[tokio::test]
async fn a_record_handed_over_twice_makes_no_second_delivery() {
    let h = Harness::new().await;
    let receiver = Receiver::start(vec![]).await;
    endpoint(&h, "ops", &receiver.url, &["*"]).await;
    let id = event_id();
    record_order_event(&h, &id, "refund.created", "re_1", now()).await;
    let batch = || vec![record(&id, "7")];
    assert_eq!(dispatch(&h, batch()).await.batch_item_failures, vec![]);
    // The same record again, as a retried or bisected batch brings it, and
    // twice at once, as two overlapping invocations would.
    let (x, y) = tokio::join!(dispatch(&h, batch()), dispatch(&h, batch()));
    assert_eq!(x.batch_item_failures, vec![]);
    assert_eq!(y.batch_item_failures, vec![]);
    let listed = deliveries_of(&h, "ops", &[]).await;
    assert_eq!(listed.body["data"].as_array().expect("data").len(), 1);
    assert_eq!(receiver.got().len(), 1);
}

#[tokio::test]
async fn deliveries_are_listed_newest_first_a_page_at_a_time() {
    let h = Harness::new().await;
    let receiver = Receiver::start(vec![]).await;
    endpoint(&h, "ops", &receiver.url, &["*"]).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let id = event_id();
        record_order_event(&h, &id, "payment.created", &format!("pay_{n}"), now()).await;
        dispatch(&h, vec![record(&id, &n.to_string())]).await;
        h.clock.advance(Duration::seconds(1));
        ids.push(id);
    }
    let first = deliveries_of(&h, "ops", &[("limit", "2")]).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let page: Vec<&str> = first.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|d| d["event_id"].as_str().expect("event id"))
        .collect();
    assert_eq!(page, [ids[2].as_str(), ids[1].as_str()]);
    assert_eq!(first.body["has_more"], true);
    let cursor = first.body["next_cursor"].as_str().expect("a cursor");
    let second = deliveries_of(&h, "ops", &[("limit", "2"), ("cursor", cursor)]).await;
    assert_eq!(second.body["data"][0]["event_id"], ids[0].as_str());
    for bad in [("limit", "0"), ("limit", "101"), ("cursor", "forged")] {
        let r = deliveries_of(&h, "ops", &[bad]).await;
        assert_eq!(r.status, 400, "{bad:?}: {}", r.body);
    }
}

/// A later event about the same object waits behind a failing earlier one,
/// on the table's lanes too.
#[tokio::test]
async fn a_later_event_about_an_object_waits_for_the_earlier_one() {
    let h = Harness::new().await;
    let receiver = Receiver::start(vec![500]).await;
    endpoint(&h, "ops", &receiver.url, &["*"]).await;
    let (first, second) = (event_id(), event_id());
    let t = now();
    record_order_event(&h, &first, "payment_intent.created", "pi_1", t).await;
    record_order_event(&h, &second, "payment_intent.succeeded", "pi_1", t + 1).await;
    dispatch(&h, vec![record(&first, "1")]).await;
    dispatch(&h, vec![record(&second, "2")]).await;
    assert_eq!(receiver.got().len(), 1, "the second waits");

    h.clock.advance(Duration::seconds(1));
    for _ in 0..50 {
        if deliveries::retry_due(h.app.clone()).await.expect("pass") > 0 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    let order: Vec<String> = receiver
        .got()
        .iter()
        .map(|r| r.event()["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(order, [first.clone(), first, second]);
}

/// `n` deliveries to `endpoint`, each of its own event about an object of
/// its own, made (and so due) at `since`, a millisecond apart; written
/// through the store, as a dispatch that stopped before sending them
/// would have left them.
async fn due_backlog(
    h: &Harness,
    endpoint: &str,
    n: usize,
    since: OffsetDateTime,
) -> Vec<Delivery> {
    use futures::StreamExt;
    let endpoint = EndpointId::parse(endpoint).expect("id");
    futures::stream::iter(0..n)
        .map(|i| {
            let endpoint = endpoint.clone();
            async move {
                let (id, object) = (event_id(), format!("order-{endpoint}-{i}"));
                let at = since + Duration::milliseconds(i64::try_from(i).expect("small"));
                record_order_event(h, &id, "payable.paid", &object, at.unix_timestamp()).await;
                let event = EventRef {
                    id,
                    event_type: "payable.paid".into(),
                    object_id: object,
                    created: at,
                };
                let delivery = Delivery::new(&endpoint, event, at);
                h.store.create_delivery(&delivery).await.expect("written");
                delivery
            }
        })
        .buffer_unordered(16)
        .collect()
        .await
}

/// Waits until `endpoint`'s due list shows `n` due by now: the list is an
/// index, which may lag its table for a moment.
async fn wait_until_listed_due(h: &Harness, endpoint: &str, n: usize) {
    let endpoint = EndpointId::parse(endpoint).expect("id");
    for _ in 0..100 {
        let listed = h
            .store
            .due_deliveries_to(&endpoint, h.clock.now(), None, n + 1)
            .await
            .expect("due list");
        if listed.len() == n {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    panic!("{endpoint}'s due list never showed {n}");
}

/// Retries are taken fairly across endpoints: one that is down with
/// hundreds due does not hold back another's, on the table's due lists.
#[tokio::test]
async fn a_dead_endpoints_backlog_does_not_hold_back_a_healthy_endpoints_retry() {
    let h = Harness::new().await;
    let dead = Receiver::start(vec![500; 1000]).await;
    let healthy = Receiver::start(vec![]).await;
    endpoint(&h, "dead", &dead.url, &["*"]).await;
    endpoint(&h, "healthy", &healthy.url, &["*"]).await;
    h.clock.advance(Duration::seconds(1));
    // Every one of the dead endpoint's is due before the healthy one's.
    let since = h.clock.now();
    due_backlog(&h, "dead", 500, since).await;
    due_backlog(&h, "healthy", 1, since + Duration::seconds(1)).await;
    h.clock.advance(Duration::seconds(2));
    wait_until_listed_due(&h, "dead", 500).await;
    wait_until_listed_due(&h, "healthy", 1).await;

    let attempts = deliveries::retry_due(h.app.clone()).await.expect("pass");
    assert_eq!(healthy.got().len(), 1, "the first pass sends it");
    assert_eq!(attempts, deliveries::RETRY_BATCH);
    assert_eq!(dead.got().len(), deliveries::RETRY_BATCH - 1);
    let listed = deliveries_of(&h, "healthy", &[]).await;
    assert_eq!(
        listed.body["data"][0]["status"], "succeeded",
        "{}",
        listed.body
    );
    // The dead endpoint's attempted ones wait for their retry, behind the
    // ones it has not had yet.
    wait_until_listed_due(&h, "dead", 500 - (deliveries::RETRY_BATCH - 1)).await;
}

/// A delivery's item as stored, found in its lane's partition.
async fn stored_delivery(h: &Harness, d: &Delivery) -> HashMap<String, AttributeValue> {
    let (endpoint, object) = d.lane();
    let out = h
        .dynamo
        .query()
        .table_name(&h.app.config.table_name)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            AttributeValue::S(format!("{LANE_PREFIX}{endpoint}#{object}")),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("the lane");
    let mut items = out.items.unwrap_or_default();
    assert_eq!(items.len(), 1, "{items:?}");
    items.remove(0)
}

fn text<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// A delivery the due list every endpoint shared holds (written before each
/// endpoint had its own) is still retried, and moves to its endpoint's
/// list; one whose endpoint is gone is given up there, as it always was.
#[tokio::test]
async fn deliveries_in_the_due_list_endpoints_shared_before_are_still_retried() {
    let h = Harness::new().await;
    let receiver = Receiver::start(vec![500]).await;
    endpoint(&h, "ops", &receiver.url, &["*"]).await;
    let gone = Receiver::start(vec![]).await;
    endpoint(&h, "gone", &gone.url, &["*"]).await;
    h.clock.advance(Duration::seconds(1));
    let since = h.clock.now();
    let mut left = due_backlog(&h, "ops", 1, since).await;
    left.extend(due_backlog(&h, "gone", 1, since).await);
    assert_eq!(delete(&h, "gone").await.status, 200);
    for (d, shard) in left.iter().zip([1, 3]) {
        h.dynamo
            .update_item()
            .table_name(&h.app.config.table_name)
            .set_key(Some(
                stored_delivery(&h, d)
                    .await
                    .into_iter()
                    .filter(|(k, _)| k == "pk" || k == "sk")
                    .collect(),
            ))
            .update_expression("SET gsi3pk = :shared")
            .expression_attribute_values(":shared", AttributeValue::S(shared_due_partition(shard)))
            .send()
            .await
            .expect("moved back");
    }
    h.clock.advance(Duration::seconds(1));
    let now = h.clock.now();
    let mut strays = Vec::new();
    for _ in 0..100 {
        strays = h.store.stray_due_deliveries(now, 10).await.expect("strays");
        if strays.len() == 2 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    assert_eq!(strays.len(), 2, "{strays:?}");
    wait_until_listed_due(&h, "ops", 0).await;

    assert_eq!(deliveries::retry_due(h.app.clone()).await.expect("pass"), 1);
    assert_eq!(receiver.got().len(), 1);
    assert!(gone.got().is_empty());
    let retried = stored_delivery(&h, &left[0]).await;
    assert_eq!(text(&retried, "status"), Some("pending"));
    assert_eq!(
        text(&retried, "gsi3pk").map(str::to_owned),
        Some(due_partition(&left[0].endpoint_id)),
        "its retry is in its endpoint's due list"
    );
    let given_up = stored_delivery(&h, &left[1]).await;
    assert_eq!(text(&given_up, "status"), Some("failed"));
    assert_eq!(text(&given_up, "failure"), Some("the endpoint was deleted"));
    assert_eq!(text(&given_up, "gsi3pk"), None);
    // Its retry, from its endpoint's list.
    h.clock.advance(Duration::seconds(1));
    wait_until_listed_due(&h, "ops", 1).await;
    assert_eq!(deliveries::retry_due(h.app.clone()).await.expect("pass"), 1);
    assert_eq!(receiver.got().len(), 2);
}

async fn rotate(h: &Harness, id: &str, body: Option<Value>) -> Reply {
    let mut c = call(
        Method::POST,
        &format!("/api/v1/webhook-endpoints/{id}/rotate-secret"),
    )
    .api_key(API_KEY)
    .param("id", id);
    if let Some(body) = body {
        c = c.json(body);
    }
    invoke(h, webhook_endpoints::rotate_secret, c).await
}

#[tokio::test]
async fn a_secret_is_rotated_through_its_handler() {
    let h = Harness::new().await;
    let created = put(
        &h,
        "ops",
        json!({"url": "https://example.com/hooks", "enabled_events": ["refund.succeeded"]}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let first = created.body["secret"].as_str().expect("secret").to_owned();
    h.clock.advance(Duration::seconds(7));

    let rotated = rotate(&h, "ops", Some(json!({"expires_in_seconds": 3600}))).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let second = rotated.body["secret"].as_str().expect("the new secret");
    assert!(second.starts_with("whsec_") && second.len() == first.len());
    assert_ne!(second, first);
    // The endpoint as GET shows it, plus its new secret.
    let shown = get(&h, "ops").await;
    let mut without_secret = rotated.body.clone();
    without_secret
        .as_object_mut()
        .expect("object")
        .remove("secret");
    assert_eq!(without_secret, shown.body);
    assert_eq!(
        shown.body["updated"].as_i64(),
        Some(h.clock.now().unix_timestamp())
    );
    assert_eq!(shown.body["created"], created.body["created"]);

    // No body, an empty object or null: the old secret ends now.
    for body in [
        None,
        Some(json!({})),
        Some(json!({"expires_in_seconds": null})),
    ] {
        let r = rotate(&h, "ops", body.clone()).await;
        assert_eq!(r.status, 200, "{body:?}: {}", r.body);
        assert!(r.body["secret"].as_str().is_some_and(|s| s != second));
    }
    // Whole numbers however JSON writes them are the integers the schema states.
    for n in [json!(0), json!(86400), json!(60.0), json!(6e1)] {
        let r = rotate(&h, "ops", Some(json!({ "expires_in_seconds": n }))).await;
        assert_eq!(r.status, 200, "{n}: {}", r.body);
    }

    for n in [
        json!(-1),
        json!(86401),
        json!(1.5),
        json!("60"),
        json!(true),
        json!([60]),
        json!({"seconds": 60}),
        json!(1e100),
    ] {
        let r = rotate(&h, "ops", Some(json!({ "expires_in_seconds": n }))).await;
        assert_eq!(r.status, 400, "{n}: {}", r.body);
        assert_eq!(r.body["message"], "Validation failed");
        assert_eq!(
            r.body["errors"],
            json!([{"field": "expires_in_seconds", "message": "expires_in_seconds must be an integer from 0 to 86400"}]),
            "{n}"
        );
    }
    let not_an_object = invoke(
        &h,
        webhook_endpoints::rotate_secret,
        call(Method::POST, "/api/v1/webhook-endpoints/ops/rotate-secret")
            .api_key(API_KEY)
            .param("id", "ops")
            .raw("[3600]"),
    )
    .await;
    assert_eq!(not_an_object.status, 400, "{}", not_an_object.body);

    let unknown = rotate(&h, "nobody", None).await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert!(unknown.body["message"].is_string());
    assert_eq!(
        get(&h, "nobody").await.status,
        404,
        "a rotation creates nothing"
    );
    let anonymous = invoke(
        &h,
        webhook_endpoints::rotate_secret,
        call(Method::POST, "/api/v1/webhook-endpoints/ops/rotate-secret").param("id", "ops"),
    )
    .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
}

/// The `v1` values of a `Stripe-Signature` header, in order.
fn v1s(header: &str) -> Vec<&str> {
    header
        .split(',')
        .filter_map(|part| part.strip_prefix("v1="))
        .collect()
}

/// While the old secret lives, a delivery to a receiver on 127.0.0.1
/// carries a signature for each secret, the new one's first, and a
/// receiver holding either accepts it; once it expired, one.
#[tokio::test]
async fn during_the_overlap_a_delivery_is_signed_with_both_secrets() {
    let h = Harness::new().await;
    let receiver = Receiver::start(vec![]).await;
    let old = endpoint(&h, "ops", &receiver.url, &["*"]).await;
    let rotated = rotate(&h, "ops", Some(json!({"expires_in_seconds": 60}))).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new = rotated.body["secret"].as_str().expect("secret").to_owned();

    let during = event_id();
    record_order_event(&h, &during, "payment.created", "pay_1", now()).await;
    assert_eq!(
        dispatch(&h, vec![record(&during, "1")])
            .await
            .batch_item_failures,
        vec![]
    );
    let got = receiver.got();
    assert_eq!(got.len(), 1);
    let header = got[0].signature.as_deref().expect("Stripe-Signature");
    let t = h.clock.now().unix_timestamp();
    let one = |secret: &str| {
        webhook_signature::sign(secret.as_bytes(), t, &got[0].body)
            .split_once(",v1=")
            .expect("v1")
            .1
            .to_owned()
    };
    assert_eq!(header, format!("t={t},v1={},v1={}", one(&new), one(&old)));
    for secret in [&new, &old] {
        assert_eq!(
            webhook_signature::verify(secret.as_bytes(), Some(header), &got[0].body, h.clock.now()),
            Ok(()),
            "each secret verifies"
        );
    }

    h.clock.advance(Duration::seconds(60));
    let after = event_id();
    record_order_event(&h, &after, "payment.created", "pay_2", now()).await;
    dispatch(&h, vec![record(&after, "2")]).await;
    let got = receiver.got();
    assert_eq!(got.len(), 2);
    let header = got[1].signature.as_deref().expect("Stripe-Signature");
    assert_eq!(v1s(header).len(), 1, "{header}");
    assert_eq!(
        webhook_signature::verify(new.as_bytes(), Some(header), &got[1].body, h.clock.now()),
        Ok(())
    );
    assert_eq!(
        webhook_signature::verify(old.as_bytes(), Some(header), &got[1].body, h.clock.now()),
        Err(webhook_signature::SignatureError::Mismatch)
    );
}

/// Every item of the Idempotency-Key ledger in the harness's table (a
/// fresh table per test: reading it whole is a test's privilege).
async fn ledger_items(h: &Harness) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    let out = h
        .dynamo
        .scan()
        .table_name(&h.app.config.table_name)
        .send()
        .await
        .expect("scanned");
    out.items
        .unwrap_or_default()
        .into_iter()
        .filter(|item| {
            item.get("pk")
                .and_then(|pk| pk.as_s().ok())
                .is_some_and(|pk| pk.starts_with("IDEMPOTENCY#"))
        })
        .collect()
}

/// The answers that show a secret are replayed as first sent, secret
/// included, while the ledger on DynamoDB Local holds them only sealed.
#[tokio::test]
async fn replays_of_a_create_and_a_rotation_answer_the_same_body_and_the_ledger_keeps_no_secret() {
    let h = Harness::new().await;
    let create = || {
        call(Method::PUT, "/api/v1/webhook-endpoints/ops")
            .api_key(API_KEY)
            .param("id", "ops")
            .header("idempotency-key", "create-ops")
            .json(json!({"url": "https://example.com/hooks", "enabled_events": ["*"]}))
    };
    let created = invoke(&h, webhook_endpoints::put, create()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("idempotent-replayed"), None);
    let replayed = invoke(&h, webhook_endpoints::put, create()).await;
    assert_eq!(replayed.status, 201, "{}", replayed.body);
    assert_eq!(replayed.body, created.body);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));

    let rotation = || {
        call(Method::POST, "/api/v1/webhook-endpoints/ops/rotate-secret")
            .api_key(API_KEY)
            .param("id", "ops")
            .header("idempotency-key", "rotate-ops")
            .json(json!({"expires_in_seconds": 600}))
    };
    let rotated = invoke(&h, webhook_endpoints::rotate_secret, rotation()).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let again = invoke(&h, webhook_endpoints::rotate_secret, rotation()).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body, rotated.body, "the same secret, not another");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // Replayed, not rotated again: the endpoint still has the first rotation's secret.
    let stored = h
        .app
        .webhooks
        .endpoints
        .get_endpoint(&payment_shared::domain::EndpointId::parse("ops").expect("id"))
        .await
        .expect("read")
        .expect("exists");
    use secrecy::ExposeSecret;
    assert_eq!(
        Some(stored.secret().expose_secret()),
        rotated.body["secret"].as_str()
    );

    let secrets = [
        created.body["secret"].as_str().expect("secret"),
        rotated.body["secret"].as_str().expect("secret"),
    ];
    let items = ledger_items(&h).await;
    assert_eq!(items.len(), 2, "one answer per key");
    for item in &items {
        let text = format!("{item:?}");
        for secret in secrets {
            assert!(!text.contains(secret), "the ledger holds a secret: {text}");
        }
        assert!(!text.contains("whsec_"), "{text}");
        let body = item["body"].as_s().expect("the kept answer");
        assert!(body.starts_with("sealed:v1:"), "{body}");
    }
}
