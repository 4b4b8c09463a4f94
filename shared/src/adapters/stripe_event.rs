//! Webhook events in Stripe's shape, which the test gateway shares:
//! `{"id","type","data":{"object":{"id","amount","currency",
//! "last_payment_error":{"code"},"next_action","metadata":{"intent_id"}}}}`.
//! The body may also arrive as a JSON string holding that JSON.

use serde::Deserialize;

use crate::domain::NextAction;
use crate::ports::{GatewayEvent, GatewayEventKind, WebhookError};

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    object: Object,
}

#[derive(Deserialize)]
struct Object {
    id: String,
    #[serde(default)]
    amount: Option<i64>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    last_payment_error: Option<PaymentError>,
    #[serde(default)]
    next_action: Option<Action>,
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct PaymentError {
    #[serde(default)]
    code: Option<String>,
}

#[derive(Deserialize)]
struct Action {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    redirect_to_url: Option<Redirect>,
}

#[derive(Deserialize)]
struct Redirect {
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    intent_id: Option<String>,
}

fn kind(name: &str) -> GatewayEventKind {
    match name {
        "payment_intent.succeeded" => GatewayEventKind::Succeeded,
        "payment_intent.processing" => GatewayEventKind::Processing,
        "payment_intent.payment_failed" => GatewayEventKind::PaymentFailed,
        "payment_intent.canceled" => GatewayEventKind::Canceled,
        "payment_intent.requires_action" => GatewayEventKind::RequiresAction,
        other => GatewayEventKind::Other(other.to_owned()),
    }
}

fn invalid(e: serde_json::Error) -> WebhookError {
    WebhookError::Payload(e.to_string())
}

/// Reads a delivery's raw body.
pub fn parse(body: &[u8]) -> Result<GatewayEvent, WebhookError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(invalid)?;
    // The PaymentIntents API documents its webhook body as a JSON string.
    let value = match value {
        serde_json::Value::String(inner) => serde_json::from_str(&inner).map_err(invalid)?,
        other => other,
    };
    let event: Event = serde_json::from_value(value).map_err(invalid)?;
    let required = |field: &str, value: &str| {
        if value.trim().is_empty() {
            Err(WebhookError::Payload(format!("{field} is empty")))
        } else {
            Ok(())
        }
    };
    required("id", &event.id)?;
    required("type", &event.kind)?;
    required("data.object.id", &event.data.object.id)?;
    let object = event.data.object;
    Ok(GatewayEvent {
        id: event.id,
        kind: kind(&event.kind),
        gateway_intent_id: object.id,
        amount_minor: object.amount,
        currency: object.currency,
        failure_code: object.last_payment_error.and_then(|e| e.code),
        next_action: object.next_action.map(|a| NextAction {
            kind: a.kind,
            url: a.redirect_to_url.and_then(|r| r.url),
        }),
        intent_id: object.metadata.and_then(|m| m.intent_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUCCEEDED: &str = r#"{"id":"evt_1","type":"payment_intent.succeeded","created":1,
        "data":{"object":{"id":"pi_test_1","object":"payment_intent","status":"succeeded",
        "amount":11200,"currency":"usd","last_payment_error":null,"metadata":{"intent_id":"x"}}}}"#;

    #[test]
    fn reads_every_field_it_uses() {
        let e = parse(SUCCEEDED.as_bytes()).expect("valid");
        assert_eq!(e.id, "evt_1");
        assert_eq!(e.kind, GatewayEventKind::Succeeded);
        assert_eq!(e.gateway_intent_id, "pi_test_1");
        assert_eq!(e.amount_minor, Some(11200));
        assert_eq!(e.currency.as_deref(), Some("usd"));
        assert_eq!(e.failure_code, None);
        assert_eq!(e.intent_id.as_deref(), Some("x"));
    }

    #[test]
    fn a_json_string_holding_the_event_is_read_the_same() {
        let wrapped = serde_json::to_string(SUCCEEDED).expect("string");
        assert_eq!(
            parse(wrapped.as_bytes()).expect("valid"),
            parse(SUCCEEDED.as_bytes()).expect("valid")
        );
    }

    #[test]
    fn only_id_type_and_object_id_are_required() {
        let minimal = r#"{"id":"evt_2","type":"payment_intent.payment_failed","data":{"object":{"id":"pi_1",
            "last_payment_error":{"code":"card_declined","message":"no"},
            "next_action":{"type":"redirect_to_url","redirect_to_url":{"url":"https://x"}}}}}"#;
        let e = parse(minimal.as_bytes()).expect("valid");
        assert_eq!(e.kind, GatewayEventKind::PaymentFailed);
        assert_eq!(e.failure_code.as_deref(), Some("card_declined"));
        assert_eq!(
            e.next_action.and_then(|a| a.url).as_deref(),
            Some("https://x")
        );
        for bad in [
            r#"{"type":"payment_intent.succeeded","data":{"object":{"id":"pi_1"}}}"#,
            r#"{"id":"evt","data":{"object":{"id":"pi_1"}}}"#,
            r#"{"id":"evt","type":"payment_intent.succeeded","data":{"object":{}}}"#,
            r#"{"id":"","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1"}}}"#,
            r#"{"id":"evt","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","amount":1.5}}}"#,
            r#""not json""#,
            "",
            "[]",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn unhandled_types_are_kept_by_name() {
        let other = r#"{"id":"evt","type":"charge.refunded","data":{"object":{"id":"ch_1"}}}"#;
        assert_eq!(
            parse(other.as_bytes()).expect("valid").kind,
            GatewayEventKind::Other("charge.refunded".into())
        );
    }
}
