//! The sample events in events/ (the ones `cargo lambda invoke --data-file` takes)
//! drive the handlers, parsed by lambda_http exactly as in Lambda.

use integration_tests::*;
use lambda_http::Request;
use lambda_http::http::HeaderValue;
use payment_shared::ports::Clock;
use payment_shared::surfaces::{
    docs, events, intents, payables, payment_intents, payments, refunds, shop,
};
use serde_json::json;

/// Parses an event; swaps its credentials (the local development ones, for
/// `cargo lambda invoke`) for ones this test's app accepts.
fn event(json: &str, bearer_sub: Option<&str>) -> Request {
    let mut req = lambda_http::request::from_str(json).expect("a valid API Gateway v2 event");
    let headers = req.headers_mut();
    if headers.contains_key("x-api-key") {
        headers.insert("x-api-key", HeaderValue::from_static(API_KEY));
    }
    if let Some(sub) = bearer_sub {
        let value = format!("Bearer {}", token(sub, &[]));
        headers.insert(
            "authorization",
            HeaderValue::from_str(&value).expect("header"),
        );
    }
    req
}

async fn run<H, Fut>(h: &Harness, handler: H, req: Request) -> Reply
where
    H: FnOnce(std::sync::Arc<payment_shared::app::App>, Request) -> Fut,
    Fut: std::future::Future<Output = lambda_http::Response<lambda_http::Body>>,
{
    Reply::from(handler(h.app.clone(), req).await)
}

#[tokio::test]
async fn valid_events_walk_the_demo_flow() {
    let h = Harness::new().await;
    let root = run(
        &h,
        intents::root,
        event(include_str!("../../events/service-root.json"), None),
    )
    .await;
    assert_eq!(root.status, 200);
    let doc = run(
        &h,
        docs::openapi_json,
        event(include_str!("../../events/docs-openapi.json"), None),
    )
    .await;
    assert_eq!(doc.status, 200);
    let ui = docs::swagger_ui(
        h.app.clone(),
        event(include_str!("../../events/docs-ui.json"), None),
    )
    .await;
    assert_eq!(ui.status(), 200);

    let put = run(
        &h,
        payables::put,
        event(include_str!("../../events/payables-put.json"), None),
    )
    .await;
    assert_eq!(put.status, 201, "{}", put.body);
    let order = run(
        &h,
        payables::put,
        event(
            include_str!("../../events/payables-put-order-line-items.json"),
            None,
        ),
    )
    .await;
    assert_eq!(order.status, 201, "{}", order.body);
    let got = run(
        &h,
        payables::get,
        event(include_str!("../../events/payables-get.json"), None),
    )
    .await;
    assert_eq!(got.body["amount"], "112.00");

    let created = run(
        &h,
        intents::create_intent,
        event(
            include_str!("../../events/intents-create.json"),
            Some("demo-user-1"),
        ),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let base64 = run(
        &h,
        intents::create_intent,
        event(
            include_str!("../../events/intents-create-base64-body.json"),
            Some("demo-user-1"),
        ),
    )
    .await;
    assert_eq!(
        base64.status, 200,
        "a base64 body is decoded: {}",
        base64.body
    );
    assert_eq!(base64.body["intent_id"], created.body["intent_id"]);
    let listed = run(
        &h,
        intents::list_by_user,
        event(
            include_str!("../../events/intents-list-by-user.json"),
            Some("demo-user-1"),
        ),
    )
    .await;
    assert_eq!(listed.body.as_array().expect("list").len(), 1);
    let by_reg = run(
        &h,
        intents::list_by_registration,
        event(
            include_str!("../../events/intents-list-by-registration.json"),
            Some("demo-user-1"),
        ),
    )
    .await;
    assert_eq!(by_reg.status, 200, "{}", by_reg.body);

    // The events name a fixed intent id that does not exist here.
    for (handler_event, expected) in [
        (include_str!("../../events/intents-get.json"), 404),
        (include_str!("../../events/intents-request-otp.json"), 404),
        (include_str!("../../events/intents-confirm.json"), 404),
        (include_str!("../../events/intents-cancel.json"), 404),
        (include_str!("../../events/intents-fail.json"), 404),
    ] {
        let req = event(handler_event, Some("demo-user-1"));
        let route = req.uri().path().to_owned();
        let r = match route.as_str() {
            "/payment/intents/request-otp" => run(&h, intents::request_otp, req).await,
            "/payment/intents/confirm" => run(&h, intents::confirm, req).await,
            "/payment/intents/cancel" => run(&h, intents::cancel, req).await,
            "/payment/intents/fail" => run(&h, intents::fail, req).await,
            _ => run(&h, intents::get_intent, req).await,
        };
        assert_eq!(r.status, expected, "{route}: {}", r.body);
        assert_eq!(r.body, json!({"detail": "Payment intent not found"}));
    }
}

#[tokio::test]
async fn error_events_get_each_surfaces_error_body() {
    let h = Harness::new().await;
    let r = run(
        &h,
        intents::create_intent,
        event(
            include_str!("../../events/intents-create-missing-token.json"),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, 401);
    let r = run(
        &h,
        intents::get_intent,
        event(
            include_str!("../../events/intents-get-missing-token.json"),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, 401);
    let r = run(
        &h,
        intents::get_intent,
        event(
            include_str!("../../events/intents-get-invalid-token.json"),
            None,
        ),
    )
    .await;
    assert_eq!(r.body, json!({"detail": "Invalid or expired token"}));
    let r = run(
        &h,
        intents::create_intent,
        event(
            include_str!("../../events/intents-create-invalid-json.json"),
            Some("u"),
        ),
    )
    .await;
    assert_eq!(
        (r.status, r.body["detail"][0]["type"].as_str()),
        (422, Some("json_invalid"))
    );
    let r = run(
        &h,
        intents::request_otp,
        event(
            include_str!("../../events/intents-request-otp-missing-intent-id.json"),
            Some("u"),
        ),
    )
    .await;
    assert_eq!(
        (r.status, r.body["detail"][0]["type"].as_str()),
        (422, Some("missing"))
    );
    let r = run(
        &h,
        intents::confirm,
        event(
            include_str!("../../events/intents-confirm-malformed-code.json"),
            Some("u"),
        ),
    )
    .await;
    assert_eq!(r.body["detail"][0]["loc"], json!(["body", "otp_code"]));
    let r = run(
        &h,
        intents::list_by_user,
        event(
            include_str!("../../events/intents-list-by-user-bad-limit.json"),
            Some("u"),
        ),
    )
    .await;
    assert_eq!(r.body["detail"][0]["loc"], json!(["query", "limit"]));
    let r = run(
        &h,
        payables::put,
        event(
            include_str!("../../events/payables-put-missing-api-key.json"),
            None,
        ),
    )
    .await;
    assert_eq!(r.body, json!({"message": "Invalid API key"}));
    let r = run(
        &h,
        payables::put,
        event(
            include_str!("../../events/payables-put-validation-error.json"),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["message"], "Validation failed");
}

#[tokio::test]
async fn payment_and_shop_events_settle_the_demo_order() {
    let h = Harness::new().await;
    let order = run(
        &h,
        payables::put,
        event(
            include_str!("../../events/payables-put-order-line-items.json"),
            None,
        ),
    )
    .await;
    assert_eq!(order.status, 201, "{}", order.body);
    let user = Some("demo-user-2");

    let no_key = run(
        &h,
        shop::create_intent,
        event(
            include_str!("../../events/shop-create-intent-missing-api-key.json"),
            user,
        ),
    )
    .await;
    assert_eq!(no_key.status, 401);
    let bad = run(
        &h,
        payments::create,
        event(
            include_str!("../../events/payments-create-validation-error.json"),
            user,
        ),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["errors"].as_array().expect("errors").len(), 4);

    let pending = run(
        &h,
        payments::create,
        event(include_str!("../../events/payments-create.json"), user),
    )
    .await;
    assert_eq!(pending.status, 201, "{}", pending.body);
    assert_eq!(pending.body["amount"], json!(20));
    let by_service = run(
        &h,
        payments::create,
        event(
            include_str!("../../events/payments-create-completed-by-service.json"),
            None,
        ),
    )
    .await;
    assert_eq!(by_service.status, 201, "{}", by_service.body);

    let mine = run(
        &h,
        payments::list_mine,
        event(include_str!("../../events/payments-list.json"), user),
    )
    .await;
    assert_eq!(mine.body.as_array().expect("list").len(), 2);
    let by_order = run(
        &h,
        payments::list_for_order,
        event(
            include_str!("../../events/payments-list-by-order.json"),
            user,
        ),
    )
    .await;
    assert_eq!(by_order.body.as_array().expect("list").len(), 2);
    let one = run(
        &h,
        payments::get,
        event(include_str!("../../events/payments-get.json"), user),
    )
    .await;
    assert_eq!(
        one.body,
        json!({"message": "Payment not found"}),
        "the event names a payment that does not exist here"
    );

    // Payments hold the order, so it takes no card intent; the payment system settles it.
    let intent = run(
        &h,
        shop::create_intent,
        event(include_str!("../../events/shop-create-intent.json"), user),
    )
    .await;
    assert_eq!(intent.status, 409, "{}", intent.body);
    let paid = run(
        &h,
        shop::mark_paid,
        event(include_str!("../../events/shop-mark-paid.json"), None),
    )
    .await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    assert_eq!(paid.body["data"]["order_status"], "paid");

    // The operator's backend reads what happened: the order paid.
    let listed = run(
        &h,
        events::list,
        event(include_str!("../../events/events-list.json"), None),
    )
    .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let data = listed.body["data"].as_array().expect("data");
    assert_eq!(data.len(), 1, "{}", listed.body);
    assert_eq!(data[0]["type"], "payable.paid");
    assert_eq!(data[0]["data"]["object"]["id"], "ORD-DEMO-1");
    assert_eq!(listed.body["has_more"], false);
}

/// A PaymentIntents API event as `sub` holding `roles` (None: its credentials as they are).
fn staff_event(json: &str, bearer: Option<(&str, &[&str])>) -> Request {
    let mut req = event(json, None);
    if let Some((sub, roles)) = bearer {
        let value = format!("Bearer {}", token(sub, roles));
        req.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&value).expect("header"),
        );
    }
    req
}

#[tokio::test]
async fn payment_intents_events_open_read_and_refuse() {
    let h = Harness::new().await;
    let order = run(
        &h,
        payables::put,
        event(
            include_str!("../../events/payables-put-order-line-items.json"),
            None,
        ),
    )
    .await;
    assert_eq!(order.status, 201, "{}", order.body);
    let payer: Option<(&str, &[&str])> = Some(("demo-user-2", &[]));
    let admin: Option<(&str, &[&str])> = Some(("demo-admin", &["Admin"]));

    let created = run(
        &h,
        payment_intents::create,
        staff_event(
            include_str!("../../events/payment-intents-create.json"),
            payer,
        ),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["orderId"], "ORD-DEMO-1");
    let listed = run(
        &h,
        payment_intents::list,
        staff_event(
            include_str!("../../events/payment-intents-list.json"),
            admin,
        ),
    )
    .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body[0]["id"], created.body["id"]);
    let theirs = run(
        &h,
        payment_intents::list_by_customer,
        staff_event(
            include_str!("../../events/payment-intents-list-by-customer.json"),
            admin,
        ),
    )
    .await;
    assert_eq!(theirs.body[0]["id"], created.body["id"]);
    // These name an intent that does not exist here.
    let missing = [
        run(
            &h,
            payment_intents::get,
            staff_event(include_str!("../../events/payment-intents-get.json"), admin),
        )
        .await,
        run(
            &h,
            payment_intents::confirm,
            staff_event(
                include_str!("../../events/payment-intents-confirm.json"),
                payer,
            ),
        )
        .await,
        run(
            &h,
            payment_intents::cancel,
            staff_event(
                include_str!("../../events/payment-intents-cancel.json"),
                payer,
            ),
        )
        .await,
    ];
    for r in missing {
        assert_eq!(r.status, 404, "{}", r.body);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        assert_eq!(
            r.body["traceId"], "Q1BBWUlOVEVOVFMx",
            "the API Gateway request id"
        );
    }

    let forbidden = run(
        &h,
        payment_intents::list,
        staff_event(
            include_str!("../../events/payment-intents-list-forbidden.json"),
            payer,
        ),
    )
    .await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.body);
    let no_token = run(
        &h,
        payment_intents::create,
        staff_event(
            include_str!("../../events/payment-intents-create-missing-token.json"),
            None,
        ),
    )
    .await;
    assert_eq!(no_token.status, 401, "{}", no_token.body);
    let invalid = run(
        &h,
        payment_intents::create,
        staff_event(
            include_str!("../../events/payment-intents-create-invalid-body.json"),
            payer,
        ),
    )
    .await;
    assert_eq!(invalid.status, 400, "{}", invalid.body);
    let fields: Vec<&String> = invalid.body["errors"]
        .as_object()
        .expect("errors")
        .keys()
        .collect();
    assert_eq!(
        fields,
        ["amount", "paymentGatewayId", "returnUrl"],
        "{}",
        invalid.body
    );

    // The committed webhook sample is signed with the local secret at a fixed
    // time; here it is signed again, now, with this app's.
    let mut delivery = event(
        include_str!("../../events/payment-intents-webhook.json"),
        None,
    );
    let signature = payment_shared::domain::webhook_signature::sign(
        WEBHOOK_SECRET.as_bytes(),
        h.clock.now().unix_timestamp(),
        delivery.body().as_ref(),
    );
    delivery.headers_mut().insert(
        "stripe-signature",
        HeaderValue::from_str(&signature).expect("header"),
    );
    let received = run(&h, payment_intents::webhook, delivery).await;
    assert_eq!(received.status, 200, "{}", received.body);
    assert_eq!(received.body, json!({"received": true}));
    let forged = run(
        &h,
        payment_intents::webhook,
        event(
            include_str!("../../events/payment-intents-webhook-bad-signature.json"),
            None,
        ),
    )
    .await;
    assert_eq!(forged.status, 400, "{}", forged.body);
}

#[tokio::test]
async fn webhook_endpoint_events_create_rotate_read_list_and_delete() {
    use payment_shared::surfaces::webhook_endpoints;
    let h = Harness::new().await;
    let put = run(
        &h,
        webhook_endpoints::put,
        event(
            include_str!("../../events/webhook-endpoints-put.json"),
            None,
        ),
    )
    .await;
    assert_eq!(put.status, 201, "{}", put.body);
    assert!(
        put.body["secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("whsec_"))
    );
    let rotated = run(
        &h,
        webhook_endpoints::rotate_secret,
        event(
            include_str!("../../events/webhook-endpoints-rotate-secret.json"),
            None,
        ),
    )
    .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert!(
        rotated.body["secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("whsec_") && Some(s) != put.body["secret"].as_str())
    );
    let invalid = run(
        &h,
        webhook_endpoints::put,
        event(
            include_str!("../../events/webhook-endpoints-put-validation-error.json"),
            None,
        ),
    )
    .await;
    assert_eq!(invalid.status, 400, "{}", invalid.body);
    assert_eq!(invalid.body["errors"].as_array().map(Vec::len), Some(2));
    let got = run(
        &h,
        webhook_endpoints::get,
        event(
            include_str!("../../events/webhook-endpoints-get.json"),
            None,
        ),
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.body);
    let listed = run(
        &h,
        webhook_endpoints::deliveries,
        event(
            include_str!("../../events/webhook-endpoints-deliveries.json"),
            None,
        ),
    )
    .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["data"], json!([]));
    let deleted = run(
        &h,
        webhook_endpoints::delete,
        event(
            include_str!("../../events/webhook-endpoints-delete.json"),
            None,
        ),
    )
    .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(deleted.body["deleted"], true);
}

#[tokio::test]
async fn refund_events_refund_a_recorded_payment() {
    let h = Harness::new().await;
    let order = run(
        &h,
        payables::put,
        event(
            include_str!("../../events/payables-put-order-line-items.json"),
            None,
        ),
    )
    .await;
    assert_eq!(order.status, 201, "{}", order.body);
    let paid = run(
        &h,
        payments::create,
        event(
            include_str!("../../events/payments-create-completed-by-service.json"),
            None,
        ),
    )
    .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    // The events name a fixed payment: here, the one just recorded.
    let fixed = "0193a0c4-1d2e-7b52-9e1a-4c0f6a1d2e3f";
    let payment = paid.body["id"].as_str().expect("id");
    let at = |json: &str| event(&json.replace(fixed, payment), None);

    let refunded = run(
        &h,
        refunds::create,
        at(include_str!("../../events/refunds-create.json")),
    )
    .await;
    assert_eq!(refunded.status, 201, "{}", refunded.body);
    assert_eq!(refunded.body["amount"], 1000);
    assert_eq!(
        refunded.body["status"], "succeeded",
        "cash goes back at once"
    );
    let listed = run(
        &h,
        refunds::list,
        at(include_str!("../../events/refunds-list.json")),
    )
    .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["data"][0]["id"], refunded.body["id"]);
    let no_key = run(
        &h,
        refunds::create,
        at(include_str!(
            "../../events/refunds-create-missing-api-key.json"
        )),
    )
    .await;
    assert_eq!(no_key.status, 401, "{}", no_key.body);
    let unknown = run(
        &h,
        refunds::list,
        event(include_str!("../../events/refunds-list.json"), None),
    )
    .await;
    assert_eq!(unknown.body, json!({"message": "Payment not found"}));
}

/// Every sample event in events/ (background ones aside) is answered by the
/// handler its binary's line in `payment_shared::routes` names, without a
/// server error: a new endpoint's event is driven here as soon as it exists.
/// On an empty table most answers are refusals (no such intent, a foreign
/// token's 401), each in its API's own error shape.
#[tokio::test]
async fn every_sample_event_is_answered_by_its_binarys_handler() {
    let h = Harness::new().await;
    for (name, path) in sample_events() {
        // events/<binary>.json or events/<binary>-<case>.json
        let binary = payment_shared::routes::BINARIES
            .iter()
            .filter(|b| name == **b || name.starts_with(&format!("{b}-")))
            .max_by_key(|b| b.len())
            .unwrap_or_else(|| panic!("{name}.json is not named after a binary"));
        let text = std::fs::read_to_string(&path).expect("readable");
        let raw: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let bearer = raw["headers"]["authorization"]
            .is_string()
            .then_some("demo-user-1");
        let handler = payment_shared::routes::handler(binary).expect("a routed binary");
        let response = handler(h.app.clone(), event(&text, bearer)).await;
        let status = response.status().as_u16();
        let json = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let body: &[u8] = response.body().as_ref();
        assert!(
            status < 500,
            "{name}.json: {status} {}",
            String::from_utf8_lossy(body)
        );
        if json && !body.is_empty() {
            serde_json::from_slice::<serde_json::Value>(body)
                .unwrap_or_else(|e| panic!("{name}.json: the answer is not JSON: {e}"));
        }
    }
}
