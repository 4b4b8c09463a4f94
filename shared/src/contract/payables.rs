//! Payables: upserts and what locks them.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use super::*;

pub async fn upsert_creates_then_replaces_keeping_the_services_fields(s: &Stores) {
    let owner = new_user();
    let order = new_order(&owner, 10_000);
    let first = s
        .payables
        .upsert_payable(&order, now())
        .await
        .expect("create");
    let PayableWrite::Written {
        payable: created,
        created: true,
    } = first
    else {
        panic!("first upsert creates: {first:?}");
    };
    assert_eq!(created.status(), PayableStatus::Open);
    assert_eq!(created.amount(), usd(10_000));
    assert_eq!(created.description().as_deref(), Some("Two tickets"));

    let mut next = order.clone().into_parts();
    next.details.amount = usd(12_000);
    next.details.description = None;
    // The service's own fields are not the caller's to set.
    next.status = PayableStatus::Paid;
    next.paid_minor = 12_000;
    let next = Payable::restore(next);
    let second = s
        .payables
        .upsert_payable(&next, now())
        .await
        .expect("replace");
    let PayableWrite::Written {
        payable: replaced,
        created: false,
    } = second
    else {
        panic!("second upsert replaces: {second:?}");
    };
    assert_eq!(replaced.amount(), usd(12_000));
    assert_eq!(
        replaced.description().as_deref(),
        None,
        "absent optional fields are removed"
    );
    assert_eq!(replaced.status(), PayableStatus::Open);
    assert_eq!(replaced.paid_minor(), 0);
    assert_eq!(replaced.created_at(), created.created_at());
    assert_eq!(payable(s, &order).await, *replaced);
    assert!(
        s.payables
            .get_payable(new_order(&owner, 1).payable())
            .await
            .expect("read")
            .is_none()
    );
}

pub async fn a_paid_payable_is_final(s: &Stores) {
    let order = stored_order(s, &new_user(), 5_000).await;
    let intent = open_on(s, &order).await;
    let (mut done, payment) = succeed(&intent);
    s.intents
        .finish_intent(&mut done, Expected::of(&intent), Some(&payment))
        .await
        .expect("paid");
    let next = revised(&order, |d| d.description = Some("changed".into()));
    let write = s
        .payables
        .upsert_payable(&next, now())
        .await
        .expect("upsert");
    assert!(matches!(write, PayableWrite::AlreadyPaid), "{write:?}");
    assert_eq!(payable(s, &order).await.description(), order.description());
}

pub async fn an_open_intent_keeps_its_payables_amount_payer_and_business(s: &Stores) {
    let order = stored_order(s, &new_user(), 5_000).await;
    let intent = open_on(s, &order).await;

    let repriced = revised(&order, |d| d.amount = usd(6_000));
    let write = s
        .payables
        .upsert_payable(&repriced, now())
        .await
        .expect("upsert");
    assert!(
        matches!(write, PayableWrite::OpenIntentAmountChange(id) if id == intent.id()),
        "{write:?}"
    );
    let new_owner = revised(&order, |d| d.owner = payer(&new_user()));
    let write = s
        .payables
        .upsert_payable(&new_owner, now())
        .await
        .expect("upsert");
    assert!(
        matches!(write, PayableWrite::OpenIntentAmountChange(_)),
        "{write:?}"
    );
    // The payment the intent records belongs to the business it was opened for.
    let new_business = revised(&order, |d| {
        d.business_id = Some(crate::domain::BusinessId::new(42))
    });
    let write = s
        .payables
        .upsert_payable(&new_business, now())
        .await
        .expect("upsert");
    assert!(
        matches!(write, PayableWrite::OpenIntentAmountChange(_)),
        "{write:?}"
    );
    assert_eq!(payable(s, &order).await.business_id(), None);

    // Details that do not change what is collected may.
    let described = revised(&order, |d| d.description = Some("Three tickets".into()));
    let write = s
        .payables
        .upsert_payable(&described, now())
        .await
        .expect("upsert");
    let PayableWrite::Written { payable: p, .. } = write else {
        panic!("description may change: {write:?}");
    };
    assert_eq!(
        p.open_intent_id(),
        Some(intent.id()),
        "the intent still holds it"
    );
}

pub async fn recorded_payments_bound_the_payables_total(s: &Stores) {
    let order = stored_order(s, &new_user(), 10_000).await;
    let outcome = s
        .payments
        .record_payment(&record_of(&order, 4_000, PaymentStatus::Pending), &order)
        .await
        .expect("record");
    assert_eq!(outcome, RecordOutcome::Recorded);

    let lower = revised(&order, |d| d.amount = usd(3_999));
    let write = s
        .payables
        .upsert_payable(&lower, now())
        .await
        .expect("upsert");
    assert!(
        matches!(write, PayableWrite::PaymentsRecorded(4_000)),
        "{write:?}"
    );

    let euros = revised(&order, |d| {
        d.amount = Money::from_minor(10_000, Currency::parse("EUR").expect("eur")).expect("eur")
    });
    let write = s
        .payables
        .upsert_payable(&euros, now())
        .await
        .expect("upsert");
    assert!(
        matches!(write, PayableWrite::PaymentsRecorded(4_000)),
        "{write:?}"
    );

    let exact = revised(&order, |d| d.amount = usd(4_000));
    let write = s
        .payables
        .upsert_payable(&exact, now())
        .await
        .expect("upsert");
    let PayableWrite::Written { payable: p, .. } = write else {
        panic!("down to what is recorded is allowed: {write:?}");
    };
    assert_eq!((p.amount(), p.allocated_minor()), (usd(4_000), 4_000));
}

pub async fn a_payable_with_intents_or_payments_keeps_its_owner(s: &Stores) {
    let owner = new_user();
    // An intent that ended still names the owner, with their email.
    let order = stored_order(s, &owner, 5_000).await;
    let intent = open_on(s, &order).await;
    let mut canceled = intent.clone();
    canceled
        .cancel("requested_by_customer", now())
        .expect("cancel");
    s.intents
        .finish_intent(&mut canceled, Expected::of(&intent), None)
        .await
        .expect("finish");
    // A failed payment holds nothing of the total, and still names the owner.
    let other = stored_order(s, &owner, 5_000).await;
    let outcome = s
        .payments
        .record_payment(&record_of(&other, 1_000, PaymentStatus::Failed), &other)
        .await
        .expect("record");
    assert_eq!(outcome, RecordOutcome::Recorded);
    for payable in [&order, &other] {
        let new_owner = revised(payable, |d| d.owner = payer(&new_user()));
        let write = s
            .payables
            .upsert_payable(&new_owner, now())
            .await
            .expect("upsert");
        assert!(matches!(write, PayableWrite::OwnerFixed), "{write:?}");
        // The owner's own details may still change.
        let described = revised(payable, |d| d.description = Some("Three tickets".into()));
        let write = s
            .payables
            .upsert_payable(&described, now())
            .await
            .expect("upsert");
        assert!(matches!(write, PayableWrite::Written { .. }), "{write:?}");
    }
    // A payable nobody has paid towards may still change hands.
    let fresh = stored_order(s, &owner, 5_000).await;
    let new_owner = revised(&fresh, |d| d.owner = payer(&new_user()));
    let write = s
        .payables
        .upsert_payable(&new_owner, now())
        .await
        .expect("upsert");
    assert!(matches!(write, PayableWrite::Written { .. }), "{write:?}");
}

pub async fn five_intents_per_payable_may_send_codes_per_day(s: &Stores) {
    let order = stored_order(s, &new_user(), 5_000).await;
    let policy = OtpPolicy::STANDARD;
    let t0 = now();
    let intents: Vec<_> = (0..6).map(|_| crate::domain::IntentId::new()).collect();
    for intent in &intents[..5] {
        assert!(
            s.payables
                .admit_otp_intent(order.payable(), intent, t0, &policy)
                .await
                .expect("admit")
        );
    }
    assert!(
        !s.payables
            .admit_otp_intent(order.payable(), &intents[5], t0, &policy)
            .await
            .expect("admit"),
        "a sixth intent within the day"
    );
    assert!(
        s.payables
            .admit_otp_intent(order.payable(), &intents[0], t0, &policy)
            .await
            .expect("admit"),
        "an admitted intent sends again"
    );
    let other = stored_order(s, &new_user(), 5_000).await;
    assert!(
        s.payables
            .admit_otp_intent(other.payable(), &intents[5], t0, &policy)
            .await
            .expect("admit"),
        "the cap is per payable"
    );
    assert!(
        s.payables
            .admit_otp_intent(
                order.payable(),
                &intents[5],
                t0 + Duration::hours(24),
                &policy
            )
            .await
            .expect("admit"),
        "a day later"
    );
}
