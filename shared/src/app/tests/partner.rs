use super::{TestApp, person, stated};
use crate::app::partner::payment_detail;
use crate::app::payments;
use crate::app::{AppError, payables};
use crate::auth::Actor;
use crate::auth::{PartnerCaller, ServiceCaller};
use crate::contract::{new_order, revised};
use crate::domain::{BusinessId, Payable, PaymentId, PaymentMethod, PaymentStatus};
use crate::ports::PageRequest;

/// The business an order first belongs to, and the one it is handed to.
fn a() -> BusinessId {
    BusinessId::new(1_001)
}

fn b() -> BusinessId {
    BusinessId::new(2_002)
}

fn partner_of(business: BusinessId) -> PartnerCaller {
    PartnerCaller {
        client_id: format!("client-{business}"),
        business_id: business,
        signature: "00".into(),
    }
}

fn backend() -> Actor {
    Actor::Service(ServiceCaller {
        key_id: "0123abcd".into(),
    })
}

/// The payables API hands the order to `business` (or to none).
async fn hand_to(t: &TestApp, order: &Payable, business: Option<BusinessId>) -> Payable {
    let next = revised(&t.payable(order.payable()).await, |d| {
        d.business_id = business
    });
    payables::upsert(&t.app, next).await.expect("upsert").0
}

async fn pay(t: &TestApp, order: &Payable, amount: &str) -> PaymentId {
    payments::record(
        &t.app,
        &backend(),
        order.payable(),
        stated(amount),
        PaymentMethod::Cash,
        PaymentStatus::Completed,
    )
    .await
    .expect("recorded")
    .id()
}

#[tokio::test]
async fn a_payment_stays_with_the_business_it_was_made_for() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = hand_to(&t, &t.order(&payer, 10_000).await, Some(a())).await;
    let for_a = pay(&t, &order, "30.00").await;

    let order = hand_to(&t, &order, Some(b())).await;
    let detail = payment_detail(&t.app, &partner_of(a()), &for_a)
        .await
        .expect("still the business it was made for");
    assert_eq!(detail.business_id, a());
    assert_eq!(detail.payment.business_id(), Some(a()));
    let err = payment_detail(&t.app, &partner_of(b()), &for_a)
        .await
        .expect_err("not the new business's");
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");

    // Made after the move: the new business's, and outside the old one's account.
    let for_b = pay(&t, &order, "20.00").await;
    let detail = payment_detail(&t.app, &partner_of(b()), &for_b)
        .await
        .expect("the new business's");
    assert_eq!(
        detail
            .account_payments
            .iter()
            .map(|p| p.id())
            .collect::<Vec<_>>(),
        vec![for_b]
    );
    let err = payment_detail(&t.app, &partner_of(a()), &for_b)
        .await
        .expect_err("not the old business's");
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");
    let detail = payment_detail(&t.app, &partner_of(a()), &for_a)
        .await
        .expect("read");
    assert_eq!(
        detail
            .account_payments
            .iter()
            .map(|p| p.id())
            .collect::<Vec<_>>(),
        vec![for_a]
    );
}

#[tokio::test]
async fn a_payment_made_for_no_business_is_no_partners_later() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 10_000).await;
    let nobodys = pay(&t, &order, "10.00").await;
    hand_to(&t, &order, Some(a())).await;
    let err = payment_detail(&t.app, &partner_of(a()), &nobodys)
        .await
        .expect_err("made for no business");
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn an_open_intent_keeps_the_business_its_order_is_paid_for() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = revised(&new_order(&payer.user_id, 5_000), |d| {
        d.business_id = Some(a())
    });
    let order = payables::upsert(&t.app, order).await.expect("upsert").0;
    let (intent, _) = crate::app::shop::shop_intent(&t.app, &payer, order.payable())
        .await
        .expect("open");
    assert_eq!(intent.business_id(), Some(a()));
    let moved = revised(&order, |d| d.business_id = Some(b()));
    let err = payables::upsert(&t.app, moved)
        .await
        .expect_err("the payer is paying the business the intent was opened for");
    assert!(matches!(err, AppError::PayableLocked(_)), "{err:?}");
    let settled = crate::app::shop::mark_paid(
        &t.app,
        order.payable(),
        &crate::app::shop::PaidWith::default(),
    )
    .await
    .expect("paid");
    assert_eq!(settled.order.business_id(), Some(a()));
    let list =
        payments::list_for_order(&t.app, &backend(), order.payable(), &PageRequest::first(10))
            .await
            .expect("payments");
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].business_id(), Some(a()));
}
