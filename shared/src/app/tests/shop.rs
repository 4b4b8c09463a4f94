use super::{TestApp, person};
use crate::app::AppError;
use crate::app::payments::{self, Actor};
use crate::app::shop;
use crate::domain::{GatewayId, IntentStatus, PayableStatus, PaymentMethod, PaymentStatus};

#[tokio::test]
async fn the_shop_intent_is_a_card_intent_opened_once() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 5_000).await;
    let (intent, created) = shop::shop_intent(&t.app, &payer, &order.payable)
        .await
        .expect("open");
    assert!(created);
    assert_eq!(intent.gateway, GatewayId::Test);
    assert_eq!(intent.status, IntentStatus::RequiresPaymentMethod);
    let (again, created) = shop::shop_intent(&t.app, &payer, &order.payable)
        .await
        .expect("again");
    assert!(!created);
    assert_eq!(again.id, intent.id);
}

#[tokio::test]
async fn mark_paid_completes_the_open_intent_once() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 5_000).await;
    let (intent, _) = shop::shop_intent(&t.app, &payer, &order.payable)
        .await
        .expect("open");
    let settled = shop::mark_paid(&t.app, &order.payable).await.expect("paid");
    assert_eq!(settled.order.status, PayableStatus::Paid);
    let collected = settled.intent.expect("the intent collected it");
    assert_eq!(
        (collected.id, collected.status),
        (intent.id, IntentStatus::Succeeded)
    );
    let again = shop::mark_paid(&t.app, &order.payable)
        .await
        .expect("again");
    assert_eq!(again.intent.map(|i| i.id), Some(intent.id));
    let list = payments::list_for_order(&t.app, &Actor::Person(payer), &order.payable, 10, None)
        .await
        .expect("payments");
    assert_eq!(
        list.items.len(),
        1,
        "one payment, however often it is called"
    );
    assert_eq!(list.items[0].method, PaymentMethod::Card);
    assert_eq!(list.items[0].intent_id, Some(intent.id));
}

#[tokio::test]
async fn mark_paid_completes_pending_payments_and_records_the_rest() {
    let t = TestApp::new();
    let payer = person(&[]);
    let me = Actor::Person(payer.clone());
    let order = t.order(&payer, 10_000).await;
    let pending = payments::record(
        &t.app,
        &me,
        &order.payable,
        "30.00",
        PaymentMethod::Cash,
        PaymentStatus::Pending,
    )
    .await
    .expect("pending");
    let settled = shop::mark_paid(&t.app, &order.payable).await.expect("paid");
    assert!(settled.intent.is_none());
    assert_eq!(
        (settled.order.status, settled.order.paid_minor),
        (PayableStatus::Paid, 10_000)
    );
    let list = payments::list_for_order(&t.app, &me, &order.payable, 10, None)
        .await
        .expect("payments");
    assert_eq!(list.items.len(), 2);
    assert!(
        list.items
            .iter()
            .all(|p| p.status == PaymentStatus::Completed)
    );
    let rest = list
        .items
        .iter()
        .find(|p| p.id != pending.id)
        .expect("the rest");
    assert_eq!(rest.amount.minor(), 7_000);
}

#[tokio::test]
async fn mark_paid_with_nothing_open_records_one_payment_for_the_total() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 2_500).await;
    shop::mark_paid(&t.app, &order.payable).await.expect("paid");
    let list = payments::list_for_order(&t.app, &Actor::Person(payer), &order.payable, 10, None)
        .await
        .expect("payments");
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].amount.minor(), 2_500);
    assert_eq!(list.items[0].status, PaymentStatus::Completed);
    let missing = payments::order_ref("no-such-order").expect("ref");
    let err = shop::mark_paid(&t.app, &missing)
        .await
        .expect_err("missing");
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");
}
