use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::payment_intents::payments_of;
use super::{TestApp, WEBHOOK_SECRET, person, stated};
use crate::adapters::faulty::Fault;
use crate::adapters::test_gateway::TestGateway;
use crate::app::AppError;
use crate::app::gateway_events::{self, EventOutcome};
use crate::app::payment_intents::{self, NewGatewayIntent};
use crate::app::payments;
use crate::app::refunds::{self, RefundRequest};
use crate::auth::Actor;
use crate::auth::{Caller, Role, ServiceCaller};
use crate::domain::webhook_signature::sign;
use crate::domain::{
    Confirmation, GatewayId, Payable, PayableStatus, Payment, PaymentIntent, PaymentMethod,
    PaymentStatus, Refund, RefundId, RefundRefused, RefundStatus, RequestKey,
};
use crate::ports::{
    Gateway, GatewayError, GatewayEvent, GatewayEventError, GatewayIntent, GatewayRefund, Gateways,
    PageRequest,
};

pub(super) fn service() -> Actor {
    Actor::Service(ServiceCaller {
        key_id: "0123abcd".into(),
    })
}

pub(super) fn staff() -> Actor {
    Actor::Person(person(&[Role::Staff]))
}

pub(super) fn ask(minor: Option<i64>) -> RefundRequest {
    RefundRequest {
        amount_minor: minor,
        reason: None,
    }
}

/// A COMPLETED cash payment of a whole order of `minor` cents.
async fn cash_payment(t: &TestApp, minor: i64) -> (Payable, Payment) {
    let owner = person(&[]);
    let order = t.order(&owner, minor).await;
    let amount = format!("{}.{:02}", minor / 100, minor % 100);
    let payment = payments::record(
        &t.app,
        &service(),
        order.payable(),
        stated(&amount),
        PaymentMethod::Cash,
        PaymentStatus::Completed,
    )
    .await
    .expect("recorded");
    (order, payment)
}

/// A card payment of 50.00 collected through the `test` gateway slot.
pub(super) async fn card_payment(t: &TestApp) -> (Payable, PaymentIntent, Payment) {
    let payer = person(&[]);
    let order = t.order(&payer, 5_000).await;
    let new = NewGatewayIntent {
        payable: Some(order.payable().clone()),
        amount: None,
        gateway: Some(GatewayId::Test),
        description: None,
        return_url: None,
        cancel_url: None,
    };
    let (intent, _) = payment_intents::create(&t.app, &payer, new, None)
        .await
        .expect("created");
    let intent = payment_intents::confirm(&t.app, &payer, &intent.id(), "pm_card_visa")
        .await
        .expect("collected");
    let payment = payments_of(t, order.payable())
        .await
        .pop()
        .expect("a payment");
    (order, intent, payment)
}

pub(super) async fn refund(
    t: &TestApp,
    actor: &Actor,
    key: Option<&RequestKey>,
    payment: &Payment,
    request: RefundRequest,
) -> Result<Refund, AppError> {
    refunds::create(&t.app, actor, key, &payment.id(), &request).await
}

pub(super) async fn stored_payment(t: &TestApp, payment: &Payment) -> Payment {
    t.direct
        .payments
        .get_payment(&payment.id())
        .await
        .expect("read")
        .expect("payment")
}

pub(super) async fn stored_refund(t: &TestApp, refund: &Refund) -> Refund {
    t.direct
        .refunds
        .get_refund(&refund.id())
        .await
        .expect("read")
        .expect("refund")
}

/// The test gateway, its refunds answered from a script (then as it would).
/// A scripted timeout stands for an answer lost on the way back: the refund
/// was made. It remembers the refunds it made, by our id, and (when told)
/// forgets keys as Stripe does after a while.
pub(super) struct Scripted {
    refunds: Mutex<VecDeque<Result<GatewayRefund, GatewayError>>>,
    asked: Mutex<Vec<Refund>>,
    made: Mutex<BTreeMap<RefundId, GatewayRefund>>,
    key_lifetime: Option<time::Duration>,
}

impl Scripted {
    pub(super) fn install(
        t: &mut TestApp,
        answers: Vec<Result<GatewayRefund, GatewayError>>,
    ) -> Arc<Self> {
        Self::install_forgetting(t, answers, None)
    }

    /// As [`Scripted::install`], forgetting keys after `key_lifetime`.
    pub(super) fn install_forgetting(
        t: &mut TestApp,
        answers: Vec<Result<GatewayRefund, GatewayError>>,
        key_lifetime: Option<time::Duration>,
    ) -> Arc<Self> {
        let scripted = Arc::new(Self {
            refunds: Mutex::new(answers.into()),
            asked: Mutex::new(vec![]),
            made: Mutex::new(BTreeMap::new()),
            key_lifetime,
        });
        t.app.gateways = Gateways::none().with_test(scripted.clone());
        scripted
    }

    pub(super) fn asked(&self) -> Vec<Refund> {
        self.asked.lock().expect("lock").clone()
    }

    /// The refunds it made, whatever it answered.
    pub(super) fn made(&self) -> Vec<GatewayRefund> {
        self.made.lock().expect("lock").values().cloned().collect()
    }
}

#[async_trait::async_trait]
impl Gateway for Scripted {
    async fn create(&self, intent: &PaymentIntent) -> Result<GatewayIntent, GatewayError> {
        TestGateway.create(intent).await
    }

    async fn confirm(
        &self,
        intent: &PaymentIntent,
        payment_method: &str,
    ) -> Result<Confirmation, GatewayError> {
        TestGateway.confirm(intent, payment_method).await
    }

    async fn cancel(&self, intent: &PaymentIntent) -> Result<(), GatewayError> {
        TestGateway.cancel(intent).await
    }

    async fn refund(
        &self,
        intent: &PaymentIntent,
        refund: &Refund,
    ) -> Result<GatewayRefund, GatewayError> {
        self.asked.lock().expect("lock").push(refund.clone());
        let next = self.refunds.lock().expect("lock").pop_front();
        let answer = match next {
            Some(Err(GatewayError::TimedOut(why))) => {
                let made = TestGateway.refund(intent, refund).await?;
                self.made.lock().expect("lock").insert(refund.id(), made);
                return Err(GatewayError::TimedOut(why));
            }
            Some(answer) => answer,
            None => TestGateway.refund(intent, refund).await,
        };
        if let Ok(made) = &answer {
            self.made
                .lock()
                .expect("lock")
                .insert(refund.id(), made.clone());
        }
        answer
    }

    fn refund_key_lifetime(&self) -> Option<time::Duration> {
        self.key_lifetime
    }

    async fn find_refund(
        &self,
        _intent: &PaymentIntent,
        refund: &Refund,
    ) -> Result<Option<GatewayRefund>, GatewayError> {
        Ok(self.made.lock().expect("lock").get(&refund.id()).cloned())
    }

    fn parse_event(&self, body: &[u8]) -> Result<GatewayEvent, GatewayEventError> {
        TestGateway.parse_event(body)
    }
}

pub(super) fn unavailable() -> Result<GatewayRefund, GatewayError> {
    Err(GatewayError::Unavailable("injected: no answer".into()))
}

/// Posts `event` as the test gateway signs it.
pub(super) async fn deliver(
    t: &TestApp,
    event: serde_json::Value,
) -> Result<EventOutcome, AppError> {
    let body = serde_json::to_vec(&event).expect("json");
    let signature = sign(
        WEBHOOK_SECRET.as_bytes(),
        t.clock_now().unix_timestamp(),
        &body,
    );
    gateway_events::receive(
        &t.app,
        GatewayId::Test,
        Some(&signature),
        &body,
        "delivery-1",
    )
    .await
}

fn refund_event(id: &str, kind: &str, refund: serde_json::Value) -> serde_json::Value {
    json!({"id": id, "object": "event", "type": kind, "created": 1_760_000_000,
        "data": {"object": refund}})
}

#[tokio::test]
async fn an_offline_payment_is_refunded_at_once_in_parts_then_in_full() {
    let t = TestApp::new();
    let (order, payment) = cash_payment(&t, 10_000).await;
    let first = refund(&t, &staff(), None, &payment, ask(Some(2_500)))
        .await
        .expect("refunded");
    assert_eq!(
        first.status(),
        RefundStatus::Succeeded,
        "the caller says so"
    );
    assert_eq!(first.gateway(), None);
    assert_eq!(first.amount().minor(), 2_500);
    let second = refund(&t, &service(), None, &payment, ask(Some(1_500)))
        .await
        .expect("refunded");
    assert_ne!(second.id(), first.id());
    let read = stored_payment(&t, &payment).await;
    assert_eq!(
        (read.status(), read.refunded_minor()),
        (PaymentStatus::Completed, 4_000)
    );

    // By default, all that remains.
    let rest = refund(&t, &service(), None, &payment, ask(None))
        .await
        .expect("refunded");
    assert_eq!(rest.amount().minor(), 6_000);
    let read = stored_payment(&t, &payment).await;
    assert_eq!(
        (read.status(), read.refunded_minor()),
        (PaymentStatus::Refunded, 10_000)
    );
    let payable = t.payable(order.payable()).await;
    assert_eq!(payable.status(), PayableStatus::Paid);
    assert_eq!(payable.refunded_minor(), 10_000);

    let listed = refunds::list(&t.app, &service(), &payment.id(), &PageRequest::first(10))
        .await
        .expect("list");
    assert_eq!(
        listed.items.iter().map(|r| r.id()).collect::<Vec<_>>(),
        vec![rest.id(), second.id(), first.id()],
        "newest first"
    );
}

#[tokio::test]
async fn more_than_remains_nothing_and_unrefundable_payments_are_refused() {
    let t = TestApp::new();
    let (_, payment) = cash_payment(&t, 10_000).await;
    refund(&t, &service(), None, &payment, ask(Some(7_000)))
        .await
        .expect("refunded");
    let err = refund(&t, &service(), None, &payment, ask(Some(3_001)))
        .await
        .expect_err("too much");
    assert!(
        matches!(err, AppError::Refund(RefundRefused::MoreThanRemains(m)) if m.minor() == 3_000),
        "{err:?}"
    );
    let err = refund(&t, &service(), None, &payment, ask(Some(0)))
        .await
        .expect_err("nothing");
    assert!(
        matches!(err, AppError::Refund(RefundRefused::NotPositive)),
        "{err:?}"
    );
    refund(&t, &service(), None, &payment, ask(None))
        .await
        .expect("the rest");
    let err = refund(&t, &service(), None, &payment, ask(None))
        .await
        .expect_err("nothing left");
    assert!(
        matches!(err, AppError::Refund(RefundRefused::FullyRefunded)),
        "{err:?}"
    );

    let owner = person(&[]);
    let order = t.order(&owner, 5_000).await;
    let pending = payments::record(
        &t.app,
        &Actor::Person(owner),
        order.payable(),
        stated("50.00"),
        PaymentMethod::Cash,
        PaymentStatus::Pending,
    )
    .await
    .expect("recorded");
    let err = refund(&t, &service(), None, &pending, ask(None))
        .await
        .expect_err("pending");
    assert!(
        matches!(
            err,
            AppError::Refund(RefundRefused::NotCompleted("PENDING"))
        ),
        "{err:?}"
    );
    let err = refunds::create(
        &t.app,
        &service(),
        None,
        &crate::domain::PaymentId::new(),
        &ask(None),
    )
    .await
    .expect_err("unknown");
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn only_admin_staff_and_backends_refund_and_support_only_reads() {
    let t = TestApp::new();
    let (_, payment) = cash_payment(&t, 10_000).await;
    for refunder in [Actor::Person(person(&[Role::Admin])), staff(), service()] {
        refund(&t, &refunder, None, &payment, ask(Some(100)))
            .await
            .expect("may refund");
        refunds::list(&t.app, &refunder, &payment.id(), &PageRequest::first(10))
            .await
            .expect("may read");
    }
    let payer = Actor::Person(Caller {
        user_id: payment.payer_user_id().clone(),
        email: None,
        roles: vec![],
    });
    for refused in [Actor::Person(person(&[Role::Support])), payer] {
        let err = refund(&t, &refused, None, &payment, ask(Some(100)))
            .await
            .expect_err("may not refund");
        assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
    }
    refunds::list(
        &t.app,
        &Actor::Person(person(&[Role::Support])),
        &payment.id(),
        &PageRequest::first(10),
    )
    .await
    .expect("support reads");
    let err = refunds::list(
        &t.app,
        &Actor::Person(Caller {
            user_id: payment.payer_user_id().clone(),
            email: None,
            roles: vec![],
        }),
        &payment.id(),
        &PageRequest::first(10),
    )
    .await
    .expect_err("the payer does not");
    assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
    assert_eq!(stored_payment(&t, &payment).await.refunded_minor(), 300);
}

#[tokio::test]
async fn a_card_payment_is_refunded_through_its_gateway_findable_by_its_id() {
    let t = TestApp::new();
    let (_, intent, payment) = card_payment(&t).await;
    assert!(payment.collected_by(&intent));
    let refunded = refund(&t, &staff(), None, &payment, ask(Some(1_000)))
        .await
        .expect("refunded");
    assert_eq!(refunded.status(), RefundStatus::Succeeded);
    assert_eq!(refunded.gateway(), Some(GatewayId::Test));
    let gateway_id = refunded.gateway_refund_id().clone().expect("named");
    assert!(gateway_id.starts_with("re_test_"), "{gateway_id}");
    assert_eq!(stored_refund(&t, &refunded).await, refunded);
    let found = t
        .direct
        .refunds
        .find_refund_by_gateway_id(GatewayId::Test, &gateway_id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(found.id(), refunded.id());
    assert_eq!(stored_payment(&t, &payment).await.refunded_minor(), 1_000);
}

#[tokio::test]
async fn a_retry_under_the_same_key_answers_with_the_same_refund() {
    let t = TestApp::new();
    let (_, payment) = cash_payment(&t, 10_000).await;
    let key = RequestKey::new("service:0123abcd", "refund-key-1");
    let first = refund(&t, &service(), Some(&key), &payment, ask(Some(2_000)))
        .await
        .expect("refunded");
    assert_eq!(first.id(), key.refund_id());
    let again = refund(&t, &service(), Some(&key), &payment, ask(Some(2_000)))
        .await
        .expect("the same");
    assert_eq!(again, first);
    assert_eq!(stored_payment(&t, &payment).await.refunded_minor(), 2_000);
    let err = refund(&t, &service(), Some(&key), &payment, ask(Some(3_000)))
        .await
        .expect_err("another request");
    assert!(matches!(err, AppError::KeyReused), "{err:?}");
}

#[tokio::test]
async fn a_gateway_fault_leaves_the_refund_pending_and_the_retry_asks_for_the_same_one() {
    let mut t = TestApp::new();
    let scripted = Scripted::install(&mut t, vec![unavailable()]);
    let (_, _, payment) = card_payment(&t).await;
    let key = RequestKey::new("service:0123abcd", "refund-key-2");
    let err = refund(&t, &service(), Some(&key), &payment, ask(None))
        .await
        .expect_err("gateway down");
    assert!(
        matches!(err, AppError::Gateway(GatewayError::Unavailable(_))),
        "{err:?}"
    );
    let pending = t
        .direct
        .refunds
        .get_refund(&key.refund_id())
        .await
        .expect("read")
        .expect("reserved before the gateway was asked");
    assert_eq!(pending.status(), RefundStatus::Pending);
    // Held: nobody else may refund that money meanwhile; not refunded yet.
    let read = stored_payment(&t, &payment).await;
    assert_eq!(
        (
            read.status(),
            read.refunded_minor(),
            read.refund_held_minor()
        ),
        (PaymentStatus::Completed, 0, 5_000)
    );
    let err = refund(&t, &staff(), None, &payment, ask(Some(1)))
        .await
        .expect_err("held");
    assert!(
        matches!(err, AppError::Refund(RefundRefused::HeldByPending)),
        "{err:?}"
    );

    let done = refund(&t, &service(), Some(&key), &payment, ask(None))
        .await
        .expect("refunded on retry");
    assert_eq!(done.id(), pending.id());
    assert_eq!(done.status(), RefundStatus::Succeeded);
    let read = stored_payment(&t, &payment).await;
    assert_eq!(
        (
            read.status(),
            read.refunded_minor(),
            read.refund_held_minor()
        ),
        (PaymentStatus::Refunded, 5_000, 5_000)
    );
    let asked = scripted.asked();
    assert_eq!(asked.len(), 2);
    assert!(
        asked.iter().all(|r| r.id() == pending.id()),
        "one refund, asked twice"
    );
    let listed = refunds::list(&t.app, &service(), &payment.id(), &PageRequest::first(10))
        .await
        .expect("list");
    assert_eq!(listed.items.len(), 1);
}

#[tokio::test]
async fn a_refused_refund_fails_and_gives_its_amount_back() {
    let mut t = TestApp::new();
    Scripted::install(
        &mut t,
        vec![Err(GatewayError::Refused("charge_already_refunded".into()))],
    );
    let (order, _, payment) = card_payment(&t).await;
    let failed = refund(&t, &staff(), None, &payment, ask(None))
        .await
        .expect("an outcome, not an error");
    assert_eq!(failed.status(), RefundStatus::Failed);
    let read = stored_payment(&t, &payment).await;
    assert_eq!(
        (read.status(), read.refunded_minor()),
        (PaymentStatus::Completed, 0)
    );
    assert_eq!(t.payable(order.payable()).await.refunded_minor(), 0);
    let again = refund(&t, &staff(), None, &payment, ask(Some(500)))
        .await
        .expect("refundable again");
    assert_eq!(again.status(), RefundStatus::Succeeded);
}

#[tokio::test]
async fn a_pending_refund_moves_on_by_signed_webhook_and_a_failed_one_gives_back() {
    let mut t = TestApp::new();
    let pending = |id: &str| {
        Ok(GatewayRefund {
            id: id.into(),
            status: RefundStatus::Pending,
            refund_id: None,
        })
    };
    Scripted::install(&mut t, vec![pending("re_slow_1"), pending("re_slow_2")]);
    let (order, _, payment) = card_payment(&t).await;
    let one = refund(&t, &staff(), None, &payment, ask(Some(1_000)))
        .await
        .expect("asked");
    assert_eq!(one.status(), RefundStatus::Pending);
    assert_eq!(one.gateway_refund_id().as_deref(), Some("re_slow_1"));
    let two = refund(&t, &staff(), None, &payment, ask(Some(2_000)))
        .await
        .expect("asked");

    let succeeded = refund_event(
        "evt_r1",
        "refund.updated",
        json!({"id": "re_slow_1", "object": "refund", "status": "succeeded"}),
    );
    assert_eq!(
        deliver(&t, succeeded.clone()).await.expect("handled"),
        EventOutcome::Applied
    );
    assert_eq!(
        stored_refund(&t, &one).await.status(),
        RefundStatus::Succeeded
    );
    assert_eq!(
        deliver(&t, succeeded).await.expect("handled"),
        EventOutcome::Duplicate
    );

    // charge.refunded names every refund of the charge; the second failed.
    let charge = refund_event(
        "evt_c1",
        "charge.refunded",
        json!({"id": "ch_1", "object": "charge", "refunds": {"data": [
            {"id": "re_slow_1", "status": "succeeded"},
            {"id": "re_slow_2", "status": "failed"},
            {"id": "re_someone_elses", "status": "succeeded"}]}}),
    );
    assert_eq!(
        deliver(&t, charge).await.expect("handled"),
        EventOutcome::Applied
    );
    assert_eq!(stored_refund(&t, &two).await.status(), RefundStatus::Failed);
    let read = stored_payment(&t, &payment).await;
    assert_eq!(read.refunded_minor(), 1_000, "the failed 20.00 is back");
    assert_eq!(t.payable(order.payable()).await.refunded_minor(), 1_000);

    // Backwards, or about a refund we never made: acknowledged, no effect.
    let stale = refund_event(
        "evt_r2",
        "refund.updated",
        json!({"id": "re_slow_2", "object": "refund", "status": "succeeded"}),
    );
    assert_eq!(
        deliver(&t, stale).await.expect("handled"),
        EventOutcome::Ignored
    );
    let unknown = refund_event(
        "evt_r3",
        "refund.updated",
        json!({"id": "re_nobody", "object": "refund", "status": "failed"}),
    );
    assert_eq!(
        deliver(&t, unknown).await.expect("handled"),
        EventOutcome::Ignored
    );
    assert_eq!(stored_payment(&t, &payment).await.refunded_minor(), 1_000);
}

#[tokio::test]
async fn a_webhook_that_outruns_our_record_finds_the_refund_by_our_id() {
    let mut t = TestApp::new();
    Scripted::install(&mut t, vec![unavailable()]);
    let (_, _, payment) = card_payment(&t).await;
    let key = RequestKey::new("service:0123abcd", "refund-key-3");
    refund(&t, &service(), Some(&key), &payment, ask(Some(700)))
        .await
        .expect_err("no answer");
    // The gateway did make it, and says so before we learn its id.
    let event = refund_event(
        "evt_early",
        "refund.updated",
        json!({"id": "re_early", "object": "refund", "status": "succeeded",
            "metadata": {"refund_id": key.refund_id().to_string()}}),
    );
    assert_eq!(
        deliver(&t, event).await.expect("handled"),
        EventOutcome::Applied
    );
    let stored = t
        .direct
        .refunds
        .find_refund_by_gateway_id(GatewayId::Test, "re_early")
        .await
        .expect("read")
        .expect("named now");
    assert_eq!(stored.id(), key.refund_id());
    assert_eq!(stored.status(), RefundStatus::Succeeded);
    // The retry finds it named by the gateway and does not ask again.
    let done = refund(&t, &service(), Some(&key), &payment, ask(Some(700)))
        .await
        .expect("the same refund");
    assert_eq!(done, stored);
}

#[tokio::test]
async fn a_crash_after_the_reservation_is_finished_by_the_retry() {
    let t = TestApp::with_faults(vec![Fault::CrashAfter {
        op: "create_refund",
        nth: 1,
    }]);
    let (_, _, payment) = card_payment(&t).await;
    let key = RequestKey::new("service:0123abcd", "refund-key-4");
    refund(&t, &service(), Some(&key), &payment, ask(Some(900)))
        .await
        .expect_err("died after reserving");
    let after = t.restarted();
    let done = refund(&after, &service(), Some(&key), &payment, ask(Some(900)))
        .await
        .expect("finished");
    assert_eq!(done.id(), key.refund_id());
    assert_eq!(done.status(), RefundStatus::Succeeded);
    assert_eq!(stored_payment(&after, &payment).await.refunded_minor(), 900);
}

#[tokio::test]
async fn concurrent_refunds_never_give_back_more_than_the_payment() {
    let t = Arc::new(TestApp::new());
    let (_, payment) = cash_payment(&t, 10_000).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let t = t.clone();
            let payment = payment.clone();
            tokio::spawn(
                async move { refund(&t, &service(), None, &payment, ask(Some(1_500))).await },
            )
        })
        .collect();
    let mut made = 0;
    for task in tasks {
        if task.await.expect("task").is_ok() {
            made += 1;
        }
    }
    assert!(
        (1..=6).contains(&made),
        "six of 15.00 fit in 100.00: {made}"
    );
    assert_eq!(
        stored_payment(&t, &payment).await.refunded_minor(),
        1_500 * made
    );
}
