//! Refunds: never more than the payment, all or nothing with its payment and
//! payable, given back when they fail, found by the gateway's id, listed.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use super::*;
use crate::domain::{PaymentId, PaymentParts, Refund, RefundId, RefundStatus};
use crate::ports::RefundOutcome;

/// A COMPLETED cash payment of the whole of a new order of `minor` cents.
pub async fn completed_payment(s: &Stores, minor: i64) -> (Payable, Payment) {
    let order = stored_order(s, &new_user(), minor).await;
    let payment = record_of(&order, minor, PaymentStatus::Completed);
    let outcome = s
        .payments
        .record_payment(&payment, &order)
        .await
        .expect("record");
    assert_eq!(outcome, RecordOutcome::Recorded);
    (order, payment)
}

pub async fn payment_of(s: &Stores, id: &PaymentId) -> Payment {
    s.payments
        .get_payment(id)
        .await
        .expect("read")
        .expect("payment exists")
}

/// A refund of `minor` cents of `payment` as read, through `gateway`.
pub fn refund_of(payment: &Payment, minor: i64, gateway: Option<GatewayId>) -> Refund {
    Refund::of(
        RefundId::new(),
        payment,
        usd(minor),
        Some("requested by the customer".into()),
        gateway,
        now(),
    )
}

pub async fn a_refund_takes_from_its_payment_and_payable_at_once(s: &Stores) {
    let (order, payment) = completed_payment(s, 10_000).await;
    let first = refund_of(&payment, 3_000, None);
    let outcome = s
        .refunds
        .create_refund(&first, &payment)
        .await
        .expect("refund");
    assert_eq!(outcome, RefundOutcome::Created);
    assert_eq!(
        s.refunds.get_refund(&first.id()).await.expect("read"),
        Some(first.clone())
    );
    let read = payment_of(s, &payment.id()).await;
    assert_eq!(
        (read.status(), read.refunded_minor()),
        (PaymentStatus::Completed, 3_000)
    );
    let p = payable(s, &order).await;
    assert_eq!(p.refunded_minor(), 3_000);
    assert_eq!(
        p.status(),
        PayableStatus::Paid,
        "a refunded payable stays paid"
    );

    // The refund that reaches the amount makes the payment REFUNDED in the same write.
    let rest = refund_of(&read, 7_000, None);
    let outcome = s.refunds.create_refund(&rest, &read).await.expect("refund");
    assert_eq!(outcome, RefundOutcome::Created);
    let read = payment_of(s, &payment.id()).await;
    assert_eq!(
        (read.status(), read.refunded_minor()),
        (PaymentStatus::Refunded, 10_000)
    );
    assert_eq!(payable(s, &order).await.refunded_minor(), 10_000);
    assert_eq!(payable(s, &order).await.status(), PayableStatus::Paid);
}

pub async fn refunds_never_exceed_the_payment(s: &Stores) {
    let (order, payment) = completed_payment(s, 10_000).await;
    let first = refund_of(&payment, 6_000, None);
    s.refunds
        .create_refund(&first, &payment)
        .await
        .expect("refund");
    // Read before the first refund: 6,000 more would be 12,000.
    let stale = refund_of(&payment, 6_000, None);
    let outcome = s
        .refunds
        .create_refund(&stale, &payment)
        .await
        .expect("refund");
    assert_eq!(outcome, RefundOutcome::PaymentChanged);
    // Read before it, and the rest as it was then: it would complete a sum
    // that has moved.
    let whole = refund_of(&payment, 10_000, None);
    let outcome = s
        .refunds
        .create_refund(&whole, &payment)
        .await
        .expect("refund");
    assert_eq!(outcome, RefundOutcome::PaymentChanged);
    let more_than_all = refund_of(&payment, 10_001, None);
    let outcome = s
        .refunds
        .create_refund(&more_than_all, &payment)
        .await
        .expect("refund");
    assert_eq!(outcome, RefundOutcome::PaymentChanged);
    for refused in [&stale, &whole, &more_than_all] {
        assert_eq!(
            s.refunds.get_refund(&refused.id()).await.expect("read"),
            None
        );
    }
    let read = payment_of(s, &payment.id()).await;
    assert_eq!(read.refunded_minor(), 6_000);
    assert_eq!(payable(s, &order).await.refunded_minor(), 6_000);

    // Only a COMPLETED payment gives money back.
    let pending_order = stored_order(s, &new_user(), 5_000).await;
    let pending = record_of(&pending_order, 5_000, PaymentStatus::Pending);
    s.payments
        .record_payment(&pending, &pending_order)
        .await
        .expect("record");
    let outcome = s
        .refunds
        .create_refund(&refund_of(&pending, 100, None), &pending)
        .await
        .expect("refund");
    assert_eq!(outcome, RefundOutcome::PaymentChanged);
    assert_eq!(payment_of(s, &pending.id()).await.refunded_minor(), 0);
}

pub async fn concurrent_refunds_stay_within_the_payment(s: &Stores) {
    let (order, payment) = completed_payment(s, 10_000).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            let payment = payment.clone();
            tokio::spawn(async move {
                let refund = refund_of(&payment, 3_000, None);
                s.refunds.create_refund(&refund, &payment).await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        if task.await.expect("task").expect("refund") == RefundOutcome::Created {
            created += 1;
        }
    }
    // Racing writers may all lose and retry; none may ever give back too much.
    assert!(created <= 3, "three of 30.00 fit in 100.00, a fourth never");
    let read = payment_of(s, &payment.id()).await;
    assert_eq!(read.refunded_minor(), 3_000 * created);
    assert_eq!(read.status(), PaymentStatus::Completed);
    assert_eq!(payable(s, &order).await.refunded_minor(), 3_000 * created);
}

pub async fn a_refund_is_made_once_under_its_id(s: &Stores) {
    let (_, payment) = completed_payment(s, 10_000).await;
    let refund = refund_of(&payment, 1_000, None);
    s.refunds
        .create_refund(&refund, &payment)
        .await
        .expect("refund");
    let read = payment_of(s, &payment.id()).await;
    let outcome = s
        .refunds
        .create_refund(&refund, &read)
        .await
        .expect("refund");
    assert_eq!(outcome, RefundOutcome::AlreadyExists);
    assert_eq!(payment_of(s, &payment.id()).await.refunded_minor(), 1_000);
}

pub async fn a_failed_refund_gives_its_amount_back(s: &Stores) {
    let (order, payment) = completed_payment(s, 10_000).await;
    let refund = refund_of(&payment, 10_000, Some(GatewayId::Stripe));
    s.refunds
        .create_refund(&refund, &payment)
        .await
        .expect("refund");
    let held = payment_of(s, &payment.id()).await;
    assert_eq!(
        (
            held.status(),
            held.refunded_minor(),
            held.refund_held_minor()
        ),
        (PaymentStatus::Completed, 0, 10_000),
        "pending: held, not refunded"
    );
    let mut failed = refund.clone();
    assert!(failed.report(RefundStatus::Failed, Some("re_failed_1"), now()));
    s.refunds
        .update_refund(&refund, &failed, &held)
        .await
        .expect("update");
    let read = payment_of(s, &payment.id()).await;
    assert_eq!(
        (
            read.status(),
            read.refunded_minor(),
            read.refund_held_minor()
        ),
        (PaymentStatus::Completed, 0, 0)
    );
    assert_eq!(payable(s, &order).await.refunded_minor(), 0);
    let stored = s
        .refunds
        .get_refund(&refund.id())
        .await
        .expect("read")
        .expect("refund");
    assert_eq!(stored.status(), RefundStatus::Failed);
    assert_eq!(stored.gateway_refund_id().as_deref(), Some("re_failed_1"));
    // Its amount is refundable again.
    let again = refund_of(&read, 10_000, None);
    let outcome = s
        .refunds
        .create_refund(&again, &read)
        .await
        .expect("refund");
    assert_eq!(outcome, RefundOutcome::Created);
}

pub async fn updating_a_refund_is_conditional_on_its_status(s: &Stores) {
    let (_, payment) = completed_payment(s, 10_000).await;
    let refund = refund_of(&payment, 4_000, Some(GatewayId::Test));
    s.refunds
        .create_refund(&refund, &payment)
        .await
        .expect("refund");
    let mut succeeded = refund.clone();
    succeeded.report(RefundStatus::Succeeded, Some("re_1"), now());
    let read = payment_of(s, &payment.id()).await;
    s.refunds
        .update_refund(&refund, &succeeded, &read)
        .await
        .expect("update");
    // A second writer that read it pending loses, and gives nothing back.
    let mut failed = refund.clone();
    failed.report(RefundStatus::Failed, Some("re_1"), now());
    let lost = s.refunds.update_refund(&refund, &failed, &read).await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
    let read = payment_of(s, &payment.id()).await;
    assert_eq!(read.refunded_minor(), 4_000);
    let stored = s
        .refunds
        .get_refund(&refund.id())
        .await
        .expect("read")
        .expect("refund");
    assert_eq!(stored.status(), RefundStatus::Succeeded);
}

pub async fn a_refund_is_found_by_its_gateways_id(s: &Stores) {
    let (_, payment) = completed_payment(s, 10_000).await;
    let refund = refund_of(&payment, 500, Some(GatewayId::Stripe));
    s.refunds
        .create_refund(&refund, &payment)
        .await
        .expect("refund");
    let gateway_id = format!("re_{}", unique("x"));
    assert_eq!(
        s.refunds
            .find_refund_by_gateway_id(GatewayId::Stripe, &gateway_id)
            .await
            .expect("read"),
        None
    );
    let mut named = refund.clone();
    named.report(RefundStatus::Pending, Some(&gateway_id), now());
    s.refunds
        .update_refund(&refund, &named, &payment)
        .await
        .expect("update");
    let found = s
        .refunds
        .find_refund_by_gateway_id(GatewayId::Stripe, &gateway_id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(found.id(), refund.id());
    assert_eq!(found.status(), RefundStatus::Pending);
    // Gateways' ids are theirs alone.
    assert_eq!(
        s.refunds
            .find_refund_by_gateway_id(GatewayId::Test, &gateway_id)
            .await
            .expect("read"),
        None
    );
    // Named once: a second naming of the same refund loses.
    let mut renamed = refund.clone();
    renamed.report(RefundStatus::Pending, Some("re_other"), now());
    let lost = s.refunds.update_refund(&refund, &renamed, &payment).await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
}

pub async fn refund_lists_are_newest_first_with_cursors(s: &Stores) {
    let (_, payment) = completed_payment(s, 10_000).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let read = payment_of(s, &payment.id()).await;
        let refund = refund_of(&read, 1_000, None);
        s.refunds
            .create_refund(&refund, &read)
            .await
            .expect("refund");
        ids.push(refund.id());
    }
    let (_, other) = completed_payment(s, 500).await;
    s.refunds
        .create_refund(&refund_of(&other, 500, None), &other)
        .await
        .expect("refund");
    ids.reverse();

    let mut seen = Vec::new();
    let mut request = PageRequest::first(2);
    for _ in 0..10 {
        let page = s
            .refunds
            .list_refunds(&payment.id(), &request)
            .await
            .expect("page");
        seen.extend(page.items.iter().map(|r| r.id()));
        request.cursor = page.next;
        if request.cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, ids, "newest first, every one, only this payment's");

    let first = s
        .refunds
        .list_refunds(&payment.id(), &PageRequest::first(2))
        .await
        .expect("page");
    let foreign = s
        .refunds
        .list_refunds(
            &other.id(),
            &PageRequest {
                limit: 2,
                cursor: first.next.clone(),
            },
        )
        .await;
    assert!(matches!(foreign, Err(StoreError::BadCursor)), "{foreign:?}");
}

pub async fn a_pending_refund_holds_its_amount_and_only_its_success_refunds(s: &Stores) {
    let (order, payment) = completed_payment(s, 10_000).await;
    let card = refund_of(&payment, 6_000, Some(GatewayId::Stripe));
    s.refunds
        .create_refund(&card, &payment)
        .await
        .expect("refund");
    let read = payment_of(s, &payment.id()).await;
    assert_eq!(
        (
            read.status(),
            read.refunded_minor(),
            read.refund_held_minor()
        ),
        (PaymentStatus::Completed, 0, 6_000)
    );
    assert_eq!(
        payable(s, &order).await.refunded_minor(),
        0,
        "nothing given back yet"
    );
    // What the pending one holds cannot be refunded again, even by a writer
    // that read the payment before it.
    let stale = refund_of(&payment, 4_001, Some(GatewayId::Stripe));
    let lost = s.refunds.create_refund(&stale, &payment).await;
    assert_eq!(lost.expect("refund"), RefundOutcome::PaymentChanged);
    let rest = refund_of(&read, 4_000, Some(GatewayId::Stripe));
    s.refunds.create_refund(&rest, &read).await.expect("refund");

    // The rest succeeds first: refunded, not in full.
    let read = payment_of(s, &payment.id()).await;
    let mut done = rest.clone();
    done.report(RefundStatus::Succeeded, Some(&unique("re")), now());
    s.refunds
        .update_refund(&rest, &done, &read)
        .await
        .expect("update");
    let read = payment_of(s, &payment.id()).await;
    assert_eq!(
        (
            read.status(),
            read.refunded_minor(),
            read.refund_held_minor()
        ),
        (PaymentStatus::Completed, 4_000, 10_000)
    );
    assert_eq!(payable(s, &order).await.refunded_minor(), 4_000);

    // A writer deciding on a payment read before that success thinks the
    // first one does not complete it: it loses, and nothing moves.
    let mut first_done = card.clone();
    first_done.report(RefundStatus::Succeeded, Some(&unique("re")), now());
    let stale_read = held_only(&read);
    let lost = s
        .refunds
        .update_refund(&card, &first_done, &stale_read)
        .await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
    // Decided on the payment as it is, it completes the payment.
    s.refunds
        .update_refund(&card, &first_done, &read)
        .await
        .expect("update");
    let read = payment_of(s, &payment.id()).await;
    assert_eq!(
        (
            read.status(),
            read.refunded_minor(),
            read.refund_held_minor()
        ),
        (PaymentStatus::Refunded, 10_000, 10_000)
    );
    assert_eq!(payable(s, &order).await.refunded_minor(), 10_000);
}

/// `payment` as it was read before any of its refunds succeeded.
fn held_only(payment: &Payment) -> Payment {
    Payment::restore(PaymentParts {
        refunded_minor: 0,
        status: PaymentStatus::Completed,
        ..payment.clone().into_parts()
    })
}

pub async fn unsent_refunds_are_listed_oldest_first_until_the_gateway_names_them(s: &Stores) {
    let base = now() - Duration::days(1);
    let (_, payment) = completed_payment(s, 10_000).await;
    let mut made = Vec::new();
    let mut read = payment_of(s, &payment.id()).await;
    for (minutes, gateway) in [
        (2, Some(GatewayId::Stripe)),
        (0, Some(GatewayId::Test)),
        (1, None),
        (3, Some(GatewayId::Stripe)),
    ] {
        let refund = Refund::of(
            RefundId::new(),
            &read,
            usd(1_000),
            Some("requested by the customer".into()),
            gateway,
            base + Duration::minutes(minutes),
        );
        s.refunds
            .create_refund(&refund, &read)
            .await
            .expect("refund");
        made.push(refund);
        read = payment_of(s, &payment.id()).await;
    }
    let listed = |bound, limit| async move {
        s.refunds
            .unsent_refunds(bound, limit)
            .await
            .expect("list")
            .into_iter()
            .map(|r| r.id())
            .collect::<Vec<_>>()
    };
    // Oldest first; the offline one (refunded at once) is never unsent; the
    // bound is strict.
    assert_eq!(
        listed(base + Duration::minutes(3), 10).await,
        [made[1].id(), made[0].id()]
    );
    assert_eq!(listed(base + Duration::minutes(3), 1).await, [made[1].id()]);
    assert_eq!(
        listed(base + Duration::minutes(4), 10).await,
        [made[1].id(), made[0].id(), made[3].id()]
    );
    // Named by its gateway, still pending: its webhooks tell the rest.
    let mut named = made[1].clone();
    named.report(RefundStatus::Pending, Some(&unique("re")), now());
    s.refunds
        .update_refund(&made[1], &named, &read)
        .await
        .expect("update");
    // Refused by its gateway: failed without a name.
    let mut refused = made[3].clone();
    refused.report(RefundStatus::Failed, None, now());
    s.refunds
        .update_refund(&made[3], &refused, &read)
        .await
        .expect("update");
    assert_eq!(
        listed(base + Duration::minutes(4), 10).await,
        [made[0].id()]
    );
}
