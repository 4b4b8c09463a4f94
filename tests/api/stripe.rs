//! The `stripe` gateway of the PaymentIntents API against localstripe (a
//! stateful fake Stripe server the test stack runs; `STRIPE_API_BASE`). Where
//! localstripe cannot help (a 500, a timeout, seeing the Idempotency-Key), a
//! decorator around the connector's real HTTP client records and fails; a
//! Stripe that never answers is a local server that accepts and stays silent.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::shop::mark_paid;
pub(crate) use integration_tests::flows::confirm_payment_intent as confirm;
use integration_tests::flows::{create_payment_intent as create, order};
use integration_tests::*;
use lambda_http::http::Method;
use payment_shared::adapters::stripe::{
    ATTEMPT_TIMEOUT, HttpTransport, StripeGateway, StripeRequest, StripeResponse, StripeTransport,
    TransportError,
};
use payment_shared::domain::webhook_signature;
use payment_shared::domain::{GatewayId, PaymentId};
use payment_shared::ports::deadline::STORING_MARGIN;
use payment_shared::ports::{Clock, IntentStore, PaymentStore};
use payment_shared::surfaces::{payables, payment_intents, payments, shop};
use serde_json::{Value, json};

pub(crate) const ROOT: &str = "/api/v1/PaymentIntents";
pub(crate) const VISA: &str = "4242424242424242";
const DECLINED_WHEN_CHARGED: &str = "4000000000000341";
const AUTHENTICATION_REQUIRED: &str = "4000002760003184";

pub(crate) fn localstripe() -> String {
    env("STRIPE_API_BASE")
}

/// A card payment method created at localstripe, as a browser's Stripe.js would.
pub(crate) async fn card(number: &str) -> String {
    let r: Value = reqwest::Client::new()
        .post(format!("{}/v1/payment_methods", localstripe()))
        .basic_auth(STRIPE_SECRET_KEY, Some(""))
        .form(&[
            ("type", "card"),
            ("card[number]", number),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2030"),
            ("card[cvc]", "123"),
        ])
        .send()
        .await
        .expect("localstripe answers")
        .json()
        .await
        .expect("a payment method");
    r["id"].as_str().expect("pm id").to_owned()
}

/// localstripe's own view of one of its intents.
async fn at_localstripe(gateway_intent: &str) -> Value {
    reqwest::Client::new()
        .get(format!(
            "{}/v1/payment_intents/{gateway_intent}",
            localstripe()
        ))
        .basic_auth(STRIPE_SECRET_KEY, Some(""))
        .send()
        .await
        .expect("localstripe answers")
        .json()
        .await
        .expect("an intent")
}

/// What Stripe.js does in the payer's browser: the card attached to Stripe's
/// intent, then the intent confirmed, at Stripe directly (we learn of it only
/// by webhook).
async fn paid_in_the_browser(gateway_intent: &str, number: &str) {
    for (path, form) in [
        (
            format!("/v1/payment_intents/{gateway_intent}"),
            vec![("payment_method", card(number).await)],
        ),
        (
            format!("/v1/payment_intents/{gateway_intent}/confirm"),
            vec![],
        ),
    ] {
        let r = reqwest::Client::new()
            .post(format!("{}{path}", localstripe()))
            .basic_auth(STRIPE_SECRET_KEY, Some(""))
            .form(&form)
            .send()
            .await
            .expect("localstripe answers");
        assert_eq!(r.status(), 200);
    }
}

/// A Stripe intent for the payer's order, checked to be Stripe's.
pub(crate) async fn stripe_intent(h: &Harness, owner: &str, order_id: &str) -> Value {
    let r = create(
        h,
        owner,
        json!({"orderId": order_id, "paymentGatewayId": "stripe"}),
    )
    .await;
    assert!(r.status == 201 || r.status == 200, "{}", r.body);
    let gateway_id = r.body["gatewayIntentId"].as_str().expect("gateway id");
    assert!(gateway_id.starts_with("pi_"), "{}", r.body);
    assert!(
        r.body["clientSecret"]
            .as_str()
            .is_some_and(|s| s.starts_with(&format!("{gateway_id}_secret_"))),
        "Stripe's own client secret: {}",
        r.body
    );
    let theirs = at_localstripe(gateway_id).await;
    assert_eq!(theirs["status"], "requires_payment_method", "{theirs}");
    assert_eq!(theirs["metadata"]["intent_id"], r.body["id"], "{theirs}");
    r.body
}

async fn staff_get(h: &Harness, id: &str) -> Value {
    let r = invoke(
        h,
        payment_intents::get,
        call(Method::GET, &format!("{ROOT}/{id}"))
            .param("id", id)
            .bearer(&token("staff-admin", &["Admin"])),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn order_payments(h: &Harness, owner: &str, order: &str) -> Vec<Value> {
    let r = invoke(
        h,
        payments::list_for_order,
        call(Method::GET, &format!("/payment/order/{order}"))
            .as_user(owner)
            .param("orderId", order),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body.as_array().expect("list").clone()
}

async fn payable_status(h: &Harness, kind: &str, id: &str) -> Value {
    invoke(
        h,
        payables::get,
        call(Method::GET, "/")
            .api_key(API_KEY)
            .param("kind", kind)
            .param("id", id),
    )
    .await
    .body["status"]
        .clone()
}

pub(crate) fn webhook(body: &str, signature: Option<&str>) -> Call {
    let c = call(Method::POST, &format!("{ROOT}/webhook/stripe"))
        .param("gatewayId", "stripe")
        .raw(body);
    match signature {
        Some(s) => c.header("stripe-signature", s),
        None => c,
    }
}

/// Serves the harness's App over HTTP, as `make run` does, and points
/// localstripe's webhooks at its `webhook/stripe` route. localstripe sends
/// every event to every registered URL: another test's events reach this
/// one's table, where their intents are unknown (acknowledged, no effect).
async fn receive_webhooks(h: &Harness) -> tokio::sync::oneshot::Sender<()> {
    let (port, stop) = serve_locally(h, template_functions()).await;
    let r = reqwest::Client::new()
        .post(format!(
            "{}/_config/webhooks/{}",
            localstripe(),
            unique("t")
        ))
        .form(&[
            (
                "url",
                format!("http://127.0.0.1:{port}{ROOT}/webhook/stripe"),
            ),
            ("secret", STRIPE_WEBHOOK_SECRET.to_owned()),
        ])
        .send()
        .await
        .expect("localstripe answers");
    assert_eq!(r.status(), 200);
    stop
}

fn template_functions() -> Vec<local_gateway::template::Function> {
    local_gateway::template::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml"))
        .expect("template.yaml")
}

/// Serves the harness's App over HTTP as `make run` does, each route by
/// its function in `functions`; stops when the sender is used or dropped.
async fn serve_locally(
    h: &Harness,
    functions: Vec<local_gateway::template::Function>,
) -> (u16, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let port = listener.local_addr().expect("bound").port();
    let gateway =
        local_gateway::gateway::Gateway::new(&functions, h.app.clone(), port).expect("routes");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(local_gateway::serve(
        listener,
        Arc::new(gateway),
        async move {
            let _ = stopped.await;
        },
    ));
    (port, stop)
}

/// Waits until the intent reaches `status` (a webhook is on its way).
async fn eventually(h: &Harness, id: &str, status: &str) -> Value {
    for _ in 0..100 {
        let seen = staff_get(h, id).await;
        if seen["status"] == status {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{id} never became {status}: {}", staff_get(h, id).await);
}

#[tokio::test]
async fn a_good_card_is_collected_once_even_when_the_webhook_says_so_too() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let order_id = order(&h, &owner, "50.00", "USD").await;
    let intent = stripe_intent(&h, &owner, &order_id).await;
    let id = intent["id"].as_str().expect("id");
    let gateway_id = intent["gatewayIntentId"].as_str().expect("gateway id");

    let r = confirm(&h, &owner, id, &card(VISA).await).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "Succeeded", "{}", r.body);
    assert_eq!(at_localstripe(gateway_id).await["status"], "succeeded");
    assert_eq!(payable_status(&h, "order", &order_id).await, "paid");
    let payments = order_payments(&h, &owner, &order_id).await;
    assert_eq!(payments.len(), 1, "{payments:?}");
    assert_eq!(payments[0]["status"], "COMPLETED");
    assert_eq!(payments[0]["amount"], json!(50));

    // localstripe's own succeeded event for this intent, as it signs and sends it.
    let mut event = None;
    for _ in 0..50 {
        let events: Value = reqwest::Client::new()
            .get(format!(
                "{}/v1/events?type=payment_intent.succeeded",
                localstripe()
            ))
            .basic_auth(STRIPE_SECRET_KEY, Some(""))
            .send()
            .await
            .expect("localstripe answers")
            .json()
            .await
            .expect("events");
        event = events["data"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["data"]["object"]["id"] == gateway_id)
            .cloned();
        if event.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body = event.expect("localstripe recorded the event").to_string();
    let t = h.clock.now().unix_timestamp();
    let signature = webhook_signature::sign(STRIPE_WEBHOOK_SECRET.as_bytes(), t, body.as_bytes());
    let delivered = invoke(
        &h,
        payment_intents::webhook,
        webhook(&body, Some(&signature)),
    )
    .await;
    assert_eq!(delivered.status, 200, "{}", delivered.body);
    assert_eq!(staff_get(&h, id).await["status"], "Succeeded");
    assert_eq!(order_payments(&h, &owner, &order_id).await.len(), 1);
}

#[tokio::test]
async fn a_card_declined_when_charged_leaves_the_intent_to_the_payer() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let order_id = order(&h, &owner, "12.00", "USD").await;
    let intent = stripe_intent(&h, &owner, &order_id).await;
    let id = intent["id"].as_str().expect("id");

    let r = confirm(&h, &owner, id, &card(DECLINED_WHEN_CHARGED).await).await;
    assert_eq!(r.status, 200, "a decline is an outcome: {}", r.body);
    assert_eq!(r.body["status"], "RequiresPaymentMethod", "{}", r.body);
    assert_eq!(r.body["failureReason"], "card_declined", "{}", r.body);
    assert!(r.body["failedAt"].is_string(), "{}", r.body);
    assert_eq!(payable_status(&h, "order", &order_id).await, "open");
    assert!(order_payments(&h, &owner, &order_id).await.is_empty());
}

#[tokio::test]
async fn an_unknown_payment_method_is_the_payers_mistake() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let order_id = order(&h, &owner, "12.00", "USD").await;
    let intent = stripe_intent(&h, &owner, &order_id).await;
    let id = intent["id"].as_str().expect("id");
    let r = confirm(&h, &owner, id, "pm_nothing_here").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("No such PaymentMethod")),
        "{}",
        r.body
    );
    assert_eq!(staff_get(&h, id).await["status"], "RequiresPaymentMethod");
}

#[tokio::test]
async fn three_d_secure_completes_by_localstripes_signed_webhook() {
    let h = Harness::new().await;
    let stop = receive_webhooks(&h).await;
    let owner = unique("buyer");
    let order_id = order(&h, &owner, "30.00", "USD").await;
    let intent = stripe_intent(&h, &owner, &order_id).await;
    let id = intent["id"].as_str().expect("id");
    let gateway_id = intent["gatewayIntentId"].as_str().expect("gateway id");

    let r = confirm(&h, &owner, id, &card(AUTHENTICATION_REQUIRED).await).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "RequiresAction", "{}", r.body);
    assert_eq!(r.body["nextAction"]["type"], "use_stripe_sdk", "{}", r.body);
    assert!(order_payments(&h, &owner, &order_id).await.is_empty());

    // What Stripe.js does in the payer's browser once they pass 3-D Secure.
    let authenticated = reqwest::Client::new()
        .post(format!(
            "{}/v1/payment_intents/{gateway_id}/_authenticate",
            localstripe()
        ))
        .basic_auth(STRIPE_SECRET_KEY, Some(""))
        .form(&[
            (
                "client_secret",
                intent["clientSecret"].as_str().expect("secret"),
            ),
            ("success", "true"),
        ])
        .send()
        .await
        .expect("localstripe answers");
    assert_eq!(authenticated.status(), 200);

    let seen = eventually(&h, id, "Succeeded").await;
    assert!(seen.get("nextAction").is_none(), "{seen}");
    assert_eq!(payable_status(&h, "order", &order_id).await, "paid");
    assert_eq!(order_payments(&h, &owner, &order_id).await.len(), 1);
    let _ = stop.send(());
}

#[tokio::test]
async fn only_deliveries_signed_with_the_stripe_secret_are_read() {
    let h = Harness::new().await;
    let body = json!({"id": unique("evt"), "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_unknown", "object": "payment_intent"}}})
    .to_string();
    let t = h.clock.now().unix_timestamp();
    let with = |secret: &str| webhook_signature::sign(secret.as_bytes(), t, body.as_bytes());
    for signature in [
        None,
        Some("t=1,v1=00".to_owned()),
        // The test gateway's secret does not sign Stripe's events.
        Some(with(WEBHOOK_SECRET)),
    ] {
        let r = invoke(
            &h,
            payment_intents::webhook,
            webhook(&body, signature.as_deref()),
        )
        .await;
        assert_eq!(r.status, 400, "{signature:?}: {}", r.body);
    }
    let r = invoke(
        &h,
        payment_intents::webhook,
        webhook(&body, Some(&with(STRIPE_WEBHOOK_SECRET))),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn canceling_ends_the_intent_at_stripe_too() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let order_id = order(&h, &owner, "12.00", "USD").await;
    let intent = stripe_intent(&h, &owner, &order_id).await;
    let id = intent["id"].as_str().expect("id");
    let gateway_id = intent["gatewayIntentId"].as_str().expect("gateway id");
    let r = invoke(
        &h,
        payment_intents::cancel,
        call(Method::POST, &format!("{ROOT}/{id}/cancel"))
            .param("id", id)
            .as_user(&owner),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "Canceled", "{}", r.body);
    assert_eq!(at_localstripe(gateway_id).await["status"], "canceled");
}

/// What the decorator does to a request to a path ending in its suffix.
#[derive(Clone, Copy)]
enum Fault {
    /// Answers 500 without passing it on: Stripe failed before acting.
    ServerError,
    /// Never answers (the connector's timeout gives up first).
    Hang,
}

/// Wraps the connector's real HTTP client to localstripe: records every
/// request, and fails the next ones to a path as told.
struct Recording {
    inner: Arc<dyn StripeTransport>,
    sent: Mutex<Vec<StripeRequest>>,
    faults: Mutex<VecDeque<(&'static str, Fault)>>,
    /// Reads made, by path and query.
    reads: Mutex<Vec<String>>,
    /// The fee the charge's balance transaction reports instead of
    /// localstripe's (which is always 0).
    charge_fee: Option<i64>,
}

impl Recording {
    fn sent_to(&self, suffix: &str) -> Vec<StripeRequest> {
        self.sent
            .lock()
            .expect("lock")
            .iter()
            .filter(|r| r.path.ends_with(suffix))
            .cloned()
            .collect()
    }
}

#[async_trait::async_trait]
impl StripeTransport for Recording {
    async fn post(&self, request: &StripeRequest) -> Result<StripeResponse, TransportError> {
        self.sent.lock().expect("lock").push(request.clone());
        let fault = {
            let mut faults = self.faults.lock().expect("lock");
            match faults.front() {
                Some((suffix, fault)) if request.path.ends_with(suffix) => {
                    let fault = *fault;
                    faults.pop_front();
                    Some(fault)
                }
                _ => None,
            }
        };
        match fault {
            Some(Fault::ServerError) => Ok(StripeResponse {
                status: 500,
                body: br#"{"error":{"type":"api_error","message":"injected"}}"#.to_vec(),
            }),
            Some(Fault::Hang) => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Err(TransportError::NoAnswer("hung".into()))
            }
            None => self.inner.post(request).await,
        }
    }

    async fn get(&self, path_and_query: &str) -> Result<StripeResponse, TransportError> {
        self.reads
            .lock()
            .expect("lock")
            .push(path_and_query.to_owned());
        let mut answer = self.inner.get(path_and_query).await?;
        if let Some(fee) = self.charge_fee {
            let mut body: Value = serde_json::from_slice(&answer.body).expect("JSON");
            body["latest_charge"]["balance_transaction"]["fee"] = json!(fee);
            answer.body = body.to_string().into_bytes();
        }
        Ok(answer)
    }
}

async fn faulty_harness(
    faults: Vec<(&'static str, Fault)>,
) -> (Harness, Arc<Mutex<Option<Arc<Recording>>>>) {
    recording_harness(faults, None).await
}

async fn recording_harness(
    faults: Vec<(&'static str, Fault)>,
    charge_fee: Option<i64>,
) -> (Harness, Arc<Mutex<Option<Arc<Recording>>>>) {
    let slot: Arc<Mutex<Option<Arc<Recording>>>> = Arc::new(Mutex::new(None));
    let keep = slot.clone();
    let h = Harness::with_stripe(Box::new(move |inner| {
        let recording = Arc::new(Recording {
            inner,
            sent: Mutex::new(vec![]),
            faults: Mutex::new(faults.into()),
            reads: Mutex::new(vec![]),
            charge_fee,
        });
        *keep.lock().expect("lock") = Some(recording.clone());
        StripeGateway::new(recording).with_attempt_timeout(Duration::from_millis(500))
    }))
    .await;
    (h, slot)
}

/// After a failed confirm, nothing is stored: no payment, the payer's turn
/// still; the payer's retry sends Stripe the same keys and is collected once.
async fn a_failed_confirm_is_retried_safely(
    faults: Vec<(&'static str, Fault)>,
    confirm_sends: usize,
    answered: u16,
) {
    let (h, slot) = faulty_harness(faults).await;
    let recording = slot.lock().expect("lock").clone().expect("built");
    let owner = unique("buyer");
    let order_id = order(&h, &owner, "20.00", "USD").await;
    let intent = stripe_intent(&h, &owner, &order_id).await;
    let id = intent["id"].as_str().expect("id");
    let pm = card(VISA).await;

    let failed = confirm(&h, &owner, id, &pm).await;
    assert_eq!(failed.status, answered, "{}", failed.body);
    let seen = staff_get(&h, id).await;
    assert_eq!(seen["status"], "RequiresPaymentMethod", "{seen}");
    assert!(order_payments(&h, &owner, &order_id).await.is_empty());
    assert_eq!(payable_status(&h, "order", &order_id).await, "open");
    assert_eq!(recording.sent_to("/confirm").len(), confirm_sends);

    let paid = confirm(&h, &owner, id, &pm).await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    assert_eq!(paid.body["status"], "Succeeded", "{}", paid.body);
    assert_eq!(order_payments(&h, &owner, &order_id).await.len(), 1);

    let confirms = recording.sent_to("/confirm");
    assert_eq!(confirms.len(), confirm_sends + 1);
    assert!(
        confirms
            .iter()
            .all(|r| r.idempotency_key == confirms[0].idempotency_key && r.form.is_empty()),
        "{confirms:?}"
    );
    let gateway_id = intent["gatewayIntentId"].as_str().expect("gateway id");
    let attaches = recording.sent_to(gateway_id);
    assert_eq!(attaches.len(), 2, "{attaches:?}");
    assert_eq!(attaches[0], attaches[1], "the same attach, the same key");
    assert_eq!(
        attaches[0].form,
        vec![("payment_method".to_owned(), pm.clone())]
    );
}

#[tokio::test]
async fn stripe_answering_500_on_confirm_changes_nothing_and_the_retry_reuses_the_key() {
    // Each send of the confirm fails: the connector's own resends, then its error.
    let faults = vec![("/confirm", Fault::ServerError); 3];
    a_failed_confirm_is_retried_safely(faults, 3, 502).await;
}

#[tokio::test]
async fn a_confirm_that_times_out_changes_nothing_and_the_retry_reuses_the_key() {
    // An unanswered request may have acted: it is not resent by the connector,
    // and the payer is told the gateway timed out.
    a_failed_confirm_is_retried_safely(vec![("/confirm", Fault::Hang)], 1, 504).await;
}

/// A server on 127.0.0.1 that accepts connections and never answers them:
/// a Stripe that hangs. It stops when dropped.
pub(crate) struct SilentStripe {
    pub(crate) base: String,
    accepting: tokio::task::JoinHandle<()>,
}

impl Drop for SilentStripe {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

pub(crate) async fn silent_stripe() -> SilentStripe {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let base = format!("http://{}", listener.local_addr().expect("bound"));
    let accepting = tokio::spawn(async move {
        // Held open, never read from or written to.
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    SilentStripe { base, accepting }
}

/// The connector's real HTTP client: to localstripe, or while `silent` is
/// set, to a Stripe that never answers.
struct Hanging {
    live: Arc<dyn StripeTransport>,
    hung: HttpTransport,
    silent: AtomicBool,
}

impl Hanging {
    fn to(&self) -> &dyn StripeTransport {
        if self.silent.load(Ordering::SeqCst) {
            &self.hung
        } else {
            self.live.as_ref()
        }
    }
}

#[async_trait::async_trait]
impl StripeTransport for Hanging {
    async fn post(&self, request: &StripeRequest) -> Result<StripeResponse, TransportError> {
        self.to().post(request).await
    }

    async fn get(&self, path_and_query: &str) -> Result<StripeResponse, TransportError> {
        self.to().get(path_and_query).await
    }
}

/// A harness whose Stripe hangs while the returned switch is set; its
/// connector keeps its own attempt timeout, so only a request's deadline
/// can cut a call sooner.
async fn hanging_harness(silent: &SilentStripe) -> (Harness, Arc<Hanging>) {
    let slot: Arc<Mutex<Option<Arc<Hanging>>>> = Arc::new(Mutex::new(None));
    let keep = slot.clone();
    let hung = HttpTransport::new(&silent.base, STRIPE_SECRET_KEY.to_owned().into());
    let h = Harness::with_stripe(Box::new(move |live| {
        let hanging = Arc::new(Hanging {
            live,
            hung,
            silent: AtomicBool::new(false),
        });
        *keep.lock().expect("lock") = Some(hanging.clone());
        StripeGateway::new(hanging)
    }))
    .await;
    let hanging = slot.lock().expect("lock").clone().expect("built");
    (h, hanging)
}

/// Invoked as Lambda would with one second left for the gateway once the
/// time to store the outcome is kept back.
fn with_a_second_for_stripe(c: Call) -> Call {
    c.deadline_in(STORING_MARGIN + Duration::from_secs(1))
}

/// A 504 that came from the request's deadline, not from the connector's
/// own timeout (which it returned well before).
fn assert_cut_by_the_deadline(r: &Reply, started: Instant) {
    assert_eq!(r.status, 504, "{}", r.body);
    assert_eq!(r.body["title"], "Gateway Timeout", "{}", r.body);
    assert!(
        started.elapsed() < ATTEMPT_TIMEOUT,
        "cut by the request's deadline after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_confirm_cut_by_the_requests_deadline_is_a_504_that_lets_its_key_go() {
    let silent = silent_stripe().await;
    let (h, stripe) = hanging_harness(&silent).await;
    let owner = unique("buyer");
    let order_id = order(&h, &owner, "25.00", "USD").await;
    let intent = stripe_intent(&h, &owner, &order_id).await;
    let id = intent["id"].as_str().expect("id");
    let pm = card(VISA).await;
    let key = unique("confirm");
    let confirming = || {
        call(Method::POST, &format!("{ROOT}/{id}/confirm"))
            .param("id", id)
            .raw(&format!("\"{pm}\""))
            .as_user(&owner)
            .header("Idempotency-Key", &key)
    };

    stripe.silent.store(true, Ordering::SeqCst);
    // Twice: the second run is the same key's, run again rather than
    // refused as still in flight (409).
    for _ in 0..2 {
        let started = Instant::now();
        let r = invoke(
            &h,
            payment_intents::confirm,
            with_a_second_for_stripe(confirming()),
        )
        .await;
        assert_cut_by_the_deadline(&r, started);
        assert_eq!(r.header("idempotent-replayed"), None);
    }
    let seen = staff_get(&h, id).await;
    assert_eq!(seen["status"], "RequiresPaymentMethod", "{seen}");
    assert!(order_payments(&h, &owner, &order_id).await.is_empty());
    assert_eq!(payable_status(&h, "order", &order_id).await, "open");

    // Stripe answers again: the same key runs, collects once, and is kept.
    stripe.silent.store(false, Ordering::SeqCst);
    let paid = invoke(&h, payment_intents::confirm, confirming()).await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    assert_eq!(paid.body["status"], "Succeeded", "{}", paid.body);
    let replayed = invoke(&h, payment_intents::confirm, confirming()).await;
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(order_payments(&h, &owner, &order_id).await.len(), 1);
}

#[tokio::test]
async fn a_create_cut_by_the_requests_deadline_opens_nothing_and_lets_its_key_go() {
    let silent = silent_stripe().await;
    let (h, stripe) = hanging_harness(&silent).await;
    let owner = unique("buyer");
    let order_id = order(&h, &owner, "25.00", "USD").await;
    let key = unique("create");
    let creating = || {
        call(Method::POST, ROOT)
            .as_user(&owner)
            .header("Idempotency-Key", &key)
            .json(json!({"orderId": order_id, "paymentGatewayId": "stripe"}))
    };

    stripe.silent.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let r = invoke(
        &h,
        payment_intents::create,
        with_a_second_for_stripe(creating()),
    )
    .await;
    assert_cut_by_the_deadline(&r, started);

    stripe.silent.store(false, Ordering::SeqCst);
    let created = invoke(&h, payment_intents::create, creating()).await;
    // Created now (201), not the order's open intent (200): the cut run
    // stored none, and its key ran again.
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(
        created.body["gatewayIntentId"]
            .as_str()
            .is_some_and(|g| g.starts_with("pi_")),
        "{}",
        created.body
    );
}

/// The fee stored with a card payment of 20.00 USD collected through Stripe,
/// its balance transaction reporting `charge_fee` (localstripe's own: 0).
async fn fee_of_a_stripe_payment(charge_fee: Option<i64>) -> i64 {
    let (h, slot) = recording_harness(vec![], charge_fee).await;
    let recording = slot.lock().expect("lock").clone().expect("built");
    let owner = unique("buyer");
    let order_id = order(&h, &owner, "20.00", "USD").await;
    let intent = stripe_intent(&h, &owner, &order_id).await;
    let id = intent["id"].as_str().expect("id");
    let gateway_id = intent["gatewayIntentId"].as_str().expect("gateway id");
    let r = confirm(&h, &owner, id, &card(VISA).await).await;
    assert_eq!(r.body["status"], "Succeeded", "{}", r.body);
    assert_eq!(
        recording.reads.lock().expect("lock").clone(),
        vec![format!(
            "/v1/payment_intents/{gateway_id}?expand%5B%5D=latest_charge.balance_transaction"
        )]
    );
    let payments = order_payments(&h, &owner, &order_id).await;
    assert_eq!(payments.len(), 1, "{payments:?}");
    let payment_id = PaymentId::parse(payments[0]["id"].as_str().expect("id")).expect("uuid");
    h.store
        .get_payment(&payment_id)
        .await
        .expect("read")
        .expect("stored")
        .fee_minor()
}

#[tokio::test]
async fn stripes_own_fee_wins_when_it_reports_one() {
    assert_eq!(fee_of_a_stripe_payment(Some(123)).await, 123);
}

#[tokio::test]
async fn without_a_fee_from_stripe_the_schedule_applies() {
    // localstripe's balance transactions have fee 0: card, 2.9 % of 20.00 + 0.30.
    assert_eq!(fee_of_a_stripe_payment(None).await, 88);
}

#[tokio::test]
async fn a_shop_order_through_stripe_is_completed_by_stripes_webhook() {
    let h = Harness::configured(Box::new(|c| c.default_gateway = GatewayId::Stripe)).await;
    let stop = receive_webhooks(&h).await;
    let owner = unique("shopper");
    let order_id = order(&h, &owner, "112.00", "USD").await;
    let r = invoke(
        &h,
        shop::create_intent,
        call(Method::POST, "/")
            .as_user(&owner)
            .api_key(API_KEY)
            .param("orderId", &order_id),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Stripe's own intent id and client secret, for the browser's Stripe.js.
    let gateway_id = r.body["data"]["id"].as_str().expect("id").to_owned();
    assert!(gateway_id.starts_with("pi_"), "{}", r.body);
    let secret = r.body["data"]["client_secret"].as_str().expect("secret");
    assert!(
        secret.starts_with(&format!("{gateway_id}_secret_")),
        "{secret}"
    );
    let theirs = at_localstripe(&gateway_id).await;
    assert_eq!(theirs["amount"], 11200, "{theirs}");
    assert_eq!(theirs["currency"], "usd", "{theirs}");

    // The browser pays at Stripe directly; only Stripe's webhook tells us.
    paid_in_the_browser(&gateway_id, VISA).await;

    let intent = h
        .store
        .find_intent_by_gateway_id(GatewayId::Stripe, &gateway_id)
        .await
        .expect("read")
        .expect("the order's intent");
    eventually(&h, &intent.id().to_string(), "Succeeded").await;
    assert_eq!(payable_status(&h, "order", &order_id).await, "paid");
    assert_eq!(order_payments(&h, &owner, &order_id).await.len(), 1);
    let _ = stop.send(());
}

#[tokio::test]
async fn mark_paid_cancels_a_card_intent_at_stripe_before_recording_the_offline_payment() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let order_id = order(&h, &owner, "30.00", "USD").await;
    let intent = stripe_intent(&h, &owner, &order_id).await;
    let id = intent["id"].as_str().expect("id");
    let gateway_id = intent["gatewayIntentId"].as_str().expect("gateway id");
    // The payer's 3-D Secure page is still open when the money arrives another way.
    let r = confirm(&h, &owner, id, &card(AUTHENTICATION_REQUIRED).await).await;
    assert_eq!(r.body["status"], "RequiresAction", "{}", r.body);

    let r = mark_paid(&h, &order_id).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(at_localstripe(gateway_id).await["status"], "canceled");
    let ours = staff_get(&h, id).await;
    assert_eq!(ours["status"], "Canceled", "{ours}");
    assert_eq!(payable_status(&h, "order", &order_id).await, "paid");
    let payments = order_payments(&h, &owner, &order_id).await;
    assert_eq!(payments.len(), 1, "{payments:?}");
    let stored = h
        .store
        .get_payment(&PaymentId::parse(payments[0]["id"].as_str().expect("id")).expect("uuid"))
        .await
        .expect("read")
        .expect("payment");
    assert_eq!(
        stored.intent_id(),
        None,
        "an offline payment, of no gateway"
    );
}

#[tokio::test]
async fn mark_paid_leaves_a_card_payment_stripe_has_collected_to_its_webhook() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let order_id = order(&h, &owner, "30.00", "USD").await;
    let intent = stripe_intent(&h, &owner, &order_id).await;
    let id = intent["id"].as_str().expect("id");
    let gateway_id = intent["gatewayIntentId"].as_str().expect("gateway id");
    // The browser pays at Stripe; Stripe's webhook has not reached us yet.
    paid_in_the_browser(gateway_id, VISA).await;
    assert_eq!(at_localstripe(gateway_id).await["status"], "succeeded");

    let r = mark_paid(&h, &order_id).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("already collected")),
        "{}",
        r.body
    );
    assert_eq!(staff_get(&h, id).await["status"], "RequiresPaymentMethod");
    assert_eq!(payable_status(&h, "order", &order_id).await, "open");
    assert!(order_payments(&h, &owner, &order_id).await.is_empty());

    // Stripe's webhook arrives: the card payment is the one recorded.
    let body = json!({"id": unique("evt"), "type": "payment_intent.succeeded",
        "data": {"object": {"id": gateway_id, "object": "payment_intent",
            "amount": 3000, "currency": "usd"}}})
    .to_string();
    let t = h.clock.now().unix_timestamp();
    let signature = webhook_signature::sign(STRIPE_WEBHOOK_SECRET.as_bytes(), t, body.as_bytes());
    let r = invoke(
        &h,
        payment_intents::webhook,
        webhook(&body, Some(&signature)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(payable_status(&h, "order", &order_id).await, "paid");
    let r = mark_paid(&h, &order_id).await;
    assert_eq!(r.status, 200, "already paid: {}", r.body);
    assert_eq!(order_payments(&h, &owner, &order_id).await.len(), 1);
}

/// The local stack invokes a function as Lambda does, its deadline its
/// template Timeout from now: a confirm whose Stripe hangs is cut in time to
/// answer 504 itself, rather than run past its Timeout (which the local
/// gateway, like API Gateway in front of a stopped function, answers 500).
#[tokio::test]
async fn the_local_gateway_gives_a_function_its_timeout_as_deadline() {
    let silent = silent_stripe().await;
    let (h, stripe) = hanging_harness(&silent).await;
    let owner = unique("buyer");
    let order_id = order(&h, &owner, "25.00", "USD").await;
    let intent = stripe_intent(&h, &owner, &order_id).await;
    let id = intent["id"].as_str().expect("id");
    let pm = card(VISA).await;
    // Shorter than the connector's own attempt timeout: only the deadline
    // can end the call before the function's time is up.
    let timeout = STORING_MARGIN + Duration::from_secs(1);
    assert!(timeout < ATTEMPT_TIMEOUT);
    let mut functions = template_functions();
    let confirm_function = functions
        .iter_mut()
        .find(|f| f.binary == "payment-intents-confirm")
        .expect("the confirm function");
    assert_eq!(confirm_function.timeout, Duration::from_secs(28));
    confirm_function.timeout = timeout;
    let (port, stop) = serve_locally(&h, functions).await;

    stripe.silent.store(true, Ordering::SeqCst);
    let r = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}{ROOT}/{id}/confirm"))
        .bearer_auth(token(&owner, &[]))
        .header("content-type", "application/json")
        .header("Idempotency-Key", unique("confirm"))
        .body(format!("\"{pm}\""))
        .send()
        .await
        .expect("the local gateway answers");
    let status = r.status().as_u16();
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["title"], "Gateway Timeout", "{body}");
    assert_eq!(staff_get(&h, id).await["status"], "RequiresPaymentMethod");
    let _ = stop.send(());
}
