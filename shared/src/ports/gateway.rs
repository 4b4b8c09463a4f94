//! The connector that collects an intent's money (a card network, Stripe, a
//! simulation): one intent there mirrors one intent here.

use crate::domain::{Confirmation, PaymentIntent};

/// What the gateway assigned when it opened its side of an intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayIntent {
    /// The gateway's own id, by which its webhook events name the intent.
    pub gateway_intent_id: String,
    /// Handed to the payer's browser to confirm with; bound to this intent.
    pub client_secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The payer named a payment method the gateway does not know: the
    /// payer's mistake, not an outage.
    #[error("No such PaymentMethod: '{0}'")]
    UnknownPaymentMethod(String),
    /// The gateway could not be reached or answered with a fault; nothing is
    /// known to have happened there.
    #[error("payment gateway unavailable: {0}")]
    Unavailable(String),
}

#[async_trait::async_trait]
pub trait Gateway: Send + Sync {
    /// Opens the gateway's side of `intent`, before the payer chooses a method.
    async fn create(&self, intent: &PaymentIntent) -> Result<GatewayIntent, GatewayError>;

    /// Tries to collect `intent` with `payment_method`. A decline is an
    /// outcome, not an error: the payer may try again with another method.
    async fn confirm(
        &self,
        intent: &PaymentIntent,
        payment_method: &str,
    ) -> Result<Confirmation, GatewayError>;

    /// Ends the gateway's side, so it can never take money on an intent we ended.
    async fn cancel(&self, intent: &PaymentIntent) -> Result<(), GatewayError>;
}
