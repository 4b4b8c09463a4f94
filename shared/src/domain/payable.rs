//! What someone owes. Registered by the operator's backend (the payables API).

use time::OffsetDateTime;

use super::names::named_enum;
use super::{
    Email, IntentId, Invalid, Money, PayableRef, Payment, PaymentIntent, PaymentStatus,
    RefundEffect, UserId,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payer {
    pub user_id: UserId,
    pub email: Email,
}

named_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum PayableStatus {
        Open => "open",
        Paid => "paid",
        Canceled => "canceled",
    }
}

impl PayableStatus {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Self::from_name(s).ok_or_else(|| Invalid::new("status must be open, paid or canceled"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItem {
    pub name: String,
    /// Unit price.
    pub amount: Money,
    pub quantity: u32,
    pub description: Option<String>,
}

impl LineItem {
    pub fn new(
        name: &str,
        amount: Money,
        quantity: u32,
        description: Option<String>,
    ) -> Result<Self, Invalid> {
        let name = name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(Invalid::new("line item name must be 1-200 characters"));
        }
        if quantity == 0 || quantity > 10_000 {
            return Err(Invalid::new(
                "line item quantity must be between 1 and 10000",
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            amount,
            quantity,
            description,
        })
    }
}

/// What the operator's backend says a new payable is: everything else about
/// it is the service's own ([`Payable::new`]).
#[derive(Debug, Clone)]
pub struct NewPayable {
    pub payable: PayableRef,
    pub owner: Payer,
    pub amount: Money,
    pub number: Option<String>,
    pub description: Option<String>,
    pub line_items: Vec<LineItem>,
    pub business_id: Option<super::BusinessId>,
}

/// At most this many PENDING payments per payable. Marking an order paid
/// completes every pending payment of it in one all-or-nothing write, and that
/// write holds at most 100 items: each pending payment takes two (the payment
/// and its `payment.completed` event), beside the order, the payment for the
/// rest and their events. With more than 47 it might never be marked paid;
/// 40 leaves room for what else such a write may come to carry.
pub const MAX_PENDING_PAYMENTS: u32 = 40;

/// Everything storage keeps of a payable: what a payable is rebuilt from when
/// read back ([`Payable::restore`]). The operator's backend said what it is;
/// the rest is the service's own.
#[derive(Debug, Clone)]
pub struct PayableParts {
    pub details: NewPayable,
    pub status: PayableStatus,
    /// The one intent that may still collect this payable, if any.
    pub open_intent_id: Option<IntentId>,
    /// Sum of its PENDING and COMPLETED payments, in minor units.
    pub allocated_minor: i64,
    /// Sum of its COMPLETED payments, in minor units.
    pub paid_minor: i64,
    /// What refunds of its payments gave back, in minor units. A refunded
    /// payable stays paid: it was paid, and the refunds say what went back.
    pub refunded_minor: i64,
    /// How many of its payments are PENDING: never more than
    /// [`MAX_PENDING_PAYMENTS`].
    pub pending_payments: u32,
    /// Set once any intent or payment is made for it: those records carry the
    /// owner's email and history, so the payable can no longer change hands.
    pub owner_fixed: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A payable's fields are the domain's: outside it they are read through
/// accessors and changed only by its methods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payable {
    pub(super) payable: PayableRef,
    pub(super) owner: Payer,
    pub(super) amount: Money,
    pub(super) number: Option<String>,
    pub(super) description: Option<String>,
    pub(super) line_items: Vec<LineItem>,
    pub(super) business_id: Option<super::BusinessId>,
    pub(super) status: PayableStatus,
    /// The one intent that may still collect this payable, if any.
    pub(super) open_intent_id: Option<IntentId>,
    /// Sum of its PENDING and COMPLETED payments, in minor units.
    pub(super) allocated_minor: i64,
    /// Sum of its COMPLETED payments, in minor units.
    pub(super) paid_minor: i64,
    /// What refunds of its payments gave back, in minor units. A refunded
    /// payable stays paid: it was paid, and the refunds say what went back.
    pub(super) refunded_minor: i64,
    /// How many of its payments are PENDING: never more than
    /// [`MAX_PENDING_PAYMENTS`].
    pub(super) pending_payments: u32,
    /// Set once any intent or payment is made for it: those records carry the
    /// owner's email and history, so the payable can no longer change hands.
    pub(super) owner_fixed: bool,
    pub(super) created_at: OffsetDateTime,
    pub(super) updated_at: OffsetDateTime,
}

/// What a payable holds, read.
impl Payable {
    pub fn payable(&self) -> &PayableRef {
        &self.payable
    }

    pub fn owner(&self) -> &Payer {
        &self.owner
    }

    pub fn amount(&self) -> Money {
        self.amount
    }

    pub fn number(&self) -> &Option<String> {
        &self.number
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

    pub fn status(&self) -> PayableStatus {
        self.status
    }

    pub fn open_intent_id(&self) -> Option<IntentId> {
        self.open_intent_id
    }

    pub fn allocated_minor(&self) -> i64 {
        self.allocated_minor
    }

    pub fn paid_minor(&self) -> i64 {
        self.paid_minor
    }

    pub fn refunded_minor(&self) -> i64 {
        self.refunded_minor
    }

    pub fn pending_payments(&self) -> u32 {
        self.pending_payments
    }

    pub fn owner_fixed(&self) -> bool {
        self.owner_fixed
    }

    pub fn created_at(&self) -> OffsetDateTime {
        self.created_at
    }

    pub fn updated_at(&self) -> OffsetDateTime {
        self.updated_at
    }
}

/// Storage's side of a payable.
impl Payable {
    /// A payable as storage holds it.
    pub fn restore(parts: PayableParts) -> Self {
        let details = parts.details;
        Self {
            payable: details.payable,
            owner: details.owner,
            amount: details.amount,
            number: details.number,
            description: details.description,
            line_items: details.line_items,
            business_id: details.business_id,
            status: parts.status,
            open_intent_id: parts.open_intent_id,
            allocated_minor: parts.allocated_minor,
            paid_minor: parts.paid_minor,
            refunded_minor: parts.refunded_minor,
            pending_payments: parts.pending_payments,
            owner_fixed: parts.owner_fixed,
            created_at: parts.created_at,
            updated_at: parts.updated_at,
        }
    }

    /// Everything it holds, as storage keeps it.
    pub fn into_parts(self) -> PayableParts {
        PayableParts {
            details: NewPayable {
                payable: self.payable,
                owner: self.owner,
                amount: self.amount,
                number: self.number,
                description: self.description,
                line_items: self.line_items,
                business_id: self.business_id,
            },
            status: self.status,
            open_intent_id: self.open_intent_id,
            allocated_minor: self.allocated_minor,
            paid_minor: self.paid_minor,
            refunded_minor: self.refunded_minor,
            pending_payments: self.pending_payments,
            owner_fixed: self.owner_fixed,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

impl Payable {
    /// A payable as its owner describes it, made `now`: open, with nothing
    /// paid and no intent.
    pub fn new(details: NewPayable, now: OffsetDateTime) -> Self {
        Self::restore(PayableParts {
            details,
            status: PayableStatus::Open,
            open_intent_id: None,
            allocated_minor: 0,
            paid_minor: 0,
            refunded_minor: 0,
            pending_payments: 0,
            owner_fixed: false,
            created_at: now,
            updated_at: now,
        })
    }

    /// Checks that line items are in the payable's currency.
    pub fn validate_line_items(amount: &Money, items: &[LineItem]) -> Result<(), Invalid> {
        for item in items {
            item.amount
                .ensure_currency(amount.currency())
                .map_err(|e| Invalid::new(format!("line item '{}': {e}", item.name)))?;
        }
        Ok(())
    }

    pub fn is_owned_by(&self, user: &UserId) -> bool {
        &self.owner.user_id == user
    }

    /// What no payment holds yet, in minor units.
    pub fn unallocated_minor(&self) -> i64 {
        self.amount.minor() - self.allocated_minor
    }

    /// Whether another PENDING payment may be recorded against it.
    pub fn has_room_for_pending(&self) -> bool {
        self.pending_payments < MAX_PENDING_PAYMENTS
    }

    /// Whether a new payment of `amount` fits: same currency, within what is unallocated.
    pub fn accepts(&self, amount: &Money) -> Result<(), Invalid> {
        amount
            .ensure_currency(self.amount.currency())
            .map_err(|e| Invalid::new(e.to_string()))?;
        if amount.minor() > self.unallocated_minor() {
            let left = Money::from_minor(self.unallocated_minor(), self.amount.currency())
                .map(|m| format!("{m} {}", m.currency()))
                .unwrap_or_else(|_| "nothing".into());
            return Err(Invalid::new(format!(
                "amount exceeds what is left to pay on this order ({left})"
            )));
        }
        Ok(())
    }
}

/// Why a payable's details may not be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionRefused {
    /// Paid payables are final.
    AlreadyPaid,
    /// An intent collecting it keeps its amount, currency, payer and business
    /// until it ends: the payer is paying that business, and the payment the
    /// intent records belongs to it.
    OpenIntent(IntentId),
    /// Payments already hold this much (minor units): the total may not drop
    /// below it nor change currency.
    PaymentsRecorded(i64),
    /// Intents or payments were made for it: the owner stays who it is.
    OwnerFixed,
}

/// Why an intent may not take a payable's open-intent slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimRefused {
    /// Another intent holds it; that one is the payer's intent.
    HeldBy(IntentId),
    /// Not open, priced or owned otherwise than the intent, or holding payments.
    Changed,
}

/// State changes: storage applies these, so every adapter keeps the same rules.
impl Payable {
    /// Whether `next` may replace this payable's details.
    pub fn check_revision(&self, next: &Payable) -> Result<(), RevisionRefused> {
        if self.status == PayableStatus::Paid {
            return Err(RevisionRefused::AlreadyPaid);
        }
        if let Some(intent) = self.open_intent_id {
            if self.amount != next.amount
                || self.owner.user_id != next.owner.user_id
                || self.business_id != next.business_id
            {
                return Err(RevisionRefused::OpenIntent(intent));
            }
        }
        if self.allocated_minor > 0
            && (self.amount.currency() != next.amount.currency()
                || self.allocated_minor > next.amount.minor())
        {
            return Err(RevisionRefused::PaymentsRecorded(self.allocated_minor));
        }
        if self.owner_fixed && self.owner.user_id != next.owner.user_id {
            return Err(RevisionRefused::OwnerFixed);
        }
        Ok(())
    }

    /// Takes `next`'s details; status, open intent, payment sums and creation
    /// time are the service's own and stay.
    pub fn revise(&mut self, next: &Payable, now: OffsetDateTime) {
        self.owner = next.owner.clone();
        self.amount = next.amount;
        self.number = next.number.clone();
        self.description = next.description.clone();
        self.line_items = next.line_items.clone();
        self.business_id = next.business_id;
        self.updated_at = now;
    }

    /// Starts life open, with nothing paid and no intent.
    pub fn register(mut self, now: OffsetDateTime) -> Self {
        self.status = PayableStatus::Open;
        self.open_intent_id = None;
        self.allocated_minor = 0;
        self.paid_minor = 0;
        self.refunded_minor = 0;
        self.pending_payments = 0;
        self.owner_fixed = false;
        self.created_at = now;
        self.updated_at = now;
        self
    }

    /// An intent or payment was made for it: its owner stays who it is.
    pub fn fix_owner(&mut self) {
        self.owner_fixed = true;
    }

    /// One open intent per payable: `intent` takes the slot while the payable is
    /// open, free, owned by the payer, priced as the intent and holds no payments.
    pub fn claim_for(&mut self, intent: &PaymentIntent) -> Result<(), ClaimRefused> {
        if let Some(holder) = self.open_intent_id {
            return Err(ClaimRefused::HeldBy(holder));
        }
        if self.status != PayableStatus::Open
            || self.amount != intent.amount
            || self.owner.user_id != intent.payer.user_id
            || self.allocated_minor != 0
        {
            return Err(ClaimRefused::Changed);
        }
        self.open_intent_id = Some(intent.id);
        self.owner_fixed = true;
        self.updated_at = intent.created_at;
        Ok(())
    }

    /// Whether `intent` holds the open-intent slot (only it may free or pay it).
    pub fn is_held_by(&self, intent: &IntentId) -> bool {
        self.open_intent_id.as_ref() == Some(intent)
    }

    /// The intent holding it ended without collecting.
    pub fn release(&mut self, now: OffsetDateTime) {
        self.open_intent_id = None;
        self.updated_at = now;
    }

    /// Paid in full, by its intent or its payments: the sums become the total,
    /// and none of its payments is pending any more (settling completes them).
    pub fn mark_paid(&mut self, now: OffsetDateTime) {
        self.status = PayableStatus::Paid;
        self.open_intent_id = None;
        self.pending_payments = 0;
        self.allocated_minor = self.amount.minor();
        self.paid_minor = self.amount.minor();
        self.updated_at = now;
    }

    /// A refund of one of its payments changed: what it gave back counts
    /// in the payable's refunded sum.
    pub fn apply_refund(&mut self, effect: RefundEffect) {
        self.refunded_minor += effect.refunded;
    }

    /// Adds a PENDING or COMPLETED payment to the sums, only while the payable is
    /// open, held by no intent, and the payment fits what is unallocated (and,
    /// when PENDING, while fewer than [`MAX_PENDING_PAYMENTS`] are). False
    /// (and nothing changed) otherwise. The COMPLETED payment that completes the
    /// total pays the payable in the same step: a paid order never stays open.
    pub fn allocate(&mut self, payment: &Payment) -> bool {
        let pending = payment.status == PaymentStatus::Pending;
        let fits = self.status == PayableStatus::Open
            && self.open_intent_id.is_none()
            && payment.amount.currency() == self.amount.currency()
            && payment.amount.minor() <= self.unallocated_minor()
            && (!pending || self.has_room_for_pending());
        if !fits || !payment.counts_toward_total() {
            return false;
        }
        self.allocated_minor += payment.amount.minor();
        if pending {
            self.pending_payments += 1;
        }
        if payment.status == PaymentStatus::Completed {
            self.paid_minor += payment.amount.minor();
            if self.paid_minor >= self.amount.minor() {
                self.status = PayableStatus::Paid;
            }
        }
        self.updated_at = payment.created_at;
        true
    }
}

/// For tests: an open payable of payer `u1` for `amount`, made `now`,
/// naming nothing else.
#[cfg(test)]
pub(crate) fn sample_payable(
    kind: super::PayableKind,
    id: &str,
    amount: Money,
    now: OffsetDateTime,
) -> Payable {
    let details = NewPayable {
        payable: PayableRef {
            kind,
            id: super::PayableId::parse(id).expect("id"),
        },
        owner: Payer {
            user_id: UserId::parse("u1").expect("user"),
            email: Email::parse("u1@example.com").expect("email"),
        },
        amount,
        number: None,
        description: None,
        line_items: vec![],
        business_id: None,
    };
    Payable::new(details, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Currency, PayableKind};

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::parse("USD").expect("usd")).expect("valid")
    }

    fn order(total: i64, allocated: i64) -> Payable {
        let order = sample_payable(
            PayableKind::Order,
            "o1",
            usd(total),
            OffsetDateTime::UNIX_EPOCH,
        );
        Payable {
            allocated_minor: allocated,
            ..order
        }
    }

    #[test]
    fn accepts_payments_up_to_what_is_unallocated() {
        assert!(order(10_000, 0).accepts(&usd(10_000)).is_ok());
        assert!(order(10_000, 4_000).accepts(&usd(6_000)).is_ok());
        let err = order(10_000, 4_000).accepts(&usd(6_001)).expect_err("over");
        assert_eq!(
            err.0,
            "amount exceeds what is left to pay on this order (60.00 USD)"
        );
        let eur = Money::from_minor(100, Currency::parse("EUR").expect("eur")).expect("valid");
        assert!(order(10_000, 0).accepts(&eur).is_err());
    }

    fn record(order: &Payable, minor: i64, status: PaymentStatus) -> Payment {
        Payment::against(
            order,
            usd(minor),
            crate::domain::PaymentMethod::Cash,
            status,
            &crate::domain::FeeSchedule::standard(),
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn pending_payments_stop_at_the_cap_until_the_order_is_paid() {
        let mut o = order(10_000, 0);
        for _ in 0..MAX_PENDING_PAYMENTS {
            assert!(o.allocate(&record(&o, 100, PaymentStatus::Pending)));
        }
        assert_eq!(o.pending_payments, MAX_PENDING_PAYMENTS);
        assert!(!o.has_room_for_pending());
        let before = o.clone();
        assert!(
            !o.allocate(&record(&o, 100, PaymentStatus::Pending)),
            "one pending payment too many"
        );
        assert_eq!(o, before, "a refused payment changes nothing");
        // Money that arrived is not pending: it is still taken.
        assert!(o.allocate(&record(&o, 100, PaymentStatus::Completed)));
        assert_eq!(o.pending_payments, MAX_PENDING_PAYMENTS);
        o.mark_paid(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(
            o.pending_payments, 0,
            "settling completes every pending one"
        );
    }

    #[test]
    fn an_open_intent_keeps_the_payables_business() {
        let mut held = order(10_000, 0);
        held.business_id = Some(crate::domain::BusinessId::new(1));
        let intent = IntentId::new();
        held.open_intent_id = Some(intent);
        let mut moved = held.clone();
        moved.business_id = Some(crate::domain::BusinessId::new(2));
        assert_eq!(
            held.check_revision(&moved),
            Err(RevisionRefused::OpenIntent(intent))
        );
        held.open_intent_id = None;
        assert_eq!(held.check_revision(&moved), Ok(()));
    }
}
