//! No secret, token or OTP appears in a log, even at the most verbose level.

use std::io::Write;
use std::sync::{Arc, Mutex};

use integration_tests::flows::*;
use integration_tests::*;

/// What a log subscriber wrote.
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("log buffer").clone()).expect("utf-8")
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_whole_flow_logs_no_code_token_or_secret() {
    let alone = Harness::alone().await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = payment_shared::telemetry::subscriber("trace", move || writer.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    // While only one subscriber exists, tracing decides whether a log line is
    // wanted by asking the thread that reaches it first; other tests reach the
    // pipeline's lines on threads without one, and would silence them here too.
    // A second, silent subscriber makes it ask every subscriber instead.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());

    let h = Harness::while_alone(&alone).await;
    let (user, _, intent, code) = awaiting_code(&h).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    confirm(&h, &user, &intent, wrong).await;
    assert_eq!(confirm(&h, &user, &intent, &code).await.status, 200);
    stripe_payment(&h).await;
    let webhook_secret = delivery_to_a_rotated_endpoint(&h).await;

    let logs = captured.text();
    assert!(
        logs.contains("payment succeeded"),
        "the flow was logged at all"
    );
    assert!(logs.contains("webhook attempt"), "the delivery was logged");
    assert!(
        logs.contains("connection_refused"),
        "the attempt's reason, not its error's text: {logs}"
    );
    assert!(
        logs.contains(r#""status":200"#) && logs.contains("latency_ms"),
        "one line per request: {logs}"
    );
    // A bare six-digit code could match a timestamp by chance; look for it where a leak would put it.
    let email = format!("{user}@example.com");
    let leaks = [
        email.clone(),
        email.replace('@', "%40"),
        format!("+{code}"),
        format!("%20{code}"),
        format!(" {code}"),
        "code is ".to_owned(),
        "otp_code".to_owned(),
        format!("\"{code}\""),
        format!("\\\"{code}\\\""),
        format!("={code}"),
        JWT_SECRET.to_owned(),
        API_KEY.to_owned(),
        PEPPER.to_owned(),
        STRIPE_SECRET_KEY.to_owned(),
        "Bearer ".to_owned(),
        webhook_secret,
        "whsec_".to_owned(),
        // Where the refused delivery went, and the system's words for it.
        "127.0.0.1:9/hooks".to_owned(),
        "Connection refused".to_owned(),
        "os error".to_owned(),
    ];
    for leak in leaks {
        assert!(!logs.contains(&leak), "log contains {leak}");
    }
}

/// A webhook endpoint created (its secret in the answer), its secret
/// rotated, and an event delivered to it, signed with both; returns the
/// first secret.
async fn delivery_to_a_rotated_endpoint(h: &Harness) -> String {
    use lambda_http::http::Method;
    use payment_shared::surfaces::deliveries::{
        StreamBatch, StreamChange, StreamRecord, StreamValue, dispatch,
    };
    use serde_json::json;

    let created = invoke(
        h,
        payment_shared::surfaces::webhook_endpoints::put,
        call(Method::PUT, "/api/v1/webhook-endpoints/hygiene")
            .api_key(API_KEY)
            .param("id", "hygiene")
            // Nothing listens there: the attempt fails, and is logged.
            .json(json!({"url": "http://127.0.0.1:9/hooks", "enabled_events": ["*"]})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    // Its secret rotated (and the rotation replayed): the delivery below is
    // signed with both secrets, and no log line holds either.
    for _ in 0..2 {
        let rotated = invoke(
            h,
            payment_shared::surfaces::webhook_endpoints::rotate_secret,
            call(
                Method::POST,
                "/api/v1/webhook-endpoints/hygiene/rotate-secret",
            )
            .api_key(API_KEY)
            .param("id", "hygiene")
            .header("idempotency-key", "rotate-hygiene")
            .json(json!({"expires_in_seconds": 3600})),
        )
        .await;
        assert_eq!(rotated.status, 200, "{}", rotated.body);
    }
    let event = "evt_hygiene00000000000000000";
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    record_order_event(h, event, "payment.created", "pay_hygiene", now).await;
    let record = StreamRecord {
        event_name: "INSERT".into(),
        dynamodb: StreamChange {
            keys: [("pk", format!("EVENT#{event}")), ("sk", "EVENT".into())]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), StreamValue { s: Some(v) }))
                .collect(),
            sequence_number: "1".into(),
        },
    };
    let answer = dispatch(
        h.app.clone(),
        StreamBatch {
            records: vec![record],
        },
    )
    .await
    .expect("dispatched");
    assert!(answer.batch_item_failures.is_empty());
    created.body["secret"].as_str().expect("secret").to_owned()
}

/// A card payment through the Stripe connector (localstripe), which sends the
/// Stripe secret key with every call.
async fn stripe_payment(h: &Harness) {
    use lambda_http::http::Method;
    use payment_shared::surfaces::payment_intents;
    use serde_json::{Value, json};

    let base = env("STRIPE_API_BASE");
    let pm: Value = reqwest::Client::new()
        .post(format!("{base}/v1/payment_methods"))
        .basic_auth(STRIPE_SECRET_KEY, Some(""))
        .form(&[
            ("type", "card"),
            ("card[number]", "4242424242424242"),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2030"),
            ("card[cvc]", "123"),
        ])
        .send()
        .await
        .expect("localstripe answers")
        .json()
        .await
        .expect("a payment method");
    let payer = unique("payer");
    let root = "/api/v1/PaymentIntents";
    let created = invoke(
        h,
        payment_intents::create,
        call(Method::POST, root)
            .as_user(&payer)
            .json(json!({"amount": 5, "currency": "USD", "paymentGatewayId": "stripe"})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().expect("id");
    let confirmed = invoke(
        h,
        payment_intents::confirm,
        call(Method::POST, &format!("{root}/{id}/confirm"))
            .param("id", id)
            .raw(&format!("\"{}\"", pm["id"].as_str().expect("pm id")))
            .as_user(&payer),
    )
    .await;
    assert_eq!(confirmed.body["status"], "Succeeded", "{}", confirmed.body);
}
