//! Events: every change writes its events with it, a write that loses writes
//! none, and the lists read them back newest first.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use super::*;
use crate::domain::intent::Confirmation;
use crate::domain::{Event, EventObject, EventType, NextAction};
use crate::ports::EventFilter;

/// Every unexpired event of `filter`, newest first, however many pages.
pub async fn all_events(s: &Stores, filter: &EventFilter) -> Vec<Event> {
    let mut events = Vec::new();
    let mut request = PageRequest::first(3);
    for _ in 0..100 {
        let page = s
            .events
            .list_events(filter, &request, now())
            .await
            .expect("list events");
        assert!(page.items.len() <= 3);
        events.extend(page.items);
        request.cursor = page.next;
        if request.cursor.is_none() {
            return events;
        }
    }
    panic!("more than 100 pages of events");
}

fn of_object(object_id: &str) -> EventFilter {
    EventFilter {
        kind: None,
        object_id: Some(object_id.to_owned()),
    }
}

/// The types of `object_id`'s events, newest first.
pub async fn types_of(s: &Stores, object_id: &str) -> Vec<&'static str> {
    all_events(s, &of_object(object_id))
        .await
        .iter()
        .map(|e| e.kind.as_str())
        .collect()
}

fn redirect() -> Confirmation {
    Confirmation::RequiresAction {
        next_action: NextAction {
            kind: "redirect_to_url".into(),
            url: Some("https://gateway.test/authenticate".into()),
        },
    }
}

fn declined() -> Confirmation {
    Confirmation::Declined {
        reason: "card_declined".into(),
    }
}

/// Applies `outcome` to the stored `intent` and saves it.
async fn confirm(s: &Stores, intent: &mut PaymentIntent, outcome: &Confirmation) {
    let expected = Expected::of(intent);
    intent.apply_confirmation(outcome, now()).expect("confirm");
    s.intents.save_intent(intent, expected).await.expect("save");
}

pub async fn every_change_of_an_intent_writes_its_events_with_it(s: &Stores) {
    let order = stored_order(s, &new_user(), 5_000).await;
    let mut intent = open_on(s, &order).await;
    let id = intent.id().to_string();
    assert_eq!(types_of(s, &id).await, ["payment_intent.created"]);

    confirm(s, &mut intent, &redirect()).await;
    confirm(s, &mut intent, &declined()).await;
    assert_eq!(
        types_of(s, &id).await,
        [
            "payment_intent.payment_failed",
            "payment_intent.requires_action",
            "payment_intent.created"
        ]
    );

    let (mut done, payment) = succeed(&intent);
    s.intents
        .finish_intent(&mut done, Expected::of(&intent), Some(&payment))
        .await
        .expect("finish");
    assert_eq!(
        types_of(s, &id).await,
        [
            "payment_intent.succeeded",
            "payment_intent.payment_failed",
            "payment_intent.requires_action",
            "payment_intent.created"
        ]
    );
    assert_eq!(
        types_of(s, &payment.id().to_string()).await,
        ["payment.completed", "payment.created"],
        "one change's events newest first: the payment completed after it was created"
    );
    let payable_id = order.payable().to_string();
    assert_eq!(types_of(s, &payable_id).await, ["payable.paid"]);

    // Each event holds its object as the change stored it.
    let all = all_events(s, &EventFilter::default()).await;
    assert_eq!(all.len(), 7, "{all:?}");
    let stored = s
        .intents
        .get_intent(&intent.id())
        .await
        .expect("read")
        .expect("intent");
    let succeeded = all
        .iter()
        .find(|e| e.kind == EventType::IntentSucceeded)
        .expect("succeeded");
    let shown = PaymentIntent::restore(
        crate::domain::intent::IntentParts {
            client_secret: None,
            ..stored.clone().into_parts()
        },
        stored.version(),
    );
    assert_eq!(succeeded.object, EventObject::Intent(shown));
    assert_eq!(succeeded.created, done.updated_at());
    let created = all
        .iter()
        .find(|e| e.kind == EventType::PaymentCreated)
        .expect("payment.created");
    assert_eq!(created.object, EventObject::Payment(payment.clone()));
    let paid = all
        .iter()
        .find(|e| e.kind == EventType::PayablePaid)
        .expect("payable.paid");
    assert_eq!(paid.object, EventObject::Payable(payable(s, &order).await));
    assert_eq!(
        s.events.get_event(&paid.id, now()).await.expect("read"),
        Some(paid.clone())
    );
}

pub async fn ended_intents_and_late_money_write_their_events(s: &Stores) {
    let order = stored_order(s, &new_user(), 5_000).await;
    let mut canceled = open_on(s, &order).await;
    let expected = Expected::of(&canceled);
    canceled
        .cancel("requested_by_customer", now())
        .expect("cancel");
    s.intents
        .finish_intent(&mut canceled, expected, None)
        .await
        .expect("cancel");
    assert_eq!(
        types_of(s, &canceled.id().to_string()).await,
        ["payment_intent.canceled", "payment_intent.created"]
    );
    assert!(
        types_of(s, &order.payable().to_string()).await.is_empty(),
        "a freed payable announces nothing"
    );

    // Money the gateway collected anyway: the payment is announced, the
    // intent's status did not change.
    let expected = Expected::of(&canceled);
    let mut flagged = canceled.clone();
    flagged.on_gateway_succeeded(now()).expect("flagged");
    let late = Payment::for_intent(
        &flagged,
        PaymentMethod::Card,
        "pi_test_late".into(),
        &FeeSchedule::standard(),
        now(),
    );
    s.intents
        .record_late_success(&mut flagged, expected, &late)
        .await
        .expect("late");
    assert_eq!(
        types_of(s, &canceled.id().to_string()).await,
        ["payment_intent.canceled", "payment_intent.created"]
    );
    assert_eq!(
        types_of(s, &late.id().to_string()).await,
        ["payment.completed", "payment.created"]
    );

    let mut failed = new_intent(&new_user(), None, GatewayId::Test);
    s.intents.open_intent(&mut failed).await.expect("open");
    let expected = Expected::of(&failed);
    failed.fail("marked_failed_by_admin", now()).expect("fail");
    s.intents
        .finish_intent(&mut failed, expected, None)
        .await
        .expect("fail");
    assert_eq!(
        types_of(s, &failed.id().to_string()).await,
        ["payment_intent.payment_failed", "payment_intent.created"]
    );
}

pub async fn a_save_that_enters_no_announced_status_writes_no_event(s: &Stores) {
    let mut intent = new_intent(&new_user(), None, GatewayId::Otp);
    s.intents.open_intent(&mut intent).await.expect("open");
    let policy = OtpPolicy::STANDARD;
    let hash = OtpHash::compute(
        b"pepper",
        &intent.id(),
        &OtpCode::parse("123456").expect("code"),
    );
    let sent_at = now();
    for t in [sent_at, sent_at + Duration::seconds(31)] {
        let expected = Expected::of(&intent);
        intent.issue_otp(hash.clone(), t, &policy).expect("issue");
        s.intents
            .save_intent(&mut intent, expected)
            .await
            .expect("save");
    }
    assert_eq!(
        types_of(s, &intent.id().to_string()).await,
        ["payment_intent.requires_action", "payment_intent.created"],
        "a code sent again is no new event"
    );
    let EventObject::Intent(shown) = &all_events(s, &EventFilter::default()).await[0].object else {
        panic!("an intent event");
    };
    assert!(shown.otp().is_none(), "an event never holds a code's hash");
}

pub async fn payments_and_settling_write_their_events(s: &Stores) {
    let order = stored_order(s, &new_user(), 10_000).await;
    let pending = record_of(&order, 3_000, PaymentStatus::Pending);
    s.payments
        .record_payment(&pending, &order)
        .await
        .expect("record");
    let read = payable(s, &order).await;
    let failed = record_of(&read, 500, PaymentStatus::Failed);
    s.payments
        .record_payment(&failed, &read)
        .await
        .expect("record");
    assert_eq!(
        types_of(s, &pending.id().to_string()).await,
        ["payment.created"]
    );
    assert_eq!(
        types_of(s, &failed.id().to_string()).await,
        ["payment.created"]
    );

    let read = payable(s, &order).await;
    let extra = record_of(&read, 7_000, PaymentStatus::Completed);
    let mut completing = pending.clone();
    completing
        .complete(&FeeSchedule::standard())
        .expect("pending");
    let settled_at = now();
    s.payables
        .complete_payable(
            &read,
            std::slice::from_ref(&completing),
            Some(&extra),
            settled_at,
        )
        .await
        .expect("settle");
    assert_eq!(
        types_of(s, &pending.id().to_string()).await,
        ["payment.completed", "payment.created"]
    );
    assert_eq!(
        types_of(s, &extra.id().to_string()).await,
        ["payment.completed", "payment.created"]
    );
    let paid = all_events(
        s,
        &EventFilter {
            kind: Some(EventType::PayablePaid),
            object_id: None,
        },
    )
    .await;
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0].created, settled_at);
    assert_eq!(
        paid[0].object,
        EventObject::Payable(payable(s, &order).await)
    );
    let completed = all_events(
        s,
        &EventFilter {
            kind: Some(EventType::PaymentCompleted),
            object_id: Some(pending.id().to_string()),
        },
    )
    .await;
    let stored = s
        .payments
        .get_payment(&pending.id())
        .await
        .expect("read")
        .expect("payment");
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0].object, EventObject::Payment(stored));

    // One COMPLETED payment for the whole: created, completed, and the payable paid.
    let other = stored_order(s, &new_user(), 2_000).await;
    let full = record_of(&other, 2_000, PaymentStatus::Completed);
    s.payments
        .record_payment(&full, &other)
        .await
        .expect("record");
    assert_eq!(
        types_of(s, &full.id().to_string()).await,
        ["payment.completed", "payment.created"]
    );
    let paid = all_events(
        s,
        &EventFilter {
            kind: Some(EventType::PayablePaid),
            object_id: Some(other.payable().to_string()),
        },
    )
    .await;
    assert_eq!(paid.len(), 1);
    assert_eq!(
        paid[0].object,
        EventObject::Payable(payable(s, &other).await)
    );
}

/// The events are part of the write: a write whose condition no longer holds
/// stores neither its change nor its events.
pub async fn a_write_that_loses_writes_no_event(s: &Stores) {
    let order = stored_order(s, &new_user(), 5_000).await;
    let mut intent = open_on(s, &order).await;
    let stale = Expected::of(&intent);
    confirm(s, &mut intent, &redirect()).await;
    let before = all_events(s, &EventFilter::default()).await;
    assert_eq!(before.len(), 2);

    // Saved against a version that moved on.
    let mut lost = intent.clone();
    lost.cancel("requested_by_customer", now()).expect("cancel");
    let r = s.intents.save_intent(&mut lost, stale).await;
    assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");
    let r = s.intents.finish_intent(&mut lost, stale, None).await;
    assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");
    let (mut done, payment) = succeed(&intent);
    let r = s
        .intents
        .finish_intent(&mut done, stale, Some(&payment))
        .await;
    assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");
    let r = s
        .intents
        .record_late_success(&mut done, stale, &payment)
        .await;
    assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");
    // A second intent for the held payable, and a standalone id stored twice.
    let mut second = new_intent(&order.owner().user_id, Some(&order), GatewayId::Test);
    let r = s.intents.open_intent(&mut second).await.expect("open");
    assert!(matches!(r, OpenOutcome::PayableHasOpenIntent(_)), "{r:?}");
    let mut standalone = new_intent(&new_user(), None, GatewayId::Test);
    s.intents.open_intent(&mut standalone).await.expect("open");
    let r = s.intents.open_intent(&mut standalone).await;
    assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");
    // Payments against a payable that an intent holds, or read before it changed.
    let held = record_of(&order, 100, PaymentStatus::Pending);
    let r = s
        .payments
        .record_payment(&held, &order)
        .await
        .expect("record");
    assert_eq!(r, RecordOutcome::PayableChanged);
    let free = stored_order(s, &new_user(), 1_000).await;
    let r = s
        .payables
        .complete_payable(
            &order,
            &[],
            Some(&record_of(&order, 5_000, PaymentStatus::Completed)),
            now(),
        )
        .await;
    assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");
    let repriced = revised(&free, |d| d.amount = usd(900));
    let r = s
        .payments
        .record_payment(
            &record_of(&repriced, 900, PaymentStatus::Completed),
            &repriced,
        )
        .await
        .expect("record");
    assert_eq!(r, RecordOutcome::PayableChanged);

    let after = all_events(s, &EventFilter::default()).await;
    let ids = |events: &[Event]| events.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(&after[1..]),
        ids(&before),
        "only the standalone intent's creation was added: {after:?}"
    );
    assert_eq!(after[0].object.id(), standalone.id().to_string());
    assert_eq!(
        types_of(s, &intent.id().to_string()).await,
        ["payment_intent.requires_action", "payment_intent.created"]
    );
}

pub async fn event_lists_are_newest_first_by_type_and_object_with_cursors(s: &Stores) {
    let user = new_user();
    let mut intents = Vec::new();
    for _ in 0..4 {
        let mut intent = new_intent(&user, None, GatewayId::Test);
        s.intents.open_intent(&mut intent).await.expect("open");
        intents.push(intent);
    }
    for intent in intents.iter_mut().take(2) {
        confirm(s, intent, &redirect()).await;
    }
    let all = all_events(s, &EventFilter::default()).await;
    assert_eq!(all.len(), 6);
    let keys: Vec<_> = all.iter().map(|e| (e.created, e.kind)).collect();
    assert!(
        keys.windows(2).all(|w| w[0].0 >= w[1].0),
        "newest first: {keys:?}"
    );
    assert_eq!(all[0].kind, EventType::IntentRequiresAction);
    assert_eq!(all[0].object.id(), intents[1].id().to_string());

    let created = EventFilter {
        kind: Some(EventType::IntentCreated),
        object_id: None,
    };
    let listed: Vec<String> = all_events(s, &created)
        .await
        .iter()
        .map(|e| e.object.id())
        .collect();
    let mut expected: Vec<String> = intents.iter().map(|i| i.id().to_string()).collect();
    expected.reverse();
    assert_eq!(listed, expected, "by type, newest first");

    let both = EventFilter {
        kind: Some(EventType::IntentRequiresAction),
        object_id: Some(intents[0].id().to_string()),
    };
    let found = all_events(s, &both).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, EventType::IntentRequiresAction);
    let nothing = EventFilter {
        kind: Some(EventType::PayablePaid),
        object_id: Some(intents[0].id().to_string()),
    };
    assert!(all_events(s, &nothing).await.is_empty());
    assert!(
        types_of(s, "order/nothing-here").await.is_empty(),
        "an unknown object has no events"
    );

    // A page ends where the next begins, and its cursor opens only its own list.
    let first = s
        .events
        .list_events(&created, &PageRequest::first(2), now())
        .await
        .expect("page");
    assert_eq!(first.items.len(), 2);
    let cursor = first.next.expect("more");
    let second = s
        .events
        .list_events(&created, &PageRequest::after(2, &cursor), now())
        .await
        .expect("page");
    let ids: Vec<String> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|e| e.object.id())
        .collect();
    assert_eq!(ids, expected);
    for other in [
        EventFilter::default(),
        EventFilter {
            kind: Some(EventType::IntentRequiresAction),
            object_id: None,
        },
        EventFilter {
            kind: None,
            object_id: Some(intents[0].id().to_string()),
        },
    ] {
        let r = s
            .events
            .list_events(&other, &PageRequest::after(2, &cursor), now())
            .await;
        assert!(matches!(r, Err(StoreError::BadCursor)), "{other:?}: {r:?}");
    }
    let all_page = s
        .events
        .list_events(&EventFilter::default(), &PageRequest::first(1), now())
        .await
        .expect("page");
    let r = s
        .intents
        .list_all_intents(&PageRequest {
            limit: 1,
            cursor: all_page.next.clone(),
        })
        .await;
    assert!(
        matches!(r, Err(StoreError::BadCursor)),
        "an events cursor opens no intents list: {r:?}"
    );
    for garbage in ["not a cursor!", "e30"] {
        let r = s
            .events
            .list_events(&created, &PageRequest::after(2, garbage), now())
            .await;
        assert!(matches!(r, Err(StoreError::BadCursor)), "{garbage}: {r:?}");
    }
}

pub async fn events_expire_thirty_days_after_they_happened(s: &Stores) {
    let mut intent = new_intent(&new_user(), None, GatewayId::Test);
    s.intents.open_intent(&mut intent).await.expect("open");
    let event = all_events(s, &EventFilter::default()).await.remove(0);
    let gone = event.created + Duration::days(30);
    assert_eq!(
        s.events
            .get_event(&event.id, gone - Duration::seconds(1))
            .await
            .expect("read")
            .map(|e| e.id),
        Some(event.id.clone())
    );
    assert_eq!(
        s.events.get_event(&event.id, gone).await.expect("read"),
        None
    );
    for filter in [
        EventFilter::default(),
        EventFilter {
            kind: Some(EventType::IntentCreated),
            object_id: None,
        },
        EventFilter {
            kind: None,
            object_id: Some(intent.id().to_string()),
        },
    ] {
        let page = s
            .events
            .list_events(&filter, &PageRequest::first(10), gone)
            .await
            .expect("list");
        assert!(page.items.is_empty() && page.next.is_none(), "{filter:?}");
    }
    let unknown = crate::domain::EventId::new();
    assert_eq!(
        s.events.get_event(&unknown, now()).await.expect("read"),
        None
    );
}

pub async fn refunds_write_their_events_with_them(s: &Stores) {
    use super::refunds::{completed_payment, payment_of, refund_of};
    use crate::domain::RefundStatus;
    use crate::ports::RefundOutcome;

    let (_, payment) = completed_payment(s, 10_000).await;
    // Cash goes back at once: created and succeeded in one write.
    let cash = refund_of(&payment, 3_000, None);
    let made = s.refunds.create_refund(&cash, &payment).await;
    assert_eq!(made.expect("refund"), RefundOutcome::Created);
    let cash_id = cash.id().to_string();
    assert_eq!(
        types_of(s, &cash_id).await,
        ["refund.succeeded", "refund.created"]
    );
    let events = all_events(s, &of_object(&cash_id)).await;
    assert_eq!(events[0].object, EventObject::Refund(cash.clone()));
    assert_eq!(events[0].created, cash.created());
    // Written by one change: the later names the earlier, for the deliveries' dispatch.
    assert_eq!(events[0].follows, [events[1].id.clone()]);
    assert!(events[1].follows.is_empty());
    let read = s.events.get_event(&events[0].id, now()).await;
    assert_eq!(
        read.expect("read").expect("event").follows,
        events[0].follows
    );
    // Made again under its id, or against the payment as it was: nothing new.
    let again = s.refunds.create_refund(&cash, &payment).await;
    assert_eq!(again.expect("refund"), RefundOutcome::AlreadyExists);
    let stale = refund_of(&payment, 8_000, None);
    let lost = s.refunds.create_refund(&stale, &payment).await;
    assert_eq!(lost.expect("refund"), RefundOutcome::PaymentChanged);
    assert!(types_of(s, &stale.id().to_string()).await.is_empty());
    assert_eq!(types_of(s, &cash_id).await.len(), 2);

    // Through a gateway: pending first, then what the gateway reports.
    let read = payment_of(s, &payment.id()).await;
    let by_card = refund_of(&read, 4_000, Some(GatewayId::Stripe));
    s.refunds
        .create_refund(&by_card, &read)
        .await
        .expect("refund");
    let card_id = by_card.id().to_string();
    assert_eq!(types_of(s, &card_id).await, ["refund.created"]);
    let mut succeeded = by_card.clone();
    assert!(succeeded.report(RefundStatus::Succeeded, Some("re_evt_1"), now()));
    s.refunds
        .update_refund(&by_card, &succeeded, &read)
        .await
        .expect("update");
    // A writer that read it pending loses, and says nothing.
    let mut failed = by_card.clone();
    assert!(failed.report(RefundStatus::Failed, Some("re_evt_1"), now()));
    let r = s.refunds.update_refund(&by_card, &failed, &read).await;
    assert!(matches!(r, Err(StoreError::Conflict)), "{r:?}");
    assert_eq!(
        types_of(s, &card_id).await,
        ["refund.succeeded", "refund.created"]
    );
    let events = all_events(s, &of_object(&card_id)).await;
    let EventObject::Refund(shown) = &events[0].object else {
        panic!("a refund's event shows the refund: {:?}", events[0]);
    };
    assert_eq!(shown.status(), RefundStatus::Succeeded);
    assert_eq!(shown.gateway_refund_id().as_deref(), Some("re_evt_1"));

    // The card network returns it later: failed, and its amount is back.
    let mut returned = succeeded.clone();
    assert!(returned.report(RefundStatus::Failed, None, now()));
    s.refunds
        .update_refund(&succeeded, &returned, &payment_of(s, &payment.id()).await)
        .await
        .expect("update");
    assert_eq!(
        types_of(s, &card_id).await,
        ["refund.failed", "refund.succeeded", "refund.created"]
    );
    let typed = all_events(
        s,
        &EventFilter {
            kind: Some(EventType::RefundFailed),
            object_id: None,
        },
    )
    .await;
    assert!(typed.iter().any(|e| e.object.id() == card_id));
}
