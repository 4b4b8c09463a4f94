//! Events as the use cases leave them, read through the events use case:
//! one per change, never twice, whatever fails around the write.

use time::Duration;

use super::{TestApp, person};
use crate::adapters::faulty::Fault;
use crate::app::events;
use crate::app::payment_intents::{self, NewGatewayIntent};
use crate::auth::{Caller, Role};
use crate::domain::{Event, EventObject, EventType, GatewayId, PayableRef, PaymentIntent};
use crate::ports::{EventFilter, PageRequest};

fn of(object_id: &str) -> EventFilter {
    EventFilter {
        kind: None,
        object_id: Some(object_id.to_owned()),
    }
}

fn typed(kind: EventType) -> EventFilter {
    EventFilter {
        kind: Some(kind),
        object_id: None,
    }
}

async fn listed(t: &TestApp, filter: &EventFilter) -> Vec<Event> {
    events::list(&t.app, filter, &PageRequest::first(100))
        .await
        .expect("events")
        .items
}

async fn types(t: &TestApp, filter: &EventFilter) -> Vec<&'static str> {
    listed(t, filter)
        .await
        .iter()
        .map(|e| e.kind.as_str())
        .collect()
}

async fn card_intent(t: &TestApp, payer: &Caller) -> (PayableRef, PaymentIntent) {
    let order = t.order(payer, 5_000).await;
    let new = NewGatewayIntent {
        payable: Some(order.payable().clone()),
        amount: None,
        gateway: Some(GatewayId::Test),
        description: None,
        return_url: None,
        cancel_url: None,
    };
    let (intent, _) = payment_intents::create(&t.app, payer, new, None)
        .await
        .expect("created");
    (order.payable().clone(), intent)
}

/// The test clock stands still unless moved; events list by when they happened.
fn later(t: &TestApp) {
    t.clock.advance(Duration::seconds(1));
}

#[tokio::test]
async fn each_change_a_use_case_makes_is_listed_newest_first_for_thirty_days() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = card_intent(&t, &payer).await;
    let id = intent.id();
    later(&t);
    payment_intents::confirm(&t.app, &payer, &id, "pm_card_chargeDeclined")
        .await
        .expect("declined");
    later(&t);
    let paid = payment_intents::confirm(&t.app, &payer, &id, "pm_card_visa")
        .await
        .expect("paid");
    assert_eq!(
        types(&t, &of(&id.to_string())).await,
        [
            "payment_intent.succeeded",
            "payment_intent.payment_failed",
            "payment_intent.created"
        ]
    );
    assert_eq!(types(&t, &of(&order.to_string())).await, ["payable.paid"]);
    let completed = listed(&t, &typed(EventType::PaymentCompleted)).await;
    assert_eq!(completed.len(), 1);
    let EventObject::Payment(payment) = &completed[0].object else {
        panic!("a payment event");
    };
    assert_eq!(payment.intent_id(), Some(paid.id()));
    assert_eq!(completed[0].created, t.clock_now());

    // Support reading the intent changes nothing and announces nothing.
    payment_intents::get_for_staff(&t.app, &person(&[Role::Support]), &id)
        .await
        .expect("read");
    assert_eq!(listed(&t, &EventFilter::default()).await.len(), 6);

    t.clock.advance(Duration::days(30) - Duration::seconds(1));
    assert_eq!(
        types(&t, &EventFilter::default()).await,
        [
            "payable.paid",
            "payment.completed",
            "payment.created",
            "payment_intent.succeeded"
        ],
        "the last change's, 30 days less a second old"
    );
    later(&t);
    assert!(listed(&t, &EventFilter::default()).await.is_empty());
}

#[tokio::test]
async fn a_write_sent_twice_records_its_events_once() {
    let t = TestApp::with_faults(vec![Fault::SentTwice {
        op: "finish_intent",
        nth: 1,
    }]);
    let payer = person(&[]);
    let (order, intent) = card_intent(&t, &payer).await;
    later(&t);
    let _ = payment_intents::confirm(&t.app, &payer, &intent.id(), "pm_card_visa").await;
    assert_eq!(
        types(&t, &of(&intent.id().to_string())).await,
        ["payment_intent.succeeded", "payment_intent.created"]
    );
    assert_eq!(types(&t, &of(&order.to_string())).await, ["payable.paid"]);
    assert_eq!(listed(&t, &typed(EventType::PaymentCreated)).await.len(), 1);
}

#[tokio::test]
async fn a_lost_answer_leaves_the_events_of_the_write_it_made_once() {
    let t = TestApp::with_faults(vec![Fault::LoseAnswer {
        op: "finish_intent",
        nth: 1,
    }]);
    let payer = person(&[]);
    let (_, intent) = card_intent(&t, &payer).await;
    let id = intent.id();
    later(&t);
    let _ = payment_intents::confirm(&t.app, &payer, &id, "pm_card_visa").await;
    // The caller retries: the intent has succeeded, nothing more is written.
    later(&t);
    let _ = payment_intents::confirm(&t.app, &payer, &id, "pm_card_visa").await;
    assert_eq!(
        types(&t, &of(&id.to_string())).await,
        ["payment_intent.succeeded", "payment_intent.created"]
    );
    assert_eq!(
        listed(&t, &typed(EventType::PaymentCompleted)).await.len(),
        1
    );
}

#[tokio::test]
async fn a_cursor_pages_through_the_list_and_opens_no_other() {
    let t = TestApp::new();
    let payer = person(&[]);
    for _ in 0..3 {
        card_intent(&t, &payer).await;
        later(&t);
    }
    let filter = typed(EventType::IntentCreated);
    let first = events::list(&t.app, &filter, &PageRequest::first(2))
        .await
        .expect("page");
    assert_eq!(first.items.len(), 2);
    let cursor = first.next.expect("more");
    let second = events::list(&t.app, &filter, &PageRequest::after(2, &cursor))
        .await
        .expect("page");
    assert_eq!(second.items.len(), 1);
    assert!(second.next.is_none());
    assert!(first.items[1].created > second.items[0].created);
    let other = events::list(
        &t.app,
        &EventFilter::default(),
        &PageRequest::after(2, &cursor),
    )
    .await;
    assert!(
        matches!(
            other,
            Err(crate::app::AppError::Store(
                crate::ports::StoreError::BadCursor
            ))
        ),
        "{other:?}"
    );
}
