//! The DynamoDB calls of the main requests, counted against DynamoDB Local:
//! each endpoint reads what it needs once and writes once (the counts and
//! their reasons are in bench/dynamodb-calls.md). A read that comes back, a
//! re-read after a write, fails here.

use integration_tests::flows::*;
use integration_tests::flows::{
    confirm_payment_intent as confirm, create_payment_intent as create,
};
use integration_tests::*;
use lambda_http::http::Method;
use payment_shared::domain::GatewayId;
use payment_shared::domain::webhook_signature;
use payment_shared::ports::{Clock, IntentStore};
use payment_shared::surfaces::{payment_intents, payments, shop};
use serde_json::json;

use crate::webhook_endpoints::{Receiver, dispatch, endpoint, event_id, now, record};

const ROOT: &str = "/api/v1/PaymentIntents";

fn ops(calls: &[&str]) -> Vec<String> {
    calls.iter().map(|c| (*c).to_owned()).collect()
}

#[tokio::test]
async fn a_card_intent_for_an_order_reads_the_order_once() {
    let (h, calls) = Harness::counting_calls().await;
    let user = unique("payer");
    let order = order(&h, &user, "40.00", "USD").await;
    calls.take();
    let r = create(
        &h,
        &user,
        json!({"orderId": order, "amount": 40, "currency": "USD"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(calls.take(), ops(&["GetItem", "TransactWriteItems"]));
}

#[tokio::test]
async fn confirming_a_card_reads_the_intent_once() {
    let (h, calls) = Harness::counting_calls().await;
    let user = unique("payer");
    let standalone = create(&h, &user, json!({"amount": 12.5, "currency": "USD"})).await;
    let id = standalone.body["id"].as_str().expect("id").to_owned();
    calls.take();
    let r = confirm(&h, &user, &id, "pm_card_visa").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "Succeeded");
    assert_eq!(calls.take(), ops(&["GetItem", "TransactWriteItems"]));

    // Paying an order also reads the order, for its `payable.paid` event.
    let order = order(&h, &user, "40.00", "USD").await;
    let opened = create(&h, &user, json!({"orderId": order})).await;
    let id = opened.body["id"].as_str().expect("id").to_owned();
    calls.take();
    let r = confirm(&h, &user, &id, "pm_card_visa").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        calls.take(),
        ops(&["GetItem", "GetItem", "TransactWriteItems"])
    );
}

#[tokio::test]
async fn canceling_a_card_intent_reads_it_once() {
    let (h, calls) = Harness::counting_calls().await;
    let user = unique("payer");
    let order = order(&h, &user, "40.00", "USD").await;
    let opened = create(&h, &user, json!({"orderId": order})).await;
    let id = opened.body["id"].as_str().expect("id").to_owned();
    calls.take();
    let r = invoke(
        &h,
        payment_intents::cancel,
        call(Method::POST, &format!("{ROOT}/{id}/cancel"))
            .param("id", &id)
            .as_user(&user),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(calls.take(), ops(&["GetItem", "TransactWriteItems"]));
}

/// A signed `payment_intent.succeeded` for `gateway_intent`, echoing
/// `intent` back in its metadata as gateways do.
async fn succeeded(h: &Harness, gateway_intent: &str, intent: Option<&str>) -> Reply {
    let mut object =
        json!({"id": gateway_intent, "object": "payment_intent", "status": "succeeded"});
    if let Some(intent) = intent {
        object["metadata"] = json!({"intent_id": intent});
    }
    let body = json!({"id": unique("evt"), "type": "payment_intent.succeeded",
        "data": {"object": object}})
    .to_string();
    let t = h.clock.now().unix_timestamp();
    let signature = webhook_signature::sign(WEBHOOK_SECRET.as_bytes(), t, body.as_bytes());
    invoke(
        h,
        payment_intents::webhook,
        call(Method::POST, &format!("{ROOT}/webhook/test"))
            .param("gatewayId", "test")
            .raw(&body)
            .header("stripe-signature", &signature),
    )
    .await
}

#[tokio::test]
async fn a_success_webhook_reads_the_intent_once() {
    let (h, calls) = Harness::counting_calls().await;
    let user = unique("payer");
    let gateway_id = |r: &Reply| {
        r.body["gatewayIntentId"]
            .as_str()
            .expect("gateway id")
            .to_owned()
    };
    let standalone = create(&h, &user, json!({"amount": 12.5, "currency": "USD"})).await;
    let id = standalone.body["id"].as_str().expect("id").to_owned();
    calls.take();
    let r = succeeded(&h, &gateway_id(&standalone), Some(&id)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Claim the event, read the intent it names, record, done.
    assert_eq!(
        calls.take(),
        ops(&["PutItem", "GetItem", "TransactWriteItems", "UpdateItem"])
    );

    // Without our id echoed back, the gateway's id finds the intent first;
    // an order's payment reads the order too, for its `payable.paid` event.
    let order = order(&h, &user, "40.00", "USD").await;
    let opened = create(&h, &user, json!({"orderId": order})).await;
    calls.take();
    let r = succeeded(&h, &gateway_id(&opened), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        calls.take(),
        ops(&[
            "PutItem",
            "GetItem",
            "GetItem",
            "GetItem",
            "TransactWriteItems",
            "UpdateItem"
        ])
    );
}

#[tokio::test]
async fn the_right_code_reads_the_intent_once() {
    let (h, calls) = Harness::counting_calls().await;
    let (user, _, intent, code) = awaiting_code(&h).await;
    calls.take();
    let r = integration_tests::flows::confirm(&h, &user, &intent, &code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Read, reserve an attempt, read the registration for its event, pay.
    assert_eq!(
        calls.take(),
        ops(&["GetItem", "UpdateItem", "GetItem", "TransactWriteItems"])
    );
}

#[tokio::test]
async fn mark_paid_ends_a_card_intent_then_pays_the_order_reading_nothing_after() {
    let (h, calls) = Harness::counting_calls().await;
    let owner = unique("shopper");
    let order = order(&h, &owner, "112.00", "USD").await;
    let created = invoke(
        &h,
        shop::create_intent,
        call(Method::POST, "/")
            .as_user(&owner)
            .api_key(API_KEY)
            .param("orderId", &order),
    )
    .await;
    let gateway_intent = created.body["data"]["id"].as_str().expect("id").to_owned();
    calls.take();
    let r = invoke(
        &h,
        shop::mark_paid,
        call(Method::POST, "/")
            .api_key(API_KEY)
            .param("orderId", &order),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The money came another way: the answer is the order's.
    assert_eq!(r.body["data"]["id"], order.as_str());
    assert_eq!(r.body["data"]["status"], "succeeded");
    // Read the order and its intent, end the intent (freeing the order),
    // then as for an order without one: read it again, list its pending
    // payments, pay it.
    assert_eq!(
        calls.take(),
        ops(&[
            "GetItem",
            "GetItem",
            "TransactWriteItems",
            "GetItem",
            "Query",
            "TransactWriteItems"
        ])
    );
    let stored = h
        .store
        .find_intent_by_gateway_id(GatewayId::Test, &gateway_intent)
        .await
        .expect("read")
        .expect("intent");
    assert_eq!(stored.status().as_str(), "canceled");
}

#[tokio::test]
async fn recording_a_payment_reads_its_order_once() {
    let (h, calls) = Harness::counting_calls().await;
    let owner = unique("payer");
    let order = order(&h, &owner, "10.00", "USD").await;
    calls.take();
    let r = invoke(
        &h,
        payments::create,
        call(Method::POST, "/payment").api_key(API_KEY).json(
            json!({"amount": 10, "orderId": order, "paymentMethod": "Cash", "status": "COMPLETED"}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(calls.take(), ops(&["GetItem", "TransactWriteItems"]));
}

#[tokio::test]
async fn a_new_event_is_read_once_and_each_delivery_made_in_one_write() {
    let (h, calls) = Harness::counting_calls().await;
    let receiver = Receiver::start(vec![]).await;
    endpoint(&h, "ops", &receiver.url, &["*"]).await;
    endpoint(&h, "payments", &receiver.url, &["payment.created"]).await;
    endpoint(&h, "refunds", &receiver.url, &["refund.succeeded"]).await;
    let id = event_id();
    record_order_event(&h, &id, "payment.created", "pay_1", now()).await;
    calls.take();
    let r = dispatch(&h, vec![record(&id, "1")]).await;
    assert_eq!(r.batch_item_failures, vec![]);
    assert_eq!(receiver.got().len(), 2, "one post per subscribed endpoint");
    let made = calls.take();
    // Per batch the endpoints, per event the event, then each delivery made
    // already claimed by its sender.
    assert_eq!(made[..4], ops(&["Query", "GetItem", "PutItem", "PutItem"]));
    // Per delivery, its lanes side by side: one read of its lane (what holds
    // it back, what waits for it), then the outcome. Neither the endpoint
    // nor the event is read again, nor the lane after the send.
    let mut sends = made[4..].to_vec();
    sends.sort();
    assert_eq!(sends, ops(&["PutItem", "PutItem", "Query", "Query"]));
}
