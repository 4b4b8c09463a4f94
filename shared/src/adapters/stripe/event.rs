//! Webhook events in Stripe's shape, which the test gateway shares:
//! `{"id","type","data":{"object":{"id","amount","currency",
//! "last_payment_error":{"code"},"next_action","metadata":{"intent_id"}}}}`.
//! Refund events carry a refund (`{"id","object":"refund","status",
//! "payment_intent","metadata":{"refund_id"}}`), `charge.refunded` a charge
//! with its refunds (`"refunds":{"data":[…]}`).
//! The body may also arrive as a JSON string holding that JSON.

use serde::Deserialize;

use crate::domain::{NextAction, RefundStatus};
use crate::ports::{GatewayEvent, GatewayEventError, GatewayEventKind, GatewayRefund};

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
    /// A refund's or a charge's: the intent whose money it is.
    #[serde(default)]
    payment_intent: Option<String>,
    /// A refund's.
    #[serde(default)]
    status: Option<String>,
    /// A charge's refunds, when the event carries them.
    #[serde(default)]
    refunds: Option<RefundList>,
}

#[derive(Deserialize)]
struct RefundList {
    #[serde(default)]
    data: Vec<RefundObject>,
}

#[derive(Deserialize)]
struct RefundObject {
    id: String,
    #[serde(default)]
    status: Option<String>,
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
    #[serde(default)]
    refund_id: Option<String>,
}

/// Stripe's refund status as ours: `requires_action` waits like `pending`, a
/// `canceled` refund gave nothing back, as a `failed` one; a status Stripe
/// may add later counts as pending until it says more.
pub fn refund_status(stripe: &str) -> RefundStatus {
    match stripe {
        "succeeded" => RefundStatus::Succeeded,
        "failed" | "canceled" => RefundStatus::Failed,
        _ => RefundStatus::Pending,
    }
}

/// The event types whose object is one refund.
const REFUND_EVENTS: [&str; 4] = [
    "refund.created",
    "refund.updated",
    "refund.failed",
    "charge.refund.updated",
];

fn reported(
    id: String,
    status: Option<String>,
    metadata: Option<Metadata>,
) -> Option<GatewayRefund> {
    Some(GatewayRefund {
        id,
        status: refund_status(status.as_deref()?),
        refund_id: metadata.and_then(|m| m.refund_id),
    })
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

fn invalid(e: serde_json::Error) -> GatewayEventError {
    GatewayEventError::Payload(e.to_string())
}

/// Reads a delivery's raw body.
pub fn parse(body: &[u8]) -> Result<GatewayEvent, GatewayEventError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(invalid)?;
    // The PaymentIntents API documents its webhook body as a JSON string.
    let value = match value {
        serde_json::Value::String(inner) => serde_json::from_str(&inner).map_err(invalid)?,
        other => other,
    };
    let event: Event = serde_json::from_value(value).map_err(invalid)?;
    let required = |field: &str, value: &str| {
        if value.trim().is_empty() {
            Err(GatewayEventError::Payload(format!("{field} is empty")))
        } else {
            Ok(())
        }
    };
    required("id", &event.id)?;
    required("type", &event.kind)?;
    required("data.object.id", &event.data.object.id)?;
    let mut object = event.data.object;
    let kind = if REFUND_EVENTS.contains(&event.kind.as_str()) {
        GatewayEventKind::Refunds(
            reported(
                object.id.clone(),
                object.status.take(),
                object.metadata.take(),
            )
            .into_iter()
            .collect(),
        )
    } else if event.kind == "charge.refunded" {
        GatewayEventKind::Refunds(
            object
                .refunds
                .take()
                .map(|list| list.data)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|r| reported(r.id, r.status, r.metadata))
                .collect(),
        )
    } else {
        kind(&event.kind)
    };
    let refunds = matches!(kind, GatewayEventKind::Refunds(_));
    Ok(GatewayEvent {
        id: event.id,
        kind,
        // A refund or a charge names its intent in a field of its own.
        gateway_intent_id: match object.payment_intent {
            Some(intent) if refunds => intent,
            _ => object.id,
        },
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
        let other = r#"{"id":"evt","type":"charge.captured","data":{"object":{"id":"ch_1"}}}"#;
        assert_eq!(
            parse(other.as_bytes()).expect("valid").kind,
            GatewayEventKind::Other("charge.captured".into())
        );
    }

    #[test]
    fn a_refund_event_reports_its_refund() {
        let updated = r#"{"id":"evt_r","type":"refund.updated","data":{"object":{"id":"re_1",
            "object":"refund","amount":500,"currency":"usd","status":"failed",
            "payment_intent":"pi_1","metadata":{"refund_id":"ours"}}}}"#;
        let e = parse(updated.as_bytes()).expect("valid");
        assert_eq!(
            e.kind,
            GatewayEventKind::Refunds(vec![GatewayRefund {
                id: "re_1".into(),
                status: RefundStatus::Failed,
                refund_id: Some("ours".into()),
            }])
        );
        assert_eq!(e.gateway_intent_id, "pi_1");
        let no_status = r#"{"id":"evt_r","type":"refund.updated","data":{"object":{"id":"re_1"}}}"#;
        assert_eq!(
            parse(no_status.as_bytes()).expect("valid").kind,
            GatewayEventKind::Refunds(vec![])
        );
    }

    #[test]
    fn charge_refunded_reports_every_refund_of_the_charge() {
        let charge = r#"{"id":"evt_c","type":"charge.refunded","data":{"object":{"id":"ch_1",
            "object":"charge","amount":1000,"amount_refunded":700,"payment_intent":"pi_1",
            "refunds":{"object":"list","data":[
              {"id":"re_1","object":"refund","status":"succeeded","metadata":{}},
              {"id":"re_2","object":"refund","status":"canceled"}]}}}}"#;
        let e = parse(charge.as_bytes()).expect("valid");
        assert_eq!(
            e.kind,
            GatewayEventKind::Refunds(vec![
                GatewayRefund {
                    id: "re_1".into(),
                    status: RefundStatus::Succeeded,
                    refund_id: None,
                },
                GatewayRefund {
                    id: "re_2".into(),
                    status: RefundStatus::Failed,
                    refund_id: None,
                },
            ])
        );
        assert_eq!(e.gateway_intent_id, "pi_1");
        // Newer API versions leave a charge's refunds out: nothing to act on.
        let bare = r#"{"id":"evt_c","type":"charge.refunded","data":{"object":{"id":"ch_1"}}}"#;
        assert_eq!(
            parse(bare.as_bytes()).expect("valid").kind,
            GatewayEventKind::Refunds(vec![])
        );
    }
}
