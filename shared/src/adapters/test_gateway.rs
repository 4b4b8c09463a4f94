//! A simulated card gateway with Stripe's test-mode behaviour: fixed payment
//! method ids give fixed outcomes, so every path of a card payment can be
//! exercised without a network or an account.

use sha2::{Digest, Sha256};

use crate::domain::ids::random_token;
use crate::domain::{Confirmation, NextAction, PaymentIntent, Refund, RefundStatus};
use crate::ports::{
    Gateway, GatewayError, GatewayEvent, GatewayEventError, GatewayIntent, GatewayRefund,
};

/// The decline reason Stripe reports for a refused card.
pub const CARD_DECLINED: &str = "card_declined";

#[derive(Debug, Clone, Default)]
pub struct TestGateway;

impl TestGateway {
    /// Where the payer of `gateway_intent_id` would complete authentication;
    /// it names the intent so the page knows which payment it is for.
    fn authentication_url(gateway_intent_id: &str) -> String {
        format!("https://gateway.test/authenticate/{gateway_intent_id}")
    }
}

#[async_trait::async_trait]
impl Gateway for TestGateway {
    async fn create(&self, _intent: &PaymentIntent) -> Result<GatewayIntent, GatewayError> {
        let gateway_intent_id = format!("pi_test_{}", random_token(24));
        let client_secret = format!("{gateway_intent_id}_secret_{}", random_token(24));
        Ok(GatewayIntent {
            gateway_intent_id,
            client_secret,
        })
    }

    async fn confirm(
        &self,
        intent: &PaymentIntent,
        payment_method: &str,
    ) -> Result<Confirmation, GatewayError> {
        match payment_method {
            "pm_card_visa" | "pm_card_mastercard" => Ok(Confirmation::Succeeded),
            "pm_card_chargeDeclined" => Ok(Confirmation::Declined {
                reason: CARD_DECLINED.to_owned(),
            }),
            "pm_card_authenticationRequired" => {
                // An intent not yet opened at the gateway is still named, by our id.
                let named = intent
                    .gateway_intent_id()
                    .clone()
                    .unwrap_or_else(|| intent.id().to_string());
                Ok(Confirmation::RequiresAction {
                    next_action: NextAction {
                        kind: "redirect_to_url".to_owned(),
                        url: Some(Self::authentication_url(&named)),
                    },
                })
            }
            other => Err(GatewayError::UnknownPaymentMethod(other.to_owned())),
        }
    }

    async fn cancel(&self, _intent: &PaymentIntent) -> Result<(), GatewayError> {
        // Nothing is held outside this service, so there is nothing to undo.
        Ok(())
    }

    /// Refunds at once. Its id for the refund is derived from ours, so that
    /// asking again for the same refund names the same one, as a real
    /// gateway's idempotency does.
    async fn refund(
        &self,
        _intent: &PaymentIntent,
        refund: &Refund,
    ) -> Result<GatewayRefund, GatewayError> {
        let digest = Sha256::digest(format!("test-gateway-refund:{}", refund.id()).as_bytes());
        Ok(GatewayRefund {
            id: format!("re_test_{}", &hex::encode(digest)[..24]),
            status: RefundStatus::Succeeded,
            refund_id: Some(refund.id().to_string()),
        })
    }

    /// Its events are Stripe's, so that the same tools can send them.
    fn parse_event(&self, body: &[u8]) -> Result<GatewayEvent, GatewayEventError> {
        super::stripe::event::parse(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::GatewayId;
    use crate::domain::intent::{named_by_gateway, sample_intent};
    use time::OffsetDateTime;

    fn intent() -> PaymentIntent {
        let opened = sample_intent(GatewayId::Test, OffsetDateTime::UNIX_EPOCH);
        named_by_gateway(opened, "pi_test_abc")
    }

    fn alphanumeric(s: &str, len: usize) -> bool {
        s.len() == len && s.chars().all(|c| c.is_ascii_alphanumeric())
    }

    #[tokio::test]
    async fn create_assigns_a_gateway_id_and_a_secret_bound_to_it() {
        let g = TestGateway.create(&intent()).await.expect("created");
        let suffix = g
            .gateway_intent_id
            .strip_prefix("pi_test_")
            .expect("prefix");
        assert!(alphanumeric(suffix, 24), "{}", g.gateway_intent_id);
        let secret = g
            .client_secret
            .strip_prefix(&format!("{}_secret_", g.gateway_intent_id))
            .expect("bound to the gateway intent");
        assert!(alphanumeric(secret, 24), "{}", g.client_secret);
        let again = TestGateway.create(&intent()).await.expect("created");
        assert_ne!(again.gateway_intent_id, g.gateway_intent_id);
    }

    #[tokio::test]
    async fn test_cards_succeed() {
        for pm in ["pm_card_visa", "pm_card_mastercard"] {
            assert_eq!(
                TestGateway.confirm(&intent(), pm).await,
                Ok(Confirmation::Succeeded),
                "{pm}"
            );
        }
    }

    #[tokio::test]
    async fn the_declining_card_is_declined() {
        assert_eq!(
            TestGateway
                .confirm(&intent(), "pm_card_chargeDeclined")
                .await,
            Ok(Confirmation::Declined {
                reason: "card_declined".to_owned()
            })
        );
    }

    #[tokio::test]
    async fn the_authenticating_card_asks_for_a_redirect_naming_the_intent() {
        let outcome = TestGateway
            .confirm(&intent(), "pm_card_authenticationRequired")
            .await;
        let Ok(Confirmation::RequiresAction { next_action }) = outcome else {
            panic!("expected an action, got {outcome:?}");
        };
        assert_eq!(next_action.kind, "redirect_to_url");
        let url = next_action.url.expect("a url");
        assert!(
            url.starts_with("https://") && url.contains("pi_test_abc"),
            "{url}"
        );
    }

    #[tokio::test]
    async fn other_payment_methods_are_unknown() {
        for pm in ["pm_card_amex", "", "PM_CARD_VISA"] {
            let err = TestGateway.confirm(&intent(), pm).await.expect_err(pm);
            assert_eq!(err, GatewayError::UnknownPaymentMethod(pm.to_owned()));
            assert!(err.to_string().starts_with("No such PaymentMethod"));
        }
    }

    #[tokio::test]
    async fn cancel_always_succeeds() {
        assert_eq!(TestGateway.cancel(&intent()).await, Ok(()));
    }

    #[tokio::test]
    async fn a_refund_succeeds_at_once_under_one_id_per_refund() {
        use crate::domain::{PaymentId, Refund, RefundId, RefundParts};
        let i = intent();
        let refund = |id: RefundId| {
            Refund::restore(RefundParts {
                id,
                payment_id: PaymentId::new(),
                payable: None,
                amount: i.amount(),
                reason: None,
                status: RefundStatus::Pending,
                gateway: Some(GatewayId::Test),
                gateway_refund_id: None,
                created: OffsetDateTime::UNIX_EPOCH,
                updated: OffsetDateTime::UNIX_EPOCH,
            })
        };
        let one = refund(RefundId::new());
        let done = TestGateway.refund(&i, &one).await.expect("refunded");
        assert_eq!(done.status, RefundStatus::Succeeded);
        let suffix = done.id.strip_prefix("re_test_").expect("prefix");
        assert!(alphanumeric(suffix, 24), "{}", done.id);
        let again = TestGateway.refund(&i, &one).await.expect("refunded");
        assert_eq!(again, done, "the same refund asked twice");
        let other = TestGateway
            .refund(&i, &refund(RefundId::new()))
            .await
            .expect("refunded");
        assert_ne!(other.id, done.id);
    }
}
