//! Every completed payment carries its fee, fixed in the write that completes it.

use super::payment_intents::payments_of;
use super::{TestApp, person, stated};
use crate::app::payment_intents::{self, NewGatewayIntent};
use crate::app::payments;
use crate::app::{intents, shop};
use crate::auth::Actor;
use crate::auth::Role;
use crate::domain::{GatewayId, PaymentMethod, PaymentStatus};

#[tokio::test]
async fn a_card_payment_through_a_gateway_pays_the_card_fee() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 5_000).await;
    let new = NewGatewayIntent {
        payable: Some(order.payable().clone()),
        amount: None,
        gateway: Some(GatewayId::Test),
        description: None,
        return_url: None,
        cancel_url: None,
    };
    let (intent, _) = payment_intents::create(&t.app, &payer, new, None)
        .await
        .expect("created");
    payment_intents::confirm(&t.app, &payer, &intent.id(), "pm_card_visa")
        .await
        .expect("paid");
    let payment = &payments_of(&t, order.payable()).await[0];
    // 2.9 % of 50.00 is 1.45, plus 0.30.
    assert_eq!((payment.fee_minor(), payment.net_minor()), (175, 4_825));
}

#[tokio::test]
async fn a_bank_transfer_recorded_completed_pays_two_percent() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 500_000).await;
    let staff = Actor::Person(person(&[Role::Staff]));
    let payment = payments::record(
        &t.app,
        &staff,
        order.payable(),
        stated("5000.00"),
        PaymentMethod::BankTransfer,
        PaymentStatus::Completed,
    )
    .await
    .expect("recorded");
    assert_eq!(
        (payment.fee_minor(), payment.net_minor()),
        (10_000, 490_000)
    );
    assert_eq!(
        payments_of(&t, order.payable()).await[0].fee_minor(),
        10_000
    );
}

#[tokio::test]
async fn a_pending_payment_owes_its_fee_only_once_it_completes() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 500_000).await;
    let pending = payments::record(
        &t.app,
        &Actor::Person(payer.clone()),
        order.payable(),
        stated("5000.00"),
        PaymentMethod::BankTransfer,
        PaymentStatus::Pending,
    )
    .await
    .expect("pending");
    assert_eq!(pending.fee_minor(), 0);
    shop::mark_paid(&t.app, order.payable(), &shop::PaidWith::default())
        .await
        .expect("paid");
    let completed = &payments_of(&t, order.payable()).await[0];
    assert_eq!(completed.status(), PaymentStatus::Completed);
    assert_eq!(completed.fee_minor(), 10_000);
}

#[tokio::test]
async fn a_code_confirmed_payment_is_free_unless_the_schedule_names_it() {
    let t = TestApp::new();
    let payer = person(&[]);
    let order = t.order(&payer, 11_200).await;
    let (intent, _) =
        intents::open_for_payable(&t.app, &payer, order.payable(), GatewayId::Otp, "Order")
            .await
            .expect("open");
    intents::request_otp(&t.app, &payer, &intent.id())
        .await
        .expect("sent");
    let (_, payment) = intents::confirm_otp(&t.app, &payer, &intent.id(), &t.outbox.last_code())
        .await
        .expect("confirmed");
    assert_eq!(payment.method(), PaymentMethod::EmailOtp);
    assert_eq!(payment.fee_minor(), 0);
}
