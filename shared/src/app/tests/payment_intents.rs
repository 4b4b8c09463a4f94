use super::{TestApp, person};
use crate::adapters::faulty::Fault;
use crate::app::AppError;
use crate::app::payment_intents::{self, NewGatewayIntent};
use crate::auth::{Caller, Role};
use crate::contract::usd;
use crate::domain::{
    GatewayId, IntentStatus, Payable, PayableRef, PayableStatus, Payment, PaymentIntent,
    PaymentMethod, RequestKey,
};
use crate::ports::{GatewayError, PageRequest};

fn for_payable(payable: &PayableRef) -> NewGatewayIntent {
    NewGatewayIntent {
        payable: Some(payable.clone()),
        amount: None,
        gateway: Some(GatewayId::Test),
        description: None,
        return_url: None,
        cancel_url: None,
    }
}

fn standalone(minor: i64) -> NewGatewayIntent {
    NewGatewayIntent {
        payable: None,
        amount: Some(usd(minor)),
        ..for_payable(&PayableRef {
            kind: crate::domain::PayableKind::Invoice,
            id: crate::domain::PayableId::parse("unused").expect("id"),
        })
    }
}

async fn card_intent(t: &TestApp, payer: &Caller) -> (Payable, PaymentIntent) {
    let order = t.order(payer, 5_000).await;
    let (intent, created) =
        payment_intents::create(&t.app, payer, for_payable(order.payable()), None)
            .await
            .expect("created");
    assert!(created);
    (order, intent)
}

pub(super) async fn payments_of(t: &TestApp, payable: &PayableRef) -> Vec<Payment> {
    t.direct
        .payments
        .list_payments_by_payable(payable, &PageRequest::first(100))
        .await
        .expect("list")
        .items
}

async fn confirm(
    t: &TestApp,
    payer: &Caller,
    intent: &PaymentIntent,
    pm: &str,
) -> Result<PaymentIntent, AppError> {
    payment_intents::confirm(&t.app, payer, &intent.id(), pm).await
}

#[tokio::test]
async fn an_intent_for_a_payable_is_opened_at_the_gateway_once() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = card_intent(&t, &payer).await;
    let gateway_id = intent.gateway_intent_id().clone().expect("gateway id");
    assert!(gateway_id.starts_with("pi_test_"), "{gateway_id}");
    assert!(
        intent
            .client_secret()
            .as_deref()
            .expect("secret")
            .starts_with(&format!("{gateway_id}_secret_"))
    );
    assert_eq!(intent.status(), IntentStatus::RequiresPaymentMethod);
    assert_eq!(intent.amount(), order.amount());
    let found = t
        .direct
        .intents
        .find_intent_by_gateway_id(GatewayId::Test, &gateway_id)
        .await
        .expect("read")
        .expect("findable by the gateway's id");
    assert_eq!(found.id(), intent.id());
    let mut same_amount = for_payable(order.payable());
    same_amount.amount = Some(order.amount());
    let (again, created) = payment_intents::create(&t.app, &payer, same_amount, None)
        .await
        .expect("again");
    assert!(!created);
    assert_eq!(again.id(), intent.id());
}

#[tokio::test]
async fn a_payable_is_paid_at_its_own_price_by_its_owner_only() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 5_000).await;
    let mut other_price = for_payable(order.payable());
    other_price.amount = Some(usd(4_999));
    assert!(matches!(
        payment_intents::create(&t.app, &payer, other_price, None).await,
        Err(AppError::AmountNotPayables { .. })
    ));
    let mut other_currency = for_payable(order.payable());
    other_currency.amount = Some(
        crate::domain::Money::from_minor(
            5_000,
            crate::domain::Currency::parse("EUR").expect("eur"),
        )
        .expect("money"),
    );
    assert!(matches!(
        payment_intents::create(&t.app, &payer, other_currency, None).await,
        Err(AppError::AmountNotPayables { .. })
    ));
    let stranger = person(&[]);
    assert!(matches!(
        payment_intents::create(&t.app, &stranger, for_payable(order.payable()), None).await,
        Err(AppError::NotFound(_))
    ));
    let mut otp = for_payable(order.payable());
    otp.gateway = Some(GatewayId::Otp);
    assert!(matches!(
        payment_intents::create(&t.app, &payer, otp, None).await,
        Err(AppError::GatewayNotOffered)
    ));
    assert_eq!(
        t.payable(order.payable()).await.open_intent_id(),
        None,
        "nothing claimed"
    );
}

#[tokio::test]
async fn a_standalone_intent_needs_an_amount_and_is_created_once_per_key() {
    let t = TestApp::new();
    let payer = person(&[]);
    let mut no_amount = standalone(1);
    no_amount.amount = None;
    assert!(matches!(
        payment_intents::create(&t.app, &payer, no_amount, None).await,
        Err(AppError::AmountRequired)
    ));
    let key = RequestKey::new(format!("user:{}", payer.user_id), "k1");
    let (first, created) = payment_intents::create(&t.app, &payer, standalone(1_234), Some(&key))
        .await
        .expect("created");
    assert!(created);
    assert_eq!(first.id(), key.intent_id());
    assert_eq!(first.amount(), usd(1_234));
    let (again, created) = payment_intents::create(&t.app, &payer, standalone(1_234), Some(&key))
        .await
        .expect("the same request again");
    assert!(created, "answered as the first run was");
    assert_eq!(again.id(), first.id());
    assert_eq!(again.gateway_intent_id(), first.gateway_intent_id());
    let (other, _) = payment_intents::create(&t.app, &payer, standalone(1_234), None)
        .await
        .expect("another");
    assert_ne!(other.id(), first.id());
}

#[tokio::test]
async fn a_crash_after_storing_a_standalone_intent_is_found_by_its_key() {
    let t = TestApp::with_faults(vec![Fault::LoseAnswer {
        op: "open_intent",
        nth: 1,
    }]);
    let payer = person(&[]);
    let key = RequestKey::new(format!("user:{}", payer.user_id), "lost");
    assert!(
        payment_intents::create(&t.app, &payer, standalone(700), Some(&key))
            .await
            .is_err()
    );
    let (retried, created) = payment_intents::create(&t.app, &payer, standalone(700), Some(&key))
        .await
        .expect("retry");
    assert!(created);
    assert_eq!(retried.id(), key.intent_id());
    let all = t
        .direct
        .intents
        .list_all_intents(&PageRequest::first(10))
        .await
        .expect("list");
    assert_eq!(all.items.len(), 1, "one intent, however often it is sent");
}

#[tokio::test]
async fn a_good_card_collects_the_payment_once_and_pays_the_payable() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = card_intent(&t, &payer).await;
    let paid = confirm(&t, &payer, &intent, "pm_card_visa")
        .await
        .expect("confirmed");
    assert_eq!(paid.status(), IntentStatus::Succeeded);
    assert!(paid.captured_at().is_some());
    assert_eq!(
        t.payable(order.payable()).await.status(),
        PayableStatus::Paid
    );
    let payments = payments_of(&t, order.payable()).await;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].method(), PaymentMethod::Card);
    assert_eq!(payments[0].amount(), order.amount());
    assert_eq!(payments[0].transaction_id(), paid.gateway_intent_id());
    assert!(matches!(
        confirm(&t, &payer, &intent, "pm_card_visa").await,
        Err(AppError::Transition(_))
    ));
    assert_eq!(payments_of(&t, order.payable()).await.len(), 1);
}

#[tokio::test]
async fn a_declined_card_returns_the_intent_to_the_payer_who_may_try_another() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = card_intent(&t, &payer).await;
    let declined = confirm(&t, &payer, &intent, "pm_card_chargeDeclined")
        .await
        .expect("a decline is an outcome");
    assert_eq!(declined.status(), IntentStatus::RequiresPaymentMethod);
    assert_eq!(declined.failure_reason().as_deref(), Some("card_declined"));
    assert!(declined.failed_at().is_some());
    assert!(payments_of(&t, order.payable()).await.is_empty());
    assert_eq!(
        t.payable(order.payable()).await.open_intent_id(),
        Some(intent.id())
    );
    let paid = confirm(&t, &payer, &intent, "pm_card_mastercard")
        .await
        .expect("paid");
    assert_eq!(paid.status(), IntentStatus::Succeeded);
    assert_eq!(paid.failure_reason(), &None, "the decline is history");
    assert_eq!(payments_of(&t, order.payable()).await.len(), 1);
}

#[tokio::test]
async fn authentication_waits_for_the_gateway_and_unknown_methods_change_nothing() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (_, intent) = card_intent(&t, &payer).await;
    let err = confirm(&t, &payer, &intent, "pm_card_amex")
        .await
        .expect_err("unknown");
    assert!(matches!(
        err,
        AppError::Gateway(GatewayError::UnknownPaymentMethod(_))
    ));
    let stored = t
        .direct
        .intents
        .get_intent(&intent.id())
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (stored.status(), stored.version()),
        (intent.status(), intent.version())
    );
    let acting = confirm(&t, &payer, &intent, "pm_card_authenticationRequired")
        .await
        .expect("action");
    assert_eq!(acting.status(), IntentStatus::RequiresAction);
    assert_eq!(
        acting.next_action().clone().expect("an action").kind,
        "redirect_to_url"
    );
    let stranger = person(&[Role::Admin]);
    assert!(matches!(
        confirm(&t, &stranger, &intent, "pm_card_visa").await,
        Err(AppError::NotFound(_))
    ));
}

#[tokio::test]
async fn twenty_concurrent_confirms_record_one_payment() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = card_intent(&t, &payer).await;
    let id = intent.id();
    let answers = futures::future::join_all(
        (0..20).map(|_| payment_intents::confirm(&t.app, &payer, &id, "pm_card_visa")),
    )
    .await;
    assert!(
        answers
            .iter()
            .any(|a| matches!(a, Ok(i) if i.status() == IntentStatus::Succeeded))
    );
    assert_eq!(payments_of(&t, order.payable()).await.len(), 1);
}

#[tokio::test]
async fn a_lost_answer_while_collecting_never_records_twice() {
    let t = TestApp::with_faults(vec![Fault::LoseAnswer {
        op: "finish_intent",
        nth: 1,
    }]);
    let payer = person(&[]);
    let (order, intent) = card_intent(&t, &payer).await;
    let first = confirm(&t, &payer, &intent, "pm_card_visa").await;
    // The write happened although its answer was lost: the next read sees it.
    let settled = match first {
        Ok(i) => i,
        Err(_) => payment_intents::get_for_staff(&t.app, &person(&[Role::Support]), &intent.id())
            .await
            .expect("read"),
    };
    assert_eq!(settled.status(), IntentStatus::Succeeded);
    let _ = confirm(&t, &payer, &intent, "pm_card_visa").await;
    assert_eq!(payments_of(&t, order.payable()).await.len(), 1);
}

#[tokio::test]
async fn payers_and_admins_cancel_at_the_gateway_and_here() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = card_intent(&t, &payer).await;
    let id = intent.id();
    for other in [
        person(&[]),
        person(&[Role::Support]),
        person(&[Role::Staff]),
    ] {
        assert!(matches!(
            payment_intents::cancel(&t.app, &other, &id).await,
            Err(AppError::NotFound(_))
        ));
    }
    let canceled = payment_intents::cancel(&t.app, &payer, &id)
        .await
        .expect("canceled");
    assert_eq!(canceled.status(), IntentStatus::Canceled);
    assert_eq!(
        t.payable(order.payable()).await.open_intent_id(),
        None,
        "payable freed"
    );
    assert!(matches!(
        payment_intents::cancel(&t.app, &payer, &id).await,
        Err(AppError::Transition(_))
    ));
    let (_, second) = card_intent(&t, &payer).await;
    let by_admin = payment_intents::cancel(&t.app, &person(&[Role::Admin]), &second.id())
        .await
        .expect("admin cancels");
    assert_eq!(by_admin.status(), IntentStatus::Canceled);
}

#[tokio::test]
async fn only_admin_and_support_read_here_newest_first() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (_, older) = card_intent(&t, &payer).await;
    t.clock.advance(time::Duration::seconds(1));
    let (_, newer) = card_intent(&t, &payer).await;
    let customer = payer.user_id.clone();
    for reader in [person(&[Role::Admin]), person(&[Role::Support])] {
        let got = payment_intents::get_for_staff(&t.app, &reader, &older.id())
            .await
            .expect("read");
        assert_eq!(got.id(), older.id());
        let all = payment_intents::list_all(&t.app, &reader, &PageRequest::first(10))
            .await
            .expect("all");
        assert_eq!(
            all.items.iter().map(|i| i.id()).collect::<Vec<_>>(),
            vec![newer.id(), older.id()]
        );
        let theirs = payment_intents::list_for_customer(
            &t.app,
            &reader,
            Some(&customer),
            &PageRequest::first(1),
        )
        .await
        .expect("customer");
        assert_eq!(theirs.items[0].id(), newer.id());
        let rest = payment_intents::list_for_customer(
            &t.app,
            &reader,
            Some(&customer),
            &PageRequest {
                limit: 1,
                cursor: theirs.next.clone(),
            },
        )
        .await
        .expect("next page");
        assert_eq!(rest.items[0].id(), older.id());
    }
    for other in [person(&[Role::Staff]), person(&[]), payer.clone()] {
        assert!(matches!(
            payment_intents::get_for_staff(&t.app, &other, &older.id()).await,
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(
            payment_intents::list_all(&t.app, &other, &PageRequest::first(10)).await,
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(
            payment_intents::list_for_customer(
                &t.app,
                &other,
                Some(&customer),
                &PageRequest::first(10)
            )
            .await,
            Err(AppError::Forbidden(_))
        ));
    }
}

/// A deployment as its template's defaults make it: no `test` gateway, and
/// `stripe` the default, here without a key.
fn deployed_without_stripe() -> TestApp {
    let mut t = TestApp::new();
    t.app.config.enable_test_gateway = false;
    t.app.config.default_gateway = GatewayId::Stripe;
    t.app = crate::app::App::new(
        t.app.config.clone(),
        t.direct.clone(),
        t.outbox.clone(),
        std::sync::Arc::new(super::FixedSecrets(super::unit_secrets())),
        t.clock.clone(),
    );
    t
}

#[tokio::test]
async fn the_test_gateway_does_not_exist_unless_switched_on() {
    let t = deployed_without_stripe();
    assert!(t.app.gateways.get(GatewayId::Test).is_none());
    let payer = person(&[]);
    let order = t.order(&payer, 5_000).await;
    let mut unnamed = for_payable(order.payable());
    unnamed.gateway = None;
    assert!(matches!(
        payment_intents::create(&t.app, &payer, unnamed, None).await,
        Err(AppError::DefaultGatewayMissing(GatewayId::Stripe))
    ));
    // Named, it is refused as a gateway nobody knows is.
    assert!(matches!(
        payment_intents::create(&t.app, &payer, standalone(1_000), None).await,
        Err(AppError::GatewayNotOffered)
    ));
    assert!(matches!(
        crate::app::shop::shop_intent(&t.app, &payer, order.payable()).await,
        Err(AppError::DefaultGatewayMissing(GatewayId::Stripe))
    ));
    // Its webhook is not heard, however well signed.
    assert!(matches!(
        crate::app::gateway_events::receive(&t.app, GatewayId::Test, None, b"{}", "delivery").await,
        Err(AppError::NotFound(_))
    ));
    assert_eq!(
        t.payable(order.payable()).await.open_intent_id(),
        None,
        "nothing claimed"
    );
    assert!(
        t.direct
            .intents
            .list_all_intents(&PageRequest::first(10))
            .await
            .expect("list")
            .items
            .is_empty(),
        "nothing opened"
    );
}

#[tokio::test]
async fn intents_that_name_no_gateway_open_at_the_default_one() {
    let t = TestApp::new();
    assert_eq!(t.app.config.default_gateway, GatewayId::Test);
    let payer = person(&[]);
    let mut unnamed = standalone(1_000);
    unnamed.gateway = None;
    let (intent, _) = payment_intents::create(&t.app, &payer, unnamed, None)
        .await
        .expect("opened");
    assert_eq!(intent.gateway(), GatewayId::Test);
    let order = t.order(&payer, 5_000).await;
    let (shop, _) = crate::app::shop::shop_intent(&t.app, &payer, order.payable())
        .await
        .expect("opened");
    assert_eq!(shop.gateway(), GatewayId::Test);
}
