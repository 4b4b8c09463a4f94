use super::{TestApp, person, stated};
use crate::adapters::faulty::Fault;
use crate::app::AppError;
use crate::app::intents;
use crate::app::payments;
use crate::auth::Actor;
use crate::auth::{Role, ServiceCaller};
use crate::domain::{GatewayId, PayableStatus, PaymentMethod, PaymentStatus, RequestKey};
use crate::ports::{PageRequest, StoreError};

fn backend() -> Actor {
    Actor::Service(ServiceCaller {
        key_id: "0123abcd".into(),
    })
}

#[tokio::test]
async fn a_payer_records_pending_but_never_completed_payments() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 10_000).await;
    let me = Actor::Person(payer.clone());
    let pending = payments::record(
        &t.app,
        &me,
        order.payable(),
        stated("40.00"),
        PaymentMethod::Cash,
        PaymentStatus::Pending,
    )
    .await
    .expect("pending");
    assert_eq!(
        (pending.status(), pending.amount().minor()),
        (PaymentStatus::Pending, 4_000)
    );
    assert_eq!(pending.payer_user_id(), &payer.user_id);
    for status in [PaymentStatus::Completed, PaymentStatus::Failed] {
        let err = payments::record(
            &t.app,
            &me,
            order.payable(),
            stated("10.00"),
            PaymentMethod::Cash,
            status,
        )
        .await
        .expect_err("only staff decide money arrived");
        assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
    }
    let err = payments::record(
        &t.app,
        &me,
        order.payable(),
        stated("10.00"),
        PaymentMethod::Cash,
        PaymentStatus::Refunded,
    )
    .await
    .expect_err("not a recordable status");
    assert!(matches!(err, AppError::StatusNotRecordable), "{err:?}");
    let p = t.payable(order.payable()).await;
    assert_eq!((p.allocated_minor(), p.paid_minor()), (4_000, 0));
}

#[tokio::test]
async fn staff_complete_payments_and_a_covered_order_is_paid() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 10_000).await;
    let staff = Actor::Person(person(&[Role::Staff]));
    payments::record(
        &t.app,
        &staff,
        order.payable(),
        stated("60.00"),
        PaymentMethod::BankTransfer,
        PaymentStatus::Completed,
    )
    .await
    .expect("completed");
    assert_eq!(
        t.payable(order.payable()).await.status(),
        PayableStatus::Open
    );
    let failed = payments::record(
        &t.app,
        &backend(),
        order.payable(),
        stated("99.00"),
        PaymentMethod::Card,
        PaymentStatus::Failed,
    )
    .await
    .expect("failed payments hold nothing");
    assert_eq!(failed.status(), PaymentStatus::Failed);
    payments::record(
        &t.app,
        &staff,
        order.payable(),
        stated("40.00"),
        PaymentMethod::Cash,
        PaymentStatus::Completed,
    )
    .await
    .expect("rest");
    let p = t.payable(order.payable()).await;
    assert_eq!((p.status(), p.paid_minor()), (PayableStatus::Paid, 10_000));
    let err = payments::record(
        &t.app,
        &staff,
        order.payable(),
        stated("1.00"),
        PaymentMethod::Cash,
        PaymentStatus::Completed,
    )
    .await
    .expect_err("paid");
    assert!(matches!(err, AppError::PayableNotOpen { .. }), "{err:?}");
}

#[tokio::test]
async fn payments_stay_within_the_total_and_away_from_open_intents() {
    let t = TestApp::new();
    let payer = person(&[]);
    let me = Actor::Person(payer.clone());
    let order = t.order(&payer, 10_000).await;
    payments::record(
        &t.app,
        &me,
        order.payable(),
        stated("70.00"),
        PaymentMethod::Cash,
        PaymentStatus::Pending,
    )
    .await
    .expect("first");
    let err = payments::record(
        &t.app,
        &me,
        order.payable(),
        stated("30.01"),
        PaymentMethod::Cash,
        PaymentStatus::Pending,
    )
    .await
    .expect_err("over the total");
    assert!(
        matches!(err, AppError::AmountRefused(ref m) if m.0.contains("30.00 USD")),
        "{err:?}"
    );
    let err = payments::record(
        &t.app,
        &me,
        order.payable(),
        stated("1.001"),
        PaymentMethod::Cash,
        PaymentStatus::Pending,
    )
    .await
    .expect_err("more decimals than USD has");
    assert!(matches!(err, AppError::Amount(_)), "{err:?}");

    let held = t.order(&payer, 5_000).await;
    intents::open_for_payable(&t.app, &payer, held.payable(), GatewayId::Test, "Order")
        .await
        .expect("open");
    let err = payments::record(
        &t.app,
        &me,
        held.payable(),
        stated("10.00"),
        PaymentMethod::Cash,
        PaymentStatus::Pending,
    )
    .await
    .expect_err("an intent collects it");
    assert!(matches!(err, AppError::PayableLocked(_)), "{err:?}");

    let stranger = Actor::Person(person(&[]));
    let err = payments::record(
        &t.app,
        &stranger,
        order.payable(),
        stated("1.00"),
        PaymentMethod::Cash,
        PaymentStatus::Pending,
    )
    .await
    .expect_err("not theirs");
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn payments_are_read_by_their_payer_and_staff_only() {
    let t = TestApp::new();
    let payer = person(&[]);
    let me = Actor::Person(payer.clone());
    let order = t.order(&payer, 10_000).await;
    let mut ids = Vec::new();
    for amount in ["10.00", "20.00", "30.00"] {
        let p = payments::record(
            &t.app,
            &me,
            order.payable(),
            stated(amount),
            PaymentMethod::Cash,
            PaymentStatus::Pending,
        )
        .await
        .expect("recorded");
        ids.push(p.id());
    }
    let id = ids[0];
    assert_eq!(
        payments::get(&t.app, &me, &id).await.expect("own").id(),
        ids[0]
    );
    for reader in [
        person(&[Role::Staff]),
        person(&[Role::Support]),
        person(&[Role::Admin]),
    ] {
        assert!(
            payments::get(&t.app, &Actor::Person(reader), &id)
                .await
                .is_ok()
        );
    }
    assert!(payments::get(&t.app, &backend(), &id).await.is_ok());
    let err = payments::get(&t.app, &Actor::Person(person(&[])), &id)
        .await
        .expect_err("other");
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");

    let newest_first: Vec<_> = ids.iter().rev().copied().collect();
    let mine = payments::list_mine(&t.app, &payer, 10, 0)
        .await
        .expect("mine");
    assert_eq!(
        mine.iter().map(|p| p.id()).collect::<Vec<_>>(),
        newest_first
    );
    let window = payments::list_mine(&t.app, &payer, 1, 1)
        .await
        .expect("offset");
    assert_eq!(
        window.iter().map(|p| p.id()).collect::<Vec<_>>(),
        vec![ids[1]]
    );

    let page = payments::list_for_order(&t.app, &me, order.payable(), &PageRequest::first(2))
        .await
        .expect("order's");
    assert_eq!(page.items.len(), 2);
    let rest = payments::list_for_order(
        &t.app,
        &me,
        order.payable(),
        &PageRequest {
            limit: 2,
            cursor: page.next.clone(),
        },
    )
    .await
    .expect("next page");
    assert_eq!(rest.items.len(), 1);
    let err = payments::list_for_order(
        &t.app,
        &Actor::Person(person(&[])),
        order.payable(),
        &PageRequest::first(2),
    )
    .await
    .expect_err("someone else's order");
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");
    let err = payments::list_for_order(
        &t.app,
        &me,
        order.payable(),
        &PageRequest::after(2, "garbage"),
    )
    .await
    .expect_err("bad cursor");
    assert!(
        matches!(err, AppError::Store(crate::ports::StoreError::BadCursor)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_run_again_under_the_same_key_answers_with_the_payment_the_first_recorded() {
    // The first run's payment is written but its answer is lost on the way back.
    let t = TestApp::with_faults(vec![Fault::LoseAnswer {
        op: "record_payment",
        nth: 1,
    }]);
    let payer = person(&[]);
    let order = t.order(&payer, 10_000).await;
    let me = Actor::Person(payer.clone());
    let key = RequestKey::new("user:payer", "retry-me");
    let run = || {
        payments::record_under(
            &t.app,
            &me,
            Some(&key),
            order.payable(),
            stated("40.00"),
            PaymentMethod::Cash,
            PaymentStatus::Pending,
        )
    };
    let first = run().await;
    assert!(
        matches!(first, Err(AppError::Store(StoreError::Unavailable(_)))),
        "{first:?}"
    );
    let second = run().await.expect("the run again answers");
    let third = run().await.expect("and again");
    assert_eq!(second, third);
    let stored = t
        .direct
        .payments
        .list_payments_by_payable(order.payable(), &PageRequest::first(10))
        .await
        .expect("list");
    assert_eq!(stored.items, vec![second], "one payment under one key");
    assert_eq!(t.payable(order.payable()).await.allocated_minor(), 4_000);
    // The key's payment answers only its own request.
    let reused = payments::record_under(
        &t.app,
        &me,
        Some(&key),
        order.payable(),
        stated("50.00"),
        PaymentMethod::Cash,
        PaymentStatus::Pending,
    )
    .await;
    assert!(matches!(reused, Err(AppError::KeyReused)), "{reused:?}");
    // Another key is another payment.
    let other = RequestKey::new("user:payer", "another");
    let next = payments::record_under(
        &t.app,
        &me,
        Some(&other),
        order.payable(),
        stated("40.00"),
        PaymentMethod::Cash,
        PaymentStatus::Pending,
    )
    .await
    .expect("another payment");
    assert_ne!(next.id(), stored.items[0].id());
}

#[tokio::test]
async fn the_completing_payment_pays_the_order_even_if_nothing_runs_after_it() {
    let t = TestApp::with_faults(vec![Fault::CrashAfter {
        op: "record_payment",
        nth: 2,
    }]);
    let payer = person(&[]);
    let order = t.order(&payer, 10_000).await;
    for amount in ["30.00", "70.00"] {
        let _ = payments::record(
            &t.app,
            &backend(),
            order.payable(),
            stated(amount),
            PaymentMethod::BankTransfer,
            PaymentStatus::Completed,
        )
        .await;
    }
    let stored = t
        .direct
        .payables
        .get_payable(order.payable())
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (stored.status(), stored.paid_minor()),
        (PayableStatus::Paid, 10_000)
    );
}

#[tokio::test]
async fn support_reads_an_order_but_records_nothing_on_it() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 10_000).await;
    let support = Actor::Person(person(&[Role::Support]));
    for status in [PaymentStatus::Pending, PaymentStatus::Completed] {
        let err = payments::record(
            &t.app,
            &support,
            order.payable(),
            stated("10.00"),
            PaymentMethod::Cash,
            status,
        )
        .await
        .expect_err("support writes nothing");
        assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
    }
    let page = payments::list_for_order(&t.app, &support, order.payable(), &PageRequest::first(10))
        .await
        .expect("support reads");
    assert!(page.items.is_empty(), "nothing was recorded");
    // The owner's order is still free for the owner.
    payments::record(
        &t.app,
        &Actor::Person(payer),
        order.payable(),
        stated("10.00"),
        PaymentMethod::Cash,
        PaymentStatus::Pending,
    )
    .await
    .expect("owner records");
}

#[tokio::test]
async fn an_order_held_by_an_abandoned_intent_takes_payments_again() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 10_000).await;
    let (held, _) =
        intents::open_for_payable(&t.app, &payer, order.payable(), GatewayId::Test, "Order")
            .await
            .expect("an intent holds the order");
    let staff = backend();
    let record = || {
        payments::record(
            &t.app,
            &staff,
            order.payable(),
            stated("10.00"),
            PaymentMethod::Cash,
            PaymentStatus::Completed,
        )
    };
    let refused = record().await.expect_err("held");
    assert!(matches!(refused, AppError::PayableLocked(_)), "{refused:?}");
    t.clock.advance(time::Duration::hours(24));
    record()
        .await
        .expect("the abandoned intent no longer holds it");
    let intent = t
        .direct
        .intents
        .get_intent(&held.id())
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(intent.cancellation_reason().as_deref(), Some("expired"));
}

#[tokio::test]
async fn an_order_holds_at_most_forty_pending_payments() {
    use crate::domain::MAX_PENDING_PAYMENTS;
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 10_000).await;
    for _ in 0..MAX_PENDING_PAYMENTS {
        t.pending(&payer, order.payable(), "1.00")
            .await
            .expect("pending");
    }
    let err = t
        .pending(&payer, order.payable(), "1.00")
        .await
        .expect_err("one pending payment too many");
    assert!(
        matches!(err, AppError::TooManyPending { limit: 40, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "Order already has 40 PENDING payments, the most it may hold; \
         no more can be recorded until they are completed"
    );
    // Staff may still record money that arrived.
    payments::record(
        &t.app,
        &backend(),
        order.payable(),
        stated("10.00"),
        PaymentMethod::Cash,
        PaymentStatus::Completed,
    )
    .await
    .expect("completed");
    let p = t.payable(order.payable()).await;
    assert_eq!(
        (p.pending_payments(), p.allocated_minor(), p.paid_minor()),
        (40, 5_000, 1_000)
    );
}
