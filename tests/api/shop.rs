//! The shop orders API: order payment intents and mark-paid, on DynamoDB Local.

use futures::future::join_all;
use integration_tests::flows::*;
use integration_tests::*;
use lambda_http::http::Method;
use payment_shared::domain::GatewayId;
use payment_shared::ports::IntentStore;
use payment_shared::surfaces::{intents, payments, shop};
use serde_json::{Value, json};

/// The shop orders API's documented order: two of "Main product 2" at 56.00 USD.
async fn seed_order(h: &Harness, owner: &str) -> String {
    let id = unique("ORD");
    register_order(
        h,
        &id,
        json!({"user_id": owner, "email": format!("{owner}@example.com"), "amount": "112.00", "currency": "usd",
               "number": "ORD-20250331-5XZF",
               "line_items": [{"name": "Main product 2", "amount": 5600, "currency": "usd", "quantity": 2, "description": ""}]}),
    )
    .await;
    id
}

async fn create_intent(h: &Harness, owner: &str, order: &str) -> Reply {
    invoke(
        h,
        shop::create_intent,
        call(Method::POST, "/")
            .as_user(owner)
            .api_key(API_KEY)
            .param("orderId", order),
    )
    .await
}

pub(crate) async fn mark_paid(h: &Harness, order: &str) -> Reply {
    invoke(
        h,
        shop::mark_paid,
        call(Method::POST, "/")
            .api_key(API_KEY)
            .param("orderId", order),
    )
    .await
}

async fn payments_of(h: &Harness, owner: &str, order: &str) -> Vec<Value> {
    let r = invoke(
        h,
        payments::list_for_order,
        call(Method::GET, "/")
            .as_user(owner)
            .param("orderId", order),
    )
    .await;
    r.body.as_array().expect("list").clone()
}

#[tokio::test]
async fn creates_the_documented_payment_intent_once() {
    let h = Harness::new().await;
    let owner = unique("shopper");
    let order = seed_order(&h, &owner).await;
    let r = create_intent(&h, &owner, &order).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["message"], "Payment intent created successfully");
    let data = &r.body["data"];
    // The id and client secret are the gateway's (the test gateway's, as Stripe's: `pi_…`).
    let id = data["id"].as_str().expect("id");
    assert!(id.starts_with("pi_test_"), "{id}");
    let secret = data["client_secret"].as_str().expect("secret");
    assert!(secret.starts_with(&format!("{id}_secret_")), "{secret}");
    assert_eq!(data["amount"], "112.00");
    assert_eq!(data["currency"], "usd");
    assert_eq!(data["status"], "requires_payment_method");
    assert_eq!(
        data["line_items"],
        json!([{"name": "Main product 2", "amount": 5600, "currency": "usd", "quantity": 2, "description": ""}])
    );
    assert!(data.get("order_status").is_none());

    let again = create_intent(&h, &owner, &order).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["data"]["id"], id);
    assert_eq!(again.body["data"]["client_secret"], data["client_secret"]);
}

#[tokio::test]
async fn create_intent_needs_both_the_api_key_and_the_owners_token() {
    let h = Harness::new().await;
    let owner = unique("shopper");
    let order = seed_order(&h, &owner).await;
    let no_key = invoke(
        &h,
        shop::create_intent,
        call(Method::POST, "/")
            .as_user(&owner)
            .param("orderId", &order),
    )
    .await;
    assert_eq!(no_key.status, 401);
    assert_eq!(no_key.body, json!({"message": "Invalid API key"}));
    let bad_key = invoke(
        &h,
        shop::create_intent,
        call(Method::POST, "/")
            .as_user(&owner)
            .api_key("x")
            .param("orderId", &order),
    )
    .await;
    assert_eq!(bad_key.status, 401);
    let no_token = invoke(
        &h,
        shop::create_intent,
        call(Method::POST, "/")
            .api_key(API_KEY)
            .param("orderId", &order),
    )
    .await;
    assert_eq!(no_token.status, 401);
    let stranger = create_intent(&h, &unique("stranger"), &order).await;
    assert_eq!(stranger.status, 404);
    assert_eq!(stranger.body, json!({"message": "Order not found"}));
    assert_eq!(create_intent(&h, &owner, "missing-order").await.status, 404);
}

#[tokio::test]
async fn mark_paid_ends_the_open_card_intent_and_records_the_order_paid_once() {
    let h = Harness::new().await;
    let owner = unique("shopper");
    let order = seed_order(&h, &owner).await;
    let gateway_intent = create_intent(&h, &owner, &order).await.body["data"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let intent = h
        .store
        .find_intent_by_gateway_id(GatewayId::Test, &gateway_intent)
        .await
        .expect("read")
        .expect("the shop's intent")
        .id()
        .to_string();
    let r = mark_paid(&h, &order).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The money came another way: the order is paid, not the card intent.
    assert_eq!(r.body["data"]["id"], order.as_str());
    assert_eq!(r.body["data"]["status"], "succeeded");
    assert_eq!(r.body["data"]["order_status"], "paid");
    let view = invoke(
        &h,
        intents::get_intent,
        call(Method::GET, "/")
            .as_user(&owner)
            .param("intent_id", &intent),
    )
    .await;
    assert_eq!(view.body["status"], "canceled", "{}", view.body);
    let stored = h
        .store
        .find_intent_by_gateway_id(GatewayId::Test, &gateway_intent)
        .await
        .expect("read")
        .expect("the shop's intent");
    assert_eq!(
        stored.cancellation_reason().as_deref(),
        Some("paid_offline")
    );
    let payments = payments_of(&h, &owner, &order).await;
    assert_eq!(payments.len(), 1);
    assert_eq!(
        (
            payments[0]["status"].as_str(),
            payments[0]["paymentMethod"].as_str()
        ),
        (Some("COMPLETED"), Some("Card"))
    );
    assert_eq!(payments[0]["amount"], json!(112));

    let again = mark_paid(&h, &order).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, r.body, "calling again changes nothing");
    assert_eq!(payments_of(&h, &owner, &order).await.len(), 1);
}

#[tokio::test]
async fn mark_paid_completes_pending_payments_and_records_the_rest() {
    let h = Harness::new().await;
    let owner = unique("shopper");
    let order = seed_order(&h, &owner).await;
    let body =
        json!({"amount": 40, "orderId": order, "paymentMethod": "Bkash", "status": "PENDING"});
    let pending = invoke(
        &h,
        payments::create,
        call(Method::POST, "/payment").as_user(&owner).json(body),
    )
    .await;
    assert_eq!(pending.status, 201);
    let r = mark_paid(&h, &order).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["order_status"], "paid");
    assert_eq!(r.body["data"]["amount"], "112.00");
    let payments = payments_of(&h, &owner, &order).await;
    assert_eq!(payments.len(), 2);
    assert!(
        payments.iter().all(|p| p["status"] == "COMPLETED"),
        "{payments:?}"
    );
    let amounts: Vec<i64> = payments
        .iter()
        .map(|p| p["amount"].as_i64().expect("whole"))
        .collect();
    assert_eq!(
        amounts,
        vec![72, 40],
        "the rest, then the completed pending one"
    );
    assert_eq!(mark_paid(&h, &order).await.status, 200);
    assert_eq!(payments_of(&h, &owner, &order).await.len(), 2);
}

#[tokio::test]
async fn mark_paid_completes_an_order_holding_forty_pending_payments() {
    let h = Harness::new().await;
    let owner = unique("shopper");
    let order = order(&h, &owner, "100.00", "USD").await;
    let body = json!({"amount": 1, "orderId": order, "paymentMethod": "Cash", "status": "PENDING"});
    for _ in 0..40 {
        let r = invoke(
            &h,
            payments::create,
            call(Method::POST, "/payment")
                .as_user(&owner)
                .json(body.clone()),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = mark_paid(&h, &order).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["order_status"], "paid");
    let payments = invoke(
        &h,
        payments::list_for_order,
        call(Method::GET, "/")
            .as_user(&owner)
            .param("orderId", &order)
            .query("limit", "100"),
    )
    .await
    .body;
    let payments = payments.as_array().expect("list");
    assert_eq!(payments.len(), 41, "forty completed and one for the rest");
    assert!(
        payments.iter().all(|p| p["status"] == "COMPLETED"),
        "{payments:?}"
    );
}

#[tokio::test]
async fn mark_paid_with_nothing_open_records_one_payment_for_the_total() {
    let h = Harness::new().await;
    let owner = unique("shopper");
    let order = seed_order(&h, &owner).await;
    // A JSON null states nothing, as no body does.
    let r = mark_paid_with(&h, &order, Value::Null).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["id"], order.as_str());
    assert!(r.body["data"]["client_secret"].is_null());
    let payments = payments_of(&h, &owner, &order).await;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["amount"], json!(112));
    // A paid order takes no new intent.
    assert_eq!(create_intent(&h, &owner, &order).await.status, 409);
}

#[tokio::test]
async fn mark_paid_needs_the_api_key() {
    let h = Harness::new().await;
    let owner = unique("shopper");
    let order = seed_order(&h, &owner).await;
    let r = invoke(
        &h,
        shop::mark_paid,
        call(Method::POST, "/")
            .as_user(&owner)
            .param("orderId", &order),
    )
    .await;
    assert_eq!(r.status, 401, "a user's token is not the payment system");
    assert_eq!(mark_paid(&h, "no-such-order").await.status, 404);
    assert!(payments_of(&h, &owner, &order).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_concurrent_mark_paid_calls_record_one_payment() {
    let h = Harness::new().await;
    for with_intent in [true, false] {
        let owner = unique("shopper");
        let order = seed_order(&h, &owner).await;
        if with_intent {
            create_intent(&h, &owner, &order).await;
        }
        let replies = join_all((0..10).map(|_| mark_paid(&h, &order))).await;
        assert!(
            replies.iter().all(|r| r.status == 200),
            "{:?}",
            replies
                .iter()
                .map(|r| r.body.to_string())
                .collect::<Vec<_>>()
        );
        let payments = payments_of(&h, &owner, &order).await;
        assert_eq!(payments.len(), 1, "with_intent={with_intent}: {payments:?}");
    }
}

async fn mark_paid_with(h: &Harness, order: &str, body: Value) -> Reply {
    invoke(
        h,
        shop::mark_paid,
        call(Method::POST, "/")
            .api_key(API_KEY)
            .param("orderId", order)
            .json(body),
    )
    .await
}

#[tokio::test]
async fn mark_paid_records_the_reference_and_method_it_is_given() {
    let h = Harness::new().await;
    let owner = unique("shopper");
    let order = seed_order(&h, &owner).await;
    create_intent(&h, &owner, &order).await;
    for body in [
        json!({"amount": "111.99"}),
        json!({"amount": "abc"}),
        json!({"amount": true}),
        json!({"payment_method": "Cheque"}),
        json!({"gateway_reference": " "}),
        json!([]),
    ] {
        let r = mark_paid_with(&h, &order, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
    }
    assert!(payments_of(&h, &owner, &order).await.is_empty());

    let r = mark_paid_with(
        &h,
        &order,
        json!({"gateway_reference": "BT-2025-0042", "amount": 112, "payment_method": "Bank Transfer"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["order_status"], "paid");
    let payments = payments_of(&h, &owner, &order).await;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["paymentMethod"], "Bank Transfer");
    assert_eq!(payments[0]["transactionId"], "BT-2025-0042");
    assert_eq!(payments[0]["status"], "COMPLETED");
}
