//! The refunds API on DynamoDB Local: partial, multiple and racing refunds,
//! who may make and read them, what the payments, payables and partner APIs
//! show of them, and refunds through the test gateway and through Stripe
//! (localstripe), moved on by signed webhook events.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;

use futures::future::join_all;
use integration_tests::flows::{order, register_order};
use integration_tests::*;
use lambda_http::http::Method;
use payment_shared::adapters::stripe::{
    StripeGateway, StripeRequest, StripeResponse, StripeTransport, TransportError,
};
use payment_shared::auth::sign_partner_request;
use payment_shared::domain::{PaymentId, RefundId};
use payment_shared::ports::{Clock, PaymentStore, RefundStore};
use payment_shared::surfaces::{events, partner, payables, payment_intents, payments, refunds};
use serde_json::{Value, json};

use crate::stripe::{ROOT, VISA, card, confirm, localstripe, stripe_intent};

fn path(payment: &str) -> String {
    format!("/api/v1/payments/{payment}/refunds")
}

fn create_call(payment: &str) -> Call {
    call(Method::POST, &path(payment)).param("id", payment)
}

fn list_call(payment: &str) -> Call {
    call(Method::GET, &path(payment)).param("id", payment)
}

/// A refund asked for with the API key; `body` as sent (none: no body).
pub(crate) async fn refund(h: &Harness, payment: &str, body: Option<Value>) -> Reply {
    let c = create_call(payment).api_key(API_KEY);
    let c = match body {
        Some(body) => c.json(body),
        None => c,
    };
    invoke(h, refunds::create, c).await
}

pub(crate) async fn list(h: &Harness, payment: &str) -> Reply {
    let r = invoke(h, refunds::list, list_call(payment).api_key(API_KEY)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r
}

/// A COMPLETED payment of `amount` USD recorded by the backend against a new
/// order of that total; (order, payment).
async fn completed(h: &Harness, owner: &str, amount: &str, method: &str) -> (String, String) {
    let order_id = order(h, owner, amount, "USD").await;
    // The amount as a JSON number with its digits as written.
    let body = format!(
        r#"{{"amount": {amount}, "orderId": "{order_id}", "paymentMethod": "{method}", "status": "COMPLETED"}}"#
    );
    let r = invoke(
        h,
        payments::create,
        call(Method::POST, "/payment").api_key(API_KEY).raw(&body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (order_id, r.body["id"].as_str().expect("id").to_owned())
}

/// The payment as the payments API shows it to an Admin.
pub(crate) async fn payment_view(h: &Harness, payment: &str) -> Value {
    let r = invoke(
        h,
        payments::get,
        call(Method::GET, &format!("/payment/{payment}"))
            .param("id", payment)
            .bearer(&token("an-admin", &["Admin"])),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

pub(crate) async fn order_view(h: &Harness, order: &str) -> Value {
    let r = invoke(
        h,
        payables::get,
        call(Method::GET, &format!("/api/v1/payables/order/{order}"))
            .api_key(API_KEY)
            .param("kind", "order")
            .param("id", order),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn keys(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[tokio::test]
async fn partial_and_multiple_refunds_then_the_rest_by_default() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let (order_id, payment) = completed(&h, &owner, "100.00", "Cash").await;

    let first = refund(&h, &payment, Some(json!({"amount": 2500}))).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(
        keys(&first.body),
        [
            "amount",
            "created",
            "currency",
            "id",
            "object",
            "payment_id",
            "reason",
            "status"
        ]
    );
    assert_eq!(first.body["object"], "refund");
    assert_eq!(first.body["payment_id"], json!(payment));
    assert_eq!(first.body["amount"], 2500);
    assert_eq!(first.body["currency"], "USD");
    assert_eq!(first.body["reason"], Value::Null);
    assert_eq!(first.body["status"], "succeeded", "cash goes back at once");
    let created = first.body["created"].as_i64().expect("unix seconds");
    assert!(
        (created - h.clock.now().unix_timestamp()).abs() <= 5,
        "{created}"
    );

    let second = refund(
        &h,
        &payment,
        Some(json!({"amount": 1500, "reason": "one ticket returned"})),
    )
    .await;
    assert_eq!(second.status, 201, "{}", second.body);
    assert_eq!(second.body["reason"], "one ticket returned");
    let seen = payment_view(&h, &payment).await;
    assert_eq!(seen["refundedAmount"], json!(40));
    assert_eq!(seen["status"], "COMPLETED");
    assert_eq!(order_view(&h, &order_id).await["refunded_amount"], "40.00");

    // No body: all that remains.
    let rest = refund(&h, &payment, None).await;
    assert_eq!(rest.status, 201, "{}", rest.body);
    assert_eq!(rest.body["amount"], 6000);
    let seen = payment_view(&h, &payment).await;
    assert_eq!(seen["refundedAmount"], json!(100));
    assert_eq!(seen["status"], "REFUNDED");
    let payable = order_view(&h, &order_id).await;
    assert_eq!(payable["refunded_amount"], "100.00");
    assert_eq!(payable["status"], "paid", "a refunded payable stays paid");

    let all = list(&h, &payment).await;
    assert_eq!(all.body["has_more"], false);
    assert_eq!(all.body["next_cursor"], Value::Null);
    let ids: Vec<&Value> = all.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|r| &r["id"])
        .collect();
    assert_eq!(
        ids,
        [&rest.body["id"], &second.body["id"], &first.body["id"]],
        "newest first"
    );
    let page = invoke(
        &h,
        refunds::list,
        list_call(&payment).api_key(API_KEY).query("limit", "2"),
    )
    .await;
    assert_eq!(page.body["data"].as_array().expect("data").len(), 2);
    assert_eq!(page.body["has_more"], true);
    let cursor = page.body["next_cursor"].as_str().expect("a cursor");
    let next = invoke(
        &h,
        refunds::list,
        list_call(&payment)
            .api_key(API_KEY)
            .query("limit", "2")
            .query("cursor", cursor),
    )
    .await;
    assert_eq!(next.body["data"][0]["id"], first.body["id"]);
    assert_eq!(next.body["has_more"], false);
    for bad in [("limit", "0"), ("limit", "101"), ("cursor", "forged")] {
        let r = invoke(
            &h,
            refunds::list,
            list_call(&payment).api_key(API_KEY).query(bad.0, bad.1),
        )
        .await;
        assert_eq!(r.status, 400, "{bad:?}: {}", r.body);
    }
}

#[tokio::test]
async fn more_than_remains_is_400_and_a_payment_not_completed_or_refunded_in_full_409() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let (_, payment) = completed(&h, &owner, "100.00", "Bank Transfer").await;
    let r = refund(&h, &payment, Some(json!({"amount": 6000}))).await;
    assert_eq!(r.status, 201, "{}", r.body);

    let over = refund(&h, &payment, Some(json!({"amount": 4001}))).await;
    assert_eq!(over.status, 400, "{}", over.body);
    assert_eq!(
        over.body,
        json!({"message": "Validation failed", "errors": [{"field": "amount",
            "message": "amount exceeds what remains to refund (40.00 USD)"}]})
    );
    for (body, field) in [
        (json!({"amount": 0}), "amount"),
        (json!({"amount": -5}), "amount"),
        (json!({"amount": 12.5}), "amount"),
        (json!({"amount": "1000"}), "amount"),
        (json!({"reason": "x".repeat(1001)}), "reason"),
        (json!({"reason": "   "}), "reason"),
    ] {
        let r = refund(&h, &payment, Some(body.clone())).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.body["errors"][0]["field"], field, "{body}: {}", r.body);
    }
    let r = invoke(
        &h,
        refunds::create,
        create_call(&payment).api_key(API_KEY).raw("[1000]"),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        payment_view(&h, &payment).await["refundedAmount"],
        json!(60)
    );

    let rest = refund(&h, &payment, Some(json!({"amount": 4000}))).await;
    assert_eq!(rest.status, 201, "{}", rest.body);
    let again = refund(&h, &payment, Some(json!({"amount": 1}))).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(
        again.body,
        json!({"message": "the payment is already fully refunded"})
    );

    // A payment still awaiting its money gives none back.
    let order_id = order(&h, &owner, "30.00", "USD").await;
    let pending = invoke(
        &h,
        payments::create,
        call(Method::POST, "/payment").as_user(&owner).json(json!({
            "amount": 30, "orderId": order_id, "paymentMethod": "Bkash", "status": "PENDING",
        })),
    )
    .await;
    assert_eq!(pending.status, 201, "{}", pending.body);
    let r = refund(&h, pending.body["id"].as_str().expect("id"), None).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"message": "a PENDING payment cannot be refunded"})
    );

    for unknown in [PaymentId::new().to_string(), "not-a-payment".to_owned()] {
        let r = refund(&h, &unknown, None).await;
        assert_eq!(r.status, 404, "{}", r.body);
        assert_eq!(r.body, json!({"message": "Payment not found"}));
        let r = invoke(&h, refunds::list, list_call(&unknown).api_key(API_KEY)).await;
        assert_eq!(r.status, 404, "{}", r.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_refunds_never_give_back_more_than_the_payment() {
    let h = Arc::new(Harness::new().await);
    let owner = unique("buyer");
    let (order_id, payment) = completed(&h, &owner, "100.00", "Cash").await;
    // Fourteen of 7.00 fit in 100.00; a fifteenth never does.
    let answers = join_all((0..20).map(|_| {
        let h = h.clone();
        let payment = payment.clone();
        tokio::spawn(async move { refund(&h, &payment, Some(json!({"amount": 700}))).await })
    }))
    .await;
    let mut made = 0;
    for answer in answers {
        let r = answer.expect("task");
        match r.status {
            201 => made += 1,
            // More than remains, or lost every race it retried.
            400 | 409 => {}
            other => panic!("{other}: {}", r.body),
        }
    }
    assert!((1..=14).contains(&made), "{made} refunds made");
    let stored = h
        .store
        .get_payment(&PaymentId::parse(&payment).expect("id"))
        .await
        .expect("read")
        .expect("payment");
    assert_eq!(stored.refunded_minor(), 700 * made);
    assert!(stored.refunded_minor() <= stored.amount().minor());
    let listed = invoke(
        &h,
        refunds::list,
        list_call(&payment).api_key(API_KEY).query("limit", "100"),
    )
    .await;
    assert_eq!(
        listed.body["data"].as_array().expect("data").len() as i64,
        made
    );
    assert_eq!(
        order_view(&h, &order_id).await["refunded_amount"],
        format!("{}.00", 7 * made)
    );
}

#[tokio::test]
async fn a_retry_with_the_same_key_answers_with_the_same_refund() {
    let h = Harness::new().await;
    let (_, payment) = completed(&h, &unique("buyer"), "50.00", "Cash").await;
    let send = |body: Value| {
        invoke(
            &h,
            refunds::create,
            create_call(&payment)
                .api_key(API_KEY)
                .header("Idempotency-Key", "refund-once")
                .json(body),
        )
    };
    let first = send(json!({"amount": 1000})).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = send(json!({"amount": 1000})).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    let other = send(json!({"amount": 2000})).await;
    assert_eq!(other.status, 422, "{}", other.body);
    assert_eq!(
        payment_view(&h, &payment).await["refundedAmount"],
        json!(10)
    );
    assert_eq!(
        list(&h, &payment).await.body["data"]
            .as_array()
            .expect("data")
            .len(),
        1
    );
}

#[tokio::test]
async fn api_keys_admin_and_staff_refund_support_reads_and_the_payer_does_neither() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let (_, payment) = completed(&h, &owner, "50.00", "Cash").await;
    let body = json!({"amount": 100});
    for (who, c) in [
        ("API key", create_call(&payment).api_key(API_KEY)),
        (
            "Admin",
            create_call(&payment).bearer(&token("a", &["Admin"])),
        ),
        (
            "Staff",
            create_call(&payment).bearer(&token("s", &["Staff"])),
        ),
    ] {
        let r = invoke(&h, refunds::create, c.json(body.clone())).await;
        assert_eq!(r.status, 201, "{who}: {}", r.body);
    }
    for (who, c) in [
        (
            "Support",
            create_call(&payment).bearer(&token("p", &["Support"])),
        ),
        ("the payer", create_call(&payment).as_user(&owner)),
    ] {
        let r = invoke(&h, refunds::create, c.json(body.clone())).await;
        assert_eq!(r.status, 403, "{who}: {}", r.body);
        assert!(r.body["message"].is_string(), "{}", r.body);
    }
    let r = invoke(
        &h,
        refunds::create,
        create_call(&payment).json(body.clone()),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = invoke(
        &h,
        refunds::create,
        create_call(&payment).api_key("not-the-key").json(body),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);

    for (who, c) in [
        ("API key", list_call(&payment).api_key(API_KEY)),
        ("Admin", list_call(&payment).bearer(&token("a", &["Admin"]))),
        (
            "Support",
            list_call(&payment).bearer(&token("p", &["Support"])),
        ),
        ("Staff", list_call(&payment).bearer(&token("s", &["Staff"]))),
    ] {
        let r = invoke(&h, refunds::list, c).await;
        assert_eq!(r.status, 200, "{who}: {}", r.body);
        assert_eq!(r.body["data"].as_array().expect("data").len(), 3, "{who}");
    }
    let r = invoke(&h, refunds::list, list_call(&payment).as_user(&owner)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // The role is checked before the path: a caller without it hears 403
    // whatever the id, and staff hear that a malformed id names no payment.
    let r = invoke(&h, refunds::list, list_call("nope").as_user(&owner)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = invoke(&h, refunds::create, create_call("nope").as_user(&owner)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = invoke(&h, refunds::list, list_call("nope").api_key(API_KEY)).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = invoke(&h, refunds::create, create_call("nope").api_key(API_KEY)).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = invoke(&h, refunds::list, list_call(&payment)).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(payment_view(&h, &payment).await["refundedAmount"], json!(3));
}

#[tokio::test]
async fn the_partner_api_shows_paid_and_net_less_the_refunds() {
    let h = Harness::new().await;
    let (client, secret, business) = PARTNER;
    let order_id = unique("ORD");
    let owner = unique("buyer");
    register_order(
        &h,
        &order_id,
        json!({"user_id": owner, "email": format!("{owner}@example.com"),
            "amount": "5000.00", "currency": "USD", "business_id": business}),
    )
    .await;
    let r = invoke(
        &h,
        payments::create,
        call(Method::POST, "/payment").api_key(API_KEY).json(json!({
            "amount": 5000, "orderId": order_id, "paymentMethod": "Bank Transfer", "status": "COMPLETED",
        })),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let payment = r.body["id"].as_str().expect("id").to_owned();
    let r = refund(&h, &payment, Some(json!({"amount": 100_000}))).await;
    assert_eq!(r.status, 201, "{}", r.body);

    let detail_path = format!("/api/v1/payment/detail/{payment}");
    let t = h.clock.now().unix_timestamp().to_string();
    let signature = sign_partner_request(secret, "GET", &detail_path, &t, b"");
    let r = invoke(
        &h,
        partner::payment_detail,
        call(Method::GET, &detail_path)
            .param("id", &payment)
            .header("x-client-id", client)
            .header("x-timestamp", &t)
            .header("x-signature", &signature),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let data = &r.body["data"];
    // 5000.00 paid, 100.00 fee (2 % Bank Transfer), 1000.00 refunded.
    for totals in [data, &data["account"]] {
        assert_eq!(totals["total_paid_amount"], json!(4000), "{totals}");
        assert_eq!(totals["total_fee_amount"], json!(100), "{totals}");
        assert_eq!(totals["total_net_settled_amount"], json!(3900), "{totals}");
        assert_eq!(totals["total_collecting_amount"], json!(0), "{totals}");
    }
    assert_eq!(data["request_amount"], json!(5000));
    assert_eq!(data["transaction"]["net_amount"], json!(4900), "the credit");
    assert_eq!(data["transaction"]["fee_amount"], json!(100));
}

/// A card payment of 50.00 through the test gateway; (order, payment, intent).
pub(crate) async fn test_gateway_payment(h: &Harness) -> (String, String, Value) {
    let owner = unique("buyer");
    let order_id = order(h, &owner, "50.00", "USD").await;
    let r = invoke(
        h,
        payment_intents::create,
        call(Method::POST, ROOT)
            .as_user(&owner)
            .json(json!({"orderId": order_id, "paymentGatewayId": "test"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().expect("id").to_owned();
    let r = confirm(h, &owner, &id, "pm_card_visa").await;
    assert_eq!(r.body["status"], "Succeeded", "{}", r.body);
    let paid = invoke(
        h,
        payments::list_for_order,
        call(Method::GET, &format!("/payment/order/{order_id}"))
            .as_user(&owner)
            .param("orderId", &order_id),
    )
    .await;
    let payment = paid.body[0]["id"].as_str().expect("payment").to_owned();
    (order_id, payment, r.body)
}

async fn deliver(h: &Harness, gateway: &str, secret: &str, event: Value) -> Reply {
    let r = post_gateway_event(h, gateway, secret, &event.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r
}

pub(crate) async fn stored_refund(h: &Harness, id: &Value) -> payment_shared::domain::Refund {
    h.store
        .get_refund(&RefundId::parse(id.as_str().expect("id")).expect("refund id"))
        .await
        .expect("read")
        .expect("refund")
}

#[tokio::test]
async fn a_test_gateway_payment_is_refunded_there_and_a_signed_event_may_fail_it_later() {
    let h = Harness::new().await;
    let (order_id, payment, _) = test_gateway_payment(&h).await;
    let r = refund(&h, &payment, None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "succeeded");
    assert_eq!(r.body["amount"], 5000);
    assert_eq!(payment_view(&h, &payment).await["status"], "REFUNDED");
    let gateway_refund = stored_refund(&h, &r.body["id"])
        .await
        .gateway_refund_id()
        .clone()
        .expect("named by the gateway");
    assert!(gateway_refund.starts_with("re_test_"), "{gateway_refund}");

    // The card network returned it: the gateway says so later.
    let failed = json!({"id": unique("evt"), "type": "refund.updated", "data": {"object": {
        "id": gateway_refund, "object": "refund", "status": "failed"}}});
    deliver(&h, "test", WEBHOOK_SECRET, failed).await;
    let listed = list(&h, &payment).await;
    assert_eq!(listed.body["data"][0]["status"], "failed");
    let seen = payment_view(&h, &payment).await;
    assert_eq!(seen["status"], "COMPLETED", "the money is back on it");
    assert_eq!(seen["refundedAmount"], json!(0));
    assert_eq!(order_view(&h, &order_id).await["refunded_amount"], "0.00");
}

/// The types and objects of `refund`'s events, as the events API lists
/// them, newest first.
async fn refund_events(h: &Harness, refund: &str) -> (Vec<String>, Vec<Value>) {
    let r = invoke(
        h,
        events::list,
        call(Method::GET, "/api/v1/events")
            .api_key(API_KEY)
            .query("object_id", refund),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let data = r.body["data"].as_array().expect("data").clone();
    let types = data
        .iter()
        .map(|e| e["type"].as_str().expect("type").to_owned())
        .collect();
    let objects = data.iter().map(|e| e["data"]["object"].clone()).collect();
    (types, objects)
}

#[tokio::test]
async fn refunds_are_announced_as_the_refunds_api_shows_them() {
    let h = Harness::new().await;
    let (_, payment, _) = test_gateway_payment(&h).await;
    h.clock.advance(time::Duration::seconds(1));
    let r = refund(&h, &payment, Some(json!({"amount": 2000}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().expect("id").to_owned();
    let (types, objects) = refund_events(&h, &id).await;
    assert_eq!(types, ["refund.succeeded", "refund.created"]);
    assert_eq!(
        objects[0], r.body,
        "the refund as the refunds API answered it"
    );
    assert_eq!(
        objects[1]["status"], "pending",
        "made before the gateway was asked"
    );

    // Failed later at the gateway: announced, and only once however often
    // the gateway says so.
    let gateway_refund = stored_refund(&h, &r.body["id"])
        .await
        .gateway_refund_id()
        .clone()
        .expect("named by the gateway");
    for _ in 0..2 {
        h.clock.advance(time::Duration::seconds(1));
        let failed = json!({"id": unique("evt"), "type": "refund.updated", "data": {"object": {
            "id": gateway_refund, "object": "refund", "status": "failed"}}});
        deliver(&h, "test", WEBHOOK_SECRET, failed).await;
    }
    let (types, objects) = refund_events(&h, &id).await;
    assert_eq!(
        types,
        ["refund.failed", "refund.succeeded", "refund.created"]
    );
    assert_eq!(objects[0]["status"], "failed");
    assert_eq!(objects[0]["payment_id"], payment.as_str());

    // A refund recorded without a gateway is made and succeeds in one write.
    let (_, cash) = completed(&h, &unique("payer"), "30.00", "Cash").await;
    let r = refund(&h, &cash, None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let (types, objects) = refund_events(&h, r.body["id"].as_str().expect("id")).await;
    assert_eq!(types, ["refund.succeeded", "refund.created"]);
    assert_eq!(objects[0], r.body);
}

/// localstripe answers every refund `succeeded` at once; Stripe may answer
/// `pending` and tell the rest by webhook. This transport around the real
/// client to localstripe reports its refunds as Stripe would then.
struct PendingRefunds {
    inner: Arc<dyn StripeTransport>,
}

#[async_trait::async_trait]
impl StripeTransport for PendingRefunds {
    async fn post(&self, request: &StripeRequest) -> Result<StripeResponse, TransportError> {
        let mut answer = self.inner.post(request).await?;
        if request.path == "/v1/refunds" && answer.status == 200 {
            let mut body: Value = serde_json::from_slice(&answer.body).expect("JSON");
            body["status"] = json!("pending");
            answer.body = body.to_string().into_bytes();
        }
        Ok(answer)
    }

    async fn get(&self, path_and_query: &str) -> Result<StripeResponse, TransportError> {
        self.inner.get(path_and_query).await
    }
}

/// A card payment of `amount` USD collected through Stripe (localstripe);
/// (payment, Stripe's intent id).
pub(crate) async fn stripe_payment(h: &Harness, amount: &str) -> (String, String) {
    let owner = unique("buyer");
    let order_id = order(h, &owner, amount, "USD").await;
    let intent = stripe_intent(h, &owner, &order_id).await;
    let id = intent["id"].as_str().expect("id");
    let r = confirm(h, &owner, id, &card(VISA).await).await;
    assert_eq!(r.body["status"], "Succeeded", "{}", r.body);
    let paid = invoke(
        h,
        payments::list_for_order,
        call(Method::GET, &format!("/payment/order/{order_id}"))
            .as_user(&owner)
            .param("orderId", &order_id),
    )
    .await;
    (
        paid.body[0]["id"].as_str().expect("payment").to_owned(),
        intent["gatewayIntentId"].as_str().expect("pi_").to_owned(),
    )
}

/// localstripe's refunds of one of its intents.
pub(crate) async fn refunds_at_localstripe(gateway_intent: &str) -> Vec<Value> {
    let r: Value = reqwest::Client::new()
        .get(format!(
            "{}/v1/refunds?payment_intent={gateway_intent}",
            localstripe()
        ))
        .basic_auth(STRIPE_SECRET_KEY, Some(""))
        .send()
        .await
        .expect("localstripe answers")
        .json()
        .await
        .expect("a list");
    r["data"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_stripe_payment_is_refunded_at_stripe() {
    let h = Harness::new().await;
    let (payment, gateway_intent) = stripe_payment(&h, "20.00").await;
    let part = refund(&h, &payment, Some(json!({"amount": 500, "reason": "late"}))).await;
    assert_eq!(part.status, 201, "{}", part.body);
    assert_eq!(part.body["status"], "succeeded", "{}", part.body);
    let theirs = refunds_at_localstripe(&gateway_intent).await;
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!(theirs[0]["amount"], 500);
    assert_eq!(theirs[0]["metadata"]["refund_id"], part.body["id"]);
    let ours = stored_refund(&h, &part.body["id"]).await;
    assert_eq!(
        ours.gateway_refund_id().as_ref(),
        theirs[0]["id"].as_str().map(str::to_owned).as_ref()
    );

    let rest = refund(&h, &payment, None).await;
    assert_eq!(rest.status, 201, "{}", rest.body);
    assert_eq!(rest.body["amount"], 1500);
    assert_eq!(refunds_at_localstripe(&gateway_intent).await.len(), 2);
    assert_eq!(payment_view(&h, &payment).await["status"], "REFUNDED");
}

#[tokio::test]
async fn stripes_signed_refund_events_move_pending_refunds_on() {
    let h = Harness::with_stripe(Box::new(|inner| {
        StripeGateway::new(Arc::new(PendingRefunds { inner }))
    }))
    .await;
    let (payment, gateway_intent) = stripe_payment(&h, "20.00").await;
    let one = refund(&h, &payment, Some(json!({"amount": 500}))).await;
    assert_eq!(one.body["status"], "pending", "{}", one.body);
    let two = refund(&h, &payment, Some(json!({"amount": 700}))).await;
    assert_eq!(two.body["status"], "pending", "{}", two.body);
    let named = |r: &Reply| {
        let h = &h;
        let id = r.body["id"].clone();
        async move {
            stored_refund(h, &id)
                .await
                .gateway_refund_id()
                .clone()
                .expect("Stripe's id")
        }
    };
    let (re_one, re_two) = (named(&one).await, named(&two).await);
    // Held while pending: only what is neither refunded nor pending remains.
    let over = refund(&h, &payment, Some(json!({"amount": 801}))).await;
    assert_eq!(over.status, 400, "{}", over.body);

    let succeeded = json!({"id": unique("evt"), "type": "refund.updated", "data": {"object": {
        "id": re_one, "object": "refund", "amount": 500, "currency": "usd",
        "status": "succeeded", "payment_intent": gateway_intent}}});
    let r = deliver(&h, "stripe", STRIPE_WEBHOOK_SECRET, succeeded.clone()).await;
    assert_eq!(r.body, json!({"received": true}));
    assert_eq!(
        stored_refund(&h, &one.body["id"]).await.status().as_str(),
        "succeeded"
    );
    // The same event again changes nothing.
    deliver(&h, "stripe", STRIPE_WEBHOOK_SECRET, succeeded).await;

    // charge.refunded lists every refund of the charge: the second one failed.
    let charge = json!({"id": unique("evt"), "type": "charge.refunded", "data": {"object": {
        "id": "ch_x", "object": "charge", "amount": 2000, "amount_refunded": 500,
        "payment_intent": gateway_intent, "refunds": {"object": "list", "data": [
            {"id": re_one, "object": "refund", "status": "succeeded"},
            {"id": re_two, "object": "refund", "status": "failed"}]}}}});
    deliver(&h, "stripe", STRIPE_WEBHOOK_SECRET, charge).await;
    let listed = list(&h, &payment).await;
    let statuses: Vec<&Value> = listed.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|r| &r["status"])
        .collect();
    assert_eq!(statuses, [&json!("failed"), &json!("succeeded")]);
    let seen = payment_view(&h, &payment).await;
    assert_eq!(seen["refundedAmount"], json!(5), "the failed 7.00 is back");
    assert_eq!(seen["status"], "COMPLETED");
    let again = refund(&h, &payment, Some(json!({"amount": 1500}))).await;
    assert_eq!(again.status, 201, "refundable again: {}", again.body);

    // A signature made with another secret is refused; nothing moves.
    let forged = json!({"id": unique("evt"), "type": "refund.updated", "data": {"object": {
        "id": re_one, "object": "refund", "status": "failed"}}});
    let r = post_gateway_event(&h, "stripe", WEBHOOK_SECRET, &forged.to_string()).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        stored_refund(&h, &one.body["id"]).await.status().as_str(),
        "succeeded"
    );
}

/// A payment stored before pending refunds were told apart from succeeded
/// ones has a refunded sum and no held sum: what it refunded still counts
/// against what remains.
#[tokio::test]
async fn a_payment_stored_before_held_sums_keeps_its_refunded_sum_held() {
    let h = Harness::new().await;
    let (_, payment) = completed(&h, &unique("buyer"), "100.00", "Cash").await;
    h.dynamo
        .update_item()
        .table_name(h.store.table_name())
        .key("pk", AttributeValue::S(format!("PAYMENT#{payment}")))
        .key("sk", AttributeValue::S("PAYMENT".into()))
        .update_expression("SET refunded_minor = :refunded REMOVE refund_held_minor")
        .expression_attribute_values(":refunded", AttributeValue::N("8000".into()))
        .send()
        .await
        .expect("an item as it was stored before");
    let over = refund(&h, &payment, Some(json!({"amount": 2001}))).await;
    assert_eq!(over.status, 400, "{}", over.body);
    let rest = refund(&h, &payment, Some(json!({"amount": 2000}))).await;
    assert_eq!(rest.status, 201, "{}", rest.body);
    let seen = payment_view(&h, &payment).await;
    assert_eq!(
        (&seen["status"], &seen["refundedAmount"]),
        (&json!("REFUNDED"), &json!(100)),
        "{seen}"
    );
}
