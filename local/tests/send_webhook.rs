//! `send-webhook` against a stand-in for the service: a one-request HTTP
//! server on a free port that keeps what it received and answers as told.

use std::convert::Infallible;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use local_gateway::send_webhook::{Delivery, EventType, Options, SendError};
use payment_shared::adapters::stripe::event as stripe_event;
use payment_shared::domain::webhook_signature;
use payment_shared::ports::GatewayEventKind;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const SECRET: &str = "local-dev-webhook-secret";

/// What the stand-in received.
struct Received {
    method: String,
    path: String,
    content_type: Option<String>,
    signature: Option<String>,
    body: Vec<u8>,
}

/// Serves one request on 127.0.0.1 answering `status` with `answer`; returns
/// the base URL and what the request carried.
async fn service(status: u16, answer: &'static str) -> (String, oneshot::Receiver<Received>) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let tx = std::sync::Mutex::new(Some(tx));
        let handler =
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let tx = tx.lock().expect("lock").take();
                async move {
                    let header = |name: &str| {
                        req.headers()
                            .get(name)
                            .map(|v| v.to_str().expect("ascii").to_owned())
                    };
                    let received = Received {
                        method: req.method().to_string(),
                        path: req.uri().path().to_owned(),
                        content_type: header("content-type"),
                        signature: header("stripe-signature"),
                        body: Vec::new(),
                    };
                    let body = req.into_body().collect().await.expect("body").to_bytes();
                    if let Some(tx) = tx {
                        let _ = tx.send(Received {
                            body: body.to_vec(),
                            ..received
                        });
                    }
                    let response = hyper::Response::builder()
                        .status(status)
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from_static(answer.as_bytes())))
                        .expect("response");
                    Ok::<_, Infallible>(response)
                }
            });
        let _ = http1::Builder::new()
            .serve_connection(TokioIo::new(stream), handler)
            .await;
    });
    (base, rx)
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Checks the signature over the exact bytes received, at the signing time.
fn verified(received: &Received, signed_at: i64) -> Value {
    let at = OffsetDateTime::from_unix_timestamp(signed_at).expect("time");
    webhook_signature::verify(
        SECRET.as_bytes(),
        received.signature.as_deref(),
        &received.body,
        at,
    )
    .expect("the signature verifies over the body received");
    assert!(
        webhook_signature::verify(
            b"another-secret",
            received.signature.as_deref(),
            &received.body,
            at
        )
        .is_err()
    );
    serde_json::from_slice(&received.body).expect("JSON")
}

#[tokio::test]
async fn a_signed_succeeded_event_reaches_the_webhook_route() {
    let (base, received) = service(200, r#"{"received":true}"#).await;
    let mut options = Options::new(EventType::Succeeded, "pi_test_abc");
    options.amount = Some(11200);
    options.currency = Some("usd".into());
    let t = now();
    let delivery = Delivery::new(&options, &base, SECRET, t).expect("delivery");
    let reply = delivery.send().await.expect("2xx");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, r#"{"received":true}"#);

    let received = received.await.expect("a request");
    assert_eq!(received.method, "POST");
    assert_eq!(received.path, "/api/v1/PaymentIntents/webhook/test");
    assert_eq!(received.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        received.body, delivery.body,
        "the bytes signed are the bytes sent"
    );
    let event = verified(&received, t);
    assert_eq!(event["id"], delivery.event_id.as_str());
    assert!(delivery.event_id.starts_with("evt_"));
    assert_eq!(event["object"], "event");
    assert_eq!(event["type"], "payment_intent.succeeded");
    assert_eq!(event["created"], t);
    let object = &event["data"]["object"];
    assert_eq!(object["id"], "pi_test_abc");
    assert_eq!(object["object"], "payment_intent");
    assert_eq!(object["status"], "succeeded");
    assert_eq!(object["amount"], 11200);
    assert_eq!(object["currency"], "usd");
    assert_eq!(object["last_payment_error"], Value::Null);

    // The service reads it as the event it is.
    let read = stripe_event::parse(&received.body).expect("the service's reader accepts it");
    assert_eq!(read.id, delivery.event_id);
    assert_eq!(read.kind, GatewayEventKind::Succeeded);
    assert_eq!(read.gateway_intent_id, "pi_test_abc");
    assert_eq!(read.amount_minor, Some(11200));
}

#[tokio::test]
async fn a_failed_payment_carries_its_failure_code_and_the_given_event_id() {
    for (code, expected) in [
        (None, "card_declined"),
        (Some("expired_card"), "expired_card"),
    ] {
        let (base, received) = service(200, "{}").await;
        let mut options = Options::new(EventType::PaymentFailed, "pi_test_declined");
        options.gateway = "stripe".into();
        options.failure_code = code.map(str::to_owned);
        options.event_id = Some("evt_same_twice".into());
        let t = now();
        let delivery = Delivery::new(&options, &base, SECRET, t).expect("delivery");
        delivery.send().await.expect("2xx");

        let received = received.await.expect("a request");
        assert_eq!(received.path, "/api/v1/PaymentIntents/webhook/stripe");
        let event = verified(&received, t);
        assert_eq!(event["id"], "evt_same_twice");
        assert_eq!(event["type"], "payment_intent.payment_failed");
        let object = &event["data"]["object"];
        assert_eq!(object["status"], "requires_payment_method");
        assert_eq!(object["last_payment_error"]["code"], expected);
        assert!(object["last_payment_error"]["message"].is_string());
        assert!(object.get("amount").is_none() && object.get("currency").is_none());

        let read = stripe_event::parse(&received.body).expect("readable");
        assert_eq!(read.kind, GatewayEventKind::PaymentFailed);
        assert_eq!(read.failure_code.as_deref(), Some(expected));
    }
}

#[tokio::test]
async fn a_non_2xx_answer_is_an_error_with_the_answer() {
    let (base, _received) = service(400, r#"{"message":"invalid signature"}"#).await;
    let options = Options::new(EventType::Canceled, "pi_test_abc");
    let delivery = Delivery::new(&options, &base, "wrong-secret", now()).expect("delivery");
    match delivery.send().await {
        Err(SendError::Refused(reply)) => {
            assert_eq!(reply.status, 400);
            assert_eq!(reply.body, r#"{"message":"invalid signature"}"#);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn nothing_listening_is_an_error() {
    // A port that was free a moment ago and is closed now.
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let options = Options::new(EventType::Processing, "pi_test_abc");
    let delivery = Delivery::new(&options, &base, SECRET, now()).expect("delivery");
    assert!(matches!(
        delivery.send().await,
        Err(SendError::Unreachable(_))
    ));
}

#[test]
fn print_gives_the_header_and_the_body_for_curl() {
    let options = Options::new(EventType::RequiresAction, "pi_test_abc");
    let t = now();
    let delivery = Delivery::new(&options, "http://127.0.0.1:3000", SECRET, t).expect("delivery");
    let printed = delivery.printed();
    let mut lines = printed.lines();
    let header = lines
        .next()
        .and_then(|l| l.strip_prefix("Stripe-Signature: "))
        .expect("header line");
    let body = lines.next().expect("body line");
    assert_eq!(lines.next(), None);
    let at = OffsetDateTime::from_unix_timestamp(t).expect("time");
    webhook_signature::verify(SECRET.as_bytes(), Some(header), body.as_bytes(), at)
        .expect("verifies");
    let read = stripe_event::parse(body.as_bytes()).expect("readable");
    assert_eq!(read.kind, GatewayEventKind::RequiresAction);
    assert_eq!(
        read.next_action.and_then(|a| a.url).as_deref(),
        Some("https://gateway.test/authenticate/pi_test_abc")
    );
}
