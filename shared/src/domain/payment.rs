//! The money record: created once per successful collection.

use time::OffsetDateTime;

use super::names::named_enum;
use super::{FeeSchedule, IntentId, Invalid, Money, PayableRef, PaymentId, UserId};

named_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum PaymentStatus {
        Pending => "PENDING",
        Completed => "COMPLETED",
        Failed => "FAILED",
        Cancelled => "CANCELLED",
        Refunded => "REFUNDED",
    }
}

impl PaymentStatus {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Self::from_name(s).ok_or_else(|| {
            Invalid::new("status must be one of PENDING, COMPLETED, FAILED, CANCELLED, REFUNDED")
        })
    }
}

named_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum PaymentMethod {
        /// Confirmed by a one-time code mailed to the payer.
        EmailOtp => "email_otp",
        Card => "Card",
        Cash => "Cash",
        BankTransfer => "Bank Transfer",
        Bkash => "Bkash",
        Nagad => "Nagad",
        Rocket => "Rocket",
    }
}

impl PaymentMethod {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Self::from_name(s).ok_or_else(|| {
            Invalid::new(
                "paymentMethod must be one of Bkash, Card, Cash, Bank Transfer, Nagad, Rocket",
            )
        })
    }
}

/// Everything storage keeps of a payment: what a payment is rebuilt from when
/// read back ([`Payment::restore`]).
#[derive(Debug, Clone)]
pub struct PaymentParts {
    pub id: PaymentId,
    pub payable: Option<PayableRef>,
    pub intent_id: Option<IntentId>,
    pub payer_user_id: UserId,
    pub amount: Money,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    /// The gateway's or bank's reference; none for an offline payment not yet reconciled.
    pub transaction_id: Option<String>,
    /// Processing fee in minor units of `amount`'s currency.
    pub fee_minor: i64,
    /// What its succeeded refunds gave back, in minor units: the refunded
    /// sum every API shows.
    pub refunded_minor: i64,
    /// What its refunds hold of it, pending or succeeded, in minor units: a
    /// refund the gateway has not confirmed yet may still give its money
    /// back, so it counts against what may be refunded. Never more than
    /// `amount`; never less than `refunded_minor`.
    pub refund_held_minor: i64,
    /// The business its payable had when it was made. It stays the payment's
    /// business (the one whose partners see it) whoever the payable belongs to later.
    pub business_id: Option<super::BusinessId>,
    /// Why staff must look at it: money a gateway collected for an intent
    /// that had already ended another way (canceled, failed, or its order
    /// paid offline), so the payer may have paid twice.
    pub review_reason: Option<String>,
    pub created_at: OffsetDateTime,
}

/// A payment's fields are the domain's: outside it they are read through
/// accessors and changed only by its methods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub(super) id: PaymentId,
    pub(super) payable: Option<PayableRef>,
    pub(super) intent_id: Option<IntentId>,
    pub(super) payer_user_id: UserId,
    pub(super) amount: Money,
    pub(super) method: PaymentMethod,
    pub(super) status: PaymentStatus,
    /// The gateway's or bank's reference; none for an offline payment not yet reconciled.
    pub(super) transaction_id: Option<String>,
    /// Processing fee in minor units of `amount`'s currency.
    pub(super) fee_minor: i64,
    /// What its succeeded refunds gave back, in minor units: the refunded
    /// sum every API shows.
    pub(super) refunded_minor: i64,
    /// What its refunds hold of it, pending or succeeded, in minor units: a
    /// refund the gateway has not confirmed yet may still give its money
    /// back, so it counts against what may be refunded. Never more than
    /// `amount`; never less than `refunded_minor`.
    pub(super) refund_held_minor: i64,
    /// The business its payable had when it was made. It stays the payment's
    /// business (the one whose partners see it) whoever the payable belongs to later.
    pub(super) business_id: Option<super::BusinessId>,
    /// Why staff must look at it: money a gateway collected for an intent
    /// that had already ended another way (canceled, failed, or its order
    /// paid offline), so the payer may have paid twice.
    pub(super) review_reason: Option<String>,
    pub(super) created_at: OffsetDateTime,
}

/// What a payment holds, read.
impl Payment {
    pub fn id(&self) -> PaymentId {
        self.id
    }

    pub fn payable(&self) -> &Option<PayableRef> {
        &self.payable
    }

    pub fn intent_id(&self) -> Option<IntentId> {
        self.intent_id
    }

    pub fn payer_user_id(&self) -> &UserId {
        &self.payer_user_id
    }

    pub fn amount(&self) -> Money {
        self.amount
    }

    pub fn method(&self) -> PaymentMethod {
        self.method
    }

    pub fn status(&self) -> PaymentStatus {
        self.status
    }

    pub fn transaction_id(&self) -> &Option<String> {
        &self.transaction_id
    }

    pub fn fee_minor(&self) -> i64 {
        self.fee_minor
    }

    pub fn refunded_minor(&self) -> i64 {
        self.refunded_minor
    }

    pub fn refund_held_minor(&self) -> i64 {
        self.refund_held_minor
    }

    pub fn business_id(&self) -> Option<super::BusinessId> {
        self.business_id
    }

    pub fn review_reason(&self) -> &Option<String> {
        &self.review_reason
    }

    pub fn created_at(&self) -> OffsetDateTime {
        self.created_at
    }
}

/// Storage's side of a payment.
impl Payment {
    /// A payment as storage holds it.
    pub fn restore(parts: PaymentParts) -> Self {
        Self {
            id: parts.id,
            payable: parts.payable,
            intent_id: parts.intent_id,
            payer_user_id: parts.payer_user_id,
            amount: parts.amount,
            method: parts.method,
            status: parts.status,
            transaction_id: parts.transaction_id,
            fee_minor: parts.fee_minor,
            refunded_minor: parts.refunded_minor,
            refund_held_minor: parts.refund_held_minor,
            business_id: parts.business_id,
            review_reason: parts.review_reason,
            created_at: parts.created_at,
        }
    }

    /// Everything it holds, as storage keeps it.
    pub fn into_parts(self) -> PaymentParts {
        PaymentParts {
            id: self.id,
            payable: self.payable,
            intent_id: self.intent_id,
            payer_user_id: self.payer_user_id,
            amount: self.amount,
            method: self.method,
            status: self.status,
            transaction_id: self.transaction_id,
            fee_minor: self.fee_minor,
            refunded_minor: self.refunded_minor,
            refund_held_minor: self.refund_held_minor,
            business_id: self.business_id,
            review_reason: self.review_reason,
            created_at: self.created_at,
        }
    }
}

impl Payment {
    /// The payment a succeeded intent creates: the intent's amount, COMPLETED,
    /// its fee fixed from `fees`.
    pub fn for_intent(
        intent: &super::PaymentIntent,
        method: PaymentMethod,
        transaction_id: String,
        fees: &FeeSchedule,
        now: OffsetDateTime,
    ) -> Self {
        let mut payment = Self {
            id: PaymentId::new(),
            payable: intent.payable.clone(),
            intent_id: Some(intent.id),
            payer_user_id: intent.payer.user_id.clone(),
            amount: intent.amount,
            method,
            status: PaymentStatus::Completed,
            transaction_id: Some(transaction_id),
            fee_minor: 0,
            refunded_minor: 0,
            refund_held_minor: 0,
            review_reason: None,
            // The business the intent was opened for: its payable keeps that
            // business while the intent is open, so the money it collects
            // belongs to the business the payer was paying.
            business_id: intent.business_id,
            created_at: now,
        };
        payment.fix_fee(fees);
        payment
    }

    /// A payment recorded directly against a payable, on behalf of its owner;
    /// a COMPLETED one with its fee fixed from `fees`.
    pub fn against(
        payable: &super::Payable,
        amount: Money,
        method: PaymentMethod,
        status: PaymentStatus,
        fees: &FeeSchedule,
        now: OffsetDateTime,
    ) -> Self {
        let mut payment = Self {
            id: PaymentId::new(),
            payable: Some(payable.payable.clone()),
            intent_id: None,
            payer_user_id: payable.owner.user_id.clone(),
            amount,
            method,
            status,
            transaction_id: None,
            fee_minor: 0,
            refunded_minor: 0,
            refund_held_minor: 0,
            review_reason: None,
            business_id: payable.business_id,
            created_at: now,
        };
        payment.fix_fee(fees);
        payment
    }

    /// Names it from the caller's Idempotency-Key, so that a repeated
    /// request finds it; a new payment only.
    pub fn name(&mut self, id: PaymentId) {
        self.id = id;
    }

    /// The reference staff give for money that moved outside any gateway.
    pub fn take_reference(&mut self, reference: Option<String>) {
        self.transaction_id = reference;
    }

    /// Marks it for staff to look at, for `reason`.
    pub fn hold_for_review(&mut self, reason: Option<String>) {
        self.review_reason = reason;
    }

    /// A PENDING payment whose money arrived, its fee fixed as it completes.
    /// Only a pending one may complete.
    pub fn complete(&mut self, fees: &FeeSchedule) -> Result<(), Invalid> {
        if self.status != PaymentStatus::Pending {
            return Err(Invalid::new(format!(
                "a {} payment cannot be completed",
                self.status.as_str()
            )));
        }
        self.status = PaymentStatus::Completed;
        self.fix_fee(fees);
        Ok(())
    }

    /// Fixes the fee of a COMPLETED payment from the schedule; one that has
    /// not completed owes none yet.
    pub fn fix_fee(&mut self, fees: &FeeSchedule) {
        self.fee_minor = match self.status {
            PaymentStatus::Completed => fees.fee(self.method.as_str(), self.amount),
            _ => 0,
        };
    }

    /// The fee a gateway reports it took wins over the schedule's, when it
    /// reports one above zero; never more than the payment itself.
    pub fn take_gateway_fee(&mut self, fee_minor: i64) {
        if self.status == PaymentStatus::Completed && fee_minor > 0 {
            self.fee_minor = fee_minor.min(self.amount.minor());
        }
    }

    /// Orders payments newest first. Not the id alone: an id named from an
    /// Idempotency-Key says nothing about when the payment was made.
    pub fn list_key(&self) -> String {
        format!(
            "{:020}#{}",
            self.created_at.unix_timestamp_nanos().max(0),
            self.id
        )
    }

    pub fn net_minor(&self) -> i64 {
        self.amount.minor() - self.fee_minor
    }

    /// Whether it holds part of its order's total (PENDING and COMPLETED do).
    pub fn counts_toward_total(&self) -> bool {
        matches!(
            self.status,
            PaymentStatus::Pending | PaymentStatus::Completed
        )
    }
}
