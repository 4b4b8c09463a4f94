//! What Stripe's answers mean here: its PaymentIntent statuses as our
//! confirmation outcomes, its error object as a decline or an error.

use serde::Deserialize;

use crate::domain::{Confirmation, NextAction};
use crate::ports::{GatewayError, GatewayRefund};

/// The fields of a Stripe PaymentIntent this service reads.
#[derive(Debug, Clone, Deserialize)]
pub struct StripeIntent {
    pub id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    pub status: String,
    #[serde(default)]
    pub next_action: Option<StripeNextAction>,
    #[serde(default)]
    pub last_payment_error: Option<StripeError>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StripeNextAction {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub redirect_to_url: Option<RedirectToUrl>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RedirectToUrl {
    #[serde(default)]
    pub url: Option<String>,
}

/// Stripe's error object. Its `type` is not used: the emulator reports
/// declines as `invalid_request_error`, so `code` is what says what happened.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StripeError {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub param: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: StripeError,
}

/// Reason stored when Stripe reports a failed payment without a code.
pub const PAYMENT_FAILED: &str = "payment_failed";

/// Error codes by which Stripe says the payer's card (or its authentication)
/// refused the payment: outcomes the payer can act on, not faults.
const DECLINES: &[&str] = &[
    "authentication_required",
    "card_decline_rate_limit_exceeded",
    "card_declined",
    "expired_card",
    "incorrect_cvc",
    "incorrect_number",
    "incorrect_zip",
    "insufficient_funds",
    "invalid_cvc",
    "invalid_expiry_month",
    "invalid_expiry_year",
    "invalid_number",
    "payment_intent_authentication_failure",
    "payment_method_not_available",
    "processing_error",
];

/// Reads an answer body as a PaymentIntent.
pub fn intent(body: &[u8]) -> Result<StripeIntent, GatewayError> {
    serde_json::from_slice(body).map_err(|e| {
        GatewayError::Unavailable(format!("Stripe answered with an unreadable intent: {e}"))
    })
}

/// The error object of a refused request, or an empty one.
pub fn error(body: &[u8]) -> StripeError {
    serde_json::from_slice::<ErrorBody>(body)
        .map(|b| b.error)
        .unwrap_or_default()
}

/// What a refused cancel means, given the status Stripe holds for the
/// intent; none when that status does not explain the refusal.
pub fn cancel_refused(status: &str) -> Option<Result<(), GatewayError>> {
    match status {
        // Ended there already (a retry, or canceled from Stripe's side).
        "canceled" => Some(Ok(())),
        "succeeded" => Some(Err(GatewayError::Collecting("already collected"))),
        "processing" => Some(Err(GatewayError::Collecting("started collecting"))),
        _ => None,
    }
}

/// What a confirmed PaymentIntent's status means for our intent.
pub fn confirmation(intent: &StripeIntent) -> Result<Confirmation, GatewayError> {
    match intent.status.as_str() {
        "succeeded" => Ok(Confirmation::Succeeded),
        // Authorized, not yet collected: its outcome arrives by webhook.
        "processing" | "requires_capture" => Ok(Confirmation::Processing),
        "requires_action" => {
            let next_action = intent
                .next_action
                .as_ref()
                .map(|a| NextAction {
                    kind: a.kind.clone(),
                    url: a.redirect_to_url.as_ref().and_then(|r| r.url.clone()),
                })
                .unwrap_or_else(|| NextAction {
                    kind: "use_stripe_sdk".to_owned(),
                    url: None,
                });
            Ok(Confirmation::RequiresAction { next_action })
        }
        // Confirmed and back to the payer: the attempt failed.
        "requires_payment_method" => Ok(Confirmation::Declined {
            reason: intent
                .last_payment_error
                .as_ref()
                .and_then(|e| e.code.clone())
                .unwrap_or_else(|| PAYMENT_FAILED.to_owned()),
        }),
        other => Err(GatewayError::Unavailable(format!(
            "Stripe left the intent {other} after confirming it"
        ))),
    }
}

/// A refused confirm: a decline the payer can act on, or an error. The
/// emulator attaches any payment method id and reports an unknown one only
/// when confirming, as a bare 404.
pub fn confirm_refused(
    status: u16,
    body: &[u8],
    payment_method: &str,
) -> Result<Confirmation, GatewayError> {
    let e = error(body);
    match e.code.as_deref() {
        Some(code) if DECLINES.contains(&code) => Ok(Confirmation::Declined {
            reason: code.to_owned(),
        }),
        _ => Err(missing_payment_method(status, &e, payment_method)),
    }
}

/// A refused attach of `payment_method` to the intent.
pub fn attach_refused(status: u16, body: &[u8], payment_method: &str) -> GatewayError {
    missing_payment_method(status, &error(body), payment_method)
}

/// Stripe answers a payment method it does not know with `resource_missing`
/// on that parameter; the emulator with a bare 404 (the intent itself is
/// ours and was opened there, so the missing resource is the payment method).
fn missing_payment_method(status: u16, e: &StripeError, payment_method: &str) -> GatewayError {
    let missing = e.code.as_deref() == Some("resource_missing")
        && e.param.as_deref().is_none_or(|p| p == "payment_method");
    if missing || (status == 404 && e.code.is_none()) {
        GatewayError::UnknownPaymentMethod(payment_method.to_owned())
    } else {
        refused(status, e)
    }
}

/// The fields of a Stripe Refund this service reads.
#[derive(Debug, Clone, Deserialize)]
struct StripeRefund {
    id: String,
    status: String,
}

/// Reads an answer body as a Refund, its status as ours.
pub fn refund(body: &[u8], refund_id: &str) -> Result<GatewayRefund, GatewayError> {
    let refund: StripeRefund = serde_json::from_slice(body).map_err(|e| {
        GatewayError::Unavailable(format!("Stripe answered with an unreadable refund: {e}"))
    })?;
    Ok(GatewayRefund {
        status: super::event::refund_status(&refund.status),
        id: refund.id,
        refund_id: Some(refund_id.to_owned()),
    })
}

/// One page of Stripe's refunds list.
#[derive(Debug, Deserialize)]
struct StripeRefundList {
    data: Vec<ListedRefund>,
    #[serde(default)]
    has_more: bool,
}

#[derive(Debug, Deserialize)]
struct ListedRefund {
    id: String,
    status: String,
    #[serde(default)]
    metadata: std::collections::BTreeMap<String, String>,
}

/// What one page of a refunds list says of our refund `refund_id`: the
/// refund that carries it in its metadata, if listed; else, when more pages
/// follow, the id to list after.
pub fn refund_in_list(
    body: &[u8],
    refund_id: &str,
) -> Result<(Option<GatewayRefund>, Option<String>), GatewayError> {
    let page: StripeRefundList = serde_json::from_slice(body).map_err(|e| {
        GatewayError::Unavailable(format!(
            "Stripe answered with an unreadable refunds list: {e}"
        ))
    })?;
    let next = page
        .has_more
        .then(|| page.data.last().map(|r| r.id.clone()))
        .flatten();
    let found = page
        .data
        .into_iter()
        .find(|r| r.metadata.get("refund_id").map(String::as_str) == Some(refund_id))
        .map(|r| GatewayRefund {
            status: super::event::refund_status(&r.status),
            id: r.id,
            refund_id: Some(refund_id.to_owned()),
        });
    Ok((found, next))
}

/// A refused refund: Stripe did nothing and will do nothing for this
/// request (already refunded, more than the charge, no such intent); a
/// refusal of our credentials or of a concurrent use of the key says nothing
/// about the refund, which then waits for a retry.
pub fn refund_refused(status: u16, e: &StripeError) -> GatewayError {
    match status {
        400 | 402 | 404 => GatewayError::Refused(format!(
            "Stripe refused the refund ({status} {}): {}",
            e.code.as_deref().unwrap_or("no code"),
            e.message.as_deref().unwrap_or("no message")
        )),
        _ => refused(status, e),
    }
}

/// Any other refusal: nothing happened at Stripe that the payer can act on.
pub fn refused(status: u16, e: &StripeError) -> GatewayError {
    GatewayError::Unavailable(format!(
        "Stripe refused the request ({status} {}): {}",
        e.code.as_deref().unwrap_or("no code"),
        e.message.as_deref().unwrap_or("no message")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: serde_json::Value) -> StripeIntent {
        intent(v.to_string().as_bytes()).expect("an intent")
    }

    fn with_status(status: &str) -> StripeIntent {
        read(json!({"id": "pi_1", "status": status}))
    }

    #[test]
    fn a_succeeded_intent_is_collected() {
        assert_eq!(
            confirmation(&with_status("succeeded")),
            Ok(Confirmation::Succeeded)
        );
    }

    #[test]
    fn processing_and_uncaptured_intents_wait_for_the_webhook() {
        for status in ["processing", "requires_capture"] {
            assert_eq!(
                confirmation(&with_status(status)),
                Ok(Confirmation::Processing),
                "{status}"
            );
        }
    }

    #[test]
    fn an_action_keeps_stripes_next_action() {
        let sdk = json!({"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}});
        let redirect = json!({"type": "redirect_to_url", "redirect_to_url": {"url": "https://hooks.stripe.com/3ds"}});
        for (next_action, kind, url) in [
            (sdk, "use_stripe_sdk", None),
            (
                redirect,
                "redirect_to_url",
                Some("https://hooks.stripe.com/3ds"),
            ),
        ] {
            let intent = read(
                json!({"id": "pi_1", "status": "requires_action", "next_action": next_action}),
            );
            let next_action = NextAction {
                kind: kind.into(),
                url: url.map(Into::into),
            };
            assert_eq!(
                confirmation(&intent),
                Ok(Confirmation::RequiresAction { next_action })
            );
        }
    }

    #[test]
    fn back_to_the_payer_after_confirming_is_a_decline_with_stripes_code() {
        let declined = read(json!({"id": "pi_1", "status": "requires_payment_method",
            "last_payment_error": {"code": "expired_card", "message": "Your card has expired."}}));
        assert_eq!(
            confirmation(&declined),
            Ok(Confirmation::Declined {
                reason: "expired_card".into()
            })
        );
        assert_eq!(
            confirmation(&with_status("requires_payment_method")),
            Ok(Confirmation::Declined {
                reason: PAYMENT_FAILED.into()
            })
        );
    }

    #[test]
    fn other_statuses_after_confirming_are_faults() {
        for status in ["canceled", "requires_confirmation", "whatever"] {
            assert!(
                matches!(
                    confirmation(&with_status(status)),
                    Err(GatewayError::Unavailable(_))
                ),
                "{status}"
            );
        }
    }

    fn body(error: serde_json::Value) -> Vec<u8> {
        json!({ "error": error }).to_string().into_bytes()
    }

    #[test]
    fn declines_are_read_by_code_not_by_type() {
        for code in [
            "card_declined",
            "authentication_required",
            "expired_card",
            "incorrect_cvc",
            "insufficient_funds",
        ] {
            // The emulator's type; Stripe's would be card_error.
            let b = body(json!({"type": "invalid_request_error", "code": code, "message": "no"}));
            assert_eq!(
                confirm_refused(402, &b, "pm_1"),
                Ok(Confirmation::Declined {
                    reason: code.into()
                }),
                "{code}"
            );
        }
    }

    #[test]
    fn other_refusals_of_a_confirm_are_errors() {
        for b in [
            body(json!({"type": "invalid_request_error", "message": "Bad request"})),
            body(
                json!({"type": "invalid_request_error", "code": "payment_intent_unexpected_state"}),
            ),
            b"not json".to_vec(),
        ] {
            assert!(matches!(
                confirm_refused(400, &b, "pm_1"),
                Err(GatewayError::Unavailable(_))
            ));
        }
    }

    #[test]
    fn refunds_are_read_with_stripes_status_as_ours() {
        use crate::domain::RefundStatus;
        for (stripe, ours) in [
            ("succeeded", RefundStatus::Succeeded),
            ("pending", RefundStatus::Pending),
            ("requires_action", RefundStatus::Pending),
            ("failed", RefundStatus::Failed),
            ("canceled", RefundStatus::Failed),
        ] {
            let body = json!({"id": "re_1", "object": "refund", "status": stripe}).to_string();
            assert_eq!(
                refund(body.as_bytes(), "ours"),
                Ok(GatewayRefund {
                    id: "re_1".into(),
                    status: ours,
                    refund_id: Some("ours".into())
                }),
                "{stripe}"
            );
        }
        assert!(matches!(
            refund(b"{}", "ours"),
            Err(GatewayError::Unavailable(_))
        ));
    }

    #[test]
    fn a_refused_refund_is_final_unless_the_refusal_is_about_us() {
        let e = error(&body(
            json!({"type": "invalid_request_error", "code": "charge_already_refunded"}),
        ));
        for status in [400, 402, 404] {
            assert!(
                matches!(refund_refused(status, &e), GatewayError::Refused(_)),
                "{status}"
            );
        }
        for status in [401, 403, 409] {
            assert!(
                matches!(refund_refused(status, &e), GatewayError::Unavailable(_)),
                "{status}"
            );
        }
    }

    #[test]
    fn a_missing_payment_method_is_the_payers_mistake() {
        let stripe = body(
            json!({"type": "invalid_request_error", "code": "resource_missing",
            "param": "payment_method", "message": "No such PaymentMethod: 'pm_x'"}),
        );
        let emulator = body(json!({"type": "invalid_request_error", "message": "Not found"}));
        for (status, b) in [(400, stripe), (404, emulator)] {
            assert_eq!(
                attach_refused(status, &b, "pm_x"),
                GatewayError::UnknownPaymentMethod("pm_x".into())
            );
            assert_eq!(
                confirm_refused(status, &b, "pm_x"),
                Err(GatewayError::UnknownPaymentMethod("pm_x".into()))
            );
        }
        let other = body(
            json!({"type": "invalid_request_error", "code": "parameter_unknown", "param": "x"}),
        );
        assert!(matches!(
            attach_refused(400, &other, "pm_x"),
            GatewayError::Unavailable(_)
        ));
    }
}

/// A PaymentIntent read with `expand[]=latest_charge.balance_transaction`.
#[derive(Debug, Deserialize)]
struct ChargedIntent {
    #[serde(default)]
    latest_charge: Option<ExpandedCharge>,
}

#[derive(Debug, Deserialize)]
struct ExpandedCharge {
    #[serde(default)]
    balance_transaction: Option<BalanceTransaction>,
}

#[derive(Debug, Deserialize)]
struct BalanceTransaction {
    fee: i64,
    currency: String,
}

/// The fee Stripe took for the intent's charge, in minor units of `currency`
/// (as we spell it): none until the charge's balance transaction exists, and
/// none when it is in another currency (a converted settlement).
pub fn charge_fee(body: &[u8], currency: &str) -> Result<Option<i64>, GatewayError> {
    let intent: ChargedIntent = serde_json::from_slice(body).map_err(|e| {
        GatewayError::Unavailable(format!("Stripe answered with an unreadable charge: {e}"))
    })?;
    Ok(intent
        .latest_charge
        .and_then(|c| c.balance_transaction)
        .filter(|t| t.currency.eq_ignore_ascii_case(currency))
        .map(|t| t.fee))
}
