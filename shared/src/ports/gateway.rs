//! The connector that collects an intent's money (a card network, Stripe, a
//! simulation): one intent there mirrors one intent here.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::domain::webhook_signature::{self, SignatureError};
use crate::domain::{Confirmation, GatewayId, NextAction, PaymentIntent, Refund, RefundStatus};

/// What the gateway assigned when it opened its side of an intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayIntent {
    /// The gateway's own id, by which its events name the intent.
    pub gateway_intent_id: String,
    /// Handed to the payer's browser to confirm with; bound to this intent.
    pub client_secret: String,
}

/// What the gateway made of a refund it was asked for, or reports later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRefund {
    /// The gateway's own id for the refund.
    pub id: String,
    pub status: RefundStatus,
    /// Our refund id, when the gateway echoes it back in its metadata.
    pub refund_id: Option<String>,
}

/// What a gateway's event says happened to one of its intents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayEventKind {
    Succeeded,
    Processing,
    /// Declined or failed: the payer may try again.
    PaymentFailed,
    Canceled,
    RequiresAction,
    /// Refunds of a payment moved (Stripe's `refund.updated`, or
    /// `charge.refunded` with every refund of the charge).
    Refunds(Vec<GatewayRefund>),
    /// A type this service does not act on; acknowledged and ignored.
    Other(String),
}

/// One gateway event, verified and read; only `id`, `kind` and
/// `gateway_intent_id` are always present (for refund events, the intent the
/// refunded payment was collected by, when the event names it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayEvent {
    /// The gateway's event id: each is acted on once.
    pub id: String,
    pub kind: GatewayEventKind,
    pub gateway_intent_id: String,
    /// In minor units, as the gateway reports them.
    pub amount_minor: Option<i64>,
    /// As the gateway spells it (Stripe: lowercase).
    pub currency: Option<String>,
    /// Why a payment failed (`card_declined`, …).
    pub failure_code: Option<String>,
    pub next_action: Option<NextAction>,
    /// Our intent id, when the gateway echoes it back in its metadata.
    pub intent_id: Option<String>,
}

/// Why a gateway event is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayEventError {
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("invalid webhook payload: {0}")]
    Payload(String),
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
    /// The gateway did not answer within the call's deadline (its own, or
    /// what the request had left). It may have acted: only the same request
    /// sent again, carrying the same keys to the gateway, can find out.
    #[error("payment gateway did not answer in time: {0}")]
    TimedOut(String),
    /// The gateway refused the request for good and did nothing: sending it
    /// again would be refused again.
    #[error("payment gateway refused the request: {0}")]
    Refused(String),
    /// Asked to end an intent, the gateway answered that it has already
    /// collected the money, or is collecting it (`succeeded` or
    /// `processing` there): ending it here would lose a payment that its
    /// gateway event is about to record.
    #[error("the payment gateway has {0} this payment")]
    Collecting(&'static str),
}

/// The connectors this deployment offers, by the gateway id intents name.
/// A gateway it does not offer does not exist here: intents cannot name it
/// and its events are not heard.
#[derive(Clone, Default)]
pub struct Gateways {
    /// Offered only where switched on: it approves cards without moving money.
    test: Option<Arc<dyn Gateway>>,
    /// Offered only where a Stripe secret key is configured.
    stripe: Option<Arc<dyn Gateway>>,
}

impl Gateways {
    /// No card gateway at all (the OTP gateway needs no connector).
    pub fn none() -> Self {
        Self::default()
    }

    /// The same, also offering `test`.
    pub fn with_test(mut self, test: Arc<dyn Gateway>) -> Self {
        self.test = Some(test);
        self
    }

    /// The same, also offering `stripe`.
    pub fn with_stripe(mut self, stripe: Arc<dyn Gateway>) -> Self {
        self.stripe = Some(stripe);
        self
    }

    /// The connector behind `id`; the OTP gateway has none: its codes are ours.
    pub fn get(&self, id: GatewayId) -> Option<&Arc<dyn Gateway>> {
        match id {
            GatewayId::Test => self.test.as_ref(),
            GatewayId::Stripe => self.stripe.as_ref(),
            GatewayId::Otp => None,
        }
    }
}

/// A connector that waits on the network bounds every call by
/// [`deadline::call_limit`](super::deadline::call_limit) with what the
/// request has [`left`](super::deadline::left), and answers
/// [`GatewayError::TimedOut`] when that cuts the call: the request must
/// still have time to store the outcome and answer.
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

    /// Ends the gateway's side, so it can never take money on an intent we
    /// ended. An intent already canceled there is fine; one the gateway has
    /// collected or is collecting is [`GatewayError::Collecting`].
    async fn cancel(&self, intent: &PaymentIntent) -> Result<(), GatewayError>;

    /// Gives `refund`'s amount back on the money `intent` collected. The
    /// gateway acts on one refund id once, however often it is asked: a
    /// retry after a lost answer gets the same refund.
    async fn refund(
        &self,
        intent: &PaymentIntent,
        refund: &Refund,
    ) -> Result<GatewayRefund, GatewayError>;

    /// How long the gateway keeps the answer to a request made under one
    /// key: asked again within it for the same refund, it answers with the
    /// refund it made. None: it never forgets (one refund id always names
    /// one refund there).
    fn refund_key_lifetime(&self) -> Option<time::Duration> {
        None
    }

    /// The refund the gateway made for `refund` on `intent`'s money, found
    /// by our refund id it keeps with it; none when it never made one. For
    /// a refund whose key the gateway may have forgotten, where asking
    /// again could refund twice. Only a gateway with a
    /// [`refund_key_lifetime`](Self::refund_key_lifetime) needs it.
    async fn find_refund(
        &self,
        intent: &PaymentIntent,
        refund: &Refund,
    ) -> Result<Option<GatewayRefund>, GatewayError> {
        let _ = (intent, refund);
        Err(GatewayError::Unavailable(
            "this gateway cannot look refunds up".into(),
        ))
    }

    /// The fee the gateway itself took for collecting `intent`, in minor
    /// units of its currency, when it reports one; none for a gateway that
    /// leaves fees to the fee schedule.
    async fn collected_fee(&self, intent: &PaymentIntent) -> Result<Option<i64>, GatewayError> {
        let _ = intent;
        Ok(None)
    }

    /// Reads the raw body the gateway posted into an event.
    fn parse_event(&self, body: &[u8]) -> Result<GatewayEvent, GatewayEventError>;

    /// Checks that a delivery was signed with `secret` within the tolerance,
    /// then reads it. Stripe's scheme unless a gateway signs otherwise.
    fn verify_event(
        &self,
        secret: &[u8],
        signature: Option<&str>,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<GatewayEvent, GatewayEventError> {
        webhook_signature::verify(secret, signature, body, now)?;
        self.parse_event(body)
    }
}
