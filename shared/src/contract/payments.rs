//! Payments: sums within the total, settling, lists.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use super::*;

pub async fn payments_add_to_their_payables_sums(s: &Stores) {
    let order = stored_order(s, &new_user(), 10_000).await;
    let pending = record_of(&order, 3_000, PaymentStatus::Pending);
    let outcome = s
        .payments
        .record_payment(&pending, &order)
        .await
        .expect("record");
    assert_eq!(outcome, RecordOutcome::Recorded);
    let p = payable(s, &order).await;
    assert_eq!((p.allocated_minor(), p.paid_minor()), (3_000, 0));
    assert_eq!(p.status(), PayableStatus::Open);

    let failed = record_of(&p, 9_999, PaymentStatus::Failed);
    let outcome = s
        .payments
        .record_payment(&failed, &p)
        .await
        .expect("record");
    assert_eq!(
        outcome,
        RecordOutcome::Recorded,
        "a failed payment holds nothing"
    );
    let completed = record_of(&p, 7_000, PaymentStatus::Completed);
    let outcome = s
        .payments
        .record_payment(&completed, &p)
        .await
        .expect("record");
    assert_eq!(outcome, RecordOutcome::Recorded);
    let p = payable(s, &order).await;
    assert_eq!((p.allocated_minor(), p.paid_minor()), (10_000, 7_000));
    assert_eq!(p.status(), PayableStatus::Open, "allocated is not paid");

    let other = stored_order(s, &new_user(), 2_000).await;
    let full = record_of(&other, 2_000, PaymentStatus::Completed);
    s.payments
        .record_payment(&full, &other)
        .await
        .expect("record");
    // The payment that completes the total pays the order in the same write.
    assert_eq!(payable(s, &other).await.status(), PayableStatus::Paid);
    assert_eq!(
        s.payments.get_payment(&full.id()).await.expect("read"),
        Some(full)
    );
}

pub async fn payments_never_exceed_the_total(s: &Stores) {
    let owner = new_user();
    let order = stored_order(s, &owner, 10_000).await;
    let too_much = record_of(&order, 10_001, PaymentStatus::Pending);
    let outcome = s
        .payments
        .record_payment(&too_much, &order)
        .await
        .expect("record");
    assert_eq!(outcome, RecordOutcome::PayableChanged);
    assert_eq!(
        s.payments.get_payment(&too_much.id()).await.expect("read"),
        None
    );

    let stale = revised(&order, |d| d.amount = usd(20_000));
    let outcome = s
        .payments
        .record_payment(&record_of(&stale, 100, PaymentStatus::Pending), &stale)
        .await
        .expect("record");
    assert_eq!(
        outcome,
        RecordOutcome::PayableChanged,
        "priced otherwise than read"
    );

    let held = stored_order(s, &owner, 10_000).await;
    open_on(s, &held).await;
    let outcome = s
        .payments
        .record_payment(&record_of(&held, 100, PaymentStatus::Pending), &held)
        .await
        .expect("record");
    assert_eq!(outcome, RecordOutcome::PayableChanged, "an intent holds it");

    let missing = new_order(&owner, 100);
    let outcome = s
        .payments
        .record_payment(&record_of(&missing, 100, PaymentStatus::Failed), &missing)
        .await
        .expect("record");
    assert_eq!(outcome, RecordOutcome::PayableChanged);
    assert_eq!(payable(s, &order).await.allocated_minor(), 0);
}

pub async fn concurrent_payments_stay_within_the_total(s: &Stores) {
    let order = stored_order(s, &new_user(), 10_000).await;
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let s = s.clone();
            let order = order.clone();
            tokio::spawn(async move {
                let payment = record_of(&order, 4_000, PaymentStatus::Pending);
                s.payments.record_payment(&payment, &order).await
            })
        })
        .collect();
    let mut recorded = 0;
    for task in tasks {
        if task.await.expect("task").expect("record") == RecordOutcome::Recorded {
            recorded += 1;
        }
    }
    // Racing writers may also all lose and retry; none may ever overfill.
    assert!(
        recorded <= 2,
        "two of 40.00 fit in 100.00, a third never does"
    );
    assert_eq!(payable(s, &order).await.allocated_minor(), 4_000 * recorded);
}

pub async fn completing_a_payable_settles_its_pending_payments_all_or_nothing(s: &Stores) {
    let order = stored_order(s, &new_user(), 10_000).await;
    let first = record_of(&order, 3_000, PaymentStatus::Pending);
    s.payments
        .record_payment(&first, &order)
        .await
        .expect("record");
    let read = payable(s, &order).await;
    let second = record_of(&read, 2_000, PaymentStatus::Pending);
    s.payments
        .record_payment(&second, &read)
        .await
        .expect("record");

    // Read before the second payment: the sums no longer match, nothing changes.
    let extra = record_of(&read, 7_000, PaymentStatus::Completed);
    let lost = s
        .payables
        .complete_payable(&read, std::slice::from_ref(&first), Some(&extra), now())
        .await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
    let first_now = s
        .payments
        .get_payment(&first.id())
        .await
        .expect("read")
        .expect("first");
    assert_eq!(first_now.status(), PaymentStatus::Pending);
    assert_eq!(
        s.payments.get_payment(&extra.id()).await.expect("read"),
        None
    );
    assert_eq!(payable(s, &order).await.status(), PayableStatus::Open);

    let read = payable(s, &order).await;
    let extra = record_of(&read, 5_000, PaymentStatus::Completed);
    // Completed as the application completes them: each with its fee fixed.
    let cash = crate::domain::FeeSchedule::new([(
        "Cash".to_owned(),
        crate::domain::FeeRate::new(100, 5).expect("rate"),
    )]);
    let completing: Vec<_> = [first.clone(), second.clone()]
        .into_iter()
        .map(|mut p| {
            p.complete(&cash).expect("pending");
            p
        })
        .collect();
    s.payables
        .complete_payable(&read, &completing, Some(&extra), now())
        .await
        .expect("complete");
    let fees: Vec<i64> = stored_fees(s, &[first.id(), second.id()]).await;
    assert_eq!(
        fees,
        vec![35, 25],
        "1 % + 0.05 of 30.00 and 20.00, stored as completed"
    );
    let p = payable(s, &order).await;
    assert_eq!(p.status(), PayableStatus::Paid);
    assert_eq!((p.allocated_minor(), p.paid_minor()), (10_000, 10_000));
    for id in [first.id(), second.id(), extra.id()] {
        let payment = s
            .payments
            .get_payment(&id)
            .await
            .expect("read")
            .expect("payment");
        assert_eq!(payment.status(), PaymentStatus::Completed);
    }
    // Already paid: settling again loses.
    let again = s.payables.complete_payable(&read, &[], None, now()).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
}

/// A payable holds at most `MAX_PENDING_PAYMENTS` pending payments, so that
/// settling it completes them all in one write, which then fits.
pub async fn pending_payments_stop_at_the_cap_and_settling_completes_them_all(s: &Stores) {
    use crate::domain::MAX_PENDING_PAYMENTS;
    let order = stored_order(s, &new_user(), 10_000).await;
    let mut pending = Vec::new();
    for _ in 0..MAX_PENDING_PAYMENTS {
        let payment = record_of(&order, 100, PaymentStatus::Pending);
        assert_eq!(
            s.payments
                .record_payment(&payment, &order)
                .await
                .expect("record"),
            RecordOutcome::Recorded
        );
        pending.push(payment);
    }
    let p = payable(s, &order).await;
    assert_eq!(p.pending_payments(), MAX_PENDING_PAYMENTS);
    let one_too_many = record_of(&p, 100, PaymentStatus::Pending);
    assert_eq!(
        s.payments
            .record_payment(&one_too_many, &p)
            .await
            .expect("record"),
        RecordOutcome::PayableChanged
    );
    assert_eq!(
        s.payments
            .get_payment(&one_too_many.id())
            .await
            .expect("read"),
        None
    );
    // Money that arrived is not pending: it still records.
    let completed = record_of(&p, 1_000, PaymentStatus::Completed);
    assert_eq!(
        s.payments
            .record_payment(&completed, &p)
            .await
            .expect("record"),
        RecordOutcome::Recorded
    );
    let p = payable(s, &order).await;
    assert_eq!(
        (p.pending_payments(), p.allocated_minor(), p.paid_minor()),
        (MAX_PENDING_PAYMENTS, 5_000, 1_000)
    );

    // The most pending payments there may be, and a payment for the rest: one write.
    let fees = FeeSchedule::standard();
    let completing: Vec<_> = pending
        .iter()
        .cloned()
        .map(|mut p| {
            p.complete(&fees).expect("pending");
            p
        })
        .collect();
    let rest = record_of(&p, 5_000, PaymentStatus::Completed);
    s.payables
        .complete_payable(&p, &completing, Some(&rest), now())
        .await
        .expect("the most pending payments there may be complete at once");
    let p = payable(s, &order).await;
    assert_eq!(p.status(), PayableStatus::Paid);
    assert_eq!(p.pending_payments(), 0, "none is pending after settling");
    for payment in &pending {
        let stored = s
            .payments
            .get_payment(&payment.id())
            .await
            .expect("read")
            .expect("payment");
        assert_eq!(stored.status(), PaymentStatus::Completed);
    }
}

/// A payment carries the business its payable had when it was made: it is
/// recorded only while the payable still belongs to that business.
pub async fn a_payment_is_recorded_only_for_the_business_its_payable_has(s: &Stores) {
    use crate::domain::BusinessId;
    let order = revised(&new_order(&new_user(), 10_000), |d| {
        d.business_id = Some(BusinessId::new(1))
    });
    s.payables
        .upsert_payable(&order, now())
        .await
        .expect("upsert");
    let read = payable(s, &order).await;
    let moved = revised(&read, |d| d.business_id = Some(BusinessId::new(2)));
    s.payables
        .upsert_payable(&moved, now())
        .await
        .expect("move");
    // Made as the payable was read, for the business it had then.
    for status in [
        PaymentStatus::Pending,
        PaymentStatus::Completed,
        PaymentStatus::Failed,
    ] {
        let stale = record_of(&read, 1_000, status);
        assert_eq!(stale.business_id(), Some(BusinessId::new(1)));
        assert_eq!(
            s.payments
                .record_payment(&stale, &read)
                .await
                .expect("record"),
            RecordOutcome::PayableChanged,
            "{status:?}"
        );
        assert_eq!(
            s.payments.get_payment(&stale.id()).await.expect("read"),
            None
        );
    }
    let now_read = payable(s, &order).await;
    assert_eq!(now_read.allocated_minor(), 0);
    let current = record_of(&now_read, 1_000, PaymentStatus::Pending);
    assert_eq!(
        s.payments
            .record_payment(&current, &now_read)
            .await
            .expect("record"),
        RecordOutcome::Recorded
    );
    let stored = s
        .payments
        .get_payment(&current.id())
        .await
        .expect("read")
        .expect("payment");
    assert_eq!(stored.business_id(), Some(BusinessId::new(2)));
}

pub async fn payment_lists_are_newest_first(s: &Stores) {
    let owner = new_user();
    let order = stored_order(s, &owner, 10_000).await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        let read = payable(s, &order).await;
        let payment = record_of(&read, 1_000, PaymentStatus::Pending);
        s.payments
            .record_payment(&payment, &read)
            .await
            .expect("record");
        ids.push(payment.id());
    }
    let elsewhere = stored_order(s, &owner, 500).await;
    let other = record_of(&elsewhere, 500, PaymentStatus::Pending);
    s.payments
        .record_payment(&other, &elsewhere)
        .await
        .expect("record");
    ids.sort_by_key(|id| std::cmp::Reverse(id.to_string()));

    let mut seen = Vec::new();
    let mut request = PageRequest::first(3);
    for _ in 0..10 {
        let page = s
            .payments
            .list_payments_by_payable(order.payable(), &request)
            .await
            .expect("page");
        seen.extend(page.items.iter().map(|p| p.id()));
        request.cursor = page.next;
        if request.cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, ids);

    let mut mine: Vec<_> = ids.clone();
    mine.push(other.id());
    mine.sort_by_key(|id| std::cmp::Reverse(id.to_string()));
    let all = s
        .payments
        .list_payments_by_user(&owner, 10, 0)
        .await
        .expect("list");
    assert_eq!(all.iter().map(|p| p.id()).collect::<Vec<_>>(), mine);
    let window = s
        .payments
        .list_payments_by_user(&owner, 2, 3)
        .await
        .expect("list");
    assert_eq!(
        window.iter().map(|p| p.id()).collect::<Vec<_>>(),
        mine[3..5].to_vec()
    );
    let past_end = s
        .payments
        .list_payments_by_user(&owner, 2, 9)
        .await
        .expect("list");
    assert!(past_end.is_empty());
    assert!(
        s.payments
            .list_payments_by_user(&new_user(), 10, 0)
            .await
            .expect("list")
            .is_empty()
    );
}

/// The COMPLETED payment that completes the total pays its payable in the same
/// write, whichever of several it is; one written against a stale paid sum
/// loses rather than leaving a fully paid payable open.
pub async fn the_payment_that_completes_the_total_pays_the_payable(s: &Stores) {
    let order = stored_order(s, &new_user(), 10_000).await;
    let first = record_of(&order, 4_000, PaymentStatus::Completed);
    assert_eq!(
        s.payments
            .record_payment(&first, &order)
            .await
            .expect("record"),
        RecordOutcome::Recorded
    );
    let p = payable(s, &order).await;
    assert_eq!((p.status(), p.paid_minor()), (PayableStatus::Open, 4_000));
    // Read before the first payment, so it believes 6,000 does not complete the
    // total: it is refused, or it pays the payable; never recorded and left open.
    let stale = record_of(&order, 6_000, PaymentStatus::Completed);
    match s
        .payments
        .record_payment(&stale, &order)
        .await
        .expect("record")
    {
        RecordOutcome::PayableChanged => {
            assert_eq!(payable(s, &order).await.status(), PayableStatus::Open);
            let rest = record_of(&p, 6_000, PaymentStatus::Completed);
            assert_eq!(
                s.payments.record_payment(&rest, &p).await.expect("record"),
                RecordOutcome::Recorded
            );
        }
        RecordOutcome::Recorded => {}
        other => panic!("{other:?}"),
    }
    let p = payable(s, &order).await;
    assert_eq!(
        (p.status(), p.allocated_minor(), p.paid_minor()),
        (PayableStatus::Paid, 10_000, 10_000)
    );
}

/// A payment whose id exists already is not written again: a run under the same
/// Idempotency-Key finds what the first run recorded.
pub async fn a_payment_is_recorded_once_under_its_id(s: &Stores) {
    let order = stored_order(s, &new_user(), 10_000).await;
    let pending = record_of(&order, 3_000, PaymentStatus::Pending);
    assert_eq!(
        s.payments
            .record_payment(&pending, &order)
            .await
            .expect("record"),
        RecordOutcome::Recorded
    );
    let p = payable(s, &order).await;
    assert_eq!(
        s.payments
            .record_payment(&pending, &p)
            .await
            .expect("record"),
        RecordOutcome::AlreadyRecorded
    );
    let p = payable(s, &order).await;
    assert_eq!(
        (p.allocated_minor(), p.paid_minor()),
        (3_000, 0),
        "counted once"
    );
}

async fn stored_fees(s: &Stores, ids: &[crate::domain::PaymentId]) -> Vec<i64> {
    let mut fees = Vec::new();
    for id in ids {
        let p = s
            .payments
            .get_payment(id)
            .await
            .expect("read")
            .expect("payment");
        fees.push(p.fee_minor());
    }
    fees
}
