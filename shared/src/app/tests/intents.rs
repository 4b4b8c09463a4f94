use time::Duration;

use super::{TestApp, person, stated};
use crate::app::AppError;
use crate::app::intents::{self, Ending};
use crate::auth::{Caller, Role};
use crate::domain::intent::{OTP_ATTEMPTS_EXCEEDED, OtpRequestError};
use crate::domain::otp::OtpError;
use crate::domain::{
    GatewayId, IntentStatus, OtpCode, Payable, PayableStatus, PaymentIntent, PaymentMethod,
    PaymentStatus,
};
use crate::ports::PageRequest;

async fn otp_intent(t: &TestApp, payer: &Caller) -> (Payable, PaymentIntent) {
    let order = t.order(payer, 11_200).await;
    let (intent, created) = intents::open_for_payable(
        &t.app,
        payer,
        order.payable(),
        GatewayId::Otp,
        "Registration",
    )
    .await
    .expect("open");
    assert!(created);
    (order, intent)
}

async fn sent_code(t: &TestApp, payer: &Caller, intent: &PaymentIntent) -> OtpCode {
    intents::request_otp(&t.app, payer, &intent.id())
        .await
        .expect("code sent");
    t.outbox.last_code()
}

fn wrong(code: &OtpCode) -> OtpCode {
    let digit = if code.expose().starts_with('0') {
        '1'
    } else {
        '0'
    };
    OtpCode::parse(&format!("{digit}{}", &code.expose()[1..])).expect("code")
}

#[tokio::test]
async fn opening_again_returns_the_open_intent() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, first) = otp_intent(&t, &payer).await;
    assert_eq!(first.status(), IntentStatus::RequiresConfirmation);
    assert_eq!(first.amount(), order.amount());
    assert_eq!(first.version(), 1);
    let (again, created) = intents::open_for_payable(
        &t.app,
        &payer,
        order.payable(),
        GatewayId::Otp,
        "Registration",
    )
    .await
    .expect("open");
    assert!(!created);
    assert_eq!(again.id(), first.id());
    assert_eq!(
        t.payable(order.payable()).await.open_intent_id(),
        Some(first.id())
    );
}

#[tokio::test]
async fn only_the_owner_may_open_an_intent_and_only_while_it_is_open() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 5_000).await;
    let stranger = person(&[Role::Admin]);
    let err =
        intents::open_for_payable(&t.app, &stranger, order.payable(), GatewayId::Otp, "Order")
            .await
            .expect_err("not theirs");
    assert!(
        matches!(err, AppError::NotFound(ref n) if n == "Order"),
        "{err:?}"
    );

    let (order, intent) = otp_intent(&t, &payer).await;
    let code = sent_code(&t, &payer, &intent).await;
    intents::confirm_otp(&t.app, &payer, &intent.id(), &code)
        .await
        .expect("paid");
    let err = intents::open_for_payable(&t.app, &payer, order.payable(), GatewayId::Otp, "Order")
        .await
        .expect_err("paid");
    assert!(
        matches!(err, AppError::PayableNotOpen { status: "paid", .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_order_with_payments_is_settled_through_its_payments() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 5_000).await;
    crate::app::payments::record(
        &t.app,
        &crate::auth::Actor::Person(payer.clone()),
        order.payable(),
        stated("10.00"),
        PaymentMethod::Cash,
        PaymentStatus::Pending,
    )
    .await
    .expect("recorded");
    let err = intents::open_for_payable(&t.app, &payer, order.payable(), GatewayId::Test, "Order")
        .await
        .expect_err("locked");
    assert!(matches!(err, AppError::PayableLocked(_)), "{err:?}");
}

#[tokio::test]
async fn a_code_is_mailed_to_the_payer_with_what_is_paid_and_when_it_expires() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = otp_intent(&t, &payer).await;
    let expires = intents::request_otp(&t.app, &payer, &intent.id())
        .await
        .expect("sent");
    assert_eq!(expires, t.clock_now() + Duration::minutes(5));
    let sent = t.outbox.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(Some(&sent[0].to), payer.email.as_ref());
    assert_eq!(sent[0].amount, order.amount());
    assert!(
        sent[0].purpose.contains(order.payable().id.as_str()),
        "{}",
        sent[0].purpose
    );
    assert_eq!(sent[0].expires_at, expires);
    let stored = intents::get(&t.app, &payer, &intent.id())
        .await
        .expect("read");
    assert_eq!(stored.status(), IntentStatus::RequiresAction);
    assert_eq!(stored.otp_sends(), 1);
}

#[tokio::test]
async fn codes_are_resent_after_the_cooldown_at_most_five_times() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (_, intent) = otp_intent(&t, &payer).await;
    let id = intent.id();
    intents::request_otp(&t.app, &payer, &id)
        .await
        .expect("first");
    t.clock.advance(Duration::seconds(10));
    let err = intents::request_otp(&t.app, &payer, &id)
        .await
        .expect_err("cooldown");
    assert!(
        matches!(
            err,
            AppError::Otp(OtpRequestError::Otp(OtpError::Cooldown(30, 20)))
        ),
        "{err:?}"
    );
    for _ in 1..5 {
        t.clock.advance(Duration::seconds(30));
        intents::request_otp(&t.app, &payer, &id)
            .await
            .expect("resend");
    }
    t.clock.advance(Duration::seconds(30));
    let err = intents::request_otp(&t.app, &payer, &id)
        .await
        .expect_err("cap");
    assert!(
        matches!(
            err,
            AppError::Otp(OtpRequestError::Otp(OtpError::TooManySends(5)))
        ),
        "{err:?}"
    );
    assert_eq!(t.outbox.sent().len(), 5);
    // Only the payer receives codes; anyone else does not see the intent.
    let err = intents::request_otp(&t.app, &person(&[Role::Admin]), &id)
        .await
        .expect_err("not theirs");
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn the_right_code_collects_the_payment_once() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = otp_intent(&t, &payer).await;
    let code = sent_code(&t, &payer, &intent).await;
    let (done, payment) = intents::confirm_otp(&t.app, &payer, &intent.id(), &code)
        .await
        .expect("confirmed");
    assert_eq!(done.status(), IntentStatus::Succeeded);
    assert_eq!(payment.status(), PaymentStatus::Completed);
    assert_eq!(payment.method(), PaymentMethod::EmailOtp);
    assert_eq!(payment.amount(), order.amount());
    assert_eq!(payment.intent_id(), Some(intent.id()));
    let paid = t.payable(order.payable()).await;
    assert_eq!(
        (paid.status(), paid.paid_minor()),
        (PayableStatus::Paid, 11_200)
    );
    assert_eq!(
        t.app
            .payments
            .get_payment(&payment.id())
            .await
            .expect("read"),
        Some(payment)
    );
    let err = intents::confirm_otp(&t.app, &payer, &intent.id(), &code)
        .await
        .expect_err("already succeeded");
    assert!(matches!(err, AppError::Transition(_)), "{err:?}");
}

#[tokio::test]
async fn the_fifth_wrong_code_fails_the_intent() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = otp_intent(&t, &payer).await;
    let id = intent.id();
    let code = sent_code(&t, &payer, &intent).await;
    for remaining in (1..5).rev() {
        let err = intents::confirm_otp(&t.app, &payer, &id, &wrong(&code))
            .await
            .expect_err("wrong");
        assert!(
            matches!(err, AppError::WrongOtp { remaining: r } if r == remaining),
            "{err:?}"
        );
    }
    let err = intents::confirm_otp(&t.app, &payer, &id, &wrong(&code))
        .await
        .expect_err("fifth");
    assert!(matches!(err, AppError::OtpAttemptsExceeded), "{err:?}");
    let failed = intents::get(&t.app, &payer, &id).await.expect("read");
    assert_eq!(failed.status(), IntentStatus::Failed);
    assert_eq!(
        failed.failure_reason().as_deref(),
        Some(OTP_ATTEMPTS_EXCEEDED)
    );
    assert_eq!(failed.otp_attempts(), 5);
    // Even the right code no longer works, and the payable is free again.
    let err = intents::confirm_otp(&t.app, &payer, &id, &code)
        .await
        .expect_err("failed");
    assert!(matches!(err, AppError::OtpAttemptsExceeded), "{err:?}");
    assert_eq!(t.payable(order.payable()).await.open_intent_id(), None);
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (_, intent) = otp_intent(&t, &payer).await;
    let code = sent_code(&t, &payer, &intent).await;
    t.clock.advance(Duration::minutes(5));
    let err = intents::confirm_otp(&t.app, &payer, &intent.id(), &code)
        .await
        .expect_err("expired");
    assert!(
        matches!(err, AppError::Otp(OtpRequestError::Otp(OtpError::Expired))),
        "{err:?}"
    );
}

#[tokio::test]
async fn payers_and_admins_cancel_others_do_not_see_the_intent() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = otp_intent(&t, &payer).await;
    let id = intent.id();
    for other in [
        person(&[]),
        person(&[Role::Support]),
        person(&[Role::Staff]),
    ] {
        let err = intents::end(&t.app, &other, &id, Ending::Cancel, None)
            .await
            .expect_err("not theirs");
        assert!(matches!(err, AppError::NotFound(_)), "{err:?}");
    }
    let canceled = intents::end(&t.app, &payer, &id, Ending::Cancel, None)
        .await
        .expect("cancel");
    assert_eq!(canceled.status(), IntentStatus::Canceled);
    assert_eq!(
        canceled.cancellation_reason().as_deref(),
        Some("requested_by_customer")
    );
    assert_eq!(t.payable(order.payable()).await.open_intent_id(), None);
    let err = intents::end(&t.app, &payer, &id, Ending::Fail, None)
        .await
        .expect_err("terminal");
    assert!(matches!(err, AppError::Transition(_)), "{err:?}");

    let (_, second) = otp_intent(&t, &payer).await;
    let failed = intents::end(
        &t.app,
        &person(&[Role::Admin]),
        &second.id(),
        Ending::Fail,
        None,
    )
    .await
    .expect("admin fails it");
    assert_eq!(failed.status(), IntentStatus::Failed);
    assert_eq!(
        failed.failure_reason().as_deref(),
        Some("marked_failed_by_admin")
    );
}

#[tokio::test]
async fn reads_are_the_payers_or_support_and_admin() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = otp_intent(&t, &payer).await;
    let id = intent.id();
    assert_eq!(
        intents::get(&t.app, &payer, &id).await.expect("own").id(),
        intent.id()
    );
    assert!(
        intents::get(&t.app, &person(&[Role::Support]), &id)
            .await
            .is_ok()
    );
    let err = intents::get(&t.app, &person(&[]), &id)
        .await
        .expect_err("other");
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");

    let user = payer.user_id.clone();
    let mine = intents::list_for_user(&t.app, &payer, &user, None, &PageRequest::first(10))
        .await
        .expect("own list");
    assert_eq!(mine.items.len(), 1);
    let none = intents::list_for_user(
        &t.app,
        &payer,
        &user,
        Some(IntentStatus::Succeeded),
        &PageRequest::first(10),
    )
    .await
    .expect("filtered");
    assert!(none.items.is_empty());
    let err = intents::list_for_user(&t.app, &person(&[]), &user, None, &PageRequest::first(10))
        .await
        .expect_err("someone else's");
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");
    assert!(
        intents::list_for_user(
            &t.app,
            &person(&[Role::Admin]),
            &user,
            None,
            &PageRequest::first(10)
        )
        .await
        .is_ok()
    );

    let by_order = intents::list_for_payable(
        &t.app,
        &payer,
        order.payable(),
        "Order",
        &PageRequest::first(10),
    )
    .await
    .expect("own order");
    assert_eq!(by_order.items.len(), 1);
    let err = intents::list_for_payable(
        &t.app,
        &person(&[]),
        order.payable(),
        "Order",
        &PageRequest::first(10),
    )
    .await
    .expect_err("someone else's order");
    assert!(
        matches!(err, AppError::NotFound(ref n) if n == "Order"),
        "{err:?}"
    );
    assert!(
        intents::list_for_payable(
            &t.app,
            &person(&[Role::Support]),
            order.payable(),
            "Order",
            &PageRequest::first(10)
        )
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn a_payer_may_not_fail_an_intent_the_gateway_is_processing() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (_, intent) = otp_intent(&t, &payer).await;
    let mut processing = intent.clone();
    processing
        .transition(IntentStatus::Processing, t.clock_now())
        .expect("processing");
    t.app
        .intents
        .save_intent(&mut processing, crate::ports::Expected::of(&intent))
        .await
        .expect("saved");
    let id = intent.id();
    let err = intents::end(&t.app, &payer, &id, Ending::Fail, None)
        .await
        .expect_err("the gateway decides");
    assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
    let err = intents::end(&t.app, &payer, &id, Ending::Cancel, None)
        .await
        .expect_err("money is moving");
    assert!(matches!(err, AppError::Transition(_)), "{err:?}");
    let admin = person(&[Role::Admin]);
    let err = intents::end(&t.app, &admin, &id, Ending::Fail, None)
        .await
        .expect_err("an admin says why");
    assert!(matches!(err, AppError::ReasonRequired), "{err:?}");
    let failed = intents::end(&t.app, &admin, &id, Ending::Fail, Some("gateway_timeout"))
        .await
        .expect("an admin may, with a reason");
    assert_eq!(failed.status(), IntentStatus::Failed);
    assert_eq!(failed.failure_reason().as_deref(), Some("gateway_timeout"));
}

#[tokio::test]
async fn a_code_is_compared_only_on_a_reserved_attempt() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = otp_intent(&t, &payer).await;
    let id = intent.id();
    let code = sent_code(&t, &payer, &intent).await;
    // Four guesses are being compared right now, elsewhere: their attempts are taken.
    let awaited = t
        .app
        .intents
        .get_intent(&intent.id())
        .await
        .expect("read")
        .expect("intent")
        .otp()
        .clone()
        .expect("a code is awaited")
        .hash;
    for _ in 0..4 {
        t.app
            .intents
            .reserve_otp_attempt(&intent.id(), &awaited, 5, t.clock_now())
            .await
            .expect("reserve")
            .expect("an attempt");
    }
    // The fifth attempt, correct, still succeeds.
    let fifth_reserved = intents::confirm_otp(&t.app, &payer, &id, &code).await;
    assert!(fifth_reserved.is_ok(), "{fifth_reserved:?}");

    // On another intent, every attempt is taken: even the right code is not compared.
    let payer = person(&[]);
    let (_, intent) = otp_intent(&t, &payer).await;
    let id = intent.id();
    let code = sent_code(&t, &payer, &intent).await;
    let stored = t
        .app
        .intents
        .get_intent(&intent.id())
        .await
        .expect("read")
        .expect("intent");
    let awaited = stored.otp().clone().expect("a code is awaited").hash;
    for _ in 0..5 {
        t.app
            .intents
            .reserve_otp_attempt(&intent.id(), &awaited, 5, t.clock_now())
            .await
            .expect("reserve")
            .expect("an attempt");
    }
    let err = intents::confirm_otp(&t.app, &payer, &id, &code)
        .await
        .expect_err("no attempt left to compare on");
    assert!(matches!(err, AppError::OtpAttemptsExceeded), "{err:?}");
    let current = intents::get(&t.app, &payer, &id).await.expect("read");
    assert_ne!(current.status(), IntentStatus::Succeeded);
    let _ = order;
}

#[tokio::test]
async fn an_abandoned_intent_expires_and_frees_its_payable() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = otp_intent(&t, &payer).await;
    let id = intent.id();
    sent_code(&t, &payer, &intent).await;
    t.clock.advance(Duration::hours(24) - Duration::seconds(1));
    let (same, created) = intents::open_for_payable(
        &t.app,
        &payer,
        order.payable(),
        GatewayId::Otp,
        "Registration",
    )
    .await
    .expect("open");
    assert!(
        !created && same.id() == intent.id(),
        "still within its time"
    );
    t.clock.advance(Duration::seconds(1));
    let listed = intents::list_for_user(
        &t.app,
        &payer,
        &payer.user_id,
        None,
        &PageRequest::first(10),
    )
    .await
    .expect("list");
    assert_eq!(listed.items[0].status(), IntentStatus::Canceled);
    let expired = intents::get(&t.app, &payer, &id).await.expect("read");
    assert_eq!(expired.status(), IntentStatus::Canceled);
    assert_eq!(expired.cancellation_reason().as_deref(), Some("expired"));
    assert_eq!(
        t.payable(order.payable()).await.open_intent_id(),
        Some(intent.id()),
        "a read writes nothing: the functions that read may not write"
    );
    let (fresh, created) = intents::open_for_payable(
        &t.app,
        &payer,
        order.payable(),
        GatewayId::Otp,
        "Registration",
    )
    .await
    .expect("open again");
    assert!(created && fresh.id() != intent.id());
}

#[tokio::test]
async fn creating_again_after_expiry_opens_a_new_intent() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = otp_intent(&t, &payer).await;
    t.clock.advance(Duration::days(2));
    // Nobody read it since: the create itself finds it expired.
    let (fresh, created) = intents::open_for_payable(
        &t.app,
        &payer,
        order.payable(),
        GatewayId::Otp,
        "Registration",
    )
    .await
    .expect("open");
    assert!(created && fresh.id() != intent.id());
    let old = intents::get(&t.app, &payer, &intent.id())
        .await
        .expect("read");
    assert_eq!(old.cancellation_reason().as_deref(), Some("expired"));
    assert_eq!(
        t.payable(order.payable()).await.open_intent_id(),
        Some(fresh.id())
    );
}

#[tokio::test]
async fn a_payable_lets_five_intents_a_day_send_codes() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 11_200).await;
    let open = || async {
        intents::open_for_payable(&t.app, &payer, order.payable(), GatewayId::Otp, "Order")
            .await
            .expect("open")
            .0
    };
    for _ in 0..5 {
        let intent = open().await;
        sent_code(&t, &payer, &intent).await;
        intents::end(&t.app, &payer, &intent.id(), Ending::Cancel, None)
            .await
            .expect("cancel");
    }
    let sixth = open().await;
    let err = intents::request_otp(&t.app, &payer, &sixth.id())
        .await
        .expect_err("sixth intent in a day");
    assert!(
        matches!(
            err,
            AppError::Otp(OtpRequestError::Otp(OtpError::TooManyIntentsForPayable(5)))
        ),
        "{err:?}"
    );
    // A day later the sixth intent has expired too; a new one may send codes.
    t.clock.advance(Duration::hours(24));
    let next = open().await;
    assert_ne!(next.id(), sixth.id());
    intents::request_otp(&t.app, &payer, &next.id())
        .await
        .expect("a day later");
}

#[tokio::test]
async fn money_collected_for_an_ended_intent_is_recorded_for_review() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 11_200).await;
    let (intent, _) =
        intents::open_for_payable(&t.app, &payer, order.payable(), GatewayId::Test, "Order")
            .await
            .expect("open");
    // Abandoned: it expires, and the order gets a new intent.
    t.clock.advance(Duration::days(2));
    let (newer, created) =
        intents::open_for_payable(&t.app, &payer, order.payable(), GatewayId::Test, "Order")
            .await
            .expect("open again");
    assert!(created);
    // Then the gateway reports the first one collected after all.
    let (flagged, payment) =
        intents::gateway_succeeded(&t.app, intent.clone(), PaymentMethod::Card, "pi_test_late")
            .await
            .expect("recorded");
    let payment = payment.expect("the money is recorded");
    assert_eq!(payment.intent_id(), Some(intent.id()));
    assert_eq!(payment.status(), PaymentStatus::Completed);
    assert_eq!(flagged.status(), IntentStatus::Canceled, "it stays ended");
    assert_eq!(
        flagged.review_reason().as_deref(),
        Some("gateway_succeeded_after_canceled")
    );
    let stored = intents::get(&t.app, &payer, &intent.id())
        .await
        .expect("read");
    assert!(stored.review_reason().is_some());
    assert!(
        t.app
            .payments
            .get_payment(&payment.id())
            .await
            .expect("read")
            .is_some()
    );
    // The payable is untouched: a person settles the late money.
    assert_eq!(
        t.payable(order.payable()).await.open_intent_id(),
        Some(newer.id())
    );
    // A repeated report records nothing more.
    let (_, again) =
        intents::gateway_succeeded(&t.app, intent.clone(), PaymentMethod::Card, "pi_test_late")
            .await
            .expect("repeat");
    assert!(again.is_none());
    // On an open intent the same report collects as usual.
    let (done, paid) =
        intents::gateway_succeeded(&t.app, newer.clone(), PaymentMethod::Card, "pi_test_ok")
            .await
            .expect("collected");
    assert_eq!(done.status(), IntentStatus::Succeeded);
    assert!(paid.is_some());
    assert_eq!(
        t.payable(order.payable()).await.status(),
        PayableStatus::Paid
    );
}
