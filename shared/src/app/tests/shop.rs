use super::{TestApp, person, stated};
use crate::adapters::faulty::Fault;
use crate::app::AppError;
use crate::app::payments;
use crate::app::shop::{self, PaidWith};
use crate::auth::Actor;
use crate::auth::ServiceCaller;

fn backend() -> Actor {
    Actor::Service(ServiceCaller {
        key_id: "0123abcd".into(),
    })
}
use crate::domain::{GatewayId, IntentStatus, PayableStatus, PaymentMethod, PaymentStatus};
use crate::ports::PageRequest;

#[tokio::test]
async fn the_shop_intent_is_a_card_intent_opened_once() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 5_000).await;
    let (intent, created) = shop::shop_intent(&t.app, &payer, order.payable())
        .await
        .expect("open");
    assert!(created);
    assert_eq!(intent.gateway(), GatewayId::Test);
    assert_eq!(intent.status(), IntentStatus::RequiresPaymentMethod);
    let (again, created) = shop::shop_intent(&t.app, &payer, order.payable())
        .await
        .expect("again");
    assert!(!created);
    assert_eq!(again.id(), intent.id());
}

#[tokio::test]
async fn mark_paid_ends_the_card_intent_and_records_an_offline_payment_once() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 5_000).await;
    let (intent, _) = shop::shop_intent(&t.app, &payer, order.payable())
        .await
        .expect("open");
    let paid = PaidWith {
        // Staff's own reference: it names the money, never the gateway.
        reference: intent.gateway_intent_id().clone(),
        ..PaidWith::default()
    };
    let settled = shop::mark_paid(&t.app, order.payable(), &paid)
        .await
        .expect("paid");
    assert_eq!(settled.order.status(), PayableStatus::Paid);
    assert!(settled.intent.is_none(), "no intent collected it");
    let ended = t
        .direct
        .intents
        .get_intent(&intent.id())
        .await
        .expect("read")
        .expect("intent");
    assert_eq!(ended.status(), IntentStatus::Canceled);
    assert_eq!(
        ended.cancellation_reason().as_deref(),
        Some(shop::PAID_OFFLINE)
    );
    let again = shop::mark_paid(&t.app, order.payable(), &paid)
        .await
        .expect("again");
    assert_eq!(again.order.status(), PayableStatus::Paid);
    let list = payments_of(&t, payer, &order).await;
    assert_eq!(
        list.items.len(),
        1,
        "one payment, however often it is called"
    );
    let payment = &list.items[0];
    assert_eq!(payment.status(), PaymentStatus::Completed);
    assert_eq!(
        payment.intent_id(),
        None,
        "an offline payment, of no gateway"
    );
    assert_eq!(payment.transaction_id(), intent.gateway_intent_id());
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
        order.payable(),
        stated("30.00"),
        PaymentMethod::Cash,
        PaymentStatus::Pending,
    )
    .await
    .expect("pending");
    let settled = shop::mark_paid(&t.app, order.payable(), &PaidWith::default())
        .await
        .expect("paid");
    assert!(settled.intent.is_none());
    assert_eq!(
        (settled.order.status(), settled.order.paid_minor()),
        (PayableStatus::Paid, 10_000)
    );
    let list = payments::list_for_order(&t.app, &me, order.payable(), &PageRequest::first(10))
        .await
        .expect("payments");
    assert_eq!(list.items.len(), 2);
    assert!(
        list.items
            .iter()
            .all(|p| p.status() == PaymentStatus::Completed)
    );
    let rest = list
        .items
        .iter()
        .find(|p| p.id() != pending.id())
        .expect("the rest");
    assert_eq!(rest.amount().minor(), 7_000);
}

#[tokio::test]
async fn mark_paid_with_nothing_open_records_one_payment_for_the_total() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 2_500).await;
    shop::mark_paid(&t.app, order.payable(), &PaidWith::default())
        .await
        .expect("paid");
    let list = payments_of(&t, payer, &order).await;
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].amount().minor(), 2_500);
    assert_eq!(list.items[0].status(), PaymentStatus::Completed);
    let missing = payments::order_ref("no-such-order").expect("ref");
    let err = shop::mark_paid(&t.app, &missing, &PaidWith::default())
        .await
        .expect_err("missing");
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn mark_paid_completes_pending_payments_past_the_first_page() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 100_000).await;
    let me = Actor::Person(payer.clone());
    for _ in 0..2 {
        payments::record(
            &t.app,
            &me,
            order.payable(),
            stated("10.00"),
            PaymentMethod::Cash,
            PaymentStatus::Pending,
        )
        .await
        .expect("pending");
    }
    // A hundred newer failed attempts push the pending ones off the first page.
    for _ in 0..100 {
        t.clock.advance(time::Duration::milliseconds(1));
        payments::record(
            &t.app,
            &backend(),
            order.payable(),
            stated("1.00"),
            PaymentMethod::Bkash,
            PaymentStatus::Failed,
        )
        .await
        .expect("failed");
    }
    shop::mark_paid(&t.app, order.payable(), &PaidWith::default())
        .await
        .expect("paid");
    let mut request = PageRequest::first(100);
    let mut pending = 0;
    loop {
        let page = payments::list_for_order(&t.app, &me, order.payable(), &request)
            .await
            .expect("list");
        pending += page
            .items
            .iter()
            .filter(|p| p.status() == PaymentStatus::Pending)
            .count();
        request.cursor = page.next;
        if request.cursor.is_none() {
            break;
        }
    }
    assert_eq!(pending, 0, "no payment stranded PENDING");
    assert_eq!(
        t.payable(order.payable()).await.status(),
        PayableStatus::Paid
    );
}

#[tokio::test]
async fn mark_paid_waits_for_pending_payments_the_index_does_not_show_yet() {
    let t = TestApp::with_faults(vec![Fault::Lagging {
        op: "list_payments_by_payable",
        nth: 1,
    }]);
    let payer = person(&[]);
    let order = t.order(&payer, 5_000).await;
    let me = Actor::Person(payer.clone());
    for amount in ["10.00", "15.00"] {
        t.clock.advance(time::Duration::milliseconds(1));
        payments::record(
            &t.app,
            &me,
            order.payable(),
            stated(amount),
            PaymentMethod::Cash,
            PaymentStatus::Pending,
        )
        .await
        .expect("pending");
    }
    shop::mark_paid(&t.app, order.payable(), &PaidWith::default())
        .await
        .expect("paid");
    let list = payments::list_for_order(&t.app, &me, order.payable(), &PageRequest::first(10))
        .await
        .expect("list");
    assert!(
        list.items
            .iter()
            .all(|p| p.status() == PaymentStatus::Completed),
        "{:?}",
        list.items
    );
}

#[tokio::test]
async fn mark_paid_refuses_while_the_index_keeps_hiding_a_pending_payment() {
    let faults = (1..=5)
        .map(|nth| Fault::Lagging {
            op: "list_payments_by_payable",
            nth,
        })
        .collect();
    let t = TestApp::with_faults(faults);
    let payer = person(&[]);
    let order = t.order(&payer, 5_000).await;
    payments::record(
        &t.app,
        &Actor::Person(payer.clone()),
        order.payable(),
        stated("10.00"),
        PaymentMethod::Cash,
        PaymentStatus::Pending,
    )
    .await
    .expect("pending");
    let err = shop::mark_paid(&t.app, order.payable(), &PaidWith::default())
        .await
        .expect_err("not while a payment is unseen");
    assert!(
        matches!(err, AppError::Store(crate::ports::StoreError::Conflict)),
        "{err:?}"
    );
    assert_eq!(
        t.payable(order.payable()).await.status(),
        PayableStatus::Open
    );
}

#[tokio::test]
async fn mark_paid_records_what_the_payment_system_states() {
    let t = TestApp::new();
    let payer = person(&[]);
    for with_intent in [true, false] {
        let order = t.order(&payer, 2_500).await;
        if with_intent {
            shop::shop_intent(&t.app, &payer, order.payable())
                .await
                .expect("open");
        }
        let total = order.amount().to_string();
        let stated = PaidWith {
            reference: Some("TXN-778".into()),
            amount: Some(stated(&total)),
            method: Some(PaymentMethod::BankTransfer),
        };
        shop::mark_paid(&t.app, order.payable(), &stated)
            .await
            .expect("paid");
        let list = payments::list_for_order(
            &t.app,
            &Actor::Person(payer.clone()),
            order.payable(),
            &PageRequest::first(10),
        )
        .await
        .expect("payments");
        assert_eq!(list.items.len(), 1, "{with_intent}");
        let p = &list.items[0];
        assert_eq!(p.method(), PaymentMethod::BankTransfer, "{with_intent}");
        assert_eq!(
            p.transaction_id().as_deref(),
            Some("TXN-778"),
            "{with_intent}"
        );
        // The card intent was ended: the money came another way.
        assert_eq!(p.intent_id(), None, "{with_intent}");
    }
}

#[tokio::test]
async fn mark_paid_refuses_an_amount_that_is_not_the_orders_and_records_nothing() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 2_500).await;
    for wrong in ["24.99", "2500", "25.001"] {
        let stated = PaidWith {
            amount: Some(stated(wrong)),
            ..PaidWith::default()
        };
        let err = shop::mark_paid(&t.app, order.payable(), &stated)
            .await
            .expect_err(wrong);
        assert!(
            matches!(err, AppError::AmountNotTotal { .. }),
            "{wrong}: {err:?}"
        );
    }
    let list = payments_of(&t, payer, &order).await;
    assert!(list.items.is_empty());
}

#[tokio::test]
async fn mark_paid_completes_an_order_holding_the_most_pending_payments() {
    use crate::domain::MAX_PENDING_PAYMENTS;
    let t = TestApp::new();
    let payer = person(&[]);
    let me = Actor::Person(payer.clone());
    let order = t.order(&payer, 10_000).await;
    for _ in 0..MAX_PENDING_PAYMENTS {
        t.clock.advance(time::Duration::milliseconds(1));
        t.pending(&payer, order.payable(), "1.00")
            .await
            .expect("pending");
    }
    let settled = shop::mark_paid(&t.app, order.payable(), &PaidWith::default())
        .await
        .expect("an order within the cap is always settled");
    assert_eq!(settled.order.status(), PayableStatus::Paid);
    let p = t.payable(order.payable()).await;
    assert_eq!(
        (p.status(), p.paid_minor(), p.pending_payments()),
        (PayableStatus::Paid, 10_000, 0)
    );
    let list = payments::list_for_order(&t.app, &me, order.payable(), &PageRequest::first(100))
        .await
        .expect("payments");
    assert_eq!(list.items.len(), 41, "forty completed and one for the rest");
    assert!(
        list.items
            .iter()
            .all(|p| p.status() == PaymentStatus::Completed)
    );
}

/// The order's payments as its payer reads them, newest first.
async fn payments_of(
    t: &TestApp,
    payer: crate::auth::Caller,
    order: &crate::domain::Payable,
) -> crate::ports::Page<crate::domain::Payment> {
    payments::list_for_order(
        &t.app,
        &Actor::Person(payer),
        order.payable(),
        &PageRequest::first(10),
    )
    .await
    .expect("payments")
}
