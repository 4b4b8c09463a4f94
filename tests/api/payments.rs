//! The payments API: payments recorded against orders, on DynamoDB Local.

use futures::future::join_all;
use integration_tests::flows::{self, *};
use integration_tests::*;
use lambda_http::http::Method;
use payment_shared::surfaces::{payables, payments, shop};
use serde_json::{Value, json};

fn pay(body: Value) -> Call {
    call(Method::POST, "/payment").json(body)
}

async fn record(h: &Harness, who: Call) -> Reply {
    invoke(h, payments::create, who).await
}

fn as_role(c: Call, sub: &str, role: &str) -> Call {
    c.bearer(&token(sub, &[role]))
}

async fn order_status(h: &Harness, id: &str) -> Value {
    invoke(
        h,
        payables::get,
        call(Method::GET, "/")
            .api_key(API_KEY)
            .param("kind", "order")
            .param("id", id),
    )
    .await
    .body
}

#[tokio::test]
async fn the_documented_example_records_a_payment() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let order = order(&h, &owner, "1000", "BDT").await;
    let body =
        json!({"amount": 500, "orderId": order, "paymentMethod": "Bkash", "status": "PENDING"});
    let r = record(&h, pay(body.clone()).as_user(&owner)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["orderId"], order.as_str());
    assert_eq!(r.body["amount"], json!(500));
    assert_eq!(r.body["status"], "PENDING");
    assert_eq!(r.body["paymentMethod"], "Bkash");
    assert!(r.body["id"].is_string());
    assert!(r.body["transactionId"].is_null());
    assert_eq!(order_status(&h, &order).await["status"], "open");
}

#[tokio::test]
async fn amounts_are_exact_json_numbers_in_the_orders_currency() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let order = order(&h, &owner, "100", "USD").await;
    let body =
        json!({"amount": 12.5, "orderId": order, "paymentMethod": "Card", "status": "PENDING"});
    let raw = payments::create(h.app.clone(), pay(body).as_user(&owner).build()).await;
    let text = String::from_utf8(<[u8]>::to_vec(raw.body().as_ref())).expect("utf-8");
    assert!(text.contains(r#""amount":12.5"#), "{text}");
    for (amount, why) in [
        (json!(10.001), "decimals"),
        (json!(0), "zero"),
        (json!(-5), "negative"),
        (json!("5"), "string"),
    ] {
        let body = json!({"amount": amount, "orderId": order, "paymentMethod": "Card", "status": "PENDING"});
        let r = record(&h, pay(body.clone()).as_user(&owner)).await;
        assert_eq!(r.status, 400, "{why}: {}", r.body);
        assert_eq!(r.body["message"], "Validation failed");
        assert_eq!(r.body["errors"][0]["field"], "amount", "{why}");
    }
    // Numbers are read as their digits, never through a float that would round them.
    for (amount, why) in [
        ("10.0000000000000001", "rounds to 10 as a float"),
        ("1e400", "overflows a float"),
        ("1e1", "exponent notation"),
        ("100000000", "over the maximum"),
    ] {
        let body = format!(
            r#"{{"amount": {amount}, "orderId": "{order}", "paymentMethod": "Card", "status": "PENDING"}}"#
        );
        let r = invoke(
            &h,
            payments::create,
            call(Method::POST, "/payment").as_user(&owner).raw(&body),
        )
        .await;
        assert_eq!(r.status, 400, "{why}: {}", r.body);
        assert_eq!(r.body["errors"][0]["field"], "amount", "{why}");
    }
    let mine = invoke(
        &h,
        payments::list_mine,
        call(Method::GET, "/payment").as_user(&owner),
    )
    .await;
    assert_eq!(
        mine.body.as_array().map(Vec::len),
        Some(1),
        "only the valid payment was recorded: {}",
        mine.body
    );
}

#[tokio::test]
async fn validation_lists_every_bad_field() {
    let h = Harness::new().await;
    let r = record(
        &h,
        pay(json!({"paymentMethod": "Paypal", "status": "DONE"})).as_user("u"),
    )
    .await;
    assert_eq!(r.status, 400);
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, vec!["amount", "orderId", "paymentMethod", "status"]);
    for (method, status) in [
        ("email_otp", "PENDING"),
        ("Card", "REFUNDED"),
        ("Card", "CANCELLED"),
    ] {
        let body = json!({"amount": 1, "orderId": "o", "paymentMethod": method, "status": status});
        assert_eq!(
            record(&h, pay(body.clone()).as_user("u")).await.status,
            400,
            "{method} {status}"
        );
    }
    let r = invoke(
        &h,
        payments::create,
        call(Method::POST, "/payment").as_user("u").raw("not json"),
    )
    .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn only_staff_or_the_payment_system_decide_that_money_arrived() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let order = order(&h, &owner, "100", "USD").await;
    for status in ["COMPLETED", "FAILED"] {
        let body =
            json!({"amount": 10, "orderId": order, "paymentMethod": "Cash", "status": status});
        let r = record(&h, pay(body.clone()).as_user(&owner)).await;
        assert_eq!(r.status, 403, "{status}: {}", r.body);
        assert_eq!(
            r.body,
            json!({"message": format!("Only staff or the payment system may record a {status} payment")})
        );
    }
    let body =
        json!({"amount": 30, "orderId": order, "paymentMethod": "Cash", "status": "COMPLETED"});
    assert_eq!(
        record(&h, as_role(pay(body.clone()), "staff-1", "Staff"))
            .await
            .status,
        201
    );
    let body = json!({"amount": 70, "orderId": order, "paymentMethod": "Bank Transfer", "status": "COMPLETED"});
    let r = record(&h, pay(body.clone()).api_key(API_KEY)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        order_status(&h, &order).await["status"],
        "paid",
        "completed payments covering the total pay the order"
    );
    let body = json!({"amount": 1, "orderId": order, "paymentMethod": "Cash", "status": "PENDING"});
    let r = record(&h, pay(body.clone()).as_user(&owner)).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["message"], "Order is paid and cannot be paid");
    // A failed payment is a record, not money: it holds nothing.
    let second = flows::order(&h, &owner, "10", "USD").await;
    let body =
        json!({"amount": 10, "orderId": second, "paymentMethod": "Card", "status": "FAILED"});
    assert_eq!(
        record(&h, as_role(pay(body.clone()), "admin-1", "Admin"))
            .await
            .status,
        201
    );
    let body =
        json!({"amount": 10, "orderId": second, "paymentMethod": "Card", "status": "PENDING"});
    assert_eq!(
        record(&h, pay(body.clone()).as_user(&owner)).await.status,
        201
    );
    let bad_key = invoke(&h, payments::create, pay(json!({})).api_key("nope")).await;
    assert_eq!(bad_key.status, 401);
    let no_token = invoke(&h, payments::create, pay(json!({}))).await;
    assert_eq!(
        (no_token.status, no_token.body["message"].is_string()),
        (401, true)
    );
}

#[tokio::test]
async fn payments_never_sum_past_the_order_total() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let order = order(&h, &owner, "100", "USD").await;
    let go = |amount: u32| {
        let body = json!({"amount": amount, "orderId": order, "paymentMethod": "Nagad", "status": "PENDING"});
        invoke(&h, payments::create, pay(body).as_user(&owner))
    };
    assert_eq!(go(60).await.status, 201);
    let over = go(50).await;
    assert_eq!(over.status, 400);
    assert_eq!(
        over.body["errors"][0]["message"],
        "amount exceeds what is left to pay on this order (40.00 USD)"
    );
    assert_eq!(go(40).await.status, 201);
    assert_eq!(go(1).await.status, 400);
}

#[tokio::test]
async fn the_forty_first_pending_payment_on_an_order_is_409() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let order = order(&h, &owner, "100.00", "USD").await;
    let body = json!({"amount": 1, "orderId": order, "paymentMethod": "Cash", "status": "PENDING"});
    for _ in 0..40 {
        let r = record(&h, pay(body.clone()).as_user(&owner)).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = record(&h, pay(body).as_user(&owner)).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"message": "Order already has 40 PENDING payments, the most it may hold; \
                           no more can be recorded until they are completed"})
    );
    let doc = payment_shared::surfaces::docs::document();
    let documented = &doc["paths"]["/payment"]["post"]["responses"]["409"]["description"];
    assert!(
        documented
            .as_str()
            .is_some_and(|d| d.contains("40 PENDING payments")),
        "{documented}"
    );
    // Staff still record money that arrived.
    let completed =
        json!({"amount": 5, "orderId": order, "paymentMethod": "Cash", "status": "COMPLETED"});
    let r = record(&h, as_role(pay(completed), "staff-1", "Staff")).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_payments_never_overshoot() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let order = order(&h, &owner, "100", "USD").await;
    let replies = join_all((0..20).map(|i| {
        let body = json!({"amount": 10, "orderId": order, "paymentMethod": "Rocket", "status": if i % 2 == 0 { "PENDING" } else { "COMPLETED" }});
        invoke(&h, payments::create, as_role(pay(body), "staff-1", "Staff"))
    }))
    .await;
    let ok = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        ok,
        10,
        "{:?}",
        replies
            .iter()
            .map(|r| (r.status, r.body.to_string()))
            .collect::<Vec<_>>()
    );
    assert!(replies.iter().all(|r| r.status == 201 || r.status == 400));
    let listed = invoke(
        &h,
        payments::list_for_order,
        call(Method::GET, "/")
            .as_user(&owner)
            .param("orderId", &order),
    )
    .await;
    let total: i64 = listed
        .body
        .as_array()
        .expect("list")
        .iter()
        .map(|p| p["amount"].as_i64().expect("whole amount"))
        .sum();
    assert_eq!(total, 100);
}

#[tokio::test]
async fn reads_are_limited_to_owners_and_staff() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let stranger = unique("stranger");
    let order = order(&h, &owner, "100", "USD").await;
    let mut ids = Vec::new();
    for amount in [10, 20, 30] {
        let body = json!({"amount": amount, "orderId": order, "paymentMethod": "Cash", "status": "PENDING"});
        ids.push(
            record(&h, pay(body.clone()).as_user(&owner)).await.body["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    let body = json!({"amount": 5, "orderId": order, "paymentMethod": "Cash", "status": "PENDING"});
    assert_eq!(
        record(&h, pay(body.clone()).as_user(&stranger))
            .await
            .status,
        404,
        "not the stranger's order"
    );

    let get = |who: Call, id: &str| invoke(&h, payments::get, who.param("id", id));
    let one = get(call(Method::GET, "/").as_user(&owner), &ids[0]).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["amount"], json!(10));
    assert_eq!(
        get(call(Method::GET, "/").as_user(&stranger), &ids[0])
            .await
            .body,
        json!({"message": "Payment not found"})
    );
    assert_eq!(
        get(as_role(call(Method::GET, "/"), "s", "Support"), &ids[0])
            .await
            .status,
        200
    );
    assert_eq!(
        get(call(Method::GET, "/").as_user(&owner), "not-a-uuid")
            .await
            .status,
        404
    );

    let by_order = |who: Call| invoke(&h, payments::list_for_order, who.param("orderId", &order));
    let listed = by_order(call(Method::GET, "/").as_user(&owner)).await;
    let got: Vec<&str> = listed
        .body
        .as_array()
        .expect("list")
        .iter()
        .map(|p| p["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        got,
        vec![ids[2].as_str(), ids[1].as_str(), ids[0].as_str()],
        "newest first"
    );
    assert!(
        listed.body[0]
            .as_object()
            .expect("payment")
            .contains_key("transactionId")
    );
    assert_eq!(
        by_order(call(Method::GET, "/").as_user(&stranger))
            .await
            .status,
        404
    );
    for role in ["Admin", "Staff", "Support"] {
        assert_eq!(
            by_order(as_role(call(Method::GET, "/"), "x", role))
                .await
                .status,
            200,
            "{role}"
        );
    }

    let mine = |q: &[(&str, &str)]| {
        let mut c = call(Method::GET, "/payment").as_user(&owner);
        for (k, v) in q {
            c = c.query(k, v);
        }
        invoke(&h, payments::list_mine, c)
    };
    let all = mine(&[]).await;
    assert_eq!(all.body.as_array().expect("list").len(), 3);
    let page = mine(&[("limit", "2")]).await;
    assert_eq!(
        page.body
            .as_array()
            .expect("list")
            .iter()
            .map(|p| p["id"].as_str().expect("id"))
            .collect::<Vec<_>>(),
        vec![ids[2].as_str(), ids[1].as_str()]
    );
    let rest = mine(&[("limit", "2"), ("offset", "2")]).await;
    assert_eq!(rest.body[0]["id"], ids[0].as_str());
    assert_eq!(rest.body.as_array().expect("list").len(), 1);
    let bad = mine(&[("limit", "0"), ("offset", "-1")]).await;
    assert_eq!(bad.status, 400);
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, vec!["limit", "offset"]);
    assert_eq!(mine(&[("limit", "101")]).await.status, 400);
    let theirs = invoke(
        &h,
        payments::list_mine,
        call(Method::GET, "/payment").as_user(&stranger),
    )
    .await;
    assert_eq!(theirs.body, json!([]));
    assert_eq!(
        invoke(&h, payments::list_mine, call(Method::GET, "/payment"))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn an_open_intent_holds_the_order_and_payments_hold_off_intents() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let held = order(&h, &owner, "100", "USD").await;
    let intent = invoke(
        &h,
        shop::create_intent,
        call(Method::POST, "/")
            .as_user(&owner)
            .api_key(API_KEY)
            .param("orderId", &held),
    )
    .await;
    assert_eq!(intent.status, 200, "{}", intent.body);
    let body = json!({"amount": 10, "orderId": held, "paymentMethod": "Cash", "status": "PENDING"});
    let r = record(&h, pay(body.clone()).as_user(&owner)).await;
    assert_eq!(r.status, 409, "{}", r.body);

    let paying = order(&h, &owner, "100", "USD").await;
    let body =
        json!({"amount": 10, "orderId": paying, "paymentMethod": "Cash", "status": "PENDING"});
    assert_eq!(
        record(&h, pay(body.clone()).as_user(&owner)).await.status,
        201
    );
    let r = invoke(
        &h,
        shop::create_intent,
        call(Method::POST, "/")
            .as_user(&owner)
            .api_key(API_KEY)
            .param("orderId", &paying),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    // And the total cannot drop below what payments hold.
    let r = invoke(
        &h,
        payables::put,
        call(Method::PUT, "/").api_key(API_KEY).param("kind", "order").param("id", &paying)
            .json(json!({"user_id": owner, "email": format!("{owner}@example.com"), "amount": "5", "currency": "USD"})),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
}

#[tokio::test]
async fn post_payment_honours_idempotency_keys() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let order = order(&h, &owner, "100", "USD").await;
    let body =
        json!({"amount": 25, "orderId": order, "paymentMethod": "Card", "status": "PENDING"});
    let first = invoke(
        &h,
        payments::create,
        pay(body.clone())
            .as_user(&owner)
            .header("idempotency-key", "k"),
    )
    .await;
    let again = invoke(
        &h,
        payments::create,
        pay(body).as_user(&owner).header("idempotency-key", "k"),
    )
    .await;
    assert_eq!(first.status, 201);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let listed = invoke(
        &h,
        payments::list_for_order,
        call(Method::GET, "/")
            .as_user(&owner)
            .param("orderId", &order),
    )
    .await;
    assert_eq!(
        listed.body.as_array().expect("list").len(),
        1,
        "a replay records nothing"
    );
}

#[tokio::test]
async fn support_reads_orders_but_records_no_payment_on_them() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let order = order(&h, &owner, "100", "USD").await;
    for status in ["PENDING", "COMPLETED"] {
        let body =
            json!({"amount": 10, "orderId": order, "paymentMethod": "Cash", "status": status});
        let r = record(&h, as_role(pay(body), "support-1", "Support")).await;
        assert_eq!(r.status, 403, "{status}: {}", r.body);
    }
    // Nothing holds the order: its owner still opens an intent and pays.
    let listed = invoke(
        &h,
        payments::list_for_order,
        as_role(call(Method::GET, "/"), "support-1", "Support").param("orderId", &order),
    )
    .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body, json!([]));
    let body =
        json!({"amount": 100, "orderId": order, "paymentMethod": "Cash", "status": "PENDING"});
    assert_eq!(record(&h, pay(body).as_user(&owner)).await.status, 201);
}

#[tokio::test]
async fn a_tampered_cursor_is_refused() {
    let h = Harness::new().await;
    let owner = unique("buyer");
    let order = order(&h, &owner, "100", "USD").await;
    for amount in [10, 20] {
        let body = json!({"amount": amount, "orderId": order, "paymentMethod": "Cash", "status": "PENDING"});
        assert_eq!(record(&h, pay(body).as_user(&owner)).await.status, 201);
    }
    let list = |cursor: Option<&str>| {
        let mut c = call(Method::GET, "/")
            .as_user(&owner)
            .param("orderId", &order)
            .query("limit", "1");
        if let Some(cursor) = cursor {
            c = c.query("cursor", cursor);
        }
        invoke(&h, payments::list_for_order, c)
    };
    let first = list(None).await;
    let cursor = first
        .header("x-next-cursor")
        .expect("a next page")
        .to_owned();
    assert_eq!(list(Some(&cursor)).await.status, 200);
    let forged = format!("{}A", &cursor[..cursor.len() - 1]);
    let forged = if forged == cursor {
        format!("{}B", &cursor[..cursor.len() - 1])
    } else {
        forged
    };
    let r = list(Some(&forged)).await;
    assert_eq!(r.status, 400, "{}", r.body);
}
