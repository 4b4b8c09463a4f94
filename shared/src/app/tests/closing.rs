//! Ending an intent a card gateway holds: it ends at the gateway first, a
//! gateway that has the money (or is taking it) keeps the intent as it is,
//! and money that still arrives for an intent ended another way is recorded
//! for review, never dropped.

use std::sync::{Arc, Mutex};

use serde_json::json;

use super::gateway_events::card_intent;
use super::refunds::deliver;
use super::{TestApp, person};
use crate::adapters::test_gateway::TestGateway;
use crate::app::AppError;
use crate::app::intents::{self, Ending};
use crate::app::payment_intents;
use crate::app::payments;
use crate::app::refunds::{self, RefundRequest};
use crate::app::shop::{self, PaidWith};
use crate::auth::Actor;
use crate::auth::{Role, ServiceCaller};
use crate::domain::{Confirmation, GatewayId, IntentStatus, PayableStatus, PaymentIntent, Refund};
use crate::ports::{
    GatewayError, GatewayEvent, GatewayEventError, GatewayIntent, GatewayRefund, Gateways,
    PageRequest,
};

/// The test gateway, but one whose cancel answers as told (and counts).
struct Holding {
    cancel: Result<(), GatewayError>,
    cancels: Mutex<u32>,
}

impl Holding {
    fn install(t: &mut TestApp, cancel: Result<(), GatewayError>) -> Arc<Self> {
        let gateway = Arc::new(Self {
            cancel,
            cancels: Mutex::new(0),
        });
        t.app.gateways = Gateways::none().with_test(gateway.clone());
        gateway
    }

    fn cancels(&self) -> u32 {
        *self.cancels.lock().expect("lock")
    }
}

#[async_trait::async_trait]
impl crate::ports::Gateway for Holding {
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

    async fn cancel(&self, _: &PaymentIntent) -> Result<(), GatewayError> {
        *self.cancels.lock().expect("lock") += 1;
        self.cancel.clone()
    }

    async fn refund(
        &self,
        intent: &PaymentIntent,
        refund: &Refund,
    ) -> Result<GatewayRefund, GatewayError> {
        TestGateway.refund(intent, refund).await
    }

    fn parse_event(&self, body: &[u8]) -> Result<GatewayEvent, GatewayEventError> {
        TestGateway.parse_event(body)
    }
}

async fn stored(t: &TestApp, intent: &PaymentIntent) -> PaymentIntent {
    t.direct
        .intents
        .get_intent(&intent.id())
        .await
        .expect("read")
        .expect("intent")
}

fn backend() -> Actor {
    Actor::Service(ServiceCaller {
        key_id: "0123abcd".into(),
    })
}

#[tokio::test]
async fn every_way_of_ending_a_card_intent_leaves_it_to_a_gateway_that_has_the_money() {
    for status in ["already collected", "started collecting"] {
        let mut t = TestApp::new();
        let gateway = Holding::install(&mut t, Err(GatewayError::Collecting(status)));
        let payer = person(&[]);
        let admin = person(&[Role::Admin]);
        let (order, intent) = card_intent(&t, &payer).await;
        let id = intent.id();
        fn collecting<T>(r: Result<T, AppError>) -> bool {
            matches!(r, Err(AppError::Gateway(GatewayError::Collecting(_))))
        }
        assert!(collecting(
            intents::end(&t.app, &payer, &id, Ending::Cancel, None).await
        ));
        assert!(collecting(
            intents::end(&t.app, &admin, &id, Ending::Fail, Some("fraud")).await
        ));
        assert!(collecting(
            payment_intents::cancel(&t.app, &payer, &id).await
        ));
        assert!(collecting(
            shop::mark_paid(&t.app, order.payable(), &PaidWith::default()).await
        ));
        assert_eq!(gateway.cancels(), 4, "each asked the gateway first");
        assert_eq!(
            stored(&t, &intent).await,
            intent,
            "nothing changed: {status}"
        );
        assert_eq!(
            t.payable(order.payable()).await.status(),
            PayableStatus::Open
        );
        let payments =
            payments::list_for_order(&t.app, &backend(), order.payable(), &PageRequest::first(10))
                .await
                .expect("payments");
        assert!(payments.items.is_empty());
    }
}

#[tokio::test]
async fn the_otp_apis_cancel_and_fail_end_a_card_intent_at_its_gateway_first() {
    let mut t = TestApp::new();
    let gateway = Holding::install(&mut t, Ok(()));
    let payer = person(&[]);
    let (_, first) = card_intent(&t, &payer).await;
    let canceled = intents::end(&t.app, &payer, &first.id(), Ending::Cancel, None)
        .await
        .expect("canceled");
    assert_eq!(canceled.status(), IntentStatus::Canceled);
    let (_, second) = card_intent(&t, &payer).await;
    let failed = intents::end(&t.app, &payer, &second.id(), Ending::Fail, None)
        .await
        .expect("failed");
    assert_eq!(failed.status(), IntentStatus::Failed);
    assert_eq!(gateway.cancels(), 2);
    // An intent that has ended asks nothing more of the gateway.
    assert!(
        intents::end(&t.app, &payer, &first.id(), Ending::Cancel, None)
            .await
            .is_err()
    );
    assert_eq!(gateway.cancels(), 2);
}

#[tokio::test]
async fn money_that_arrives_after_mark_paid_is_recorded_for_review_and_refunded_apart() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = card_intent(&t, &payer).await;
    shop::mark_paid(
        &t.app,
        order.payable(),
        &PaidWith {
            reference: intent.gateway_intent_id().clone(),
            ..PaidWith::default()
        },
    )
    .await
    .expect("paid offline");
    // The gateway collects anyway (its 3-D Secure page was still open).
    deliver(
        &t,
        json!({
            "id": "evt_late", "object": "event", "type": "payment_intent.succeeded",
            "created": 1_760_000_000,
            "data": {"object": {"id": intent.gateway_intent_id().clone().expect("gateway id"),
                "object": "payment_intent"}},
        }),
    )
    .await
    .expect("acknowledged");
    let list =
        payments::list_for_order(&t.app, &backend(), order.payable(), &PageRequest::first(10))
            .await
            .expect("payments");
    assert_eq!(list.items.len(), 2, "the offline payment and the card's");
    let (late, offline): (Vec<_>, Vec<_>) = list
        .items
        .into_iter()
        .partition(|p| p.intent_id().is_some());
    let (late, offline) = (&late[0], &offline[0]);
    assert_eq!(
        late.review_reason().as_deref(),
        Some("gateway_succeeded_after_canceled")
    );
    assert_eq!(offline.review_reason(), &None);
    assert_eq!(
        t.payable(order.payable()).await.status(),
        PayableStatus::Paid
    );

    // Refunds go back the way the money came: the card's through the
    // gateway, the offline one without it (the reference is only a name).
    let staff = Actor::Person(person(&[Role::Staff]));
    let ask = RefundRequest {
        amount_minor: None,
        reason: None,
    };
    let card_refund = refunds::create(&t.app, &staff, None, &late.id(), &ask)
        .await
        .expect("refunded");
    assert_eq!(card_refund.gateway(), Some(GatewayId::Test));
    let offline_refund = refunds::create(&t.app, &staff, None, &offline.id(), &ask)
        .await
        .expect("refunded");
    assert_eq!(offline_refund.gateway(), None);
}
