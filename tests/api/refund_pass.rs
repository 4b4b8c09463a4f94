//! The refund pass against DynamoDB Local and localstripe: a Stripe refund
//! that a fault left unsent is finished once, by asking Stripe again under
//! the same key while Stripe still knows it, and by listing the intent's
//! refunds and matching our id in their metadata after.
//!
//! localstripe does not honour Idempotency-Key, so the faults here are
//! placed where Stripe's own behaviour does not matter: a refund that never
//! reached it (answered 500 before it acted), or one that reached it once
//! and whose answer was lost, looked up only after the key's lifetime.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use integration_tests::*;
use payment_shared::adapters::stripe::{
    StripeGateway, StripeRequest, StripeResponse, StripeTransport, TransportError,
};
use payment_shared::app::unsent_refunds::{GRACE, PassReport, finish_unsent};
use serde_json::{Value, json};
use time::Duration;

use futures::future::join_all;
use lambda_http::http::Method;
use payment_shared::domain::{GatewayId, PaymentId, Refund, RefundId};
use payment_shared::ports::{Clock, PaymentStore, RefundOutcome, RefundStore};
use payment_shared::surfaces::events;

use crate::refunds::{
    list, order_view, payment_view, refund, refunds_at_localstripe, stored_refund, stripe_payment,
    test_gateway_payment,
};

/// How the next refund POSTs to Stripe fail.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outage {
    /// Answered 500 before reaching Stripe: nothing is made.
    Before,
    /// The first reaches Stripe and is made, its answer lost; the rest as
    /// [`Outage::Before`].
    AnswerLost,
}

/// The real client to localstripe, its refund POSTs failing while `down`
/// says so; counts the refund POSTs that reached localstripe.
struct Flaky {
    inner: Arc<dyn StripeTransport>,
    down: Mutex<Option<Outage>>,
    reached: AtomicUsize,
    lists: AtomicUsize,
}

impl Flaky {
    fn set(&self, outage: Option<Outage>) {
        *self.down.lock().expect("lock") = outage;
    }
}

#[async_trait::async_trait]
impl StripeTransport for Flaky {
    async fn post(&self, request: &StripeRequest) -> Result<StripeResponse, TransportError> {
        if request.path != "/v1/refunds" {
            return self.inner.post(request).await;
        }
        let outage = *self.down.lock().expect("lock");
        match outage {
            None => {}
            Some(Outage::AnswerLost) => {
                self.set(Some(Outage::Before));
                self.reached.fetch_add(1, Ordering::SeqCst);
                self.inner.post(request).await?;
                return Err(TransportError::NoAnswer("injected: answer lost".into()));
            }
            Some(Outage::Before) => {
                return Ok(StripeResponse {
                    status: 500,
                    body: br#"{"error":{"type":"api_error","message":"injected"}}"#.to_vec(),
                });
            }
        }
        self.reached.fetch_add(1, Ordering::SeqCst);
        self.inner.post(request).await
    }

    async fn get(&self, path_and_query: &str) -> Result<StripeResponse, TransportError> {
        if path_and_query.starts_with("/v1/refunds?") {
            self.lists.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.get(path_and_query).await
    }
}

async fn flaky_harness() -> (Harness, Arc<Flaky>) {
    let slot: Arc<Mutex<Option<Arc<Flaky>>>> = Arc::new(Mutex::new(None));
    let keep = slot.clone();
    let h = Harness::with_stripe(Box::new(move |inner| {
        let flaky = Arc::new(Flaky {
            inner,
            down: Mutex::new(None),
            reached: AtomicUsize::new(0),
            lists: AtomicUsize::new(0),
        });
        *keep.lock().expect("lock") = Some(flaky.clone());
        StripeGateway::new(flaky).with_attempt_timeout(std::time::Duration::from_secs(2))
    }))
    .await;
    let flaky = slot.lock().expect("lock").clone().expect("built");
    (h, flaky)
}

/// A Stripe payment of 20.00 and its full refund, left unsent by `outage`:
/// (payment, Stripe's intent id, our refund id).
async fn unsent_refund(h: &Harness, flaky: &Flaky, outage: Outage) -> (String, String, Value) {
    let (payment, gateway_intent) = stripe_payment(h, "20.00").await;
    flaky.set(Some(outage));
    let r = refund(
        h,
        &payment,
        Some(json!({"reason": "requested by the customer"})),
    )
    .await;
    assert_eq!(r.status, 502, "{}", r.body);
    flaky.set(None);
    let listed = list(h, &payment).await;
    let ours = listed.body["data"][0].clone();
    assert_eq!(ours["status"], "pending", "{ours}");
    assert!(stored_refund(h, &ours["id"]).await.is_unsent());
    (payment, gateway_intent, ours["id"].clone())
}

async fn pass(h: &Harness) -> PassReport {
    finish_unsent(&h.app).await.expect("a pass")
}

#[tokio::test]
async fn a_refund_stripe_never_received_is_asked_again_and_made_once() {
    let (h, flaky) = flaky_harness().await;
    let (payment, gateway_intent, id) = unsent_refund(&h, &flaky, Outage::Before).await;
    assert!(refunds_at_localstripe(&gateway_intent).await.is_empty());
    // Pending: held, not refunded; the rest of the payment is not refundable.
    let seen = payment_view(&h, &payment).await;
    assert_eq!(
        (&seen["status"], &seen["refundedAmount"]),
        (&json!("COMPLETED"), &json!(0)),
        "{seen}"
    );
    let again = refund(&h, &payment, Some(json!({"amount": 1}))).await;
    assert_eq!(again.status, 409, "{}", again.body);

    // Its own request may still be running: the pass waits its grace.
    assert_eq!(pass(&h).await, PassReport::default());
    h.clock.advance(GRACE + Duration::seconds(1));
    assert_eq!(
        pass(&h).await,
        PassReport {
            finished: 1,
            left: 0
        }
    );
    let theirs = refunds_at_localstripe(&gateway_intent).await;
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!(theirs[0]["metadata"]["refund_id"], id);
    assert_eq!(theirs[0]["amount"], 2000);
    let done = stored_refund(&h, &id).await;
    assert_eq!(done.status().as_str(), "succeeded");
    assert_eq!(
        done.gateway_refund_id().as_deref(),
        theirs[0]["id"].as_str()
    );
    let seen = payment_view(&h, &payment).await;
    assert_eq!(
        (&seen["status"], &seen["refundedAmount"]),
        (&json!("REFUNDED"), &json!(20)),
        "{seen}"
    );

    // Nothing left: later passes ask nothing.
    let reached = flaky.reached.load(Ordering::SeqCst);
    h.clock.advance(Duration::minutes(5));
    assert_eq!(pass(&h).await, PassReport::default());
    assert_eq!(flaky.reached.load(Ordering::SeqCst), reached);
}

#[tokio::test]
async fn past_stripes_key_window_a_refund_whose_answer_was_lost_is_found_by_its_metadata() {
    let (h, flaky) = flaky_harness().await;
    let (payment, gateway_intent, id) = unsent_refund(&h, &flaky, Outage::AnswerLost).await;
    let theirs = refunds_at_localstripe(&gateway_intent).await;
    assert_eq!(theirs.len(), 1, "Stripe made it: {theirs:?}");
    let reached = flaky.reached.load(Ordering::SeqCst);

    h.clock.advance(Duration::hours(24));
    assert_eq!(pass(&h).await.finished, 1);
    assert_eq!(
        flaky.reached.load(Ordering::SeqCst),
        reached,
        "not asked again: Stripe has forgotten the key"
    );
    assert!(flaky.lists.load(Ordering::SeqCst) >= 1, "listed instead");
    assert_eq!(refunds_at_localstripe(&gateway_intent).await.len(), 1);
    let done = stored_refund(&h, &id).await;
    assert_eq!(done.status().as_str(), "succeeded");
    assert_eq!(
        done.gateway_refund_id().as_deref(),
        theirs[0]["id"].as_str()
    );
    assert_eq!(payment_view(&h, &payment).await["status"], "REFUNDED");
}

#[tokio::test]
async fn past_stripes_key_window_a_refund_stripe_never_made_fails_and_frees_its_amount() {
    let (h, flaky) = flaky_harness().await;
    let (payment, gateway_intent, id) = unsent_refund(&h, &flaky, Outage::Before).await;
    let order = payment_view(&h, &payment).await["orderId"].clone();

    h.clock.advance(Duration::hours(25));
    assert_eq!(pass(&h).await.finished, 1);
    assert!(refunds_at_localstripe(&gateway_intent).await.is_empty());
    assert_eq!(stored_refund(&h, &id).await.status().as_str(), "failed");
    let seen = payment_view(&h, &payment).await;
    assert_eq!(
        (&seen["status"], &seen["refundedAmount"]),
        (&json!("COMPLETED"), &json!(0)),
        "{seen}"
    );
    let order = order_view(&h, order.as_str().expect("order id")).await;
    assert_eq!(order["refunded_amount"], "0.00", "{order}");
    // Its amount may be refunded again, this time at Stripe.
    let again = refund(&h, &payment, None).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body["status"], "succeeded", "{}", again.body);
    assert_eq!(refunds_at_localstripe(&gateway_intent).await.len(), 1);
}

/// Passes that overlap (a slow one and the next, or the staff member's own
/// retry beside a pass) ask the gateway for the same refund and store it
/// once: the payment and its order are refunded once, one event says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_passes_finish_a_refund_once() {
    let h = Harness::new().await;
    let (order, payment, _) = test_gateway_payment(&h).await;
    let id = PaymentId::parse(&payment).expect("payment id");
    let read = h
        .store
        .get_payment(&id)
        .await
        .expect("read")
        .expect("payment");
    // Made before its request was cut, as refunds-create stores it.
    let made_at = h.clock.now() - Duration::minutes(2);
    let unsent = Refund::of(
        RefundId::new(),
        &read,
        read.amount(),
        None,
        Some(GatewayId::Test),
        made_at,
    );
    assert_eq!(
        h.store.create_refund(&unsent, &read).await.expect("stored"),
        RefundOutcome::Created
    );
    let passes = join_all((0..4).map(|_| finish_unsent(&h.app))).await;
    assert!(passes.iter().all(Result::is_ok), "{passes:?}");
    let done = stored_refund(&h, &json!(unsent.id().to_string())).await;
    assert_eq!(done.status().as_str(), "succeeded");
    let seen = payment_view(&h, &payment).await;
    assert_eq!(
        (&seen["status"], &seen["refundedAmount"]),
        (&json!("REFUNDED"), &json!(50)),
        "{seen}"
    );
    assert_eq!(order_view(&h, &order).await["refunded_amount"], "50.00");
    let succeeded = invoke(
        &h,
        events::list,
        call(Method::GET, "/api/v1/events")
            .api_key(API_KEY)
            .query("type", "refund.succeeded")
            .query("object_id", &unsent.id().to_string()),
    )
    .await;
    assert_eq!(succeeded.status, 200, "{}", succeeded.body);
    assert_eq!(
        succeeded.body["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        succeeded.body
    );
}
