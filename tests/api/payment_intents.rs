//! The PaymentIntents API: card intents through the test gateway, staff
//! reads, signed webhooks, and problem-details errors, on DynamoDB Local.

use integration_tests::flows::{order, register};
use integration_tests::*;
use lambda_http::http::Method;
use payment_shared::domain::webhook_signature;
use payment_shared::ports::Clock;
use payment_shared::surfaces::{payables, payment_intents, payments};
use serde_json::{Value, json};
use time::Duration;

const ROOT: &str = "/api/v1/PaymentIntents";

fn problem(r: &Reply, status: u16) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{}",
        r.body
    );
    assert_eq!(r.body["status"], status, "{}", r.body);
    assert!(
        r.body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("https://tools.ietf.org/html/rfc")),
        "{}",
        r.body
    );
    assert!(r.body["title"].is_string(), "{}", r.body);
    assert!(r.body["traceId"].is_string(), "{}", r.body);
}

/// A 400 naming `field` among its invalid fields.
fn invalid(r: &Reply, field: &str) {
    problem(r, 400);
    assert!(
        r.body["errors"][field]
            .as_array()
            .is_some_and(|m| !m.is_empty()),
        "{field}: {}",
        r.body
    );
}

fn as_role(c: Call, sub: &str, role: &str) -> Call {
    c.bearer(&token(sub, &[role]))
}

async fn create_as(h: &Harness, who: Call, body: Value) -> Reply {
    invoke(h, payment_intents::create, who.json(body)).await
}

async fn create(h: &Harness, user: &str, body: Value) -> Reply {
    create_as(h, call(Method::POST, ROOT).as_user(user), body).await
}

fn confirm_call(id: &str, body: &str) -> Call {
    call(Method::POST, &format!("{ROOT}/{id}/confirm"))
        .param("id", id)
        .raw(body)
}

async fn confirm(h: &Harness, user: &str, id: &str, method: &str) -> Reply {
    invoke(
        h,
        payment_intents::confirm,
        confirm_call(id, &format!("\"{method}\"")).as_user(user),
    )
    .await
}

fn cancel_call(id: &str) -> Call {
    call(Method::POST, &format!("{ROOT}/{id}/cancel")).param("id", id)
}

fn get_call(id: &str) -> Call {
    call(Method::GET, &format!("{ROOT}/{id}")).param("id", id)
}

async fn staff_get(h: &Harness, id: &str) -> Reply {
    invoke(
        h,
        payment_intents::get,
        as_role(get_call(id), "staff-admin", "Admin"),
    )
    .await
}

fn customer_call(customer: &str) -> Call {
    call(Method::GET, &format!("{ROOT}/customer/{customer}")).param("customerId", customer)
}

fn event(id: &str, kind: &str, gateway_intent: &str, status: &str) -> String {
    json!({
        "id": id,
        "type": kind,
        "created": 1_764_000_000,
        "data": {"object": {
            "id": gateway_intent,
            "object": "payment_intent",
            "status": status,
            "last_payment_error": null,
        }},
    })
    .to_string()
}

fn sign(h: &Harness, body: &str, age_secs: i64) -> String {
    let t = h.clock.now().unix_timestamp() - age_secs;
    webhook_signature::sign(WEBHOOK_SECRET.as_bytes(), t, body.as_bytes())
}

async fn deliver(h: &Harness, body: &str) -> Reply {
    post_gateway_event(h, "test", WEBHOOK_SECRET, body).await
}

async fn payable_status(h: &Harness, kind: &str, id: &str) -> Value {
    invoke(
        h,
        payables::get,
        call(Method::GET, "/")
            .api_key(API_KEY)
            .param("kind", kind)
            .param("id", id),
    )
    .await
    .body["status"]
        .clone()
}

async fn order_payments(h: &Harness, owner: &str, order: &str) -> Vec<Value> {
    let r = invoke(
        h,
        payments::list_for_order,
        call(Method::GET, &format!("/payment/order/{order}"))
            .as_user(owner)
            .param("orderId", order),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body.as_array().expect("list").clone()
}

/// A standalone intent of `amount` USD, opened by `user`.
async fn standalone(h: &Harness, user: &str, amount: Value) -> Value {
    let r = create(h, user, json!({"amount": amount, "currency": "USD"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

#[tokio::test]
async fn an_owned_invoice_gets_one_intent_created_then_returned() {
    let h = Harness::new().await;
    let owner = unique("payer");
    let invoice = unique("INV");
    register(&h, "invoice", &invoice, &owner, "99.99", "EUR").await;
    let body = json!({
        "invoiceId": invoice,
        "orderId": null,
        "paymentGatewayId": "test",
        "returnUrl": "https://example.com/success",
        "cancelUrl": "https://example.com/cancel",
        "description": "Payment for invoice #123",
    });
    let r = create(&h, &owner, body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let intent = &r.body;
    assert!(intent["id"].is_string());
    assert_eq!(intent["invoiceId"], invoice.as_str());
    assert!(intent["orderId"].is_null());
    assert_eq!(intent["customerId"], owner.as_str());
    assert_eq!(intent["amount"], json!(99.99));
    assert_eq!(intent["currency"], "EUR");
    assert_eq!(intent["status"], "RequiresPaymentMethod");
    assert_eq!(intent["paymentGatewayId"], "test");
    let gateway_id = intent["gatewayIntentId"].as_str().expect("gateway id");
    assert!(gateway_id.starts_with("pi_test_"), "{gateway_id}");
    assert!(
        intent["clientSecret"]
            .as_str()
            .is_some_and(|s| s.starts_with(&format!("{gateway_id}_secret_"))),
        "{intent}"
    );
    assert_eq!(intent["description"], "Payment for invoice #123");
    for unset in ["authorizedAt", "capturedAt", "failedAt"] {
        assert!(intent[unset].is_null(), "{unset}");
    }
    assert_eq!(intent["failureReason"], "");
    assert!(
        intent["createdAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert!(intent.get("nextAction").is_none(), "{intent}");

    let again = create(&h, &owner, body).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["id"], intent["id"]);

    // The payable's amount and currency may be restated, exactly.
    let restated = create(
        &h,
        &owner,
        json!({"invoiceId": invoice, "amount": 99.99, "currency": "eur"}),
    )
    .await;
    assert_eq!(restated.status, 200, "{}", restated.body);
    assert_eq!(restated.body["id"], intent["id"]);
}

#[tokio::test]
async fn an_owned_order_gets_its_intent_under_order_id() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let order = order(&h, &owner, "42.00", "USD").await;
    let r = create(&h, &owner, json!({"orderId": order})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["orderId"], order.as_str());
    assert!(r.body["invoiceId"].is_null());
    assert_eq!(r.body["amount"], json!(42));
    assert_eq!(r.body["paymentGatewayId"], "test", "the default gateway");
    let again = create(&h, &owner, json!({"orderId": order})).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["id"], r.body["id"]);
}

#[tokio::test]
async fn another_users_or_an_unknown_payable_is_not_found() {
    let h = Harness::new().await;
    let owner = unique("payer");
    let invoice = unique("INV");
    register(&h, "invoice", &invoice, &owner, "10.00", "USD").await;
    let r = create(&h, &unique("stranger"), json!({"invoiceId": invoice})).await;
    problem(&r, 404);
    let r = create(&h, &owner, json!({"orderId": invoice})).await;
    problem(&r, 404);
    let r = create(&h, &owner, json!({"invoiceId": unique("INV")})).await;
    problem(&r, 404);
}

#[tokio::test]
async fn an_amount_or_currency_other_than_the_payables_is_refused() {
    let h = Harness::new().await;
    let owner = unique("payer");
    let invoice = unique("INV");
    register(&h, "invoice", &invoice, &owner, "99.99", "EUR").await;
    for (amount, currency) in [
        (json!(10), "EUR"),
        (json!(99.99), "USD"),
        (json!(100), "EUR"),
    ] {
        let r = create(
            &h,
            &owner,
            json!({"invoiceId": invoice, "amount": amount, "currency": currency}),
        )
        .await;
        problem(&r, 400);
    }
    // Nothing was opened by the refusals.
    let r = create(&h, &owner, json!({"invoiceId": invoice})).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn a_standalone_intent_is_for_the_amount_given_exactly() {
    let h = Harness::new().await;
    let payer = unique("payer");
    let raw = payment_intents::create(
        h.app.clone(),
        call(Method::POST, ROOT)
            .as_user(&payer)
            .json(json!({"amount": 12.5, "currency": "USD", "description": "Tip"}))
            .build(),
    )
    .await;
    assert_eq!(raw.status(), 201);
    let text = String::from_utf8(<[u8]>::to_vec(raw.body().as_ref())).expect("utf-8");
    assert!(text.contains(r#""amount":12.5"#), "{text}");
    assert!(text.contains(r#""invoiceId":null"#), "{text}");
    assert!(text.contains(r#""orderId":null"#), "{text}");
    let r = create(&h, &payer, json!({"amount": 1000, "currency": "JPY"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["amount"], json!(1000));
    assert_eq!(r.body["currency"], "JPY");
    // Without a payable the amount is required.
    let r = create(&h, &payer, json!({"description": "nothing"})).await;
    problem(&r, 400);
}

#[tokio::test]
async fn invalid_fields_are_each_named() {
    let h = Harness::new().await;
    let payer = unique("payer");
    let cases = [
        (json!({"invoiceId": "INV-1", "orderId": "ORD-1"}), "orderId"),
        (json!({"invoiceId": "bad id!"}), "invoiceId"),
        (json!({"invoiceId": 5}), "invoiceId"),
        (json!({"amount": 10.001, "currency": "USD"}), "amount"),
        (json!({"amount": 0, "currency": "USD"}), "amount"),
        (json!({"amount": -5, "currency": "USD"}), "amount"),
        (json!({"amount": "5", "currency": "USD"}), "amount"),
        (json!({"amount": 100000000, "currency": "USD"}), "amount"),
        (json!({"amount": 5, "currency": "XYZ"}), "currency"),
        (json!({"amount": 5}), "currency"),
        (json!({"currency": "USD"}), "amount"),
        (
            json!({"amount": 5, "currency": "USD", "paymentGatewayId": 1}),
            "paymentGatewayId",
        ),
        (
            json!({"amount": 5, "currency": "USD", "paymentGatewayId": "otp"}),
            "paymentGatewayId",
        ),
        (
            json!({"amount": 5, "currency": "USD", "paymentGatewayId": "nope"}),
            "paymentGatewayId",
        ),
        (
            json!({"amount": 5, "currency": "USD", "returnUrl": "ftp://example.com"}),
            "returnUrl",
        ),
        (
            json!({"amount": 5, "currency": "USD", "cancelUrl": "/relative"}),
            "cancelUrl",
        ),
        (
            json!({"amount": 5, "currency": "USD", "returnUrl": format!("https://e.com/{}", "a".repeat(1000))}),
            "returnUrl",
        ),
        (
            json!({"amount": 5, "currency": "USD", "description": "d".repeat(1001)}),
            "description",
        ),
    ];
    for (body, field) in cases {
        let r = create(&h, &payer, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        invalid(&r, field);
        assert_eq!(r.body["title"], "One or more validation errors occurred.");
    }
    // Every invalid field at once.
    let r = create(
        &h,
        &payer,
        json!({"amount": 1.001, "currency": "USD", "paymentGatewayId": 2, "returnUrl": "x"}),
    )
    .await;
    for field in ["amount", "paymentGatewayId", "returnUrl"] {
        invalid(&r, field);
    }
    for body in ["{", "[1]", "\"x\"", ""] {
        let r = invoke(
            &h,
            payment_intents::create,
            call(Method::POST, ROOT).as_user(&payer).raw(body),
        )
        .await;
        invalid(&r, "$");
    }
}

#[tokio::test]
async fn every_endpoint_but_the_webhook_wants_a_token() {
    let h = Harness::new().await;
    let id = "0193f2a4-7c1e-7b61-9d2a-5e8f3c4b2a10";
    let replies = [
        invoke(&h, payment_intents::list, call(Method::GET, ROOT)).await,
        invoke(&h, payment_intents::get, get_call(id)).await,
        invoke(
            &h,
            payment_intents::list_by_customer,
            customer_call("someone"),
        )
        .await,
        invoke(
            &h,
            payment_intents::create,
            call(Method::POST, ROOT).json(json!({"amount": 5, "currency": "USD"})),
        )
        .await,
        invoke(
            &h,
            payment_intents::confirm,
            confirm_call(id, "\"pm_card_visa\""),
        )
        .await,
        invoke(&h, payment_intents::cancel, cancel_call(id)).await,
        invoke(
            &h,
            payment_intents::list,
            call(Method::GET, ROOT).bearer("not-a-token"),
        )
        .await,
    ];
    for r in replies {
        problem(&r, 401);
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    }
}

#[tokio::test]
async fn only_admin_and_support_read_intents_here() {
    let h = Harness::new().await;
    let payer = unique("payer");
    let intent = standalone(&h, &payer, json!(5)).await;
    let id = intent["id"].as_str().expect("id");
    let callers = [
        (token("admin", &["Admin"]), 200),
        (token("support", &["Support"]), 200),
        (token("staff", &["Staff"]), 403),
        (token(&unique("user"), &[]), 403),
        (token(&payer, &[]), 403),
    ];
    for (bearer, status) in callers {
        let all = invoke(
            &h,
            payment_intents::list,
            call(Method::GET, ROOT).bearer(&bearer),
        )
        .await;
        let one = invoke(&h, payment_intents::get, get_call(id).bearer(&bearer)).await;
        // The role comes before the path: a malformed id tells a caller
        // without it nothing more than a real one.
        let malformed = invoke(&h, payment_intents::get, get_call("nope").bearer(&bearer)).await;
        if status == 200 {
            problem(&malformed, 404);
        } else {
            problem(&malformed, 403);
        }
        let theirs = invoke(
            &h,
            payment_intents::list_by_customer,
            customer_call(&payer).bearer(&bearer),
        )
        .await;
        for r in [&all, &one, &theirs] {
            if status == 200 {
                assert_eq!(r.status, 200, "{}", r.body);
            } else {
                problem(r, 403);
            }
        }
        if status == 200 {
            assert_eq!(all.body[0]["id"], id);
            assert_eq!(one.body["id"], id);
            assert_eq!(one.body["customerId"], payer.as_str());
            assert_eq!(theirs.body[0]["id"], id);
        }
    }
    let missing = staff_get(&h, "0193f2a4-7c1e-7b61-9d2a-5e8f3c4b2a10").await;
    problem(&missing, 404);
    let nonsense = staff_get(&h, "not-an-id").await;
    problem(&nonsense, 404);
}

#[tokio::test]
async fn a_card_that_pays_records_one_payment_and_settles_the_order() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let order = order(&h, &owner, "42.00", "USD").await;
    let created = create(&h, &owner, json!({"orderId": order})).await;
    let id = created.body["id"].as_str().expect("id");
    let r = confirm(&h, &owner, id, "pm_card_visa").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "Succeeded");
    assert!(r.body["capturedAt"].is_string(), "{}", r.body);
    assert_eq!(payable_status(&h, "order", &order).await, "paid");
    let payments = order_payments(&h, &owner, &order).await;
    assert_eq!(payments.len(), 1, "{payments:?}");
    assert_eq!(payments[0]["status"], "COMPLETED");
    assert_eq!(payments[0]["amount"], json!(42));
    // Confirming again cannot take the money twice.
    let again = confirm(&h, &owner, id, "pm_card_visa").await;
    problem(&again, 409);
    assert_eq!(order_payments(&h, &owner, &order).await.len(), 1);
}

#[tokio::test]
async fn a_declined_card_leaves_the_payer_to_try_another() {
    let h = Harness::new().await;
    let owner = unique("payer");
    let invoice = unique("INV");
    register(&h, "invoice", &invoice, &owner, "20.00", "USD").await;
    let created = create(&h, &owner, json!({"invoiceId": invoice})).await;
    let id = created.body["id"].as_str().expect("id");
    let declined = confirm(&h, &owner, id, "pm_card_chargeDeclined").await;
    assert_eq!(declined.status, 200, "{}", declined.body);
    assert_eq!(declined.body["status"], "RequiresPaymentMethod");
    assert_eq!(declined.body["failureReason"], "card_declined");
    assert!(declined.body["failedAt"].is_string());
    assert_eq!(payable_status(&h, "invoice", &invoice).await, "open");
    let paid = confirm(&h, &owner, id, "pm_card_visa").await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    assert_eq!(paid.body["status"], "Succeeded");
    assert_eq!(payable_status(&h, "invoice", &invoice).await, "paid");
}

#[tokio::test]
async fn an_authenticating_card_completes_by_signed_webhook() {
    let h = Harness::new().await;
    let owner = unique("payer");
    let invoice = unique("INV");
    register(&h, "invoice", &invoice, &owner, "30.00", "USD").await;
    let created = create(&h, &owner, json!({"invoiceId": invoice})).await;
    let id = created.body["id"].as_str().expect("id");
    let gateway_id = created.body["gatewayIntentId"]
        .as_str()
        .expect("gateway id");
    let r = confirm(&h, &owner, id, "pm_card_authenticationRequired").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "RequiresAction");
    assert_eq!(
        r.body["nextAction"]["type"], "redirect_to_url",
        "{}",
        r.body
    );
    assert!(
        r.body["nextAction"]["redirectToUrl"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http")),
        "{}",
        r.body
    );
    let seen = staff_get(&h, id).await;
    assert_eq!(seen.body["status"], "RequiresAction");

    let body = event(
        &unique("evt"),
        "payment_intent.succeeded",
        gateway_id,
        "succeeded",
    );
    let delivered = deliver(&h, &body).await;
    assert_eq!(delivered.status, 200, "{}", delivered.body);
    assert_eq!(delivered.body, json!({"received": true}));
    let seen = staff_get(&h, id).await;
    assert_eq!(seen.body["status"], "Succeeded", "{}", seen.body);
    assert!(seen.body.get("nextAction").is_none());
    assert_eq!(payable_status(&h, "invoice", &invoice).await, "paid");

    // Redelivered, or followed by stale news: acknowledged, nothing changes.
    for body in [
        body.clone(),
        event(
            &unique("evt"),
            "payment_intent.processing",
            gateway_id,
            "processing",
        ),
        event(
            &unique("evt"),
            "payment_intent.payment_failed",
            gateway_id,
            "requires_payment_method",
        ),
    ] {
        let r = deliver(&h, &body).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let seen = staff_get(&h, id).await;
        assert_eq!(seen.body["status"], "Succeeded", "{}", seen.body);
        assert_eq!(seen.body["failureReason"], "");
    }
}

#[tokio::test]
async fn confirm_is_the_payers_with_a_payment_method_id() {
    let h = Harness::new().await;
    let payer = unique("payer");
    let intent = standalone(&h, &payer, json!(5)).await;
    let id = intent["id"].as_str().expect("id");
    let unknown = confirm(&h, &payer, id, "pm_card_unknown").await;
    problem(&unknown, 400);
    assert!(
        unknown.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("No such PaymentMethod")),
        "{}",
        unknown.body
    );
    let stranger = confirm(&h, &unique("stranger"), id, "pm_card_visa").await;
    problem(&stranger, 404);
    let admin = invoke(
        &h,
        payment_intents::confirm,
        as_role(confirm_call(id, "\"pm_card_visa\""), "admin", "Admin"),
    )
    .await;
    problem(&admin, 404);
    let missing = confirm(
        &h,
        &payer,
        "0193f2a4-7c1e-7b61-9d2a-5e8f3c4b2a10",
        "pm_card_visa",
    )
    .await;
    problem(&missing, 404);
    for body in [
        "",
        "pm_card_visa",
        "{\"paymentMethodId\": \"pm_card_visa\"}",
        "5",
        "\"pm card\"",
    ] {
        let r = invoke(
            &h,
            payment_intents::confirm,
            confirm_call(id, body).as_user(&payer),
        )
        .await;
        invalid(&r, "$");
    }
    let seen = staff_get(&h, id).await;
    assert_eq!(seen.body["status"], "RequiresPaymentMethod");
}

#[tokio::test]
async fn cancel_is_the_payers_or_an_admins() {
    let h = Harness::new().await;
    let payer = unique("payer");
    let first = standalone(&h, &payer, json!(5)).await;
    let second = standalone(&h, &payer, json!(6)).await;
    let (first, second) = (
        first["id"].as_str().expect("id"),
        second["id"].as_str().expect("id"),
    );
    let stranger = invoke(
        &h,
        payment_intents::cancel,
        cancel_call(first).as_user(&unique("x")),
    )
    .await;
    problem(&stranger, 404);
    let support = invoke(
        &h,
        payment_intents::cancel,
        as_role(cancel_call(first), "support", "Support"),
    )
    .await;
    problem(&support, 404);
    let by_payer = invoke(
        &h,
        payment_intents::cancel,
        cancel_call(first).as_user(&payer),
    )
    .await;
    assert_eq!(by_payer.status, 200, "{}", by_payer.body);
    assert_eq!(by_payer.body["status"], "Canceled");
    let by_admin = invoke(
        &h,
        payment_intents::cancel,
        as_role(cancel_call(second), "admin", "Admin").raw("{}"),
    )
    .await;
    assert_eq!(by_admin.status, 200, "{}", by_admin.body);
    assert_eq!(by_admin.body["status"], "Canceled");
    let again = invoke(
        &h,
        payment_intents::cancel,
        cancel_call(first).as_user(&payer),
    )
    .await;
    problem(&again, 409);
    let not_object = invoke(
        &h,
        payment_intents::cancel,
        cancel_call(first).as_user(&payer).raw("[1]"),
    )
    .await;
    invalid(&not_object, "$");

    let paid = standalone(&h, &payer, json!(7)).await;
    let paid = paid["id"].as_str().expect("id");
    assert_eq!(confirm(&h, &payer, paid, "pm_card_visa").await.status, 200);
    let late = invoke(
        &h,
        payment_intents::cancel,
        cancel_call(paid).as_user(&payer),
    )
    .await;
    problem(&late, 409);
}

#[tokio::test]
async fn webhooks_are_signed_by_their_gateway() {
    let h = Harness::new().await;
    let payer = unique("payer");
    let intent = standalone(&h, &payer, json!(5)).await;
    let id = intent["id"].as_str().expect("id");
    let gateway_id = intent["gatewayIntentId"].as_str().expect("gateway id");
    let body = event(
        &unique("evt"),
        "payment_intent.succeeded",
        gateway_id,
        "succeeded",
    );
    let forged = webhook_signature::sign(
        b"another-secret",
        h.clock.now().unix_timestamp(),
        body.as_bytes(),
    );
    let stale = sign(&h, &body, 301);
    for signature in [
        Some(forged.as_str()),
        Some(stale.as_str()),
        Some("t=1,v1=zz"),
        None,
    ] {
        let r = invoke(
            &h,
            payment_intents::webhook,
            gateway_event_call("test", &body, signature),
        )
        .await;
        problem(&r, 400);
    }
    let unread = "not json";
    let r = invoke(
        &h,
        payment_intents::webhook,
        gateway_event_call("test", unread, Some(&sign(&h, unread, 0))),
    )
    .await;
    problem(&r, 400);
    let r = invoke(
        &h,
        payment_intents::webhook,
        gateway_event_call("nope", &body, Some(&sign(&h, &body, 0))),
    )
    .await;
    problem(&r, 404);
    assert_eq!(
        staff_get(&h, id).await.body["status"],
        "RequiresPaymentMethod"
    );

    // An intent this service does not know: acknowledged, so the gateway stops retrying.
    let r = deliver(
        &h,
        &event(
            &unique("evt"),
            "payment_intent.succeeded",
            "pi_test_unknownUnknownUnknown0",
            "succeeded",
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // An event type not acted on: acknowledged.
    let r = deliver(
        &h,
        &event(&unique("evt"), "charge.refunded", gateway_id, "succeeded"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The event may arrive as a JSON string holding the event.
    let wrapped = serde_json::to_string(&body).expect("string");
    let r = deliver(&h, &wrapped).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(staff_get(&h, id).await.body["status"], "Succeeded");
    let duplicate = deliver(&h, &body).await;
    assert_eq!(duplicate.status, 200, "{}", duplicate.body);
    assert_eq!(staff_get(&h, id).await.body["status"], "Succeeded");
}

#[tokio::test]
async fn lists_are_newest_first_in_pages() {
    let h = Harness::new().await;
    let payer = unique("payer");
    let other = unique("other");
    let mut ids = Vec::new();
    for amount in [1, 2, 3] {
        ids.push(standalone(&h, &payer, json!(amount)).await["id"].clone());
        h.clock.advance(Duration::seconds(1));
    }
    let theirs = standalone(&h, &other, json!(4)).await["id"].clone();
    let admin = token("admin", &["Admin"]);

    let all = invoke(
        &h,
        payment_intents::list,
        call(Method::GET, ROOT).bearer(&admin),
    )
    .await;
    assert_eq!(all.status, 200, "{}", all.body);
    let listed: Vec<&Value> = all
        .body
        .as_array()
        .expect("list")
        .iter()
        .map(|i| &i["id"])
        .collect();
    assert_eq!(listed, vec![&theirs, &ids[2], &ids[1], &ids[0]]);
    assert!(all.header("x-next-cursor").is_none());

    let first = invoke(
        &h,
        payment_intents::list_by_customer,
        customer_call(&payer).bearer(&admin).query("limit", "2"),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let page: Vec<&Value> = first
        .body
        .as_array()
        .expect("list")
        .iter()
        .map(|i| &i["id"])
        .collect();
    assert_eq!(page, vec![&ids[2], &ids[1]]);
    let cursor = first
        .header("x-next-cursor")
        .expect("more remain")
        .to_owned();
    let second = invoke(
        &h,
        payment_intents::list_by_customer,
        customer_call(&payer)
            .bearer(&admin)
            .query("limit", "2")
            .query("cursor", &cursor),
    )
    .await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.body.as_array().expect("list").len(), 1);
    assert_eq!(second.body[0]["id"], ids[0]);
    assert!(second.header("x-next-cursor").is_none());

    let paged = invoke(
        &h,
        payment_intents::list,
        call(Method::GET, ROOT).bearer(&admin).query("limit", "3"),
    )
    .await;
    assert_eq!(paged.body.as_array().expect("list").len(), 3);
    let rest_cursor = paged
        .header("x-next-cursor")
        .expect("more remain")
        .to_owned();
    let rest = invoke(
        &h,
        payment_intents::list,
        call(Method::GET, ROOT)
            .bearer(&admin)
            .query("limit", "3")
            .query("cursor", &rest_cursor),
    )
    .await;
    assert_eq!(rest.body[0]["id"], ids[0], "{}", rest.body);

    for limit in ["0", "101", "x"] {
        let r = invoke(
            &h,
            payment_intents::list,
            call(Method::GET, ROOT).bearer(&admin).query("limit", limit),
        )
        .await;
        invalid(&r, "limit");
        let r = invoke(
            &h,
            payment_intents::list_by_customer,
            customer_call(&payer).bearer(&admin).query("limit", limit),
        )
        .await;
        invalid(&r, "limit");
    }
    let mut tampered = cursor.clone();
    tampered.insert(0, 'x');
    for r in [
        invoke(
            &h,
            payment_intents::list,
            call(Method::GET, ROOT)
                .bearer(&admin)
                .query("cursor", &tampered),
        )
        .await,
        invoke(
            &h,
            payment_intents::list_by_customer,
            customer_call(&payer)
                .bearer(&admin)
                .query("cursor", &tampered),
        )
        .await,
    ] {
        problem(&r, 400);
    }
    let nobody = invoke(
        &h,
        payment_intents::list_by_customer,
        customer_call(&unique("nobody")).bearer(&admin),
    )
    .await;
    assert_eq!(nobody.status, 200);
    assert_eq!(nobody.body, json!([]));
}

#[tokio::test]
async fn changes_honour_idempotency_keys() {
    let h = Harness::new().await;
    let payer = unique("payer");
    let keyed = || {
        call(Method::POST, ROOT)
            .as_user(&payer)
            .header("idempotency-key", "pi-key-1")
    };
    let first = create_as(&h, keyed(), json!({"amount": 5, "currency": "USD"})).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = create_as(&h, keyed(), json!({"amount": 5, "currency": "USD"})).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let other = create_as(&h, keyed(), json!({"amount": 6, "currency": "USD"})).await;
    problem(&other, 422);
    let bad_key = create_as(
        &h,
        call(Method::POST, ROOT)
            .as_user(&payer)
            .header("idempotency-key", &"k".repeat(256)),
        json!({"amount": 5, "currency": "USD"}),
    )
    .await;
    problem(&bad_key, 400);

    let id = first.body["id"].as_str().expect("id");
    let confirm_keyed = || {
        confirm_call(id, "\"pm_card_visa\"")
            .as_user(&payer)
            .header("idempotency-key", "confirm-1")
    };
    let paid = invoke(&h, payment_intents::confirm, confirm_keyed()).await;
    assert_eq!(paid.body["status"], "Succeeded", "{}", paid.body);
    let replayed = invoke(&h, payment_intents::confirm, confirm_keyed()).await;
    assert_eq!(replayed.status, 200);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
}

#[tokio::test]
async fn bodies_over_64_kib_are_refused() {
    let h = Harness::new().await;
    let big = format!("{{\"description\": \"{}\"}}", "a".repeat(65 * 1024));
    let r = invoke(
        &h,
        payment_intents::create,
        call(Method::POST, ROOT).as_user("someone").raw(&big),
    )
    .await;
    problem(&r, 413);
    let r = invoke(
        &h,
        payment_intents::webhook,
        gateway_event_call("test", &big, None),
    )
    .await;
    problem(&r, 413);
}
