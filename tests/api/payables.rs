//! The payables API that registers what is owed.

use integration_tests::flows::*;
use integration_tests::*;
use lambda_http::http::Method;
use payment_shared::surfaces::payables;
use serde_json::json;

fn put(kind: &str, id: &str) -> Call {
    call(Method::PUT, &format!("/api/v1/payables/{kind}/{id}"))
        .api_key(API_KEY)
        .param("kind", kind)
        .param("id", id)
}

#[tokio::test]
async fn put_creates_then_replaces_and_get_reads_back() {
    let h = Harness::new().await;
    let id = unique("ORD");
    let body = json!({
        "user_id": "u-1", "email": "u-1@example.com", "amount": "112", "currency": "usd",
        "number": "ORD-1001", "description": "Two shirts", "business_id": 18446744073709551615u64,
        "line_items": [{"name": "Shirt", "amount": 5600, "currency": "usd", "quantity": 2, "description": "Blue"}]
    });
    let created = invoke(&h, payables::put, put("order", &id).json(body.clone())).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["amount"], "112.00");
    assert_eq!(created.body["currency"], "USD");
    assert_eq!(created.body["status"], "open");
    assert_eq!(
        created.body["business_id"].as_u64(),
        Some(u64::MAX),
        "an unsigned 64-bit integer, exactly"
    );
    assert_eq!(
        created.body["line_items"][0],
        json!({"name": "Shirt", "amount": 5600, "currency": "usd", "quantity": 2, "description": "Blue"})
    );

    let mut changed = body.clone();
    changed["amount"] = json!("120.50");
    changed.as_object_mut().expect("object").remove("number");
    let replaced = invoke(&h, payables::put, put("order", &id).json(changed)).await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert_eq!(replaced.body["amount"], "120.50");
    assert!(
        replaced.body["number"].is_null(),
        "a PUT replaces optional fields"
    );
    assert_eq!(replaced.body["created_at"], created.body["created_at"]);

    let read = invoke(
        &h,
        payables::get,
        call(Method::GET, "/")
            .api_key(API_KEY)
            .param("kind", "order")
            .param("id", &id),
    )
    .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body, replaced.body);
    let missing = invoke(
        &h,
        payables::get,
        call(Method::GET, "/")
            .api_key(API_KEY)
            .param("kind", "order")
            .param("id", "nope"),
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body, json!({"message": "Payable not found"}));
}

#[tokio::test]
async fn validation_lists_every_bad_field_in_the_message_shape() {
    let h = Harness::new().await;
    let r = invoke(
        &h,
        payables::put,
        put("order", "o-1").json(
            json!({"user_id": "", "email": "nope", "amount": "10.001", "currency": "USD",
            "line_items": [{"name": "x", "amount": 1.5, "quantity": 0}]}),
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["message"], "Validation failed");
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(
        fields,
        vec![
            "user_id",
            "email",
            "amount",
            "line_items.0.amount",
            "line_items.0.quantity"
        ]
    );
    for (amount, currency) in [
        ("0", "USD"),
        ("-5", "USD"),
        ("100000000", "USD"),
        ("1.5", "JPY"),
        ("1", "ZZZ"),
    ] {
        let r = invoke(&h, payables::put, put("order", "o-2").json(json!({"user_id": "u", "email": "u@example.com", "amount": amount, "currency": currency}))).await;
        assert_eq!(r.status, 400, "{amount} {currency}: {}", r.body);
    }
    let bad_kind = invoke(
        &h,
        payables::put,
        put("subscription", "o-3").json(json!({})),
    )
    .await;
    assert_eq!(bad_kind.status, 400);
    assert_eq!(bad_kind.body["errors"][0]["field"], "kind");
    let wrong_currency = invoke(
        &h,
        payables::put,
        put("order", "o-4").json(
            json!({"user_id": "u", "email": "u@example.com", "amount": "1", "currency": "USD",
            "line_items": [{"name": "x", "amount": 100, "currency": "EUR", "quantity": 1}]}),
        ),
    )
    .await;
    assert_eq!(wrong_currency.status, 400);
    // None of these created anything.
    for id in ["o-1", "o-2", "o-3", "o-4"] {
        let r = invoke(
            &h,
            payables::get,
            call(Method::GET, "/")
                .api_key(API_KEY)
                .param("kind", "order")
                .param("id", id),
        )
        .await;
        assert_eq!(r.status, 404, "{id}");
    }
}

#[tokio::test]
async fn requires_a_configured_api_key() {
    let h = Harness::new().await;
    for key in [None, Some("wrong"), Some("")] {
        let mut c = call(Method::GET, "/")
            .param("kind", "order")
            .param("id", "x");
        if let Some(k) = key {
            c = c.api_key(k);
        }
        let r = invoke(&h, payables::get, c).await;
        assert_eq!(r.status, 401, "{key:?}");
        assert_eq!(r.body, json!({"message": "Invalid API key"}));
    }
    let r = invoke(
        &h,
        payables::put,
        call(Method::PUT, "/")
            .param("kind", "order")
            .param("id", "x")
            .as_user("u")
            .json(json!({})),
    )
    .await;
    assert_eq!(r.status, 401, "a user token is not a service key");
}

#[tokio::test]
async fn paid_payables_are_final_and_open_intents_pin_the_amount() {
    let h = Harness::new().await;
    let (user, reg, intent, code) = awaiting_code(&h).await;
    let same = json!({"user_id": user, "email": format!("{user}@example.com"), "amount": "112.00", "currency": "USD", "description": "Renamed"});
    let mut dearer = same.clone();
    dearer["amount"] = json!("500");
    let locked = invoke(
        &h,
        payables::put,
        put("registration", &reg).json(dearer.clone()),
    )
    .await;
    assert_eq!(locked.status, 409, "{}", locked.body);
    assert!(
        locked.body["message"]
            .as_str()
            .expect("message")
            .contains(&intent)
    );
    let renamed = invoke(
        &h,
        payables::put,
        put("registration", &reg).json(same.clone()),
    )
    .await;
    assert_eq!(
        renamed.status, 200,
        "same amount may change its description: {}",
        renamed.body
    );
    assert_eq!(renamed.body["open_intent_id"], intent.as_str());

    assert_eq!(confirm(&h, &user, &intent, &code).await.status, 200);
    let after = invoke(&h, payables::put, put("registration", &reg).json(same)).await;
    assert_eq!(after.status, 409);
    assert_eq!(
        after.body["message"],
        format!("registration/{reg} is paid and cannot be changed")
    );
}

#[tokio::test]
async fn put_honours_idempotency_keys() {
    let h = Harness::new().await;
    let id = unique("INV");
    let body = json!({"user_id": "u", "email": "u@example.com", "amount": "3", "currency": "KWD"});
    let first = invoke(
        &h,
        payables::put,
        put("invoice", &id)
            .header("idempotency-key", "k1")
            .json(body.clone()),
    )
    .await;
    assert_eq!(first.status, 201);
    assert_eq!(first.body["amount"], "3.000");
    let again = invoke(
        &h,
        payables::put,
        put("invoice", &id)
            .header("idempotency-key", "k1")
            .json(body),
    )
    .await;
    assert_eq!(again.status, 201, "the first response is replayed");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
}

#[tokio::test]
async fn bodies_over_64_kib_are_refused_in_the_message_shape() {
    let h = Harness::new().await;
    let big = format!(r#"{{"description": "{}"}}"#, "x".repeat(64 * 1024));
    let r = invoke(&h, payables::put, put("order", "o-big").raw(&big)).await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.body["message"].is_string(), "{}", r.body);
    let absent = invoke(
        &h,
        payables::get,
        call(Method::GET, "/api/v1/payables/order/o-big")
            .api_key(API_KEY)
            .param("kind", "order")
            .param("id", "o-big"),
    )
    .await;
    assert_eq!(absent.status, 404, "nothing was stored: {}", absent.body);
}

#[tokio::test]
async fn line_items_and_text_are_bounded() {
    let h = Harness::new().await;
    let item = json!({"name": "x", "amount": 1, "quantity": 1});
    let base =
        json!({"user_id": "u", "email": "u@example.com", "amount": "1.01", "currency": "USD"});
    let mut too_many = base.clone();
    too_many["line_items"] = json!(vec![item.clone(); 101]);
    let r = invoke(&h, payables::put, put("order", "o-many").json(too_many)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "line_items");
    let mut long = base.clone();
    long["description"] = json!("d".repeat(1001));
    let r = invoke(&h, payables::put, put("order", "o-long").json(long)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "description");
    let mut at_limits = base;
    at_limits["amount"] = json!("1.00");
    at_limits["line_items"] = json!(vec![item; 100]);
    at_limits["description"] = json!("d".repeat(1000));
    let r = invoke(&h, payables::put, put("order", "o-limits").json(at_limits)).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn the_owner_stays_once_intents_exist() {
    let h = Harness::new().await;
    let (user, reg, intent, _) = awaiting_code(&h).await;
    let canceled = invoke(
        &h,
        payment_shared::surfaces::intents::cancel,
        call(Method::POST, "/")
            .as_user(&user)
            .json(json!({"intent_id": intent})),
    )
    .await;
    // Ended, yet it still names the owner and their email.
    assert_eq!(canceled.status, 200, "{}", canceled.body);
    let stranger = unique("new-owner");
    let moved = json!({"user_id": stranger, "email": format!("{stranger}@example.com"), "amount": "112.00", "currency": "USD"});
    let r = invoke(&h, payables::put, put("registration", &reg).json(moved)).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body["message"]
            .as_str()
            .expect("message")
            .contains("owner cannot change"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn a_business_id_is_an_unsigned_64_bit_integer_and_nothing_else() {
    let h = Harness::new().await;
    let id = unique("ORD");
    for bad in [
        json!("123456"),
        json!(-1),
        json!(1.5),
        json!(true),
        serde_json::from_str::<serde_json::Value>("18446744073709551616").expect("json"),
        serde_json::from_str::<serde_json::Value>("1e3").expect("json"),
    ] {
        let body = json!({
            "user_id": "u-1", "email": "u-1@example.com", "amount": "10", "currency": "USD",
            "business_id": bad,
        });
        let r = invoke(&h, payables::put, put("order", &id).json(body)).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(r.body["errors"][0]["field"], "business_id", "{}", r.body);
    }
    let body = json!({
        "user_id": "u-1", "email": "u-1@example.com", "amount": "10", "currency": "USD",
        "business_id": 0,
    });
    let r = invoke(&h, payables::put, put("order", &id).json(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["business_id"], 0);
}
