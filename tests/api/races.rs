//! Concurrency against DynamoDB Local: the invariants hold under real contention.

use futures::future::join_all;
use integration_tests::flows::*;
use integration_tests::*;
use lambda_http::http::Method;
use payment_shared::domain::{PayableId, PayableKind, PayableRef};
use payment_shared::surfaces::intents;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_confirms_collect_exactly_one_payment() {
    let h = Harness::new().await;
    let (user, reg, intent, code) = awaiting_code(&h).await;
    let replies = join_all((0..50).map(|_| confirm(&h, &user, &intent, &code))).await;
    let ok: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        ok.len(),
        1,
        "statuses: {:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(
        replies.iter().all(|r| r.status == 200 || r.status == 409),
        "losers see a conflict"
    );

    let payable = PayableRef {
        kind: PayableKind::Registration,
        id: PayableId::parse(&reg).expect("id"),
    };
    let payments = h
        .dynamo
        .query()
        .table_name(h.store.table_name())
        .index_name("gsi2")
        .key_condition_expression("gsi2pk = :p AND begins_with(gsi2sk, :pay)")
        .expression_attribute_values(
            ":p",
            aws_sdk_dynamodb::types::AttributeValue::S(format!(
                "PAYABLE#{}#{}",
                payable.kind, payable.id
            )),
        )
        .expression_attribute_values(
            ":pay",
            aws_sdk_dynamodb::types::AttributeValue::S("PAYMENT#".into()),
        )
        .send()
        .await
        .expect("query");
    assert_eq!(payments.count(), 1, "exactly one payment record");
    assert_eq!(get(&h, &user, &intent).await.body["status"], "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_wrong_codes_count_exactly_and_fail_at_five() {
    let h = Harness::new().await;
    let (user, reg, intent, code) = awaiting_code(&h).await;
    let wrong = if code == "999999" { "888888" } else { "999999" };
    let replies = join_all((0..20).map(|_| confirm(&h, &user, &intent, wrong))).await;
    assert!(
        replies.iter().all(|r| r.status == 400),
        "{:?}",
        replies
            .iter()
            .map(|r| (r.status, r.body.to_string()))
            .collect::<Vec<_>>()
    );
    let remaining: Vec<_> = replies
        .iter()
        .filter_map(|r| r.body["detail"].as_str())
        .filter(|d| d.contains("remaining"))
        .collect();
    assert_eq!(
        remaining.len(),
        4,
        "exactly four wrong codes are answered with attempts left"
    );
    let view = get(&h, &user, &intent).await.body;
    assert_eq!(view["otp_attempts"], 5);
    assert_eq!(view["status"], "failed");
    assert_eq!(view["failure_reason"], "otp_attempts_exceeded");
    // The registration is free again.
    assert_eq!(
        create(&h, &user, &reg).await.body["status"],
        "requires_confirmation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_creates_open_one_intent() {
    let h = Harness::new().await;
    let user = unique("payer");
    let reg = unique("REG");
    register(&h, "registration", &reg, &user, "99.99", "USD").await;
    let replies = join_all((0..20).map(|_| create(&h, &user, &reg))).await;
    assert!(
        replies.iter().all(|r| r.status == 200),
        "{:?}",
        replies
            .iter()
            .map(|r| r.body.to_string())
            .collect::<Vec<_>>()
    );
    let first = &replies[0].body["intent_id"];
    assert!(
        replies.iter().all(|r| &r.body["intent_id"] == first),
        "every caller gets the same intent"
    );
    let listed = invoke(
        &h,
        intents::list_by_registration,
        call(Method::GET, "/")
            .as_user(&user)
            .param("registration_id", &reg),
    )
    .await;
    assert_eq!(listed.body.as_array().expect("array").len(), 1);
    let _ = json!(null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn guesses_beyond_the_reserved_attempts_are_never_compared() {
    use payment_shared::domain::IntentId;
    use payment_shared::ports::IntentStore;
    let h = Harness::new().await;
    let (user, _reg, intent, code) = awaiting_code(&h).await;
    let id = IntentId::parse(&intent).expect("intent id");
    let awaited = h
        .store
        .get_intent(&id)
        .await
        .expect("read")
        .expect("intent")
        .otp()
        .clone()
        .expect("a code is awaited")
        .hash;
    // Five guesses hold every attempt (still being compared elsewhere).
    let now = time::OffsetDateTime::now_utc();
    let reserved =
        join_all((0..20).map(|_| h.store.reserve_otp_attempt(&id, &awaited, 5, now))).await;
    let taken: Vec<_> = reserved
        .into_iter()
        .filter_map(|r| r.expect("reserve"))
        .collect();
    assert_eq!(taken.len(), 5, "exactly five attempts: {taken:?}");
    // Twenty more guesses, the right code among them, all arrive too late to be compared.
    let replies = join_all((0..20).map(|_| confirm(&h, &user, &intent, &code))).await;
    assert!(
        replies.iter().all(|r| r.status == 400),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let view = get(&h, &user, &intent).await.body;
    assert_eq!(view["otp_attempts"], 5);
    assert_ne!(view["status"], "succeeded");
}

/// A payer racing PENDING payments onto one order never leaves more than
/// the cap pending: the count is a conditional increment on the order itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_pending_payments_leave_at_most_forty_pending() {
    use payment_shared::domain::MAX_PENDING_PAYMENTS;
    use payment_shared::ports::PayableStore;
    use payment_shared::surfaces::payments;
    let h = Harness::new().await;
    let owner = unique("buyer");
    let order = order(&h, &owner, "100.00", "USD").await;
    let pending = || {
        invoke(
            &h,
            payments::create,
            call(Method::POST, "/payment").as_user(&owner).json(json!({
                "amount": 1, "orderId": order, "paymentMethod": "Cash", "status": "PENDING",
            })),
        )
    };
    let replies = join_all((0..50).map(|_| pending())).await;
    let recorded = replies.iter().filter(|r| r.status == 201).count();
    assert!(
        replies.iter().all(|r| r.status == 201 || r.status == 409),
        "{:?}",
        replies
            .iter()
            .map(|r| (r.status, r.body.to_string()))
            .collect::<Vec<_>>()
    );
    assert!(recorded <= 40, "{recorded} pending payments recorded");
    // Losers of the race may retry: one by one, the order takes exactly the cap.
    let mut more = 0;
    loop {
        let r = pending().await;
        if r.status == 409 {
            assert!(
                r.body["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("40 PENDING payments")),
                "{}",
                r.body
            );
            break;
        }
        assert_eq!(r.status, 201, "{}", r.body);
        more += 1;
        assert!(recorded + more <= 40, "past the cap");
    }
    assert_eq!(recorded + more, 40);
    let payable = PayableRef {
        kind: PayableKind::Order,
        id: PayableId::parse(&order).expect("id"),
    };
    let stored = h
        .store
        .get_payable(&payable)
        .await
        .expect("read")
        .expect("order");
    assert_eq!(
        (stored.pending_payments(), stored.allocated_minor()),
        (MAX_PENDING_PAYMENTS, 4_000)
    );
    let listed = invoke(
        &h,
        payments::list_for_order,
        call(Method::GET, "/")
            .as_user(&owner)
            .param("orderId", &order)
            .query("limit", "100"),
    )
    .await;
    let listed = listed.body.as_array().expect("list").clone();
    assert_eq!(
        listed.iter().filter(|p| p["status"] == "PENDING").count(),
        40,
        "as many pending payments as the order counts"
    );
}

/// Card payments through the test gateway, raced on DynamoDB Local.
mod through_a_gateway {
    use super::*;
    use payment_shared::app::gateway_events::{self, EventOutcome};
    use payment_shared::app::payment_intents::{self, NewGatewayIntent};
    use payment_shared::auth::Caller;
    use payment_shared::domain::{Email, GatewayId, PaymentIntent, UserId};
    use payment_shared::ports::{IntentStore, PageRequest, PayableStore, PaymentStore};

    fn payer() -> Caller {
        let user = unique("payer");
        Caller {
            email: Some(Email::parse(&format!("{user}@example.com")).expect("email")),
            user_id: UserId::parse(&user).expect("user"),
            roles: vec![],
        }
    }

    async fn card_intent(h: &Harness, payer: &Caller) -> (PayableRef, PaymentIntent) {
        let order = order(h, payer.user_id.as_str(), "50.00", "USD").await;
        let payable = PayableRef {
            kind: PayableKind::Order,
            id: PayableId::parse(&order).expect("id"),
        };
        let new = NewGatewayIntent {
            payable: Some(payable.clone()),
            amount: None,
            gateway: Some(GatewayId::Test),
            description: None,
            return_url: None,
            cancel_url: None,
        };
        let (intent, created) = payment_intents::create(&h.app, payer, new, None)
            .await
            .expect("created");
        assert!(created);
        (payable, intent)
    }

    async fn payments_of(h: &Harness, payable: &PayableRef) -> usize {
        h.store
            .list_payments_by_payable(payable, &PageRequest::first(100))
            .await
            .expect("list")
            .items
            .len()
    }

    fn succeeded(event: &str, intent: &PaymentIntent) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "id": event, "object": "event", "type": "payment_intent.succeeded", "created": 1,
            "data": {"object": {"id": intent.gateway_intent_id(), "object": "payment_intent",
                "status": "succeeded", "amount": 5000, "currency": "usd"}},
        }))
        .expect("json")
    }

    async fn deliver(h: &Harness, body: &[u8], delivery: &str) -> Result<EventOutcome, String> {
        let signature = gateway_signature(h, WEBHOOK_SECRET, body);
        gateway_events::receive(&h.app, GatewayId::Test, Some(&signature), body, delivery)
            .await
            .map_err(|e| e.to_string())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn twenty_concurrent_confirms_with_a_good_card_record_one_payment() {
        let h = Harness::new().await;
        let payer = payer();
        let (payable, intent) = card_intent(&h, &payer).await;
        let id = intent.id();
        let answers = join_all(
            (0..20).map(|_| payment_intents::confirm(&h.app, &payer, &id, "pm_card_visa")),
        )
        .await;
        assert!(answers.iter().any(|a| a.is_ok()), "{answers:?}");
        assert_eq!(payments_of(&h, &payable).await, 1);
        let paid = h
            .store
            .get_payable(&payable)
            .await
            .expect("read")
            .expect("order");
        assert_eq!(paid.status().as_str(), "paid");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_confirm_and_a_succeeded_webhook_racing_record_one_payment() {
        let h = Harness::new().await;
        let payer = payer();
        let (payable, intent) = card_intent(&h, &payer).await;
        let id = intent.id();
        let body = succeeded("evt_race", &intent);
        let (confirmed, delivered) = tokio::join!(
            payment_intents::confirm(&h.app, &payer, &id, "pm_card_visa"),
            deliver(&h, &body, "race")
        );
        confirmed.expect("confirmed");
        delivered.expect("acknowledged");
        assert_eq!(payments_of(&h, &payable).await, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn twenty_concurrent_deliveries_of_one_event_have_one_effect() {
        let h = Harness::new().await;
        let payer = payer();
        let (payable, intent) = card_intent(&h, &payer).await;
        payment_intents::confirm(
            &h.app,
            &payer,
            &intent.id(),
            "pm_card_authenticationRequired",
        )
        .await
        .expect("awaits authentication");
        let body = succeeded("evt_twenty", &intent);
        let names: Vec<String> = (0..20).map(|n| format!("delivery-{n}")).collect();
        let answers = join_all(names.iter().map(|d| deliver(&h, &body, d))).await;
        let applied = answers
            .iter()
            .filter(|a| matches!(a, Ok(EventOutcome::Applied)))
            .count();
        assert_eq!(applied, 1, "{answers:?}");
        assert!(answers.iter().all(|a| a.is_ok()), "{answers:?}");
        assert_eq!(payments_of(&h, &payable).await, 1);
        let stored = h
            .store
            .get_intent(&intent.id())
            .await
            .expect("read")
            .expect("intent");
        assert_eq!(stored.status().as_str(), "succeeded");
    }
}
