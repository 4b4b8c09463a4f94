//! The OTP payment intents API end to end against DynamoDB Local and the SES emulator.

use integration_tests::flows::*;
use integration_tests::*;
use lambda_http::http::Method;
use payment_shared::domain::{IntentId, PaymentId};
use payment_shared::ports::PaymentStore;
use payment_shared::surfaces::{intents, payables};
use serde_json::json;
use time::Duration;

#[tokio::test]
async fn the_whole_flow_collects_the_payment_once() {
    let h = Harness::new().await;
    let user = unique("payer");
    let reg = unique("REG");
    register(&h, "registration", &reg, &user, "112.00", "USD").await;

    let created = create(&h, &user, &reg).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.body["status"], "requires_confirmation");
    assert!(created.body["message"].is_string());
    let intent = created.body["intent_id"].as_str().expect("id").to_owned();

    let sent = request_otp(&h, &user, &intent).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let expires = sent.body["expires_at"].as_str().expect("expires_at");
    assert!(expires.ends_with('Z') && expires.len() == 24, "{expires}");
    assert_eq!(
        get(&h, &user, &intent).await.body["status"],
        "requires_action"
    );

    let mail = emails_to(&format!("{user}@example.com")).await;
    let text = mail.last().expect("an email").to_string();
    assert!(
        text.contains("112.00 USD"),
        "email states amount and currency: {text}"
    );
    assert!(text.contains(&reg), "email states what is paid: {text}");
    assert!(text.contains("expires"), "email states the expiry: {text}");

    let code = latest_otp(&format!("{user}@example.com")).await;
    let confirmed = confirm(&h, &user, &intent, &code).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert_eq!(confirmed.body["amount"], "112.00");
    assert!(confirmed.body["message"].is_string());
    let payment_id =
        PaymentId::parse(confirmed.body["payment_id"].as_str().expect("payment id")).expect("uuid");

    let payment = h
        .store
        .get_payment(&payment_id)
        .await
        .expect("read")
        .expect("payment stored");
    assert_eq!(payment.amount().minor(), 11200);
    assert_eq!(
        payment.intent_id().map(|i| i.to_string()),
        Some(intent.clone())
    );

    let view = get(&h, &user, &intent).await;
    assert_eq!(view.status, 200);
    for field in [
        "id",
        "created_at",
        "payer_user_id",
        "payer_email",
        "registration_id",
        "amount",
        "status",
        "otp_attempts",
    ] {
        assert!(!view.body[field].is_null(), "{field} in {}", view.body);
    }
    assert_eq!(view.body["status"], "succeeded");
    assert_eq!(view.body["amount"], "112.00");
    assert_eq!(view.body["registration_id"], reg.as_str());
    assert_eq!(view.body["payer_user_id"], user.as_str());
    assert_eq!(view.body["payer_email"], format!("{user}@example.com"));
    assert_eq!(view.body["otp_attempts"], 0);

    let payable = invoke(
        &h,
        payables::get,
        call(Method::GET, "/")
            .api_key(API_KEY)
            .param("kind", "registration")
            .param("id", &reg),
    )
    .await;
    assert_eq!(payable.body["status"], "paid");
    assert!(payable.body["open_intent_id"].is_null());

    // The same code again, or a new intent for a paid registration: nothing more is collected.
    let again = confirm(&h, &user, &intent, &code).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(
        again.body["detail"],
        "cannot move payment intent from succeeded to processing"
    );
    let paid = create(&h, &user, &reg).await;
    assert_eq!(paid.status, 409, "{}", paid.body);
    assert_eq!(
        paid.body["detail"],
        "Registration is paid and cannot be paid"
    );
}

#[tokio::test]
async fn creating_again_returns_the_open_intent_and_a_cancel_frees_the_registration() {
    let h = Harness::new().await;
    let user = unique("payer");
    let reg = unique("REG");
    register(&h, "registration", &reg, &user, "50", "EUR").await;
    let first = create(&h, &user, &reg).await.body["intent_id"].clone();
    let second = create(&h, &user, &reg).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.body["intent_id"], first);

    let canceled = invoke(
        &h,
        intents::cancel,
        call(Method::POST, "/")
            .as_user(&user)
            .json(json!({"intent_id": first})),
    )
    .await;
    assert_eq!(canceled.status, 200, "{}", canceled.body);
    assert_eq!(canceled.body["status"], "canceled");
    let twice = invoke(
        &h,
        intents::cancel,
        call(Method::POST, "/")
            .as_user(&user)
            .json(json!({"intent_id": first})),
    )
    .await;
    assert_eq!(twice.status, 409);
    assert_eq!(
        twice.body["detail"],
        "cannot move payment intent from canceled to canceled"
    );
    let fail_after = invoke(
        &h,
        intents::fail,
        call(Method::POST, "/")
            .as_user(&user)
            .json(json!({"intent_id": first})),
    )
    .await;
    assert_eq!(
        fail_after.body["detail"],
        "cannot move payment intent from canceled to failed"
    );

    let third = create(&h, &user, &reg).await;
    assert_eq!(third.status, 200);
    assert_ne!(
        third.body["intent_id"], first,
        "a canceled intent no longer holds the registration"
    );
}

#[tokio::test]
async fn fail_marks_the_intent_failed_and_frees_the_registration() {
    let h = Harness::new().await;
    let (user, reg, intent, code) = awaiting_code(&h).await;
    let failed = invoke(
        &h,
        intents::fail,
        call(Method::POST, "/")
            .as_user(&user)
            .json(json!({"intent_id": intent})),
    )
    .await;
    assert_eq!(failed.status, 200, "{}", failed.body);
    assert_eq!(failed.body["status"], "failed");
    assert_eq!(
        get(&h, &user, &intent).await.body["failure_reason"],
        "marked_failed_by_customer"
    );
    let late = confirm(&h, &user, &intent, &code).await;
    assert_eq!(
        late.status, 409,
        "a failed intent takes no code: {}",
        late.body
    );
    assert_ne!(
        create(&h, &user, &reg).await.body["intent_id"],
        intent.as_str()
    );
}

#[tokio::test]
async fn wrong_codes_count_and_the_fifth_fails_the_intent() {
    let h = Harness::new().await;
    let (user, _, intent, code) = awaiting_code(&h).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for remaining in (1..=4).rev() {
        let r = confirm(&h, &user, &intent, wrong).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(
            r.body["detail"],
            format!("Invalid OTP code; {remaining} attempt(s) remaining")
        );
    }
    assert_eq!(get(&h, &user, &intent).await.body["otp_attempts"], 4);
    let fifth = confirm(&h, &user, &intent, wrong).await;
    assert_eq!(fifth.status, 400);
    assert!(
        fifth.body["detail"]
            .as_str()
            .expect("detail")
            .contains("has failed")
    );
    let view = get(&h, &user, &intent).await.body;
    assert_eq!(view["status"], "failed");
    assert_eq!(view["otp_attempts"], 5);
    assert_eq!(view["failure_reason"], "otp_attempts_exceeded");
    // Even the right code is now refused.
    assert_eq!(confirm(&h, &user, &intent, &code).await.status, 400);
}

#[tokio::test]
async fn codes_expire_and_resends_are_limited() {
    let h = Harness::new().await;
    let (user, _, intent, first) = awaiting_code(&h).await;

    let early = request_otp(&h, &user, &intent).await;
    assert_eq!(early.status, 429, "{}", early.body);

    h.clock.advance(Duration::seconds(31));
    assert_eq!(request_otp(&h, &user, &intent).await.status, 200);
    let second = latest_otp(&format!("{user}@example.com")).await;
    let wrong_guesses = u64::from(second != first);
    if second != first {
        assert_eq!(
            confirm(&h, &user, &intent, &first).await.status,
            400,
            "a new code replaces the old one"
        );
    }
    for _ in 0..3 {
        h.clock.advance(Duration::seconds(31));
        assert_eq!(request_otp(&h, &user, &intent).await.status, 200);
    }
    h.clock.advance(Duration::seconds(31));
    let sixth = request_otp(&h, &user, &intent).await;
    assert_eq!(sixth.status, 429, "at most five sends: {}", sixth.body);

    let latest = latest_otp(&format!("{user}@example.com")).await;
    h.clock.advance(Duration::minutes(5));
    let expired = confirm(&h, &user, &intent, &latest).await;
    assert_eq!(expired.status, 400);
    assert_eq!(
        expired.body["detail"],
        "the code has expired; request a new one"
    );
    assert_eq!(
        get(&h, &user, &intent).await.body["otp_attempts"],
        wrong_guesses,
        "an expired code is not a wrong guess"
    );
}

#[tokio::test]
async fn confirming_before_a_code_was_requested_is_a_conflict() {
    let h = Harness::new().await;
    let user = unique("payer");
    let reg = unique("REG");
    register(&h, "registration", &reg, &user, "10", "USD").await;
    let intent = create(&h, &user, &reg).await.body["intent_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = confirm(&h, &user, &intent, "123456").await;
    assert_eq!(r.status, 409);
    assert_eq!(
        r.body["detail"],
        "cannot move payment intent from requires_confirmation to processing"
    );
}

#[tokio::test]
async fn lists_are_newest_first_and_filter_by_status() {
    let h = Harness::new().await;
    let user = unique("payer");
    let mut regs = Vec::new();
    for _ in 0..3 {
        let reg = unique("REG");
        register(&h, "registration", &reg, &user, "20", "USD").await;
        regs.push(reg);
    }
    let mut ids = Vec::new();
    for reg in &regs {
        ids.push(
            create(&h, &user, reg).await.body["intent_id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    invoke(
        &h,
        intents::cancel,
        call(Method::POST, "/")
            .as_user(&user)
            .json(json!({"intent_id": ids[1]})),
    )
    .await;

    let list = |status: Option<&str>| {
        let mut c = call(Method::GET, "/")
            .as_user(&user)
            .param("user_id", &user);
        if let Some(s) = status {
            c = c.query("status", s);
        }
        invoke(&h, intents::list_by_user, c)
    };
    let all = list(None).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let got: Vec<&str> = all
        .body
        .as_array()
        .expect("array")
        .iter()
        .map(|i| i["id"].as_str().expect("id"))
        .collect();
    assert_eq!(got, vec![ids[2].as_str(), ids[1].as_str(), ids[0].as_str()]);
    let canceled = list(Some("canceled")).await;
    assert_eq!(canceled.body.as_array().expect("array").len(), 1);
    assert_eq!(canceled.body[0]["id"], ids[1].as_str());
    let bad = list(Some("done")).await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["detail"][0]["loc"], json!(["query", "status"]));

    // Pages of one, following the opaque cursor, give the same order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut c = call(Method::GET, "/")
            .as_user(&user)
            .param("user_id", &user)
            .query("limit", "1");
        if let Some(cur) = &cursor {
            c = c.query("cursor", cur);
        }
        let page = invoke(&h, intents::list_by_user, c).await;
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(
            page.body
                .as_array()
                .expect("array")
                .iter()
                .map(|i| i["id"].as_str().expect("id").to_owned()),
        );
        match page.header("x-next-cursor") {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(seen.len() <= 3, "pagination terminates");
    }
    assert_eq!(seen, vec![ids[2].clone(), ids[1].clone(), ids[0].clone()]);
    let forged = invoke(
        &h,
        intents::list_by_user,
        call(Method::GET, "/")
            .as_user(&user)
            .param("user_id", &user)
            .query("cursor", "bm9wZQ"),
    )
    .await;
    assert_eq!(forged.status, 400);

    let by_reg = invoke(
        &h,
        intents::list_by_registration,
        call(Method::GET, "/")
            .as_user(&user)
            .param("registration_id", &regs[0]),
    )
    .await;
    assert_eq!(by_reg.status, 200);
    assert_eq!(by_reg.body.as_array().expect("array").len(), 1);
    assert_eq!(by_reg.body[0]["id"], ids[0].as_str());
}

#[tokio::test]
async fn other_users_objects_answer_404_on_every_endpoint() {
    let h = Harness::new().await;
    let (owner, reg, intent, code) = awaiting_code(&h).await;
    let stranger = unique("stranger");
    let body = json!({"intent_id": intent});

    let r = create(&h, &stranger, &reg).await;
    assert_eq!(
        (r.status, r.body["detail"].as_str()),
        (404, Some("Registration not found"))
    );
    assert_eq!(request_otp(&h, &stranger, &intent).await.status, 404);
    assert_eq!(confirm(&h, &stranger, &intent, &code).await.status, 404);
    assert_eq!(get(&h, &stranger, &intent).await.status, 404);
    let r = invoke(
        &h,
        intents::cancel,
        call(Method::POST, "/")
            .as_user(&stranger)
            .json(body.clone()),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = invoke(
        &h,
        intents::fail,
        call(Method::POST, "/")
            .as_user(&stranger)
            .json(body.clone()),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = invoke(
        &h,
        intents::list_by_user,
        call(Method::GET, "/")
            .as_user(&stranger)
            .param("user_id", &owner),
    )
    .await;
    assert_eq!(r.status, 404);
    let r = invoke(
        &h,
        intents::list_by_registration,
        call(Method::GET, "/")
            .as_user(&stranger)
            .param("registration_id", &reg),
    )
    .await;
    assert_eq!(r.status, 404);
    let r = get(&h, &owner, &IntentId::new().to_string()).await;
    assert_eq!(r.body["detail"], "Payment intent not found");

    // Support reads everything but changes nothing; Admin may also cancel.
    let support = token("support-1", &["Support"]);
    let r = invoke(
        &h,
        intents::get_intent,
        call(Method::GET, "/")
            .bearer(&support)
            .param("intent_id", &intent),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = invoke(
        &h,
        intents::list_by_user,
        call(Method::GET, "/")
            .bearer(&support)
            .param("user_id", &owner),
    )
    .await;
    assert_eq!(r.body.as_array().expect("array").len(), 1);
    let r = invoke(
        &h,
        intents::list_by_registration,
        call(Method::GET, "/")
            .bearer(&support)
            .param("registration_id", &reg),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = invoke(
        &h,
        intents::cancel,
        call(Method::POST, "/").bearer(&support).json(body.clone()),
    )
    .await;
    assert_eq!(r.status, 404);
    let admin = token("admin-1", &["Admin"]);
    assert_eq!(
        invoke(
            &h,
            intents::request_otp,
            call(Method::POST, "/").bearer(&admin).json(body.clone())
        )
        .await
        .status,
        404,
        "only the payer receives codes"
    );
    let r = invoke(
        &h,
        intents::cancel,
        call(Method::POST, "/").bearer(&admin).json(body.clone()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        get(&h, &owner, &intent).await.body["cancellation_reason"],
        "requested_by_admin"
    );
    // Nothing the stranger did changed the intent.
    assert_eq!(get(&h, &owner, &intent).await.body["otp_attempts"], 0);
}

#[tokio::test]
async fn every_endpoint_requires_a_valid_token() {
    let h = Harness::new().await;
    let expired = {
        use jsonwebtoken::{EncodingKey, Header};
        let claims =
            json!({"sub": "u", "exp": time::OffsetDateTime::now_utc().unix_timestamp() - 3600});
        jsonwebtoken::encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        )
        .expect("token")
    };
    type H = fn(
        std::sync::Arc<payment_shared::app::App>,
        lambda_http::Request,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = lambda_http::Response<lambda_http::Body>> + Send>,
    >;
    let handlers: Vec<(&str, H)> = vec![
        ("create", |a, r| Box::pin(intents::create_intent(a, r))),
        ("request-otp", |a, r| Box::pin(intents::request_otp(a, r))),
        ("confirm", |a, r| Box::pin(intents::confirm(a, r))),
        ("get", |a, r| Box::pin(intents::get_intent(a, r))),
        ("cancel", |a, r| Box::pin(intents::cancel(a, r))),
        ("list-user", |a, r| Box::pin(intents::list_by_user(a, r))),
        ("list-registration", |a, r| {
            Box::pin(intents::list_by_registration(a, r))
        }),
        ("fail", |a, r| Box::pin(intents::fail(a, r))),
    ];
    for (name, handler) in handlers {
        for auth in [
            None,
            Some("Bearer not-a-jwt".to_owned()),
            Some(format!("Bearer {expired}")),
            Some(format!("Basic {}", token("u", &[]))),
        ] {
            let mut c = call(Method::POST, "/")
                .json(json!({"intent_id": "x", "registration_id": "x", "otp_code": "123456"}));
            if let Some(a) = &auth {
                c = c.header("authorization", a);
            }
            let r = invoke(&h, handler, c).await;
            assert_eq!(r.status, 401, "{name} with {auth:?}");
            assert!(r.body["detail"].is_string());
            assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        }
    }
    let root = invoke(&h, intents::root, call(Method::GET, "/")).await;
    assert_eq!(root.status, 200);
    assert_eq!(root.body["service"], "payment-service");
    assert_eq!(root.body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn bad_bodies_get_fastapi_validation_errors_and_change_nothing() {
    let h = Harness::new().await;
    let (user, _, intent, _) = awaiting_code(&h).await;
    let missing = invoke(
        &h,
        intents::create_intent,
        call(Method::POST, "/").as_user(&user).json(json!({})),
    )
    .await;
    assert_eq!(missing.status, 422);
    assert_eq!(
        missing.body,
        json!({"detail": [{"loc": ["body", "registration_id"], "msg": "Field required", "type": "missing"}]})
    );
    let both = invoke(
        &h,
        intents::confirm,
        call(Method::POST, "/")
            .as_user(&user)
            .json(json!({"intent_id": 5})),
    )
    .await;
    assert_eq!(both.status, 422);
    let locs: Vec<_> = both.body["detail"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| (d["loc"].clone(), d["type"].clone()))
        .collect();
    assert_eq!(
        locs,
        vec![
            (json!(["body", "intent_id"]), json!("string_type")),
            (json!(["body", "otp_code"]), json!("missing"))
        ]
    );
    let not_json = invoke(
        &h,
        intents::request_otp,
        call(Method::POST, "/").as_user(&user).raw("{nope"),
    )
    .await;
    assert_eq!(not_json.status, 422);
    assert_eq!(not_json.body["detail"][0]["type"], "json_invalid");
    let short = confirm(&h, &user, &intent, "12ab").await;
    assert_eq!(short.status, 422);
    assert_eq!(short.body["detail"][0]["loc"], json!(["body", "otp_code"]));
    let bad_reg = invoke(
        &h,
        intents::create_intent,
        call(Method::POST, "/")
            .as_user(&user)
            .json(json!({"registration_id": "a/b"})),
    )
    .await;
    assert_eq!(bad_reg.status, 422);
    assert_eq!(
        get(&h, &user, &intent).await.body["otp_attempts"],
        0,
        "malformed codes are not counted"
    );
}

#[tokio::test]
async fn idempotency_keys_replay_refuse_mismatches_and_are_per_caller() {
    let h = Harness::new().await;
    let user = unique("payer");
    let reg = unique("REG");
    register(&h, "registration", &reg, &user, "75.50", "USD").await;
    let key = unique("key");
    let post = |who: &str, body: serde_json::Value| {
        invoke(
            &h,
            intents::create_intent,
            call(Method::POST, "/payment/intents")
                .as_user(who)
                .header("idempotency-key", &key)
                .json(body),
        )
    };
    let first = post(&user, json!({"registration_id": reg})).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("idempotent-replayed"), None);
    let replay = post(&user, json!({"registration_id": reg})).await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.body, first.body);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    let mismatch = post(&user, json!({"registration_id": "other"})).await;
    assert_eq!(mismatch.status, 422);
    assert!(
        mismatch.body["detail"]
            .as_str()
            .expect("detail")
            .contains("Idempotency-Key")
    );
    // Another caller's identical key is a different key.
    let other = post(&unique("other"), json!({"registration_id": reg})).await;
    assert_eq!(other.status, 404);
    assert_eq!(other.header("idempotent-replayed"), None);
    let too_long = invoke(
        &h,
        intents::create_intent,
        call(Method::POST, "/")
            .as_user(&user)
            .header("idempotency-key", &"k".repeat(256))
            .json(json!({"registration_id": reg})),
    )
    .await;
    assert_eq!(too_long.status, 400);

    // A replayed confirm does not send or collect anything twice.
    let intent = first.body["intent_id"].as_str().expect("id").to_owned();
    request_otp(&h, &user, &intent).await;
    let code = latest_otp(&format!("{user}@example.com")).await;
    let ckey = unique("confirm");
    let c = || {
        invoke(
            &h,
            intents::confirm,
            call(Method::POST, "/")
                .as_user(&user)
                .header("idempotency-key", &ckey)
                .json(json!({"intent_id": intent, "otp_code": code})),
        )
    };
    let one = c().await;
    let two = c().await;
    assert_eq!(one.status, 200);
    assert_eq!(two.body["payment_id"], one.body["payment_id"]);
    assert_eq!(two.header("idempotent-replayed"), Some("true"));
}

#[tokio::test]
async fn bodies_over_64_kib_are_refused_before_anything_else() {
    let h = Harness::new().await;
    let big = format!(r#"{{"registration_id": "{}"}}"#, "x".repeat(64 * 1024));
    let r = invoke(
        &h,
        intents::create_intent,
        call(Method::POST, "/payment/intents")
            .as_user("u")
            .raw(&big),
    )
    .await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.body["detail"].is_string(), "{}", r.body);
}

#[tokio::test]
async fn a_tampered_cursor_is_refused() {
    let h = Harness::new().await;
    let user = unique("payer");
    for _ in 0..2 {
        let reg = unique("REG");
        register(&h, "registration", &reg, &user, "20", "USD").await;
        assert_eq!(create(&h, &user, &reg).await.status, 200);
    }
    let list = |cursor: Option<&str>| {
        let mut c = call(Method::GET, "/")
            .as_user(&user)
            .param("user_id", &user)
            .query("limit", "1");
        if let Some(cursor) = cursor {
            c = c.query("cursor", cursor);
        }
        invoke(&h, intents::list_by_user, c)
    };
    let first = list(None).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let cursor = first
        .header("x-next-cursor")
        .expect("a next page")
        .to_owned();
    assert_eq!(list(Some(&cursor)).await.status, 200);
    let last = cursor.chars().last().expect("not empty");
    let forged = format!(
        "{}{}",
        &cursor[..cursor.len() - 1],
        if last == 'A' { 'B' } else { 'A' }
    );
    let r = list(Some(&forged)).await;
    assert_eq!(r.status, 400, "{}", r.body);
}
