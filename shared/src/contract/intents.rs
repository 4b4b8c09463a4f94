//! Intents: one open per payable, conditional writes, all-or-nothing endings, lists.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use super::*;

pub async fn one_open_intent_per_payable(s: &Stores) {
    let order = stored_order(s, &new_user(), 5_000).await;
    let first = open_on(s, &order).await;
    let mut second = new_intent(&order.owner().user_id, Some(&order), GatewayId::Test);
    let outcome = s.intents.open_intent(&mut second).await.expect("open");
    assert!(
        matches!(outcome, OpenOutcome::PayableHasOpenIntent(id) if id == first.id()),
        "{outcome:?}"
    );
    assert!(
        s.intents
            .get_intent(&second.id())
            .await
            .expect("read")
            .is_none()
    );
    let stored = s
        .intents
        .get_intent(&first.id())
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.version(), 1);
    assert_eq!(payable(s, &order).await.open_intent_id(), Some(first.id()));
}

pub async fn an_intent_claims_only_an_open_payable_priced_and_owned_as_read(s: &Stores) {
    let owner = new_user();
    let missing = new_order(&owner, 5_000);
    let mut intent = new_intent(&owner, Some(&missing), GatewayId::Test);
    let outcome = s.intents.open_intent(&mut intent).await.expect("open");
    assert!(
        matches!(outcome, OpenOutcome::PayableChanged),
        "{outcome:?}"
    );

    let order = stored_order(s, &owner, 5_000).await;
    let mut stranger = new_intent(&new_user(), Some(&order), GatewayId::Test);
    let outcome = s.intents.open_intent(&mut stranger).await.expect("open");
    assert!(
        matches!(outcome, OpenOutcome::PayableChanged),
        "{outcome:?}"
    );

    let stale = revised(&order, |d| d.amount = usd(4_000));
    let mut cheaper = new_intent(&owner, Some(&stale), GatewayId::Test);
    let outcome = s.intents.open_intent(&mut cheaper).await.expect("open");
    assert!(
        matches!(outcome, OpenOutcome::PayableChanged),
        "{outcome:?}"
    );

    s.payments
        .record_payment(&record_of(&order, 100, PaymentStatus::Pending), &order)
        .await
        .expect("record");
    let mut after_payment = new_intent(&owner, Some(&order), GatewayId::Test);
    let outcome = s
        .intents
        .open_intent(&mut after_payment)
        .await
        .expect("open");
    assert!(
        matches!(outcome, OpenOutcome::PayableChanged),
        "{outcome:?}"
    );

    for id in [intent.id(), stranger.id(), cheaper.id(), after_payment.id()] {
        assert!(s.intents.get_intent(&id).await.expect("read").is_none());
    }
    assert_eq!(payable(s, &order).await.open_intent_id(), None);
}

pub async fn a_standalone_intent_id_is_stored_once(s: &Stores) {
    let mut intent = new_intent(&new_user(), None, GatewayId::Test);
    let outcome = s.intents.open_intent(&mut intent).await.expect("open");
    assert!(matches!(outcome, OpenOutcome::Created), "{outcome:?}");
    let again = s.intents.open_intent(&mut intent).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    let stored = s
        .intents
        .get_intent(&intent.id())
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.version(), 1);
    assert_eq!(stored.amount(), intent.amount());
    assert_eq!(stored.client_secret(), intent.client_secret());
}

pub async fn saving_an_intent_is_conditional_on_status_and_version(s: &Stores) {
    let user = new_user();
    let mut intent = new_intent(&user, None, GatewayId::Otp);
    s.intents.open_intent(&mut intent).await.expect("open");
    let before = Expected::of(&intent);
    let code = OtpCode::parse("123456").expect("code");
    let hash = OtpHash::compute(b"pepper", &intent.id(), &code);
    intent
        .issue_otp(hash, now(), &OtpPolicy::STANDARD)
        .expect("issue");
    s.intents
        .save_intent(&mut intent, before)
        .await
        .expect("save");
    let stored = s
        .intents
        .get_intent(&intent.id())
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.version(), 2);
    assert_eq!(stored.status(), IntentStatus::RequiresAction);
    assert_eq!(stored.otp_sends(), 1);
    assert!(
        stored
            .otp()
            .as_ref()
            .is_some_and(|o| o.hash.matches(b"pepper", &intent.id(), &code))
    );

    // A writer that read the old version loses, whatever it changes.
    let stale = s.intents.save_intent(&mut intent, before).await;
    assert!(matches!(stale, Err(StoreError::Conflict)), "{stale:?}");
    let wrong_status = Expected {
        status: IntentStatus::RequiresConfirmation,
        version: 2,
    };
    let lost = s.intents.save_intent(&mut intent, wrong_status).await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
    let mut missing = new_intent(&user, None, GatewayId::Otp);
    let never_stored = Expected::of(&missing);
    let lost = s.intents.save_intent(&mut missing, never_stored).await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
}

pub async fn a_succeeded_intent_creates_its_payment_and_pays_its_payable_at_once(s: &Stores) {
    let order = stored_order(s, &new_user(), 7_500).await;
    let intent = open_on(s, &order).await;
    let (mut done, payment) = succeed(&intent);
    s.intents
        .finish_intent(&mut done, Expected::of(&intent), Some(&payment))
        .await
        .expect("finish");
    let stored = s
        .intents
        .get_intent(&intent.id())
        .await
        .expect("read")
        .expect("intent");
    assert_eq!(
        (stored.status(), stored.version()),
        (IntentStatus::Succeeded, 2)
    );
    let p = payable(s, &order).await;
    assert_eq!(p.status(), PayableStatus::Paid);
    assert_eq!((p.allocated_minor(), p.paid_minor()), (7_500, 7_500));
    assert_eq!(p.open_intent_id(), None);
    let recorded = s.payments.get_payment(&payment.id()).await.expect("read");
    assert_eq!(recorded, Some(payment.clone()));
    // Exactly once: the same success again loses.
    let again = s
        .intents
        .finish_intent(&mut done, Expected::of(&intent), Some(&payment))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
}

pub async fn an_ended_intent_frees_its_payable(s: &Stores) {
    let order = stored_order(s, &new_user(), 5_000).await;
    let intent = open_on(s, &order).await;
    let mut canceled = intent.clone();
    canceled
        .cancel("requested_by_customer", now())
        .expect("cancel");
    s.intents
        .finish_intent(&mut canceled, Expected::of(&intent), None)
        .await
        .expect("finish");
    let p = payable(s, &order).await;
    assert_eq!(
        (p.status(), p.open_intent_id()),
        (PayableStatus::Open, None)
    );
    assert_eq!(p.paid_minor(), 0);
    let next = open_on(s, &order).await;
    assert_eq!(payable(s, &order).await.open_intent_id(), Some(next.id()));
}

pub async fn finishing_an_intent_is_all_or_nothing(s: &Stores) {
    let owner = new_user();
    let order = stored_order(s, &owner, 5_000).await;
    let intent = open_on(s, &order).await;
    // A payment id already taken makes the whole write lose.
    let other = stored_order(s, &owner, 100).await;
    let taken = record_of(&other, 100, PaymentStatus::Failed);
    s.payments
        .record_payment(&taken, &other)
        .await
        .expect("record");
    let (mut done, mut payment) = succeed(&intent);
    payment.name(taken.id());
    let lost = s
        .intents
        .finish_intent(&mut done, Expected::of(&intent), Some(&payment))
        .await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
    let stored = s
        .intents
        .get_intent(&intent.id())
        .await
        .expect("read")
        .expect("intent");
    assert_eq!((stored.status(), stored.version()), (intent.status(), 1));
    let p = payable(s, &order).await;
    assert_eq!(
        (p.status(), p.open_intent_id()),
        (PayableStatus::Open, Some(intent.id()))
    );

    // An intent that does not hold its payable cannot free or pay it.
    let mut stranger = new_intent(&owner, None, GatewayId::Test);
    s.intents.open_intent(&mut stranger).await.expect("open");
    let mut ended = PaymentIntent::restore(
        crate::domain::intent::IntentParts {
            payable: Some(order.payable().clone()),
            ..stranger.clone().into_parts()
        },
        stranger.version(),
    );
    ended
        .cancel("requested_by_customer", now())
        .expect("cancel");
    let lost = s
        .intents
        .finish_intent(&mut ended, Expected::of(&stranger), None)
        .await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
    assert_eq!(payable(s, &order).await.open_intent_id(), Some(intent.id()));
}

pub async fn otp_attempts_are_reserved_up_to_the_limit(s: &Stores) {
    let mut intent = new_intent(&new_user(), None, GatewayId::Otp);
    s.intents.open_intent(&mut intent).await.expect("open");
    let code = OtpCode::parse("123456").expect("code");
    let hash = OtpHash::compute(b"pepper", &intent.id(), &code);
    assert_eq!(
        s.intents
            .reserve_otp_attempt(&intent.id(), &hash, 5, now())
            .await
            .expect("reserve"),
        None,
        "no code is awaited yet"
    );
    let before = Expected::of(&intent);
    intent
        .issue_otp(hash.clone(), now(), &OtpPolicy::STANDARD)
        .expect("issue");
    s.intents
        .save_intent(&mut intent, before)
        .await
        .expect("save");
    let other = OtpHash::compute(
        b"pepper",
        &intent.id(),
        &OtpCode::parse("654321").expect("code"),
    );
    assert_eq!(
        s.intents
            .reserve_otp_attempt(&intent.id(), &other, 5, now())
            .await
            .expect("reserve"),
        None,
        "an attempt is only at the code the intent awaits"
    );
    for expected in 1..=5 {
        let attempt = s
            .intents
            .reserve_otp_attempt(&intent.id(), &hash, 5, now())
            .await
            .expect("reserve");
        assert_eq!(attempt, Some(expected));
    }
    assert_eq!(
        s.intents
            .reserve_otp_attempt(&intent.id(), &hash, 5, now())
            .await
            .expect("reserve"),
        None
    );
    let stored = s
        .intents
        .get_intent(&intent.id())
        .await
        .expect("read")
        .expect("intent");
    assert_eq!(
        (stored.otp_attempts(), stored.version()),
        (5, 7),
        "each attempt is a change"
    );
    let missing = new_intent(&new_user(), None, GatewayId::Otp);
    assert_eq!(
        s.intents
            .reserve_otp_attempt(&missing.id(), &hash, 5, now())
            .await
            .expect("reserve"),
        None
    );
}

pub async fn intent_lists_are_newest_first_with_cursors(s: &Stores) {
    let user = new_user();
    let order = stored_order(s, &user, 5_000).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut intent = new_intent(&user, None, GatewayId::Test);
        s.intents.open_intent(&mut intent).await.expect("open");
        if i % 2 == 0 {
            let before = Expected::of(&intent);
            intent
                .cancel("requested_by_customer", now())
                .expect("cancel");
            s.intents
                .finish_intent(&mut intent, before, None)
                .await
                .expect("cancel");
        }
        ids.push(intent.id());
    }
    let on_order = open_on(s, &order).await;
    ids.push(on_order.id());
    // Someone else's intents never show.
    s.intents
        .open_intent(&mut new_intent(&new_user(), None, GatewayId::Test))
        .await
        .expect("open");
    ids.sort_by_key(|id| std::cmp::Reverse(id.to_string()));

    let mut seen = Vec::new();
    let mut request = PageRequest::first(2);
    for _ in 0..10 {
        let page = s
            .intents
            .list_intents_by_user(&user, None, &request)
            .await
            .expect("page");
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|i| i.id()));
        request.cursor = page.next;
        if request.cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, ids, "every intent once, newest first");

    let canceled = s
        .intents
        .list_intents_by_user(&user, Some(IntentStatus::Canceled), &PageRequest::first(10))
        .await
        .expect("filtered");
    assert_eq!(canceled.items.len(), 3);
    assert!(
        canceled
            .items
            .iter()
            .all(|i| i.status() == IntentStatus::Canceled)
    );

    let by_order = s
        .intents
        .list_intents_by_payable(order.payable(), &PageRequest::first(10))
        .await
        .expect("by payable");
    assert_eq!(
        by_order.items.iter().map(|i| i.id()).collect::<Vec<_>>(),
        vec![on_order.id()]
    );
    assert!(by_order.next.is_none());
}

pub async fn a_bad_or_foreign_cursor_is_refused(s: &Stores) {
    let user = new_user();
    for _ in 0..3 {
        s.intents
            .open_intent(&mut new_intent(&user, None, GatewayId::Test))
            .await
            .expect("open");
    }
    let page = s
        .intents
        .list_intents_by_user(&user, None, &PageRequest::first(1))
        .await
        .expect("page");
    let cursor = page.next.expect("more to read");
    let other = s
        .intents
        .list_intents_by_user(&new_user(), None, &PageRequest::after(1, &cursor))
        .await;
    assert!(matches!(other, Err(StoreError::BadCursor)), "{other:?}");
    let order = stored_order(s, &user, 100).await;
    let other = s
        .intents
        .list_intents_by_payable(order.payable(), &PageRequest::after(1, &cursor))
        .await;
    assert!(matches!(other, Err(StoreError::BadCursor)), "{other:?}");
    for garbage in ["not a cursor!", "e30", ""] {
        let bad = s
            .intents
            .list_intents_by_user(&user, None, &PageRequest::after(1, garbage))
            .await;
        assert!(
            matches!(bad, Err(StoreError::BadCursor)),
            "{garbage}: {bad:?}"
        );
    }
    let bad = s
        .payments
        .list_payments_by_payable(order.payable(), &PageRequest::after(1, "not a cursor!"))
        .await;
    assert!(matches!(bad, Err(StoreError::BadCursor)), "{bad:?}");
}

/// Cursors a caller made from one the service gave out: its position without
/// the seal, and its position changed under the original seal.
fn tampered(cursor: &str) -> Vec<String> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .expect("cursors are base64url");
    let mut stream = serde_json::Deserializer::from_slice(&bytes).into_iter::<serde_json::Value>();
    let position = stream
        .next()
        .expect("a position")
        .expect("the position is JSON");
    let seal = bytes[stream.byte_offset()..].to_vec();
    let unsealed = serde_json::to_vec(&position).expect("json");
    let mut moved = position.clone();
    for value in moved.as_object_mut().expect("an object").values_mut() {
        if let Some(s) = value.as_str() {
            *value = serde_json::Value::String(format!("{s}0"));
        }
    }
    let mut moved = serde_json::to_vec(&moved).expect("json");
    moved.extend_from_slice(&seal);
    vec![
        URL_SAFE_NO_PAD.encode(unsealed),
        URL_SAFE_NO_PAD.encode(moved),
    ]
}

pub async fn a_tampered_cursor_is_refused(s: &Stores) {
    let user = new_user();
    let order = stored_order(s, &user, 10_000).await;
    for _ in 0..3 {
        s.intents
            .open_intent(&mut new_intent(&user, None, GatewayId::Test))
            .await
            .expect("open");
        s.payments
            .record_payment(&record_of(&order, 100, PaymentStatus::Pending), &order)
            .await
            .expect("record");
    }
    let cursor = s
        .intents
        .list_intents_by_user(&user, None, &PageRequest::first(1))
        .await
        .expect("page")
        .next
        .expect("more to read");
    for forged in tampered(&cursor) {
        let bad = s
            .intents
            .list_intents_by_user(&user, None, &PageRequest::after(1, &forged))
            .await;
        assert!(matches!(bad, Err(StoreError::BadCursor)), "{bad:?}");
    }
    let cursor = s
        .payments
        .list_payments_by_payable(order.payable(), &PageRequest::first(1))
        .await
        .expect("page")
        .next
        .expect("more to read");
    for forged in tampered(&cursor) {
        let bad = s
            .payments
            .list_payments_by_payable(order.payable(), &PageRequest::after(1, &forged))
            .await;
        assert!(matches!(bad, Err(StoreError::BadCursor)), "{bad:?}");
    }
}

pub async fn late_money_is_recorded_beside_an_ended_intent(s: &Stores) {
    let order = stored_order(s, &new_user(), 5_000).await;
    let intent = open_on(s, &order).await;
    let mut canceled = intent.clone();
    canceled.cancel("expired", now()).expect("cancel");
    s.intents
        .finish_intent(&mut canceled, Expected::of(&intent), None)
        .await
        .expect("finish");
    let expected = Expected::of(&canceled);
    let mut flagged = canceled.clone();
    flagged.on_gateway_succeeded(now()).expect("a report");
    let payment = Payment::for_intent(
        &flagged,
        PaymentMethod::Card,
        "pi_late".into(),
        &FeeSchedule::standard(),
        now(),
    );
    s.intents
        .record_late_success(&mut flagged, expected, &payment)
        .await
        .expect("recorded");
    let stored = s
        .intents
        .get_intent(&intent.id())
        .await
        .expect("read")
        .expect("intent");
    assert_eq!(stored.status(), IntentStatus::Canceled);
    assert!(stored.review_reason().is_some());
    assert!(
        s.payments
            .get_payment(&payment.id())
            .await
            .expect("read")
            .is_some()
    );
    let payable = s
        .payables
        .get_payable(order.payable())
        .await
        .expect("read")
        .expect("payable");
    assert_eq!(
        (
            payable.status(),
            payable.allocated_minor(),
            payable.open_intent_id()
        ),
        (PayableStatus::Open, 0, None),
        "the payable is left alone"
    );
    let again = Payment::for_intent(
        &flagged,
        PaymentMethod::Card,
        "pi_late".into(),
        &FeeSchedule::standard(),
        now(),
    );
    let stale = s
        .intents
        .record_late_success(&mut flagged, expected, &again)
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict)), "{stale:?}");
}

/// `intent` as the gateway named it when it was created there.
fn named_by_gateway(intent: PaymentIntent, gateway_intent_id: &str) -> PaymentIntent {
    PaymentIntent::restore(
        crate::domain::intent::IntentParts {
            gateway_intent_id: Some(gateway_intent_id.to_owned()),
            ..intent.clone().into_parts()
        },
        intent.version(),
    )
}

async fn found_by_gateway(s: &Stores, gateway: GatewayId, id: &str) -> Option<PaymentIntent> {
    s.intents
        .find_intent_by_gateway_id(gateway, id)
        .await
        .expect("find")
}

pub async fn an_intent_is_found_by_its_gateways_id(s: &Stores) {
    let user = new_user();
    let standalone_id = unique("pi_test");
    let mut standalone = named_by_gateway(new_intent(&user, None, GatewayId::Test), &standalone_id);
    let outcome = s.intents.open_intent(&mut standalone).await.expect("open");
    assert!(matches!(outcome, OpenOutcome::Created), "{outcome:?}");

    let order = stored_order(s, &user, 5_000).await;
    let on_order_id = unique("pi_test");
    let mut on_order = named_by_gateway(
        new_intent(&user, Some(&order), GatewayId::Test),
        &on_order_id,
    );
    let outcome = s.intents.open_intent(&mut on_order).await.expect("open");
    assert!(matches!(outcome, OpenOutcome::Created), "{outcome:?}");
    assert_eq!(
        payable(s, &order).await.open_intent_id(),
        Some(on_order.id())
    );

    for (id, intent) in [(&standalone_id, &standalone), (&on_order_id, &on_order)] {
        let found = found_by_gateway(s, GatewayId::Test, id)
            .await
            .expect("found by the gateway's id");
        assert_eq!(found.id(), intent.id());
        assert_eq!(found.version(), 1);
        assert_eq!(found.gateway_intent_id().as_deref(), Some(id.as_str()));
    }
    // Gateways' ids are theirs alone: the same id at another gateway names nothing.
    assert_eq!(
        found_by_gateway(s, GatewayId::Otp, &standalone_id).await,
        None
    );
    assert_eq!(
        found_by_gateway(s, GatewayId::Test, &unique("pi_test")).await,
        None
    );
}

pub async fn a_gateways_id_names_one_intent(s: &Stores) {
    let user = new_user();
    let gateway_id = unique("pi_test");
    let mut first = named_by_gateway(new_intent(&user, None, GatewayId::Test), &gateway_id);
    s.intents.open_intent(&mut first).await.expect("open");

    let mut standalone = named_by_gateway(new_intent(&user, None, GatewayId::Test), &gateway_id);
    let again = s.intents.open_intent(&mut standalone).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");

    let order = stored_order(s, &user, 5_000).await;
    let mut on_order = named_by_gateway(
        new_intent(&user, Some(&order), GatewayId::Test),
        &gateway_id,
    );
    let again = s.intents.open_intent(&mut on_order).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");

    // Nothing of the refused intents stays behind: no intent, no claim.
    for refused in [&standalone, &on_order] {
        assert_eq!(
            s.intents.get_intent(&refused.id()).await.expect("read"),
            None
        );
    }
    assert_eq!(payable(s, &order).await.open_intent_id(), None);
    let found = found_by_gateway(s, GatewayId::Test, &gateway_id)
        .await
        .expect("still the first");
    assert_eq!(found.id(), first.id());

    // The same id at another gateway is another name.
    let mut elsewhere = named_by_gateway(new_intent(&user, None, GatewayId::Otp), &gateway_id);
    let outcome = s.intents.open_intent(&mut elsewhere).await.expect("open");
    assert!(matches!(outcome, OpenOutcome::Created), "{outcome:?}");
}

pub async fn the_all_intents_list_is_newest_first_across_users(s: &Stores) {
    let users = [new_user(), new_user(), new_user()];
    let mut ids = Vec::new();
    for i in 0..12 {
        let user = &users[i % users.len()];
        let id = if i % 4 == 0 {
            let order = stored_order(s, user, 1_000).await;
            open_on(s, &order).await.id()
        } else {
            let mut intent = new_intent(user, None, GatewayId::Test);
            s.intents.open_intent(&mut intent).await.expect("open");
            intent.id()
        };
        ids.push(id);
    }
    ids.sort_by_key(|id| std::cmp::Reverse(id.to_string()));

    let mut seen = Vec::new();
    let mut pages = 0;
    let mut request = PageRequest::first(3);
    loop {
        let page = s.intents.list_all_intents(&request).await.expect("page");
        pages += 1;
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|i| i.id()));
        request.cursor = page.next;
        if request.cursor.is_none() || pages > ids.len() {
            break;
        }
    }
    assert_eq!(seen, ids, "every intent once, newest first");
    assert!(pages <= 5, "{pages} pages of 3 for 12 intents");

    let all = s
        .intents
        .list_all_intents(&PageRequest::first(ids.len() + 5))
        .await
        .expect("one page");
    assert_eq!(all.items.iter().map(|i| i.id()).collect::<Vec<_>>(), ids);
    assert!(all.next.is_none(), "nothing more to read");
}

pub async fn the_all_intents_list_refuses_other_cursors(s: &Stores) {
    let user = new_user();
    for _ in 0..3 {
        s.intents
            .open_intent(&mut new_intent(&user, None, GatewayId::Test))
            .await
            .expect("open");
    }
    let by_user = s
        .intents
        .list_intents_by_user(&user, None, &PageRequest::first(1))
        .await
        .expect("page")
        .next
        .expect("more to read");
    let bad = s
        .intents
        .list_all_intents(&PageRequest::after(1, &by_user))
        .await;
    assert!(matches!(bad, Err(StoreError::BadCursor)), "{bad:?}");

    let all = s
        .intents
        .list_all_intents(&PageRequest::first(1))
        .await
        .expect("page")
        .next
        .expect("more to read");
    let bad = s
        .intents
        .list_intents_by_user(&user, None, &PageRequest::after(1, &all))
        .await;
    assert!(matches!(bad, Err(StoreError::BadCursor)), "{bad:?}");

    let mut refused: Vec<String> = ["not a cursor!", "e30", ""].map(str::to_owned).into();
    refused.extend(tampered(&all));
    for garbage in refused {
        let bad = s
            .intents
            .list_all_intents(&PageRequest::after(1, &garbage))
            .await;
        assert!(
            matches!(bad, Err(StoreError::BadCursor)),
            "{garbage}: {bad:?}"
        );
    }
}

/// An id derived from an Idempotency-Key says nothing about time: lists
/// order by when the intent was opened.
pub async fn intents_named_from_keys_still_list_newest_first(s: &Stores) {
    let user = new_user();
    let mut ids = Vec::new();
    for n in 0..4 {
        let opened = new_intent(&user, None, GatewayId::Otp);
        let mut intent = PaymentIntent::restore(
            crate::domain::intent::IntentParts {
                id: crate::domain::RequestKey::new("user:contract", unique("key")).intent_id(),
                created_at: now() + time::Duration::seconds(n),
                ..opened.clone().into_parts()
            },
            opened.version(),
        );
        s.intents.open_intent(&mut intent).await.expect("open");
        ids.push(intent.id());
    }
    ids.reverse();
    let by_user = s
        .intents
        .list_intents_by_user(&user, None, &PageRequest::first(10))
        .await
        .expect("list");
    assert_eq!(
        by_user.items.iter().map(|i| i.id()).collect::<Vec<_>>(),
        ids
    );
    let all: Vec<_> = s
        .intents
        .list_all_intents(&PageRequest::first(100))
        .await
        .expect("list")
        .items
        .into_iter()
        .map(|i| i.id())
        .filter(|id| ids.contains(id))
        .collect();
    assert_eq!(all, ids);
}
