//! Money is recorded exactly once, on DynamoDB Local, whatever fails between
//! the writes: an answer lost after the payment was written, a claim the SDK
//! sent twice, a function that died after the payment, an index that lags,
//! retries racing each other under one Idempotency-Key.

use futures::future::join_all;
use integration_tests::flows::*;
use integration_tests::*;
use lambda_http::http::Method;
use payment_shared::adapters::faulty::Fault;
use payment_shared::auth::Actor;
use payment_shared::auth::ServiceCaller;
use payment_shared::domain::{
    PayableId, PayableKind, PayableRef, PayableStatus, PaymentMethod, PaymentStatus, RequestKey,
    StatedAmount,
};
use payment_shared::ports::{PageRequest, PayableStore, PaymentStore};
use payment_shared::surfaces::{intents, payments, shop};
use serde_json::{Value, json};

fn pay(body: Value) -> Call {
    call(Method::POST, "/payment").json(body)
}

fn order_ref(id: &str) -> PayableRef {
    PayableRef {
        kind: PayableKind::Order,
        id: PayableId::parse(id).expect("order id"),
    }
}

/// The order's payments as the table holds them (read past any injected fault).
async fn stored_payments(h: &Harness, order: &str) -> Vec<Value> {
    let page = h
        .store
        .list_payments_by_payable(&order_ref(order), &PageRequest::first(100))
        .await
        .expect("list");
    page.items
        .iter()
        .map(|p| json!({"id": p.id().to_string(), "status": p.status().as_str(), "amount": p.amount().minor()}))
        .collect()
}

async fn stored_order_status(h: &Harness, order: &str) -> PayableStatus {
    h.store
        .get_payable(&order_ref(order))
        .await
        .expect("read")
        .expect("order exists")
        .status()
}

#[tokio::test]
async fn a_payment_whose_answer_was_lost_is_not_recorded_again_by_the_retry() {
    let (h, _faults) = Harness::with_faults(vec![Fault::LoseAnswer {
        op: "record_payment",
        nth: 1,
    }])
    .await;
    let owner = unique("buyer");
    let order = order(&h, &owner, "100", "USD").await;
    let body =
        json!({"amount": 25, "orderId": order, "paymentMethod": "Cash", "status": "PENDING"});
    let lost = invoke(
        &h,
        payments::create,
        pay(body.clone())
            .as_user(&owner)
            .header("idempotency-key", "k1"),
    )
    .await;
    assert_eq!(lost.status, 503, "{}", lost.body);
    let retry = invoke(
        &h,
        payments::create,
        pay(body).as_user(&owner).header("idempotency-key", "k1"),
    )
    .await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    let payments = stored_payments(&h, &order).await;
    assert_eq!(payments.len(), 1, "one payment: {payments:?}");
    assert_eq!(
        retry.body["id"], payments[0]["id"],
        "the retry answers with it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_of_one_key_record_exactly_one_payment() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let order = order(&h, &owner, "100", "USD").await;
    let body =
        json!({"amount": 10, "orderId": order, "paymentMethod": "Cash", "status": "PENDING"});
    let replies = join_all((0..10).map(|_| {
        invoke(
            &h,
            payments::create,
            pay(body.clone())
                .as_user(&owner)
                .header("idempotency-key", "same"),
        )
    }))
    .await;
    assert!(
        replies.iter().all(|r| r.status == 201 || r.status == 409),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    // Runs the ledger cannot hold apart (a stale claim taken over while its first
    // run is still writing) race on the payment itself.
    let actor = Actor::Service(ServiceCaller {
        key_id: "backend".into(),
    });
    let key = RequestKey::new("service:backend", "takeover");
    let target = order_ref(&order);
    let runs = join_all((0..10).map(|_| {
        payment_shared::app::payments::record_under(
            &h.app,
            &actor,
            Some(&key),
            &target,
            StatedAmount::parse("10").expect("amount"),
            PaymentMethod::Cash,
            PaymentStatus::Completed,
        )
    }))
    .await;
    let ids: std::collections::BTreeSet<String> = runs
        .iter()
        .map(|r| r.as_ref().expect("every run answers").id().to_string())
        .collect();
    assert_eq!(ids.len(), 1, "every run answers with the same payment");
    let payments = stored_payments(&h, &order).await;
    assert_eq!(payments.len(), 2, "one per key: {payments:?}");
    let sum: i64 = payments
        .iter()
        .map(|p| p["amount"].as_i64().expect("n"))
        .sum();
    assert_eq!(sum, 2_000);
}

#[tokio::test]
async fn a_claim_sent_twice_is_the_first_requests_own() {
    let (h, _faults) = Harness::with_faults(vec![Fault::SentTwice {
        op: "claim",
        nth: 1,
    }])
    .await;
    let owner = unique("buyer");
    let order = order(&h, &owner, "100", "USD").await;
    let body =
        json!({"amount": 25, "orderId": order, "paymentMethod": "Cash", "status": "PENDING"});
    let first = invoke(
        &h,
        payments::create,
        pay(body).as_user(&owner).header("idempotency-key", "k"),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(stored_payments(&h, &order).await.len(), 1);
}

#[tokio::test]
async fn the_payment_that_completes_an_order_pays_it_even_if_the_function_dies_next() {
    let (h, _faults) = Harness::with_faults(vec![Fault::CrashAfter {
        op: "record_payment",
        nth: 1,
    }])
    .await;
    let owner = unique("buyer");
    let order = order(&h, &owner, "100", "USD").await;
    let body =
        json!({"amount": 100, "orderId": order, "paymentMethod": "Cash", "status": "COMPLETED"});
    invoke(
        &h,
        payments::create,
        pay(body).bearer(&token("staff-1", &["Staff"])),
    )
    .await;
    assert_eq!(stored_payments(&h, &order).await.len(), 1);
    assert_eq!(
        stored_order_status(&h, &order).await,
        PayableStatus::Paid,
        "a fully paid order is never left open"
    );
}

#[tokio::test]
async fn a_lost_race_is_not_replayed_to_the_retry() {
    // Every attempt of the first request loses its race to settle the order.
    let faults = (1..=5)
        .map(|nth| Fault::Outraced {
            op: "complete_payable",
            nth,
        })
        .collect();
    let (h, _faults) = Harness::with_faults(faults).await;
    let owner = unique("buyer");
    let order = order(&h, &owner, "100", "USD").await;
    let mark = || {
        invoke(
            &h,
            shop::mark_paid,
            call(Method::POST, "/")
                .api_key(API_KEY)
                .param("orderId", &order)
                .header("idempotency-key", "settle"),
        )
    };
    let lost = mark().await;
    assert_eq!(lost.status, 409, "{}", lost.body);
    let retry = mark().await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.header("idempotent-replayed"), None);
    assert_eq!(stored_order_status(&h, &order).await, PayableStatus::Paid);
}

#[tokio::test]
async fn mark_paid_completes_a_pending_payment_the_index_has_not_shown_yet() {
    let (h, _faults) = Harness::with_faults(vec![Fault::Lagging {
        op: "list_payments_by_payable",
        nth: 1,
    }])
    .await;
    let owner = unique("buyer");
    let order = order(&h, &owner, "100", "USD").await;
    for amount in [30, 20] {
        let body = json!({"amount": amount, "orderId": order, "paymentMethod": "Cash", "status": "PENDING"});
        assert_eq!(
            invoke(&h, payments::create, pay(body).as_user(&owner))
                .await
                .status,
            201
        );
    }
    let r = invoke(
        &h,
        shop::mark_paid,
        call(Method::POST, "/")
            .api_key(API_KEY)
            .param("orderId", &order),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let payments = stored_payments(&h, &order).await;
    assert!(
        payments.iter().all(|p| p["status"] == "COMPLETED"),
        "no payment stranded PENDING: {payments:?}"
    );
    assert_eq!(stored_order_status(&h, &order).await, PayableStatus::Paid);
}

#[tokio::test]
async fn an_otp_cooldown_is_not_replayed_to_the_retry() {
    let h = Harness::new().await;
    let (user, _registration, intent, _code) = awaiting_code(&h).await;
    let again = || {
        invoke(
            &h,
            intents::request_otp,
            call(Method::POST, "/payment/intents/request-otp")
                .as_user(&user)
                .header("idempotency-key", "resend")
                .json(json!({"intent_id": intent})),
        )
    };
    let early = again().await;
    assert_eq!(early.status, 429, "{}", early.body);
    h.clock.advance(time::Duration::seconds(31));
    let later = again().await;
    assert_eq!(later.status, 200, "{}", later.body);
    assert_eq!(later.header("idempotent-replayed"), None);
}
