use serde_json::json;

use super::payment_intents::payments_of;
use super::{TestApp, WEBHOOK_SECRET, person};
use crate::adapters::faulty::Fault;
use crate::app::AppError;
use crate::app::gateway_events::{self, EventOutcome};
use crate::app::payment_intents::{self, NewGatewayIntent};
use crate::auth::Caller;
use crate::domain::webhook_signature::sign;
use crate::domain::{GatewayId, IntentStatus, Payable, PayableStatus, PaymentIntent};
use crate::ports::GatewayEventError;

pub(super) async fn card_intent(t: &TestApp, payer: &Caller) -> (Payable, PaymentIntent) {
    let order = t.order(payer, 5_000).await;
    let new = NewGatewayIntent {
        payable: Some(order.payable().clone()),
        amount: None,
        gateway: Some(GatewayId::Test),
        description: None,
        return_url: None,
        cancel_url: None,
    };
    let (intent, _) = payment_intents::create(&t.app, payer, new, None)
        .await
        .expect("created");
    (order, intent)
}

fn event(id: &str, kind: &str, intent: &PaymentIntent, extra: serde_json::Value) -> Vec<u8> {
    let mut object = json!({
        "id": intent.gateway_intent_id().clone().expect("gateway id"),
        "object": "payment_intent",
    });
    if let (Some(o), Some(e)) = (object.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    serde_json::to_vec(&json!({
        "id": id, "object": "event", "type": kind, "created": 1_760_000_000,
        "data": {"object": object},
    }))
    .expect("json")
}

async fn deliver(t: &TestApp, body: &[u8]) -> Result<EventOutcome, AppError> {
    let signature = sign(
        WEBHOOK_SECRET.as_bytes(),
        t.clock_now().unix_timestamp(),
        body,
    );
    gateway_events::receive(
        &t.app,
        GatewayId::Test,
        Some(&signature),
        body,
        "delivery-1",
    )
    .await
}

async fn status_of(t: &TestApp, intent: &PaymentIntent) -> PaymentIntent {
    t.direct
        .intents
        .get_intent(&intent.id())
        .await
        .expect("read")
        .expect("exists")
}

async fn awaiting_authentication(t: &TestApp, payer: &Caller) -> (Payable, PaymentIntent) {
    let (order, intent) = card_intent(t, payer).await;
    let acting = payment_intents::confirm(
        &t.app,
        payer,
        &intent.id(),
        "pm_card_authenticationRequired",
    )
    .await
    .expect("action");
    assert_eq!(acting.status(), IntentStatus::RequiresAction);
    (order, acting)
}

#[tokio::test]
async fn a_succeeded_event_collects_once_and_its_redelivery_changes_nothing() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = awaiting_authentication(&t, &payer).await;
    let body = event(
        "evt_1",
        "payment_intent.succeeded",
        &intent,
        json!({"amount": 5_000, "currency": "usd"}),
    );
    assert_eq!(deliver(&t, &body).await.expect("ok"), EventOutcome::Applied);
    assert_eq!(
        status_of(&t, &intent).await.status(),
        IntentStatus::Succeeded
    );
    assert_eq!(
        t.payable(order.payable()).await.status(),
        PayableStatus::Paid
    );
    assert_eq!(
        deliver(&t, &body).await.expect("ok"),
        EventOutcome::Duplicate
    );
    let another = event("evt_2", "payment_intent.succeeded", &intent, json!({}));
    assert_eq!(
        deliver(&t, &another).await.expect("ok"),
        EventOutcome::Ignored
    );
    assert_eq!(payments_of(&t, order.payable()).await.len(), 1);
}

#[tokio::test]
async fn only_deliveries_signed_with_the_gateways_secret_now_are_read() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (_, intent) = awaiting_authentication(&t, &payer).await;
    let body = event("evt_1", "payment_intent.succeeded", &intent, json!({}));
    let now = t.clock_now().unix_timestamp();
    let cases = [
        None,
        Some(sign(b"another secret", now, &body)),
        Some(sign(WEBHOOK_SECRET.as_bytes(), now - 301, &body)),
        Some(sign(WEBHOOK_SECRET.as_bytes(), now, b"another body")),
        Some("t=1,v1=zz".to_owned()),
    ];
    for signature in cases {
        let refused =
            gateway_events::receive(&t.app, GatewayId::Test, signature.as_deref(), &body, "d")
                .await;
        assert!(
            matches!(
                refused,
                Err(AppError::GatewayEvent(GatewayEventError::Signature(_)))
            ),
            "{signature:?}: {refused:?}"
        );
    }
    let garbage = b"{\"not\":\"an event\"}";
    let signed = sign(WEBHOOK_SECRET.as_bytes(), now, garbage);
    assert!(matches!(
        gateway_events::receive(&t.app, GatewayId::Test, Some(&signed), garbage, "d").await,
        Err(AppError::GatewayEvent(GatewayEventError::Payload(_)))
    ));
    // Gateways this deployment takes no events from; an unknown name is the surface's to refuse.
    for gateway in [GatewayId::Otp, GatewayId::Stripe] {
        assert!(matches!(
            gateway_events::receive(&t.app, gateway, Some(&signed), &body, "d").await,
            Err(AppError::NotFound(_))
        ));
    }
    assert_eq!(
        status_of(&t, &intent).await.status(),
        IntentStatus::RequiresAction
    );
}

#[tokio::test]
async fn events_for_unknown_intents_other_types_and_other_money_are_acknowledged_and_ignored() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = awaiting_authentication(&t, &payer).await;
    let unknown = PaymentIntent::restore(
        crate::domain::intent::IntentParts {
            gateway_intent_id: Some("pi_test_unknown".into()),
            ..intent.clone().into_parts()
        },
        intent.version(),
    );
    for body in [
        event("evt_a", "payment_intent.succeeded", &unknown, json!({})),
        event("evt_b", "charge.refunded", &intent, json!({})),
        event(
            "evt_c",
            "payment_intent.succeeded",
            &intent,
            json!({"amount": 4_999}),
        ),
        event(
            "evt_d",
            "payment_intent.succeeded",
            &intent,
            json!({"currency": "eur"}),
        ),
    ] {
        assert_eq!(deliver(&t, &body).await.expect("ok"), EventOutcome::Ignored);
    }
    assert_eq!(
        status_of(&t, &intent).await.status(),
        IntentStatus::RequiresAction
    );
    assert!(payments_of(&t, order.payable()).await.is_empty());
    // The body may be a JSON string holding the event.
    let wrapped = serde_json::to_vec(
        &String::from_utf8(event(
            "evt_e",
            "payment_intent.succeeded",
            &intent,
            json!({"currency": "USD"}),
        ))
        .expect("utf-8"),
    )
    .expect("json");
    assert_eq!(
        deliver(&t, &wrapped).await.expect("ok"),
        EventOutcome::Applied
    );
}

#[tokio::test]
async fn late_reports_never_move_a_succeeded_intent_backwards() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = awaiting_authentication(&t, &payer).await;
    let succeeded = event("evt_s", "payment_intent.succeeded", &intent, json!({}));
    deliver(&t, &succeeded).await.expect("ok");
    let before = status_of(&t, &intent).await;
    for (id, kind) in [
        ("evt_p", "payment_intent.processing"),
        ("evt_f", "payment_intent.payment_failed"),
        ("evt_c", "payment_intent.canceled"),
        ("evt_r", "payment_intent.requires_action"),
    ] {
        let late = event(id, kind, &intent, json!({}));
        assert_eq!(
            deliver(&t, &late).await.expect("ok"),
            EventOutcome::Ignored,
            "{kind}"
        );
    }
    let after = status_of(&t, &intent).await;
    assert_eq!(
        (after.status(), after.version()),
        (before.status(), before.version())
    );
    assert_eq!(payments_of(&t, order.payable()).await.len(), 1);
}

#[tokio::test]
async fn a_failed_payment_returns_the_intent_to_the_payer_and_a_cancel_frees_the_payable() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = awaiting_authentication(&t, &payer).await;
    let failed = event(
        "evt_f",
        "payment_intent.payment_failed",
        &intent,
        json!({"last_payment_error": {"code": "authentication_required", "message": "no"}}),
    );
    assert_eq!(
        deliver(&t, &failed).await.expect("ok"),
        EventOutcome::Applied
    );
    let returned = status_of(&t, &intent).await;
    assert_eq!(returned.status(), IntentStatus::RequiresPaymentMethod);
    assert_eq!(
        returned.failure_reason().as_deref(),
        Some("authentication_required")
    );
    assert_eq!(returned.next_action(), &None);
    let processing = event("evt_p", "payment_intent.processing", &intent, json!({}));
    assert_eq!(
        deliver(&t, &processing).await.expect("ok"),
        EventOutcome::Applied
    );
    assert_eq!(
        status_of(&t, &intent).await.status(),
        IntentStatus::Processing
    );
    let canceled = event("evt_c", "payment_intent.canceled", &intent, json!({}));
    // Processing is the gateway's: only it may end it, and it may not cancel it.
    assert_eq!(
        deliver(&t, &canceled).await.expect("ok"),
        EventOutcome::Ignored
    );
    let failed_again = event(
        "evt_f2",
        "payment_intent.payment_failed",
        &intent,
        json!({}),
    );
    assert_eq!(
        deliver(&t, &failed_again).await.expect("ok"),
        EventOutcome::Applied
    );
    assert_eq!(
        status_of(&t, &intent).await.failure_reason().as_deref(),
        Some("payment_failed")
    );
    let canceled = event("evt_c2", "payment_intent.canceled", &intent, json!({}));
    assert_eq!(
        deliver(&t, &canceled).await.expect("ok"),
        EventOutcome::Applied
    );
    assert_eq!(
        status_of(&t, &intent).await.status(),
        IntentStatus::Canceled
    );
    assert_eq!(t.payable(order.payable()).await.open_intent_id(), None);
}

#[tokio::test]
async fn twenty_concurrent_deliveries_of_one_event_have_one_effect() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = awaiting_authentication(&t, &payer).await;
    let body = event("evt_many", "payment_intent.succeeded", &intent, json!({}));
    let signature = sign(
        WEBHOOK_SECRET.as_bytes(),
        t.clock_now().unix_timestamp(),
        &body,
    );
    let deliveries: Vec<String> = (0..20).map(|n| format!("delivery-{n}")).collect();
    let answers = futures::future::join_all(
        deliveries
            .iter()
            .map(|d| gateway_events::receive(&t.app, GatewayId::Test, Some(&signature), &body, d)),
    )
    .await;
    let applied = answers
        .iter()
        .filter(|a| matches!(a, Ok(EventOutcome::Applied)))
        .count();
    assert_eq!(applied, 1, "{answers:?}");
    assert!(answers.iter().all(|a| a.is_ok()), "{answers:?}");
    assert_eq!(payments_of(&t, order.payable()).await.len(), 1);
}

#[tokio::test]
async fn a_confirm_and_a_succeeded_event_racing_record_one_payment() {
    let t = TestApp::new();
    let payer = person(&[]);
    let (order, intent) = card_intent(&t, &payer).await;
    let body = event("evt_race", "payment_intent.succeeded", &intent, json!({}));
    let id = intent.id();
    let (confirmed, delivered) = tokio::join!(
        payment_intents::confirm(&t.app, &payer, &id, "pm_card_visa"),
        deliver(&t, &body)
    );
    assert_eq!(
        confirmed.expect("confirmed").status(),
        IntentStatus::Succeeded
    );
    delivered.expect("acknowledged");
    assert_eq!(payments_of(&t, order.payable()).await.len(), 1);
}

#[tokio::test]
async fn an_event_whose_handling_failed_runs_again_when_redelivered() {
    let t = TestApp::with_faults(vec![Fault::CrashAfter {
        op: "find_intent_by_gateway_id",
        nth: 1,
    }]);
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
    let body = event("evt_retry", "payment_intent.succeeded", &intent, json!({}));
    assert!(deliver(&t, &body).await.is_err(), "the function died");
    // A new container, the same table; the gateway sends the event again.
    let t2 = t.restarted();
    let signature = sign(
        WEBHOOK_SECRET.as_bytes(),
        t2.clock_now().unix_timestamp(),
        &body,
    );
    let soon = gateway_events::receive(
        &t2.app,
        GatewayId::Test,
        Some(&signature),
        &body,
        "delivery-2",
    )
    .await;
    assert!(soon.is_err(), "the dead run's claim still holds: try later");
    t2.clock.advance(time::Duration::minutes(6));
    let signature = sign(
        WEBHOOK_SECRET.as_bytes(),
        t2.clock_now().unix_timestamp(),
        &body,
    );
    let later = gateway_events::receive(
        &t2.app,
        GatewayId::Test,
        Some(&signature),
        &body,
        "delivery-3",
    )
    .await;
    assert_eq!(later.expect("taken over"), EventOutcome::Applied);
    assert_eq!(payments_of(&t2, order.payable()).await.len(), 1);
}

#[tokio::test]
async fn an_echoed_id_naming_another_intent_moves_only_the_one_the_gateway_names() {
    let t = TestApp::new();
    let (payer, other_payer) = (person(&[]), person(&[]));
    let (_, named) = awaiting_authentication(&t, &payer).await;
    let (_, echoed) = card_intent(&t, &other_payer).await;
    let body = event(
        "evt_echo",
        "payment_intent.succeeded",
        &named,
        json!({"metadata": {"intent_id": echoed.id().to_string()}}),
    );
    assert_eq!(deliver(&t, &body).await.expect("ok"), EventOutcome::Applied);
    assert_eq!(
        status_of(&t, &named).await.status(),
        IntentStatus::Succeeded
    );
    assert_eq!(status_of(&t, &echoed).await.status(), echoed.status());
}
