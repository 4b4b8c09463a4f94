//! What each cold start is handed: the function's sample event, pointed at
//! data that exists. A sample event names ids from the documentation (an
//! intent, a payment, an order) that a fresh table does not hold, so as it
//! is it would only measure a 404. Before a function's runs, the data each
//! run needs is created through the local API (a new intent per run where
//! the run ends or changes it) and the event's ids are replaced by the new
//! ones; the partner request and the gateway's webhook are signed anew.

use payment_shared::auth::sign_partner_request;
use payment_shared::domain::webhook_signature;
use serde_json::{Value, json};

use super::warm::{Answer, Client, token};

/// The ids the sample events use, as they appear in `events/*.json`.
const SAMPLE_INTENT: &str = "0193a5b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b";
const SAMPLE_GATEWAY_INTENT: &str = "0193f2a4-7c1e-7b61-9d2a-5e8f3c4b2a10";
const SAMPLE_PAYMENT: &str = "4b68917d-4452-4d18-9012-47e843f05c15";
const SAMPLE_PARTNER_PAYMENT: &str = "0193a0c4-4f1c-7b52-9e1a-4c0f6a1d2e3f";
const SAMPLE_REFUNDED_PAYMENT: &str = "0193a0c4-1d2e-7b52-9e1a-4c0f6a1d2e3f";
const SAMPLE_ENDPOINT: &str = "demo-receiver";
const SAMPLE_EVENT: &str = "evt_DemoSample0000000000000001";
const SAMPLE_ORDER: &str = "ORD-DEMO-1";
const SAMPLE_REGISTRATION: &str = "REG-DEMO-1";
const SAMPLE_OTP: &str = "123456";

/// One event per run for `binary`, from its sample `text` (pass one run
/// more than the cold starts to keep one for counting the DynamoDB calls).
pub async fn events(
    client: &mut Client,
    tokens: &[(&str, String)],
    binary: &str,
    text: &str,
    runs: usize,
) -> Result<Vec<String>, String> {
    let mut events = Vec::with_capacity(runs);
    for run in 0..runs {
        let name = format!("{binary}-{run}-{}", std::process::id());
        let event = match binary {
            "intents-get" | "intents-cancel" | "intents-fail" | "intents-request-otp" => {
                let intent = otp_intent(client, tokens, &name).await?;
                text.replace(SAMPLE_INTENT, &intent)
            }
            "intents-confirm" => {
                let intent = otp_intent(client, tokens, &name).await?;
                let code = otp_sent_for(client, tokens, &intent).await?;
                text.replace(SAMPLE_INTENT, &intent)
                    .replace(SAMPLE_OTP, &code)
            }
            "payment-intents-get" | "payment-intents-confirm" | "payment-intents-cancel" => {
                let (intent, _) = card_intent(client, tokens).await?;
                text.replace(SAMPLE_GATEWAY_INTENT, &intent)
                    .replace("confirm-1", &name)
            }
            "intents-create" => {
                let registration = registration(client, &name).await?;
                text.replace(SAMPLE_REGISTRATION, &registration)
            }
            "shop-mark-paid" => {
                let order = order(client, &name).await?;
                shop_intent(client, tokens, &order).await?;
                text.replace(SAMPLE_ORDER, &order)
            }
            "payment-intents-create" => {
                let order = order(client, &name).await?;
                text.replace(SAMPLE_ORDER, &order)
                    .replace("pi-ORD-DEMO-1-1", &name)
            }
            "payments-create" | "shop-create-intent" => {
                let order = order(client, &name).await?;
                text.replace(SAMPLE_ORDER, &order)
            }
            "payments-get" => {
                let payment = payment(client, &name).await?;
                text.replace(SAMPLE_PAYMENT, &payment)
            }
            "partner-payment-detail" => {
                let payment = payment(client, &name).await?;
                signed_partner_request(&text.replace(SAMPLE_PARTNER_PAYMENT, &payment), run)?
            }
            "payment-intents-webhook" => {
                let (_, gateway_intent) = card_intent(client, tokens).await?;
                signed_webhook(text, &gateway_intent, &name)?
            }
            "refunds-create" | "refunds-list" => {
                let payment = payment(client, &name).await?;
                if binary == "refunds-list" {
                    refund(client, &payment).await?;
                }
                text.replace(SAMPLE_REFUNDED_PAYMENT, &payment)
            }
            // A new endpoint's id: the sample's first run would create it,
            // every later one replace it.
            "webhook-endpoints-put" => text.replace(SAMPLE_ENDPOINT, &name),
            "webhook-endpoints-get"
            | "webhook-endpoints-delete"
            | "webhook-endpoints-rotate-secret"
            | "webhook-endpoints-deliveries" => {
                let endpoint = webhook_endpoint(client, &name).await?;
                text.replace(SAMPLE_ENDPOINT, &endpoint)
            }
            // The newest event of a new payment, sent to one endpoint: the
            // endpoints the other rows made are deleted first, else each
            // event would go to every one of them.
            "webhook-dispatch" => {
                if run == 0 {
                    delete_endpoints_of_other_rows(client).await?;
                    webhook_endpoint(client, &format!("{binary}-{}", std::process::id())).await?;
                }
                let payment = payment(client, &name).await?;
                let event = newest_event_of(client, &payment).await?;
                text.replace(SAMPLE_EVENT, &event)
            }
            _ => text.to_owned(),
        };
        events.push(fresh_idempotency_key(&event, &name)?);
    }
    Ok(events)
}

/// A sample's Idempotency-Key, new for each run: the same key again would
/// measure the replay of the first run's answer, not the request.
fn fresh_idempotency_key(text: &str, name: &str) -> Result<String, String> {
    let mut event: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    match event["headers"].get_mut("idempotency-key") {
        Some(key) => {
            *key = json!(format!("bench-{name}"));
            Ok(event.to_string())
        }
        None => Ok(text.to_owned()),
    }
}

fn service_key() -> String {
    std::env::var("SERVICE_API_KEY")
        .unwrap_or_default()
        .split(',')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// `method path` as the operator's backend sends it (with the service API
/// key), `body` as JSON.
async fn as_service(
    client: &mut Client,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Answer, String> {
    let key = service_key();
    let headers = [("x-api-key", key.as_str())];
    client
        .send(method, path, &headers, body.map(|b| b.to_string()))
        .await
}

/// A POST of `body` (JSON) by the demo user whose token is `user` in
/// `tokens` (`TOKEN_USER1`, …).
async fn post_as(
    client: &mut Client,
    tokens: &[(&str, String)],
    user: &str,
    path: &str,
    body: Value,
) -> Result<Answer, String> {
    let payer = token(tokens, user)?;
    let headers = [("authorization", payer.as_str())];
    client
        .send("POST", path, &headers, Some(body.to_string()))
        .await
}

fn created(what: &str, answer: &Answer, field: &str) -> Result<String, String> {
    answer.body[field]
        .as_str()
        .map(str::to_owned)
        .filter(|_| (200..300).contains(&answer.status))
        .ok_or_else(|| format!("{what}: {} {}", answer.status, answer.body))
}

/// A new registration of demo-user-1 with an open OTP intent.
async fn otp_intent(
    client: &mut Client,
    tokens: &[(&str, String)],
    name: &str,
) -> Result<String, String> {
    let registration = registration(client, name).await?;
    let body = json!({"registration_id": registration});
    let answer = post_as(client, tokens, "TOKEN_USER1", "/payment/intents", body).await?;
    created("OTP intent", &answer, "intent_id")
}

/// A new open registration of demo-user-1.
async fn registration(client: &mut Client, name: &str) -> Result<String, String> {
    let registration = format!("REG-{name}");
    let body = json!({"user_id": "demo-user-1", "email": "demo-user-1@example.com",
        "amount": "112.00", "currency": "USD", "description": "Bench registration"});
    put_payable(client, "registration", registration, body).await
}

/// The shop's card intent for demo-user-2's `order`.
async fn shop_intent(
    client: &mut Client,
    tokens: &[(&str, String)],
    order: &str,
) -> Result<(), String> {
    let payer = token(tokens, "TOKEN_USER2")?;
    let key = service_key();
    let answer = client
        .send(
            "POST",
            &format!("/api/v1/shop/orders/{order}/payment-intent"),
            &[
                ("authorization", payer.as_str()),
                ("x-api-key", key.as_str()),
            ],
            None,
        )
        .await?;
    created("shop intent", &answer, "message").map(|_| ())
}

/// Sends the intent's code and reads it back from the SES emulator.
async fn otp_sent_for(
    client: &mut Client,
    tokens: &[(&str, String)],
    intent: &str,
) -> Result<String, String> {
    let body = json!({"intent_id": intent});
    let answer = post_as(
        client,
        tokens,
        "TOKEN_USER1",
        "/payment/intents/request-otp",
        body,
    )
    .await?;
    if !(200..300).contains(&answer.status) {
        return Err(format!("request-otp: {} {}", answer.status, answer.body));
    }
    let url = std::env::var("SES_EMULATOR_URL").map_err(|_| "SES_EMULATOR_URL is not set")?;
    let port = url
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .ok_or_else(|| format!("no port in SES_EMULATOR_URL {url}"))?;
    let answer = crate::stack::http_probe::get(port, "/store")
        .ok_or_else(|| format!("the SES emulator at {url} does not answer"))?;
    let store: Value =
        serde_json::from_str(&answer.body).map_err(|e| format!("{url}/store: {e}"))?;
    let text = store["emails"]
        .as_array()
        .and_then(|emails| {
            emails
                .iter()
                .rev()
                .map(Value::to_string)
                .find(|m| m.contains("demo-user-1@example.com"))
        })
        .ok_or("no OTP email for demo-user-1")?;
    let start = text.find("code is ").ok_or("the email states no code")? + "code is ".len();
    text.get(start..start + 6)
        .map(str::to_owned)
        .ok_or_else(|| "a short code".to_owned())
}

/// A standalone test-gateway intent of demo-user-2: its id and the
/// gateway's id for it.
async fn card_intent(
    client: &mut Client,
    tokens: &[(&str, String)],
) -> Result<(String, String), String> {
    let body = json!({"amount": 25.5, "currency": "USD"});
    let answer = post_as(
        client,
        tokens,
        "TOKEN_USER2",
        "/api/v1/PaymentIntents",
        body,
    )
    .await?;
    Ok((
        created("card intent", &answer, "id")?,
        created("card intent", &answer, "gatewayIntentId")?,
    ))
}

/// An open order of demo-user-2 (business 123456).
async fn order(client: &mut Client, name: &str) -> Result<String, String> {
    let order = format!("ORD-{name}");
    let body = json!({"user_id": "demo-user-2", "email": "demo-user-2@example.com",
        "amount": "50.00", "currency": "USD", "business_id": 123456,
        "description": "Bench order"});
    put_payable(client, "order", order, body).await
}

/// Puts the payable `id` of `kind` (as the payables API spells it) as the
/// operator's backend; answers its id.
async fn put_payable(
    client: &mut Client,
    kind: &str,
    id: String,
    body: Value,
) -> Result<String, String> {
    let path = format!("/api/v1/payables/{kind}/{id}");
    let answer = as_service(client, "PUT", &path, Some(body)).await?;
    if (200..300).contains(&answer.status) {
        Ok(id)
    } else {
        Err(format!("{kind}: {} {}", answer.status, answer.body))
    }
}

/// A COMPLETED payment of demo-user-2 on a new order of business 123456.
async fn payment(client: &mut Client, name: &str) -> Result<String, String> {
    let order = order(client, name).await?;
    let body = json!({"amount": 50, "orderId": order, "paymentMethod": "Bank Transfer",
        "status": "COMPLETED"});
    let answer = as_service(client, "POST", "/payment", Some(body)).await?;
    created("payment", &answer, "id")
}

/// A refund of 10.00 of `payment` (recorded without a gateway).
async fn refund(client: &mut Client, payment: &str) -> Result<String, String> {
    let answer = as_service(
        client,
        "POST",
        &format!("/api/v1/payments/{payment}/refunds"),
        Some(json!({"amount": 1000})),
    )
    .await?;
    created("refund", &answer, "id")
}

/// A webhook endpoint for every event type, on a local URL nothing listens
/// at: the dispatch's run records a failed attempt, as it would for an
/// endpoint that is down.
async fn webhook_endpoint(client: &mut Client, name: &str) -> Result<String, String> {
    let answer = as_service(
        client,
        "PUT",
        &format!("/api/v1/webhook-endpoints/{name}"),
        Some(json!({"url": "http://127.0.0.1:9/bench", "enabled_events": ["*"]})),
    )
    .await?;
    created("webhook endpoint", &answer, "id")
}

/// Deletes the endpoints the webhook endpoint rows' fixtures made (their
/// runs' names, as `events` gives them).
async fn delete_endpoints_of_other_rows(client: &mut Client) -> Result<(), String> {
    for binary in [
        "webhook-endpoints-put",
        "webhook-endpoints-get",
        "webhook-endpoints-rotate-secret",
        "webhook-endpoints-deliveries",
    ] {
        for run in 0..=super::RUNS + 1 {
            let name = format!("{binary}-{run}-{}", std::process::id());
            let answer = as_service(
                client,
                "DELETE",
                &format!("/api/v1/webhook-endpoints/{name}"),
                None,
            )
            .await?;
            if !matches!(answer.status, 200 | 404) {
                return Err(format!("delete {name}: {} {}", answer.status, answer.body));
            }
        }
    }
    Ok(())
}

/// The id of the newest event of `object_id`.
async fn newest_event_of(client: &mut Client, object_id: &str) -> Result<String, String> {
    let answer = as_service(
        client,
        "GET",
        &format!("/api/v1/events?object_id={object_id}&limit=1"),
        None,
    )
    .await?;
    answer.body["data"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("events of {object_id}: {} {}", answer.status, answer.body))
}

/// The partner request signed now: a signature is good for five minutes,
/// and once. One second apart per run, so no two runs share one.
fn signed_partner_request(text: &str, run: usize) -> Result<String, String> {
    let mut event: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let raw_path = event["rawPath"].as_str().unwrap_or_default().to_owned();
    let t = (time::OffsetDateTime::now_utc().unix_timestamp() - 200 + run as i64).to_string();
    let secret = std::env::var("PARTNER_CLIENTS")
        .ok()
        .and_then(|v| v.split(':').nth(1).map(str::to_owned))
        .unwrap_or_default();
    event["headers"]["x-timestamp"] = json!(t);
    event["headers"]["x-signature"] =
        json!(sign_partner_request(&secret, "GET", &raw_path, &t, b""));
    Ok(event.to_string())
}

/// The sample `payment_intent.succeeded`, about `gateway_intent`, with a
/// new event id, signed now.
fn signed_webhook(text: &str, gateway_intent: &str, name: &str) -> Result<String, String> {
    let mut event: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut body: Value = serde_json::from_str(event["body"].as_str().unwrap_or_default())
        .map_err(|e| format!("the webhook sample's body: {e}"))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    body["id"] = json!(format!("evt_{}", name.replace('-', "_")));
    body["created"] = json!(now);
    body["data"]["object"]["id"] = json!(gateway_intent);
    // The amount and currency of the intent it reports on, or none.
    if let Some(object) = body["data"]["object"].as_object_mut() {
        object.remove("amount");
        object.remove("currency");
        object.remove("metadata");
    }
    let body = body.to_string();
    let secret = std::env::var("WEBHOOK_SECRET_TEST").unwrap_or_default();
    let signature = webhook_signature::sign(secret.as_bytes(), now, body.as_bytes());
    event["headers"]["stripe-signature"] = json!(signature);
    event["headers"]["content-length"] = json!(body.len().to_string());
    event["body"] = json!(body);
    Ok(event.to_string())
}
