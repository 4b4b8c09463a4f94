use crate::domain::intent::OtpRequestError;
use crate::domain::{
    GatewayId, IllegalTransition, Invalid, Money, MoneyError, PayableStatus, RefundRefused,
};
use crate::ports::{GatewayError, GatewayEventError, MailerError, SecretError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Absent, or not the caller's to see: both answer the same.
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    /// The stated amount is not money in the payable's currency.
    #[error(transparent)]
    Amount(MoneyError),
    /// The order does not take the stated amount: another currency, or more
    /// than is left to pay on it.
    #[error(transparent)]
    AmountRefused(Invalid),
    /// The payment system said it collected something other than the order's total.
    #[error("amount must be the order's total: {total} {}", .total.currency().code())]
    AmountNotTotal { total: Money },
    /// A payer paying a payable pays what it costs, in its currency.
    #[error("amount and currency must be the {}'s: {amount} {}", .noun.to_lowercase(), .amount.currency().code())]
    AmountNotPayables { noun: &'static str, amount: Money },
    /// An intent that collects no payable has only the payer's word for its amount.
    #[error("amount and currency are required for an intent without an invoiceId or orderId")]
    AmountRequired,
    /// The gateway mails its receipt, and the payer is recorded, by email.
    #[error("the token carries no email address for the payer")]
    PayerEmailMissing,
    /// An intent of the one-time-code gateway takes a code, never a card.
    #[error("this payment intent is confirmed with a one-time code, not a payment method")]
    ConfirmedByCode,
    /// A payment is recorded PENDING, COMPLETED or FAILED, never in a later status.
    #[error("status must be PENDING, COMPLETED or FAILED when a payment is recorded")]
    StatusNotRecordable,
    /// A PENDING payment the order listed is no longer one that can be completed.
    #[error(transparent)]
    NotCompletable(Invalid),
    /// The line items do not add up to the payable's total, or are not its currency's.
    #[error(transparent)]
    LineItems(Invalid),
    #[error(transparent)]
    Transition(#[from] IllegalTransition),
    #[error("{noun} is {status} and cannot be paid")]
    PayableNotOpen { noun: String, status: &'static str },
    #[error("{0}")]
    PayableLocked(String),
    /// The payable holds as many PENDING payments as settling it can complete at once.
    #[error(
        "{noun} already has {limit} PENDING payments, the most it may hold; no more can be recorded until they are completed"
    )]
    TooManyPending { noun: String, limit: u32 },
    #[error(transparent)]
    Otp(#[from] OtpRequestError),
    #[error("wrong code, {remaining} attempts left")]
    WrongOtp { remaining: u32 },
    #[error("a reason is required to fail a payment intent the gateway is processing")]
    ReasonRequired,
    #[error("too many wrong codes")]
    OtpAttemptsExceeded,
    /// What this Idempotency-Key created belongs to another request.
    #[error("this Idempotency-Key was already used with a different request")]
    KeyReused,
    /// A refund the payment does not allow.
    #[error(transparent)]
    Refund(#[from] RefundRefused),
    /// The payer named a gateway this deployment does not offer: to them it
    /// does not exist, whether it is unknown, switched off or unconfigured.
    #[error("paymentGatewayId is not a payment gateway this deployment offers")]
    GatewayNotOffered,
    /// The deployment's default gateway is not configured here: an
    /// operator's mistake, never answered by another gateway.
    #[error("the default payment gateway {} is not configured in this deployment", .0.as_str())]
    DefaultGatewayMissing(GatewayId),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// A gateway event that is not signed, or not readable, as its gateway's.
    #[error(transparent)]
    GatewayEvent(#[from] GatewayEventError),
    #[error(transparent)]
    Mail(#[from] MailerError),
    #[error(transparent)]
    Secrets(#[from] SecretError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AppError {
    pub fn payable_not_open(noun: &str, status: PayableStatus) -> Self {
        Self::PayableNotOpen {
            noun: noun.to_owned(),
            status: status.as_str(),
        }
    }
}
