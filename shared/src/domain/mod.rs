//! Pure domain: no AWS, no HTTP, no JSON. Every type here is valid by construction.

pub mod delivery;
pub mod event;
pub mod fees;
pub mod ids;
pub mod intent;
pub mod money;
mod names;
pub mod network_address;
pub mod otp;
pub mod payable;
pub mod payment;
pub mod refund;
pub mod settlement;
pub mod webhook_endpoint;
pub mod webhook_signature;

pub use delivery::{
    Attempt, Delivery, DeliveryId, DeliveryStatus, EventRef, NoAnswer, Outcome, RetryPolicy,
};
pub use event::{EVENT_RETENTION, Event, EventId, EventObject, EventType};
pub use fees::{FeeRate, FeeSchedule};
pub use ids::{
    BusinessId, Email, IntentId, PayableId, PayableKind, PayableRef, PaymentId, RefundId,
    RequestKey, UserId,
};
pub use intent::{
    Confirmation, GatewayId, GatewayReport, IllegalTransition, IntentStatus, NextAction,
    PaymentIntent,
};
pub use money::{Currency, Money, MoneyError, StatedAmount};
pub use otp::{OtpCode, OtpHash, OtpPolicy};
pub use payable::{
    ClaimRefused, LineItem, MAX_PENDING_PAYMENTS, NewPayable, Payable, PayableParts, PayableStatus,
    Payer, RevisionRefused,
};
pub use payment::{Payment, PaymentMethod, PaymentParts, PaymentStatus};
pub use refund::{Refund, RefundEffect, RefundParts, RefundRefused, RefundStatus};
pub use settlement::{Totals, settlement_account};
pub use webhook_endpoint::{
    EnabledEvents, EndpointId, EndpointParts, EndpointUrl, OldSecretLifetime, RetiringSecret,
    SecretRotation, WebhookEndpoint,
};

/// Why a value was refused; the message is safe to show to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}
