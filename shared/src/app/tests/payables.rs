use super::{TestApp, person};
use crate::app::AppError;
use crate::app::{intents, payables};
use crate::contract::{new_order, revised};
use crate::domain::{Currency, GatewayId, LineItem, Money, PayableStatus};

#[tokio::test]
async fn upsert_creates_then_replaces() {
    let t = TestApp::new();
    let owner = person(&[]);
    let order = new_order(&owner.user_id, 5_000);
    let (created, is_new) = payables::upsert(&t.app, order.clone())
        .await
        .expect("create");
    assert!(is_new);
    assert_eq!(created.status(), PayableStatus::Open);
    let next = revised(&order, |d| {
        d.amount = Money::from_minor(6_000, order.amount().currency()).expect("money")
    });
    let (replaced, is_new) = payables::upsert(&t.app, next).await.expect("replace");
    assert!(!is_new);
    assert_eq!(replaced.amount().minor(), 6_000);
    assert_eq!(replaced.created_at(), created.created_at());
    assert_eq!(
        payables::get(&t.app, order.payable()).await.expect("read"),
        replaced
    );
    let err = payables::get(&t.app, new_order(&owner.user_id, 1).payable())
        .await
        .expect_err("missing");
    assert!(matches!(err, AppError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn line_items_are_in_the_payables_currency() {
    let t = TestApp::new();
    let order = new_order(&person(&[]).user_id, 5_000);
    let eur = Money::from_minor(100, Currency::parse("EUR").expect("eur")).expect("money");
    let order = revised(&order, |d| {
        d.line_items = vec![LineItem::new("Ticket", eur, 1, None).expect("item")]
    });
    let err = payables::upsert(&t.app, order).await.expect_err("currency");
    assert!(
        matches!(err, AppError::LineItems(ref m) if m.0.contains("Ticket")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_open_intent_or_payment_locks_what_it_collects() {
    let t = TestApp::new();
    let owner = person(&[]);
    let order = t.order(&owner, 5_000).await;
    let (intent, _) =
        intents::open_for_payable(&t.app, &owner, order.payable(), GatewayId::Test, "Order")
            .await
            .expect("open");
    let repriced = revised(&order, |d| {
        d.amount = Money::from_minor(4_000, order.amount().currency()).expect("money")
    });
    let err = payables::upsert(&t.app, repriced.clone())
        .await
        .expect_err("locked");
    assert!(
        matches!(err, AppError::PayableLocked(ref m) if m.contains(&intent.id().to_string())),
        "{err:?}"
    );
    // The owner cannot change once an intent exists either.
    let new_owner = revised(&order, |d| d.owner.user_id = person(&[]).user_id);
    assert!(matches!(
        payables::upsert(&t.app, new_owner).await,
        Err(AppError::PayableLocked(_))
    ));

    crate::app::shop::mark_paid(&t.app, order.payable(), &Default::default())
        .await
        .expect("paid");
    let err = payables::upsert(&t.app, order.clone())
        .await
        .expect_err("paid is final");
    assert!(
        matches!(err, AppError::PayableLocked(ref m) if m.contains("paid")),
        "{err:?}"
    );
}
