//! Payment intents and their status machine (Stripe's names and rules).

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::names::named_enum;
use super::otp::{OtpError, OtpState};
use super::{IntentId, Invalid, LineItem, Money, OtpCode, OtpHash, OtpPolicy, PayableRef, Payer};

named_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum IntentStatus {
        RequiresPaymentMethod => "requires_payment_method",
        RequiresConfirmation => "requires_confirmation",
        RequiresAction => "requires_action",
        Processing => "processing",
        Succeeded => "succeeded",
        Canceled => "canceled",
        Failed => "failed",
    }
}

/// Its name is the canonical snake_case one (the OTP payment intents and shop
/// APIs, and storage).
impl IntentStatus {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Self::from_name(s).ok_or_else(|| {
            let names = Self::ALL.map(Self::as_str).join(", ");
            Invalid::new(format!("status must be one of {names}"))
        })
    }

    /// `succeeded` is terminal too: refunds are payments' business, not the intent's.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Succeeded | Self::Canceled | Self::Failed)
    }

    pub fn can_transition_to(&self, next: Self) -> bool {
        use IntentStatus::*;
        match self {
            RequiresPaymentMethod => matches!(
                next,
                RequiresConfirmation | RequiresAction | Processing | Canceled | Failed
            ),
            RequiresConfirmation => matches!(
                next,
                RequiresPaymentMethod | RequiresAction | Processing | Canceled | Failed
            ),
            RequiresAction => {
                matches!(next, RequiresPaymentMethod | Processing | Canceled | Failed)
            }
            // Once money is moving the payer can no longer cancel.
            Processing => matches!(next, RequiresPaymentMethod | Succeeded | Failed),
            Succeeded | Canceled | Failed => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot move payment intent from {from} to {to}")]
pub struct IllegalTransition {
    pub from: IntentStatus,
    pub to: IntentStatus,
}

named_enum! {
    /// Which connector collects the money.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum GatewayId {
        /// Email one-time code (the OTP payment intents API).
        Otp => "otp",
        /// Deterministic simulated card gateway.
        Test => "test",
        /// Stripe's PaymentIntents API, which keeps its own intent for each of ours.
        Stripe => "stripe",
    }
}

impl GatewayId {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Self::from_name(s)
            .ok_or_else(|| Invalid::new("payment_gateway_id must be one of otp, test, stripe"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OtpRequestError {
    #[error(transparent)]
    Transition(#[from] IllegalTransition),
    #[error("payment intent is not confirmed by one-time code (gateway {0})")]
    NotOtpGateway(&'static str),
    #[error(transparent)]
    Otp(#[from] OtpError),
}

/// Result of checking a code against an intent, before anything is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtpCheck {
    Correct,
    Wrong,
    Rejected(OtpRequestError),
}

/// What the payer must do at the gateway before it can collect (3-D Secure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextAction {
    /// The gateway's name for the step (`redirect_to_url`, `use_stripe_sdk`).
    pub kind: String,
    /// Where the payer's browser goes to complete it, when the step is a redirect.
    pub url: Option<String>,
}

/// What a gateway answered when asked to collect an intent with a payment method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// The money is collected.
    Succeeded,
    /// The card was refused; the payer may try another.
    Declined { reason: String },
    /// The payer must act first; the outcome arrives later by webhook.
    RequiresAction { next_action: NextAction },
    /// Accepted; the outcome arrives later by webhook.
    Processing,
}

/// What a caller provides to open an intent; the rest is derived.
#[derive(Debug, Clone)]
pub struct NewIntent {
    pub payer: Payer,
    pub payable: Option<PayableRef>,
    pub amount: Money,
    pub gateway: GatewayId,
    pub description: Option<String>,
    pub line_items: Vec<LineItem>,
    pub business_id: Option<super::BusinessId>,
    pub return_url: Option<String>,
    pub cancel_url: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// Everything storage keeps of an intent besides its version: what an
/// intent is rebuilt from when read back ([`PaymentIntent::restore`]).
#[derive(Debug, Clone)]
pub struct IntentParts {
    pub id: IntentId,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub payer: Payer,
    pub payable: Option<PayableRef>,
    pub amount: Money,
    pub status: IntentStatus,
    pub gateway: GatewayId,
    pub gateway_intent_id: Option<String>,
    pub client_secret: Option<String>,
    pub description: Option<String>,
    pub line_items: Vec<LineItem>,
    pub business_id: Option<super::BusinessId>,
    pub return_url: Option<String>,
    pub cancel_url: Option<String>,
    pub otp: Option<OtpState>,
    pub otp_attempts: u32,
    pub otp_sends: u32,
    pub otp_last_sent_at: Option<OffsetDateTime>,
    pub authorized_at: Option<OffsetDateTime>,
    pub captured_at: Option<OffsetDateTime>,
    pub failed_at: Option<OffsetDateTime>,
    pub canceled_at: Option<OffsetDateTime>,
    pub failure_reason: Option<String>,
    pub cancellation_reason: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// What the payer must do at the gateway; only while `requires_action`.
    pub next_action: Option<NextAction>,
    /// Why a person must look at this intent (money arrived after it ended), if any.
    pub review_reason: Option<String>,
}

/// An intent's fields are the domain's: outside it they are read through
/// accessors and changed only by its methods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentIntent {
    pub(super) id: IntentId,
    pub(super) created_at: OffsetDateTime,
    pub(super) updated_at: OffsetDateTime,
    pub(super) payer: Payer,
    pub(super) payable: Option<PayableRef>,
    pub(super) amount: Money,
    pub(super) status: IntentStatus,
    pub(super) gateway: GatewayId,
    pub(super) gateway_intent_id: Option<String>,
    pub(super) client_secret: Option<String>,
    pub(super) description: Option<String>,
    pub(super) line_items: Vec<LineItem>,
    pub(super) business_id: Option<super::BusinessId>,
    pub(super) return_url: Option<String>,
    pub(super) cancel_url: Option<String>,
    pub(super) otp: Option<OtpState>,
    pub(super) otp_attempts: u32,
    pub(super) otp_sends: u32,
    pub(super) otp_last_sent_at: Option<OffsetDateTime>,
    pub(super) authorized_at: Option<OffsetDateTime>,
    pub(super) captured_at: Option<OffsetDateTime>,
    pub(super) failed_at: Option<OffsetDateTime>,
    pub(super) canceled_at: Option<OffsetDateTime>,
    pub(super) failure_reason: Option<String>,
    pub(super) cancellation_reason: Option<String>,
    pub(super) metadata: BTreeMap<String, String>,
    /// What the payer must do at the gateway; only while `requires_action`.
    pub(super) next_action: Option<NextAction>,
    /// Why a person must look at this intent (money arrived after it ended), if any.
    pub(super) review_reason: Option<String>,
    /// Bumped by every stored change; writes are conditional on it. Only
    /// storage advances it ([`PaymentIntent::stored_as`]).
    version: u64,
}

pub const OTP_ATTEMPTS_EXCEEDED: &str = "otp_attempts_exceeded";

/// The cancellation reason of an intent its payer abandoned.
pub const EXPIRED: &str = "expired";

/// What a gateway's report that it collected the money means for the intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewaySuccess {
    /// The intent now succeeded: record the payment and mark the payable paid.
    Collect,
    /// The intent had already ended (canceled or failed) but the money moved
    /// anyway: the payment is recorded all the same, never dropped, and the
    /// intent is flagged for a person to settle (refund or apply).
    RecordForReview,
    /// Already succeeded: the payment exists; nothing to do.
    AlreadyCollected,
}

/// What a gateway reports by webhook about one of its intents, besides
/// collecting the money (`on_gateway_succeeded`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayReport {
    Processing,
    /// The payment failed; the payer may try again with another method.
    Declined {
        reason: String,
    },
    Canceled,
    RequiresAction {
        next_action: Option<NextAction>,
    },
}

/// The cancellation reason of an intent its gateway canceled.
pub const CANCELED_BY_GATEWAY: &str = "canceled_by_gateway";

/// What an intent holds, read.
impl PaymentIntent {
    pub fn id(&self) -> IntentId {
        self.id
    }

    pub fn created_at(&self) -> OffsetDateTime {
        self.created_at
    }

    pub fn updated_at(&self) -> OffsetDateTime {
        self.updated_at
    }

    pub fn payer(&self) -> &Payer {
        &self.payer
    }

    pub fn payable(&self) -> &Option<PayableRef> {
        &self.payable
    }

    pub fn amount(&self) -> Money {
        self.amount
    }

    pub fn status(&self) -> IntentStatus {
        self.status
    }

    pub fn gateway(&self) -> GatewayId {
        self.gateway
    }

    pub fn gateway_intent_id(&self) -> &Option<String> {
        &self.gateway_intent_id
    }

    pub fn client_secret(&self) -> &Option<String> {
        &self.client_secret
    }

    pub fn description(&self) -> &Option<String> {
        &self.description
    }

    pub fn line_items(&self) -> &Vec<LineItem> {
        &self.line_items
    }

    pub fn business_id(&self) -> Option<super::BusinessId> {
        self.business_id
    }

    pub fn return_url(&self) -> &Option<String> {
        &self.return_url
    }

    pub fn cancel_url(&self) -> &Option<String> {
        &self.cancel_url
    }

    pub fn otp(&self) -> &Option<OtpState> {
        &self.otp
    }

    pub fn otp_attempts(&self) -> u32 {
        self.otp_attempts
    }

    pub fn otp_sends(&self) -> u32 {
        self.otp_sends
    }

    pub fn otp_last_sent_at(&self) -> Option<OffsetDateTime> {
        self.otp_last_sent_at
    }

    pub fn authorized_at(&self) -> Option<OffsetDateTime> {
        self.authorized_at
    }

    pub fn captured_at(&self) -> Option<OffsetDateTime> {
        self.captured_at
    }

    pub fn failed_at(&self) -> Option<OffsetDateTime> {
        self.failed_at
    }

    pub fn canceled_at(&self) -> Option<OffsetDateTime> {
        self.canceled_at
    }

    pub fn failure_reason(&self) -> &Option<String> {
        &self.failure_reason
    }

    pub fn cancellation_reason(&self) -> &Option<String> {
        &self.cancellation_reason
    }

    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    pub fn next_action(&self) -> &Option<NextAction> {
        &self.next_action
    }

    pub fn review_reason(&self) -> &Option<String> {
        &self.review_reason
    }
}

/// Storage's side of an intent's version.
impl PaymentIntent {
    /// How many changes were stored: a conditional write expects it.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Storage only: the intent was just stored at `version` (a new intent at
    /// 1, each change at one more than the version it expected).
    pub fn stored_as(&mut self, version: u64) {
        self.version = version;
    }

    /// An intent as storage holds it, at the version it was stored at.
    pub fn restore(parts: IntentParts, version: u64) -> Self {
        Self {
            id: parts.id,
            created_at: parts.created_at,
            updated_at: parts.updated_at,
            payer: parts.payer,
            payable: parts.payable,
            amount: parts.amount,
            status: parts.status,
            gateway: parts.gateway,
            gateway_intent_id: parts.gateway_intent_id,
            client_secret: parts.client_secret,
            description: parts.description,
            line_items: parts.line_items,
            business_id: parts.business_id,
            return_url: parts.return_url,
            cancel_url: parts.cancel_url,
            otp: parts.otp,
            otp_attempts: parts.otp_attempts,
            otp_sends: parts.otp_sends,
            otp_last_sent_at: parts.otp_last_sent_at,
            authorized_at: parts.authorized_at,
            captured_at: parts.captured_at,
            failed_at: parts.failed_at,
            canceled_at: parts.canceled_at,
            failure_reason: parts.failure_reason,
            cancellation_reason: parts.cancellation_reason,
            metadata: parts.metadata,
            next_action: parts.next_action,
            review_reason: parts.review_reason,
            version,
        }
    }

    /// What storage keeps of the intent, besides its version ([`PaymentIntent::version`]).
    pub fn into_parts(self) -> IntentParts {
        IntentParts {
            id: self.id,
            created_at: self.created_at,
            updated_at: self.updated_at,
            payer: self.payer,
            payable: self.payable,
            amount: self.amount,
            status: self.status,
            gateway: self.gateway,
            gateway_intent_id: self.gateway_intent_id,
            client_secret: self.client_secret,
            description: self.description,
            line_items: self.line_items,
            business_id: self.business_id,
            return_url: self.return_url,
            cancel_url: self.cancel_url,
            otp: self.otp,
            otp_attempts: self.otp_attempts,
            otp_sends: self.otp_sends,
            otp_last_sent_at: self.otp_last_sent_at,
            authorized_at: self.authorized_at,
            captured_at: self.captured_at,
            failed_at: self.failed_at,
            canceled_at: self.canceled_at,
            failure_reason: self.failure_reason,
            cancellation_reason: self.cancellation_reason,
            metadata: self.metadata,
            next_action: self.next_action,
            review_reason: self.review_reason,
        }
    }
}

impl PaymentIntent {
    pub fn open(new: NewIntent, now: OffsetDateTime) -> Self {
        Self::open_as(IntentId::new(), new, now)
    }

    /// Orders intents newest first. Not the id alone: an id named from an
    /// Idempotency-Key says nothing about when the intent was opened.
    pub fn list_key(&self) -> String {
        format!(
            "{:020}#{}",
            self.created_at.unix_timestamp_nanos().max(0),
            self.id
        )
    }

    /// Opens an intent under an id fixed in advance, such as one derived from
    /// the request's Idempotency-Key, so that a retried request finds it.
    pub fn open_as(id: IntentId, new: NewIntent, now: OffsetDateTime) -> Self {
        // The OTP connector is itself the payment method, so nothing is left to choose.
        let status = match new.gateway {
            GatewayId::Otp => IntentStatus::RequiresConfirmation,
            GatewayId::Test | GatewayId::Stripe => IntentStatus::RequiresPaymentMethod,
        };
        // Card-style gateways hand the browser a secret to confirm with (Stripe's shape).
        let client_secret = (new.gateway != GatewayId::Otp)
            .then(|| format!("{id}_secret_{}", super::ids::random_token(24)));
        Self {
            id,
            created_at: now,
            updated_at: now,
            payer: new.payer,
            payable: new.payable,
            amount: new.amount,
            status,
            gateway: new.gateway,
            gateway_intent_id: None,
            client_secret,
            description: new.description,
            line_items: new.line_items,
            business_id: new.business_id,
            return_url: new.return_url,
            cancel_url: new.cancel_url,
            otp: None,
            otp_attempts: 0,
            otp_sends: 0,
            otp_last_sent_at: None,
            authorized_at: None,
            captured_at: None,
            failed_at: None,
            canceled_at: None,
            failure_reason: None,
            cancellation_reason: None,
            metadata: new.metadata,
            next_action: None,
            review_reason: None,
            version: 0,
        }
    }

    /// The gateway's side of this intent exists: its id names the intent in
    /// the gateway's webhooks, and its secret is what the payer's browser confirms with.
    pub fn opened_at_gateway(&mut self, gateway_intent_id: String, client_secret: String) {
        self.gateway_intent_id = Some(gateway_intent_id);
        self.client_secret = Some(client_secret);
    }

    /// Whether a payment method may be tried on it now: it is the payer's turn.
    pub fn takes_payment_method(&self) -> bool {
        matches!(
            self.status,
            IntentStatus::RequiresPaymentMethod
                | IntentStatus::RequiresConfirmation
                | IntentStatus::RequiresAction
        )
    }

    /// Applies a gateway's report. Webhooks arrive late, twice and out of
    /// order: a report that would move the intent backwards (out of an ended
    /// state, `processing` after it succeeded) or where it already is, is
    /// stale, changes nothing and answers false.
    pub fn apply_gateway_report(&mut self, report: &GatewayReport, now: OffsetDateTime) -> bool {
        let target = match report {
            GatewayReport::Processing => IntentStatus::Processing,
            GatewayReport::Declined { .. } => IntentStatus::RequiresPaymentMethod,
            GatewayReport::Canceled => IntentStatus::Canceled,
            GatewayReport::RequiresAction { .. } => IntentStatus::RequiresAction,
        };
        if !self.status.can_transition_to(target) {
            return false;
        }
        let mut next = self.clone();
        // As on Stripe, the last decline's reason goes once the intent moves on.
        next.failure_reason = None;
        let moved = match report {
            GatewayReport::Processing => next.transition(target, now),
            GatewayReport::Declined { reason } => next.transition(target, now).map(|()| {
                next.failure_reason = Some(reason.clone());
                next.failed_at = Some(now);
            }),
            GatewayReport::Canceled => next.cancel(CANCELED_BY_GATEWAY, now),
            GatewayReport::RequiresAction { next_action } => {
                next.transition(target, now).map(|()| {
                    next.next_action = next_action.clone();
                })
            }
        };
        if moved.is_err() {
            return false;
        }
        *self = next;
        true
    }

    pub fn transition(
        &mut self,
        to: IntentStatus,
        now: OffsetDateTime,
    ) -> Result<(), IllegalTransition> {
        if !self.status.can_transition_to(to) {
            return Err(IllegalTransition {
                from: self.status,
                to,
            });
        }
        self.status = to;
        self.updated_at = now;
        if to != IntentStatus::RequiresAction {
            // The gateway's step is done with once the intent moves on.
            self.next_action = None;
        }
        match to {
            IntentStatus::Processing => self.authorized_at = Some(now),
            IntentStatus::Succeeded => self.captured_at = Some(now),
            IntentStatus::Failed => self.failed_at = Some(now),
            IntentStatus::Canceled => self.canceled_at = Some(now),
            _ => {}
        }
        if to.is_terminal() {
            // A finished intent keeps no usable code.
            self.otp = None;
        }
        Ok(())
    }

    pub fn cancel(&mut self, reason: &str, now: OffsetDateTime) -> Result<(), IllegalTransition> {
        self.transition(IntentStatus::Canceled, now)?;
        self.cancellation_reason = Some(reason.to_owned());
        Ok(())
    }

    pub fn fail(&mut self, reason: &str, now: OffsetDateTime) -> Result<(), IllegalTransition> {
        self.transition(IntentStatus::Failed, now)?;
        self.failure_reason = Some(reason.to_owned());
        Ok(())
    }

    /// Whether only the payer can move it on: no gateway is acting on it.
    fn awaits_only_the_payer(&self) -> bool {
        match self.status {
            IntentStatus::RequiresPaymentMethod | IntentStatus::RequiresConfirmation => true,
            // The emailed code is ours; a card gateway's action (3-D Secure) is not.
            IntentStatus::RequiresAction => self.gateway == GatewayId::Otp,
            _ => false,
        }
    }

    /// An intent its payer left open for `ttl` counts as canceled (`expired`),
    /// so that its payable is free again. True when it expired just now.
    pub fn expire_if_due(&mut self, now: OffsetDateTime, ttl: time::Duration) -> bool {
        if now < self.created_at + ttl || !self.awaits_only_the_payer() {
            return false;
        }
        match self.gateway {
            // Neither holds anything outside this service, so nothing to undo there.
            GatewayId::Otp | GatewayId::Test => {}
            // Stripe keeps its own intent, which the payer's browser can still
            // confirm with the client secret: ending ours silently could let
            // money arrive on an intent we consider ended. Such an intent ends
            // only when it is canceled, which cancels it at Stripe first.
            GatewayId::Stripe => return false,
        }
        self.cancel(EXPIRED, now).is_ok()
    }

    /// The gateway reports it collected the money. Money that moved is never
    /// ignored: on an intent we already ended it is recorded for review.
    pub fn on_gateway_succeeded(
        &mut self,
        now: OffsetDateTime,
    ) -> Result<GatewaySuccess, IllegalTransition> {
        match self.status {
            IntentStatus::Succeeded => Ok(GatewaySuccess::AlreadyCollected),
            // Flagged already: that report's payment is recorded.
            IntentStatus::Canceled | IntentStatus::Failed if self.review_reason.is_some() => {
                Ok(GatewaySuccess::AlreadyCollected)
            }
            IntentStatus::Canceled | IntentStatus::Failed => {
                self.review_reason = Some(format!("gateway_succeeded_after_{}", self.status));
                self.updated_at = now;
                Ok(GatewaySuccess::RecordForReview)
            }
            IntentStatus::Processing => {
                self.transition(IntentStatus::Succeeded, now)?;
                self.failure_reason = None;
                Ok(GatewaySuccess::Collect)
            }
            _ => {
                self.transition(IntentStatus::Processing, now)?;
                self.transition(IntentStatus::Succeeded, now)?;
                // An earlier decline is history once the money is collected.
                self.failure_reason = None;
                Ok(GatewaySuccess::Collect)
            }
        }
    }

    /// Applies what the gateway answered to a confirmation with a payment
    /// method. Naming the method first takes a `requires_payment_method`
    /// intent to `requires_confirmation`. A decline returns the intent to the
    /// payer, who may try another card; the time of the last decline stays
    /// on the intent, its reason until the intent moves on. All or nothing: a
    /// refused outcome changes nothing.
    pub fn apply_confirmation(
        &mut self,
        outcome: &Confirmation,
        now: OffsetDateTime,
    ) -> Result<(), IllegalTransition> {
        let target = match outcome {
            Confirmation::Succeeded => IntentStatus::Succeeded,
            Confirmation::Declined { .. } => IntentStatus::RequiresPaymentMethod,
            Confirmation::RequiresAction { .. } => IntentStatus::RequiresAction,
            Confirmation::Processing => IntentStatus::Processing,
        };
        // Only the payer's turn can be confirmed: once the gateway holds the
        // money (processing) or the intent ended, a new payment method is refused.
        if !self.takes_payment_method() {
            return Err(IllegalTransition {
                from: self.status,
                to: target,
            });
        }
        let mut next = self.clone();
        // A new attempt: the last decline's reason no longer describes the intent.
        next.failure_reason = None;
        if next.status == IntentStatus::RequiresPaymentMethod {
            next.transition(IntentStatus::RequiresConfirmation, now)?;
        }
        match outcome {
            Confirmation::Succeeded => {
                next.transition(IntentStatus::Processing, now)?;
                next.transition(IntentStatus::Succeeded, now)?;
            }
            Confirmation::Declined { reason } => {
                next.transition(IntentStatus::RequiresPaymentMethod, now)?;
                next.failure_reason = Some(reason.clone());
                next.failed_at = Some(now);
            }
            Confirmation::RequiresAction { next_action } => {
                // Already awaiting an action: the gateway asks for a new one.
                if next.status != IntentStatus::RequiresAction {
                    next.transition(IntentStatus::RequiresAction, now)?;
                }
                next.next_action = Some(next_action.clone());
                next.updated_at = now;
            }
            Confirmation::Processing => next.transition(IntentStatus::Processing, now)?,
        }
        *self = next;
        Ok(())
    }

    /// Whether a code could be sent now as far as the status machine goes (an
    /// OTP intent that is not finished); limits on sending are checked on issue.
    pub fn issue_otp_allowed(&self) -> bool {
        self.gateway == GatewayId::Otp
            && (self.status == IntentStatus::RequiresAction
                || self.status.can_transition_to(IntentStatus::RequiresAction))
    }

    /// Records a freshly sent code (replacing any earlier one) and returns its expiry.
    pub fn issue_otp(
        &mut self,
        hash: OtpHash,
        now: OffsetDateTime,
        policy: &OtpPolicy,
    ) -> Result<OffsetDateTime, OtpRequestError> {
        if self.gateway != GatewayId::Otp {
            return Err(OtpRequestError::NotOtpGateway(self.gateway.as_str()));
        }
        if self.status != IntentStatus::RequiresAction {
            self.status
                .can_transition_to(IntentStatus::RequiresAction)
                .then_some(())
                .ok_or(IllegalTransition {
                    from: self.status,
                    to: IntentStatus::RequiresAction,
                })?;
        }
        if self.otp_sends >= policy.max_sends {
            return Err(OtpError::TooManySends(policy.max_sends).into());
        }
        if let Some(last) = self.otp_last_sent_at {
            let ready_at = last + policy.resend_cooldown;
            if now < ready_at {
                let wait = (ready_at - now).whole_seconds().max(1);
                return Err(
                    OtpError::Cooldown(policy.resend_cooldown.whole_seconds(), wait).into(),
                );
            }
        }
        if self.status != IntentStatus::RequiresAction {
            self.transition(IntentStatus::RequiresAction, now)?;
        }
        let expires_at = now + policy.ttl;
        self.otp = Some(OtpState { hash, expires_at });
        self.otp_sends += 1;
        self.otp_last_sent_at = Some(now);
        self.updated_at = now;
        Ok(expires_at)
    }

    /// The code this intent awaits now, if any; why not otherwise. Nothing is
    /// compared here: a guess is compared only once its attempt is reserved.
    pub fn awaited_code(&self, now: OffsetDateTime) -> Result<&OtpState, OtpRequestError> {
        if self.gateway != GatewayId::Otp {
            return Err(OtpRequestError::NotOtpGateway(self.gateway.as_str()));
        }
        if self.status != IntentStatus::RequiresAction {
            return Err(IllegalTransition {
                from: self.status,
                to: IntentStatus::Processing,
            }
            .into());
        }
        let Some(otp) = &self.otp else {
            return Err(OtpError::NotRequested.into());
        };
        // Expiry is checked here, not left to storage TTL, which deletes late.
        if now >= otp.expires_at {
            return Err(OtpError::Expired.into());
        }
        Ok(otp)
    }

    /// Checks a code without changing anything; the caller stores the outcome atomically.
    pub fn check_otp(&self, pepper: &[u8], code: &OtpCode, now: OffsetDateTime) -> OtpCheck {
        match self.awaited_code(now) {
            Err(e) => OtpCheck::Rejected(e),
            Ok(otp) if otp.hash.matches(pepper, &self.id, code) => OtpCheck::Correct,
            Ok(_) => OtpCheck::Wrong,
        }
    }

    /// A correct code: requires_action → processing → succeeded.
    pub fn succeed_with_otp(&mut self, now: OffsetDateTime) -> Result<(), IllegalTransition> {
        self.transition(IntentStatus::Processing, now)?;
        self.transition(IntentStatus::Succeeded, now)
    }

    /// A correct code on a reserved attempt: the attempt is given back, so
    /// `otp_attempts` keeps counting wrong codes (and guesses still in flight).
    pub fn succeed_on_reserved_attempt(
        &mut self,
        now: OffsetDateTime,
    ) -> Result<(), IllegalTransition> {
        self.succeed_with_otp(now)?;
        self.otp_attempts = self.otp_attempts.saturating_sub(1);
        Ok(())
    }

    /// Reserves one attempt at the awaited code `code` while fewer than `limit`
    /// are reserved; the attempt's number, or `None` (nothing changed) when that
    /// no longer holds (another code was sent meanwhile, or the intent moved on).
    pub fn reserve_otp_attempt(
        &mut self,
        code: &OtpHash,
        limit: u32,
        now: OffsetDateTime,
    ) -> Option<u32> {
        if self.status != IntentStatus::RequiresAction
            || self.otp_attempts >= limit
            || self.otp.as_ref().map(|o| &o.hash) != Some(code)
        {
            return None;
        }
        self.otp_attempts += 1;
        self.version += 1;
        self.updated_at = now;
        Some(self.otp_attempts)
    }

    /// The wrong code that uses up the last attempt fails the intent.
    pub fn exhaust_otp_attempts(
        &mut self,
        policy: &OtpPolicy,
        now: OffsetDateTime,
    ) -> Result<(), IllegalTransition> {
        self.fail(OTP_ATTEMPTS_EXCEEDED, now)?;
        self.otp_attempts = policy.max_attempts;
        Ok(())
    }
}

/// For tests: an open intent of payer `u1` for 112.00 USD at `gateway`,
/// naming nothing else.
#[cfg(test)]
pub(crate) fn sample_intent(gateway: GatewayId, now: OffsetDateTime) -> PaymentIntent {
    use super::{Currency, Email, UserId};
    PaymentIntent::open(
        NewIntent {
            payer: Payer {
                user_id: UserId::parse("u1").expect("valid"),
                email: Email::parse("u1@example.com").expect("valid"),
            },
            payable: None,
            amount: Money::from_minor(11200, Currency::parse("USD").expect("usd")).expect("valid"),
            gateway,
            description: None,
            line_items: vec![],
            business_id: None,
            return_url: None,
            cancel_url: None,
            metadata: BTreeMap::new(),
        },
        now,
    )
}

/// For tests: `intent` as its gateway named it when it was created there.
#[cfg(test)]
pub(crate) fn named_by_gateway(intent: PaymentIntent, gateway_intent_id: &str) -> PaymentIntent {
    let version = intent.version();
    PaymentIntent::restore(
        IntentParts {
            gateway_intent_id: Some(gateway_intent_id.to_owned()),
            ..intent.into_parts()
        },
        version,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use IntentStatus::*;
    use time::Duration;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_760_000_000).expect("valid")
    }

    fn intent(gateway: GatewayId) -> PaymentIntent {
        sample_intent(gateway, now())
    }

    #[test]
    fn every_transition_is_legal_or_illegal_as_specified() {
        let legal: &[(IntentStatus, IntentStatus)] = &[
            (RequiresPaymentMethod, RequiresConfirmation),
            (RequiresPaymentMethod, RequiresAction),
            (RequiresPaymentMethod, Processing),
            (RequiresPaymentMethod, Canceled),
            (RequiresPaymentMethod, Failed),
            (RequiresConfirmation, RequiresPaymentMethod),
            (RequiresConfirmation, RequiresAction),
            (RequiresConfirmation, Processing),
            (RequiresConfirmation, Canceled),
            (RequiresConfirmation, Failed),
            (RequiresAction, RequiresPaymentMethod),
            (RequiresAction, Processing),
            (RequiresAction, Canceled),
            (RequiresAction, Failed),
            (Processing, RequiresPaymentMethod),
            (Processing, Succeeded),
            (Processing, Failed),
        ];
        for from in IntentStatus::ALL {
            for to in IntentStatus::ALL {
                let expected = legal.contains(&(from, to));
                assert_eq!(from.can_transition_to(to), expected, "{from} -> {to}");
                let mut i = intent(GatewayId::Test);
                i.status = from;
                let result = i.transition(to, now());
                if expected {
                    assert_eq!(i.status, to);
                } else {
                    let err = result.expect_err("illegal");
                    assert_eq!(
                        err.to_string(),
                        format!("cannot move payment intent from {from} to {to}")
                    );
                    assert_eq!(i.status, from, "an illegal transition changes nothing");
                }
            }
        }
    }

    #[test]
    fn terminal_states() {
        assert!(Succeeded.is_terminal() && Canceled.is_terminal() && Failed.is_terminal());
        assert!(!Processing.is_terminal() && !RequiresAction.is_terminal());
    }

    #[test]
    fn statuses_round_trip() {
        for s in IntentStatus::ALL {
            assert_eq!(IntentStatus::parse(s.as_str()), Ok(s));
        }
        assert!(IntentStatus::parse("Succeeded").is_err());
    }

    #[test]
    fn otp_intents_start_awaiting_confirmation() {
        assert_eq!(intent(GatewayId::Otp).status, RequiresConfirmation);
        assert_eq!(intent(GatewayId::Test).status, RequiresPaymentMethod);
    }

    #[test]
    fn card_gateways_get_a_client_secret_bound_to_the_intent() {
        assert_eq!(intent(GatewayId::Otp).client_secret, None);
        let i = intent(GatewayId::Test);
        let secret = i.client_secret.clone().expect("secret");
        let prefix = format!("{}_secret_", i.id);
        assert!(
            secret.starts_with(&prefix) && secret.len() == prefix.len() + 24,
            "{secret}"
        );
    }

    fn hash(i: &PaymentIntent, code: &str) -> OtpHash {
        OtpHash::compute(b"pepper", &i.id, &OtpCode::parse(code).expect("valid"))
    }

    #[test]
    fn issuing_a_code_moves_to_requires_action_and_sets_expiry() {
        let p = OtpPolicy::STANDARD;
        let mut i = intent(GatewayId::Otp);
        let h = hash(&i, "111111");
        let exp = i.issue_otp(h, now(), &p).expect("issued");
        assert_eq!(exp, now() + Duration::minutes(5));
        assert_eq!(i.status, RequiresAction);
        assert_eq!(i.otp_sends, 1);
    }

    #[test]
    fn resend_respects_cooldown_and_max_sends_and_replaces_code() {
        let p = OtpPolicy::STANDARD;
        let mut i = intent(GatewayId::Otp);
        i.issue_otp(hash(&i, "111111"), now(), &p).expect("first");
        let early = i.issue_otp(hash(&i, "222222"), now() + Duration::seconds(29), &p);
        assert_eq!(early, Err(OtpRequestError::Otp(OtpError::Cooldown(30, 1))));
        let mut t = now();
        for _ in 1..5 {
            t += Duration::seconds(30);
            i.issue_otp(hash(&i, "222222"), t, &p).expect("resend");
        }
        assert_eq!(i.otp_sends, 5);
        let code = OtpCode::parse("222222").expect("valid");
        assert_eq!(i.check_otp(b"pepper", &code, t), OtpCheck::Correct);
        let old = OtpCode::parse("111111").expect("valid");
        assert_eq!(
            i.check_otp(b"pepper", &old, t),
            OtpCheck::Wrong,
            "a new code replaces the old"
        );
        let sixth = i.issue_otp(hash(&i, "333333"), t + Duration::minutes(1), &p);
        assert_eq!(sixth, Err(OtpRequestError::Otp(OtpError::TooManySends(5))));
    }

    #[test]
    fn codes_expire_after_five_minutes() {
        let p = OtpPolicy::STANDARD;
        let mut i = intent(GatewayId::Otp);
        i.issue_otp(hash(&i, "123456"), now(), &p).expect("issued");
        let code = OtpCode::parse("123456").expect("valid");
        assert_eq!(
            i.check_otp(b"pepper", &code, now() + Duration::seconds(299)),
            OtpCheck::Correct
        );
        assert_eq!(
            i.check_otp(b"pepper", &code, now() + Duration::seconds(300)),
            OtpCheck::Rejected(OtpError::Expired.into())
        );
    }

    #[test]
    fn checking_before_a_code_was_sent_or_on_other_gateways_is_rejected() {
        let i = intent(GatewayId::Otp);
        let code = OtpCode::parse("123456").expect("valid");
        assert_eq!(
            i.check_otp(b"pepper", &code, now()),
            OtpCheck::Rejected(
                IllegalTransition {
                    from: RequiresConfirmation,
                    to: Processing
                }
                .into()
            )
        );
        let mut t = intent(GatewayId::Test);
        assert!(matches!(
            t.check_otp(b"pepper", &code, now()),
            OtpCheck::Rejected(OtpRequestError::NotOtpGateway(_))
        ));
        let h = hash(&t, "123456");
        assert_eq!(
            t.issue_otp(h, now(), &OtpPolicy::STANDARD),
            Err(OtpRequestError::NotOtpGateway("test"))
        );
    }

    #[test]
    fn no_code_for_terminal_intents() {
        let mut i = intent(GatewayId::Otp);
        i.cancel("requested_by_customer", now()).expect("cancel");
        let h = hash(&i, "123456");
        assert_eq!(
            i.issue_otp(h, now(), &OtpPolicy::STANDARD),
            Err(IllegalTransition {
                from: Canceled,
                to: RequiresAction
            }
            .into())
        );
    }

    #[test]
    fn success_and_exhaustion() {
        let p = OtpPolicy::STANDARD;
        let mut i = intent(GatewayId::Otp);
        i.issue_otp(hash(&i, "123456"), now(), &p).expect("issued");
        let mut ok = i.clone();
        ok.succeed_with_otp(now()).expect("succeeds");
        assert_eq!(ok.status, Succeeded);
        assert!(ok.captured_at.is_some() && ok.authorized_at.is_some() && ok.otp.is_none());
        i.exhaust_otp_attempts(&p, now()).expect("fails");
        assert_eq!(i.status, Failed);
        assert_eq!(i.otp_attempts, 5);
        assert_eq!(i.failure_reason.as_deref(), Some(OTP_ATTEMPTS_EXCEEDED));
    }

    #[test]
    fn cancel_records_reason_and_time() {
        let mut i = intent(GatewayId::Test);
        i.cancel("requested_by_customer", now()).expect("cancel");
        assert_eq!(
            i.cancellation_reason.as_deref(),
            Some("requested_by_customer")
        );
        assert_eq!(i.canceled_at, Some(now()));
        assert!(i.cancel("again", now()).is_err());
    }

    #[test]
    fn only_intents_waiting_on_their_payer_expire() {
        let ttl = Duration::hours(24);
        let later = now() + ttl;
        for (gateway, status, expires) in [
            (GatewayId::Test, RequiresPaymentMethod, true),
            (GatewayId::Otp, RequiresConfirmation, true),
            (GatewayId::Otp, RequiresAction, true),
            // A card gateway's pending action (3-D Secure) is not ours to end.
            (GatewayId::Test, RequiresAction, false),
            (GatewayId::Test, Processing, false),
            // Stripe's own intent stays confirmable: only an explicit cancel ends it.
            (GatewayId::Stripe, RequiresPaymentMethod, false),
            (GatewayId::Stripe, RequiresConfirmation, false),
            (GatewayId::Otp, Succeeded, false),
            (GatewayId::Otp, Failed, false),
        ] {
            let mut i = intent(gateway);
            i.status = status;
            let before = i.clone();
            assert!(
                !i.expire_if_due(later - Duration::seconds(1), ttl),
                "not yet"
            );
            assert_eq!(i, before);
            assert_eq!(i.expire_if_due(later, ttl), expires, "{gateway:?} {status}");
            if expires {
                assert_eq!(i.status, Canceled);
                assert_eq!(i.cancellation_reason.as_deref(), Some(EXPIRED));
                assert_eq!(i.canceled_at, Some(later));
            } else {
                assert_eq!(i.status, status);
            }
        }
    }

    fn redirect() -> NextAction {
        NextAction {
            kind: "redirect_to_url".to_owned(),
            url: Some("https://gateway.test/authenticate/pi_test_1".to_owned()),
        }
    }

    #[test]
    fn a_successful_confirmation_passes_through_processing() {
        let later = now() + Duration::seconds(5);
        for from in [RequiresPaymentMethod, RequiresConfirmation, RequiresAction] {
            let mut i = intent(GatewayId::Test);
            i.status = from;
            i.apply_confirmation(&Confirmation::Succeeded, later)
                .expect("succeeds");
            assert_eq!(i.status, Succeeded, "from {from}");
            assert_eq!(i.authorized_at, Some(later));
            assert_eq!(i.captured_at, Some(later));
            assert_eq!(i.updated_at, later);
            assert_eq!(i.next_action, None);
        }
    }

    #[test]
    fn a_decline_returns_the_intent_to_the_payer_with_its_reason() {
        let mut i = intent(GatewayId::Test);
        let declined = Confirmation::Declined {
            reason: "card_declined".to_owned(),
        };
        i.apply_confirmation(&declined, now()).expect("declined");
        assert_eq!(i.status, RequiresPaymentMethod);
        assert_eq!(i.failure_reason.as_deref(), Some("card_declined"));
        assert_eq!(i.failed_at, Some(now()));
        assert_eq!(i.authorized_at, None);
        // The payer tries another card.
        i.apply_confirmation(&Confirmation::Succeeded, now())
            .expect("second card");
        assert_eq!(i.status, Succeeded);
        assert_eq!(i.failure_reason, None, "the decline no longer describes it");
    }

    fn declined(reason: &str) -> GatewayReport {
        GatewayReport::Declined {
            reason: reason.to_owned(),
        }
    }

    #[test]
    fn gateway_reports_move_the_intent_only_forward_or_back_to_the_payer() {
        let mut i = intent(GatewayId::Test);
        let action = GatewayReport::RequiresAction {
            next_action: Some(redirect()),
        };
        assert!(i.apply_gateway_report(&action, now()));
        assert_eq!(
            (i.status, i.next_action.clone()),
            (RequiresAction, Some(redirect()))
        );
        assert!(!i.apply_gateway_report(&action, now()), "already there");
        assert!(i.apply_gateway_report(&declined("expired_card"), now()));
        assert_eq!(i.status, RequiresPaymentMethod);
        assert_eq!(i.failure_reason.as_deref(), Some("expired_card"));
        assert_eq!((i.failed_at, i.next_action.clone()), (Some(now()), None));
        assert!(
            !i.apply_gateway_report(&declined("again"), now()),
            "already the payer's"
        );
        assert!(i.apply_gateway_report(&GatewayReport::Processing, now()));
        assert_eq!((i.status, i.failure_reason.clone()), (Processing, None));
        assert!(
            !i.apply_gateway_report(&GatewayReport::Canceled, now()),
            "money is moving"
        );
        assert!(i.apply_gateway_report(&declined("insufficient_funds"), now()));
        assert!(i.apply_gateway_report(&GatewayReport::Canceled, now()));
        assert_eq!(i.status, Canceled);
        assert_eq!(i.cancellation_reason.as_deref(), Some(CANCELED_BY_GATEWAY));
    }

    #[test]
    fn late_gateway_reports_leave_an_ended_intent_as_it_is() {
        for end in [Succeeded, Canceled, Failed] {
            for report in [
                GatewayReport::Processing,
                declined("card_declined"),
                GatewayReport::Canceled,
                GatewayReport::RequiresAction { next_action: None },
            ] {
                let mut i = intent(GatewayId::Test);
                i.status = end;
                let before = i.clone();
                assert!(!i.apply_gateway_report(&report, now()), "{end} {report:?}");
                assert_eq!(i, before);
            }
        }
    }

    #[test]
    fn an_action_keeps_the_gateways_next_step_until_the_intent_moves_on() {
        let mut i = intent(GatewayId::Test);
        let action = Confirmation::RequiresAction {
            next_action: redirect(),
        };
        i.apply_confirmation(&action, now()).expect("action");
        assert_eq!(i.status, RequiresAction);
        assert_eq!(i.next_action, Some(redirect()));
        i.apply_confirmation(&action, now()).expect("asked again");
        assert_eq!(i.status, RequiresAction);
        i.apply_confirmation(&Confirmation::Processing, now())
            .expect("processing");
        assert_eq!(i.status, Processing);
        assert_eq!(i.authorized_at, Some(now()));
        assert_eq!(i.next_action, None);
    }

    #[test]
    fn confirming_outside_the_payers_turn_is_illegal_and_changes_nothing() {
        let outcomes = [
            (Confirmation::Succeeded, Succeeded),
            (
                Confirmation::Declined {
                    reason: "card_declined".to_owned(),
                },
                RequiresPaymentMethod,
            ),
            (
                Confirmation::RequiresAction {
                    next_action: redirect(),
                },
                RequiresAction,
            ),
            (Confirmation::Processing, Processing),
        ];
        for from in [Processing, Succeeded, Canceled, Failed] {
            for (outcome, to) in &outcomes {
                let mut i = intent(GatewayId::Test);
                i.status = from;
                let before = i.clone();
                assert_eq!(
                    i.apply_confirmation(outcome, now()),
                    Err(IllegalTransition { from, to: *to }),
                    "{from} {outcome:?}"
                );
                assert_eq!(i, before);
            }
        }
    }

    #[test]
    fn a_gateway_success_is_never_dropped() {
        let mut open = intent(GatewayId::Test);
        assert_eq!(
            open.on_gateway_succeeded(now()),
            Ok(GatewaySuccess::Collect)
        );
        assert_eq!(open.status, Succeeded);
        assert_eq!(
            open.on_gateway_succeeded(now()),
            Ok(GatewaySuccess::AlreadyCollected)
        );
        let mut expired = intent(GatewayId::Test);
        assert!(expired.expire_if_due(now() + Duration::days(2), Duration::hours(24)));
        assert_eq!(
            expired.on_gateway_succeeded(now()),
            Ok(GatewaySuccess::RecordForReview)
        );
        assert_eq!(expired.status, Canceled, "an ended intent stays ended");
        assert_eq!(
            expired.review_reason.as_deref(),
            Some("gateway_succeeded_after_canceled")
        );
        assert_eq!(
            expired.on_gateway_succeeded(now()),
            Ok(GatewaySuccess::AlreadyCollected),
            "a repeated report records nothing twice"
        );
    }
}
