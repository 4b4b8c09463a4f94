//! Money given back: part or all of a completed payment, through the gateway
//! that collected it, or recorded by staff for money that moved offline.

use time::OffsetDateTime;

use super::names::named_enum;
use super::{
    GatewayId, Invalid, Money, PayableRef, Payment, PaymentId, PaymentIntent, PaymentStatus,
    RefundId,
};

named_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum RefundStatus {
        /// Reserved here, not yet confirmed by the gateway.
        Pending => "pending",
        Succeeded => "succeeded",
        /// Never happened: its amount is refundable again.
        Failed => "failed",
    }
}

impl RefundStatus {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Self::from_name(s)
            .ok_or_else(|| Invalid::new("refund status must be pending, succeeded or failed"))
    }

    /// Whether a refund in this status may move to `next`. A gateway may
    /// still fail a refund it reported succeeded (the card network returns
    /// it); a failed refund is final, its amount already given back.
    pub fn may_become(&self, next: Self) -> bool {
        use RefundStatus::*;
        matches!(
            (self, next),
            (Pending, Succeeded) | (Pending, Failed) | (Succeeded, Failed)
        )
    }
}

/// Why a payment cannot be refunded as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefundRefused {
    /// Only money that arrived can go back.
    #[error("a {0} payment cannot be refunded")]
    NotCompleted(&'static str),
    #[error("the payment is already fully refunded")]
    FullyRefunded,
    /// Refunds not yet confirmed by the gateway hold all that remains.
    #[error("pending refunds hold all that remains of the payment")]
    HeldByPending,
    #[error("amount must be greater than zero")]
    NotPositive,
    /// More than what remains to refund; the money that remains is carried.
    #[error("amount exceeds what remains to refund ({0} {cur})", cur = .0.currency())]
    MoreThanRemains(Money),
}

/// Everything storage keeps of a refund: what a refund is rebuilt from when
/// read back ([`Refund::restore`]).
#[derive(Debug, Clone)]
pub struct RefundParts {
    pub id: RefundId,
    pub payment_id: PaymentId,
    /// The payment's payable, whose refunded sum this refund is part of.
    pub payable: Option<PayableRef>,
    /// In the payment's currency.
    pub amount: Money,
    pub reason: Option<String>,
    pub status: RefundStatus,
    /// The gateway that gives the money back; none for a payment collected
    /// outside any gateway, which staff refund themselves.
    pub gateway: Option<GatewayId>,
    /// The gateway's own id, by which its webhooks name the refund.
    pub gateway_refund_id: Option<String>,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
}

/// A refund's fields are its own: its status moves only by [`Refund::report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    id: RefundId,
    payment_id: PaymentId,
    /// The payment's payable, whose refunded sum this refund is part of.
    payable: Option<PayableRef>,
    /// In the payment's currency.
    amount: Money,
    reason: Option<String>,
    status: RefundStatus,
    /// The gateway that gives the money back; none for a payment collected
    /// outside any gateway, which staff refund themselves.
    gateway: Option<GatewayId>,
    /// The gateway's own id, by which its webhooks name the refund.
    gateway_refund_id: Option<String>,
    created: OffsetDateTime,
    updated: OffsetDateTime,
}

/// What a refund holds, read.
impl Refund {
    pub fn id(&self) -> RefundId {
        self.id
    }

    pub fn payment_id(&self) -> PaymentId {
        self.payment_id
    }

    pub fn payable(&self) -> &Option<PayableRef> {
        &self.payable
    }

    pub fn amount(&self) -> Money {
        self.amount
    }

    pub fn reason(&self) -> &Option<String> {
        &self.reason
    }

    pub fn status(&self) -> RefundStatus {
        self.status
    }

    pub fn gateway(&self) -> Option<GatewayId> {
        self.gateway
    }

    pub fn gateway_refund_id(&self) -> &Option<String> {
        &self.gateway_refund_id
    }

    pub fn created(&self) -> OffsetDateTime {
        self.created
    }

    pub fn updated(&self) -> OffsetDateTime {
        self.updated
    }
}

/// Storage's side of a refund.
impl Refund {
    /// A refund as storage holds it.
    pub fn restore(parts: RefundParts) -> Self {
        Self {
            id: parts.id,
            payment_id: parts.payment_id,
            payable: parts.payable,
            amount: parts.amount,
            reason: parts.reason,
            status: parts.status,
            gateway: parts.gateway,
            gateway_refund_id: parts.gateway_refund_id,
            created: parts.created,
            updated: parts.updated,
        }
    }

    /// Everything it holds, as storage keeps it.
    pub fn into_parts(self) -> RefundParts {
        RefundParts {
            id: self.id,
            payment_id: self.payment_id,
            payable: self.payable,
            amount: self.amount,
            reason: self.reason,
            status: self.status,
            gateway: self.gateway,
            gateway_refund_id: self.gateway_refund_id,
            created: self.created,
            updated: self.updated,
        }
    }
}

impl Refund {
    /// A refund of `amount` of `payment`: pending until `gateway` confirms it;
    /// without a gateway the caller says the money went back, so it has.
    pub fn of(
        id: RefundId,
        payment: &Payment,
        amount: Money,
        reason: Option<String>,
        gateway: Option<GatewayId>,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            payment_id: payment.id,
            payable: payment.payable.clone(),
            amount,
            reason,
            status: if gateway.is_some() {
                RefundStatus::Pending
            } else {
                RefundStatus::Succeeded
            },
            gateway,
            gateway_refund_id: None,
            created: now,
            updated: now,
        }
    }

    /// Takes what the gateway reports: its id for the refund (kept once
    /// known) and a status, when it moves this one forward. True when
    /// anything changed; a stale or backwards report changes nothing.
    pub fn report(
        &mut self,
        status: RefundStatus,
        gateway_refund_id: Option<&str>,
        now: OffsetDateTime,
    ) -> bool {
        let mut changed = false;
        if self.gateway_refund_id.is_none() {
            if let Some(id) = gateway_refund_id {
                self.gateway_refund_id = Some(id.to_owned());
                changed = true;
            }
        }
        if self.status.may_become(status) {
            self.status = status;
            changed = true;
        }
        if changed {
            // Each change is dated after the one before, even within the
            // clock's resolution (a gateway answering at once): the refund's
            // events list in the order they happened.
            self.updated = now.max(self.updated + time::Duration::nanoseconds(1));
        }
        changed
    }

    /// This refund as a change of `before` stores it: its status and time,
    /// and the gateway's id only where `before` had none (a refund is named
    /// once).
    pub fn as_stored_over(&self, before: &Refund) -> Refund {
        Refund {
            status: self.status,
            updated: self.updated,
            gateway_refund_id: before
                .gateway_refund_id
                .clone()
                .or_else(|| self.gateway_refund_id.clone()),
            ..before.clone()
        }
    }

    /// Orders a payment's refunds newest first. Not the id alone: an id
    /// named from an Idempotency-Key says nothing about when it was made.
    pub fn list_key(&self) -> String {
        format!(
            "{:020}#{}",
            self.created.unix_timestamp_nanos().max(0),
            self.id
        )
    }
}

/// What one change of a refund does to its payment's sums, in minor units:
/// what refunds hold of it, and what they gave back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RefundEffect {
    pub held: i64,
    pub refunded: i64,
}

impl RefundEffect {
    /// A refund that moved from `before` (none: it is new) to `after`, of
    /// `amount` minor units. A pending refund holds its amount; a succeeded
    /// one has given it back too; a failed one neither.
    pub fn of(before: Option<RefundStatus>, after: RefundStatus, amount: i64) -> Self {
        let weight = |status: Option<RefundStatus>| match status {
            None | Some(RefundStatus::Failed) => (0, 0),
            Some(RefundStatus::Pending) => (amount, 0),
            Some(RefundStatus::Succeeded) => (amount, amount),
        };
        let (held_before, refunded_before) = weight(before);
        let (held_after, refunded_after) = weight(Some(after));
        Self {
            held: held_after - held_before,
            refunded: refunded_after - refunded_before,
        }
    }

    pub fn is_none(&self) -> bool {
        *self == Self::default()
    }
}

impl Refund {
    /// What storing this refund, changed from `before` (none when it is
    /// new), does to its payment.
    pub fn effect(&self, before: Option<&Refund>) -> RefundEffect {
        RefundEffect::of(before.map(|b| b.status), self.status, self.amount.minor())
    }

    /// Whether the gateway is still to be asked for it: pending, and the
    /// gateway has not named it (a fault cut the request, or it crashed).
    pub fn is_unsent(&self) -> bool {
        self.gateway.is_some()
            && self.status == RefundStatus::Pending
            && self.gateway_refund_id.is_none()
    }
}

/// What a payment allows to be refunded; state changes of its refunded sums.
impl Payment {
    /// What no refund holds yet, in minor units.
    pub fn refundable_minor(&self) -> i64 {
        self.amount.minor() - self.refund_held_minor
    }

    /// The amount a refund of `requested` minor units (all that remains when
    /// none) may give back: only of a COMPLETED payment not yet fully
    /// refunded, more than zero and at most what no refund holds yet.
    pub fn refundable(&self, requested: Option<i64>) -> Result<Money, RefundRefused> {
        match self.status {
            PaymentStatus::Completed => {}
            PaymentStatus::Refunded => return Err(RefundRefused::FullyRefunded),
            other => return Err(RefundRefused::NotCompleted(other.as_str())),
        }
        let currency = self.amount.currency();
        let Ok(remaining) = Money::from_minor(self.refundable_minor(), currency) else {
            return Err(RefundRefused::HeldByPending);
        };
        match requested {
            None => Ok(remaining),
            Some(minor) if minor <= 0 => Err(RefundRefused::NotPositive),
            Some(minor) if minor > remaining.minor() => {
                Err(RefundRefused::MoreThanRemains(remaining))
            }
            Some(minor) => {
                Money::from_minor(minor, currency).map_err(|_| RefundRefused::NotPositive)
            }
        }
    }

    /// Whether `intent`'s gateway collected this payment, so that the money
    /// goes back through it: the payment of that intent recorded under the
    /// gateway's own id for it. Staff who mark an order paid with their own
    /// reference took the money outside the gateway.
    pub fn collected_by(&self, intent: &PaymentIntent) -> bool {
        self.intent_id == Some(intent.id)
            && intent.gateway_intent_id.is_some()
            && self.transaction_id == intent.gateway_intent_id
    }

    /// Whether a refund change with `effect` completes this payment as
    /// read: it gives back all that was not refunded yet.
    pub fn completed_by(&self, effect: RefundEffect) -> bool {
        effect.refunded > 0 && self.refunded_minor + effect.refunded >= self.amount.minor()
    }

    /// Takes a refund change's `effect`: the payment refunded in full
    /// becomes REFUNDED; one that a failed refund gives money back to is
    /// COMPLETED again.
    pub fn apply_refund(&mut self, effect: RefundEffect) {
        self.refund_held_minor = (self.refund_held_minor + effect.held).max(0);
        self.refunded_minor = (self.refunded_minor + effect.refunded).max(0);
        if self.refunded_minor >= self.amount.minor() {
            self.status = PaymentStatus::Refunded;
        } else if self.status == PaymentStatus::Refunded {
            self.status = PaymentStatus::Completed;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Currency, FeeSchedule, PaymentMethod, UserId};

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::parse("USD").expect("usd")).expect("money")
    }

    fn payment(minor: i64, status: PaymentStatus) -> Payment {
        Payment {
            id: PaymentId::new(),
            payable: None,
            intent_id: None,
            payer_user_id: UserId::parse("u1").expect("user"),
            amount: usd(minor),
            method: PaymentMethod::Cash,
            status,
            transaction_id: None,
            fee_minor: 0,
            refunded_minor: 0,
            refund_held_minor: 0,
            business_id: None,
            review_reason: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    /// A refund of `minor` of `p` through `gateway`, made `at`: pending.
    fn through(p: &Payment, minor: i64, gateway: GatewayId, at: OffsetDateTime) -> Refund {
        Refund::of(RefundId::new(), p, usd(minor), None, Some(gateway), at)
    }

    /// A refund of `minor` that goes from `before` to `after`.
    fn refund_moves(
        p: &mut Payment,
        minor: i64,
        before: Option<RefundStatus>,
        after: RefundStatus,
    ) {
        p.apply_refund(RefundEffect::of(before, after, minor));
    }

    /// A refund of `minor` made and confirmed at once (as offline ones are).
    fn refunded(p: &mut Payment, minor: i64) {
        refund_moves(p, minor, None, RefundStatus::Succeeded);
    }

    #[test]
    fn each_change_of_a_refund_is_dated_after_the_one_before() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let p = payment(10_000, PaymentStatus::Completed);
        let mut r = through(&p, 100, GatewayId::Test, at);
        // The gateway answers within the clock's resolution, twice.
        assert!(r.report(RefundStatus::Succeeded, Some("re_1"), at));
        let succeeded = r.updated;
        assert!(succeeded > r.created);
        assert!(r.report(RefundStatus::Failed, None, at));
        assert!(r.updated > succeeded);
        // A later clock is taken as it is.
        let later = at + time::Duration::seconds(5);
        let mut r = through(&p, 100, GatewayId::Test, at);
        assert!(r.report(RefundStatus::Succeeded, None, later));
        assert_eq!(r.updated, later);
        // A report that changes nothing leaves its date.
        assert!(!r.report(
            RefundStatus::Succeeded,
            None,
            later + time::Duration::seconds(1)
        ));
        assert_eq!(r.updated, later);
    }

    #[test]
    fn by_default_a_refund_gives_back_all_that_remains() {
        let mut p = payment(10_000, PaymentStatus::Completed);
        assert_eq!(p.refundable(None), Ok(usd(10_000)));
        refunded(&mut p, 3_000);
        assert_eq!(p.refundable(None), Ok(usd(7_000)));
        assert_eq!(p.refundable(Some(7_000)), Ok(usd(7_000)));
        assert_eq!(p.status, PaymentStatus::Completed);
    }

    #[test]
    fn never_more_than_remains_nor_nothing() {
        let mut p = payment(10_000, PaymentStatus::Completed);
        refunded(&mut p, 4_000);
        let err = p.refundable(Some(6_001)).expect_err("too much");
        assert_eq!(err, RefundRefused::MoreThanRemains(usd(6_000)));
        assert_eq!(
            err.to_string(),
            "amount exceeds what remains to refund (60.00 USD)"
        );
        for nothing in [0, -1] {
            assert_eq!(p.refundable(Some(nothing)), Err(RefundRefused::NotPositive));
        }
    }

    #[test]
    fn only_a_completed_payment_not_fully_refunded_is_refundable() {
        for status in [
            PaymentStatus::Pending,
            PaymentStatus::Failed,
            PaymentStatus::Cancelled,
        ] {
            assert_eq!(
                payment(100, status).refundable(None),
                Err(RefundRefused::NotCompleted(status.as_str()))
            );
        }
        let mut p = payment(100, PaymentStatus::Completed);
        refunded(&mut p, 100);
        assert_eq!(p.status, PaymentStatus::Refunded, "refunded in full");
        assert_eq!(p.refundable(None), Err(RefundRefused::FullyRefunded));
        assert_eq!(p.refundable(Some(1)), Err(RefundRefused::FullyRefunded));
    }

    #[test]
    fn a_failed_refund_gives_its_amount_back() {
        let mut p = payment(100, PaymentStatus::Completed);
        refunded(&mut p, 60);
        refunded(&mut p, 40);
        assert_eq!(p.status, PaymentStatus::Refunded);
        refund_moves(
            &mut p,
            40,
            Some(RefundStatus::Succeeded),
            RefundStatus::Failed,
        );
        assert_eq!(
            (p.status, p.refunded_minor, p.refund_held_minor),
            (PaymentStatus::Completed, 60, 60)
        );
        assert_eq!(p.refundable(None), Ok(usd(40)));
    }

    #[test]
    fn a_pending_refund_holds_its_amount_but_only_a_succeeded_one_is_refunded() {
        use RefundStatus::*;
        let mut p = payment(100, PaymentStatus::Completed);
        refund_moves(&mut p, 70, None, Pending);
        assert_eq!((p.refunded_minor, p.refund_held_minor), (0, 70));
        assert_eq!(p.status, PaymentStatus::Completed);
        assert_eq!(
            p.refundable(None),
            Ok(usd(30)),
            "held against over-refunding"
        );
        assert_eq!(
            p.refundable(Some(31)),
            Err(RefundRefused::MoreThanRemains(usd(30)))
        );
        refund_moves(&mut p, 30, None, Pending);
        assert_eq!(p.refundable(None), Err(RefundRefused::HeldByPending));
        assert_eq!(
            RefundRefused::HeldByPending.to_string(),
            "pending refunds hold all that remains of the payment"
        );
        assert_eq!(p.status, PaymentStatus::Completed, "nothing given back yet");

        // The 30 fails: its amount may be refunded again.
        refund_moves(&mut p, 30, Some(Pending), Failed);
        assert_eq!((p.refunded_minor, p.refund_held_minor), (0, 70));
        assert_eq!(p.refundable(None), Ok(usd(30)));
        // The 70 succeeds: refunded now, not in full.
        let effect = RefundEffect::of(Some(Pending), Succeeded, 70);
        assert_eq!(
            effect,
            RefundEffect {
                held: 0,
                refunded: 70
            }
        );
        assert!(!p.completed_by(effect));
        p.apply_refund(effect);
        assert_eq!((p.refunded_minor, p.refund_held_minor), (70, 70));
        assert_eq!(p.status, PaymentStatus::Completed);
        // The rest, pending then succeeded, completes it.
        refund_moves(&mut p, 30, None, Pending);
        let last = RefundEffect::of(Some(Pending), Succeeded, 30);
        assert!(p.completed_by(last));
        p.apply_refund(last);
        assert_eq!((p.refunded_minor, p.refund_held_minor), (100, 100));
        assert_eq!(p.status, PaymentStatus::Refunded);
    }

    #[test]
    fn each_move_of_a_refund_has_its_effect() {
        use RefundStatus::*;
        let of = |before, after| RefundEffect::of(before, after, 5);
        let e = |held, refunded| RefundEffect { held, refunded };
        assert_eq!(of(None, Pending), e(5, 0));
        assert_eq!(of(None, Succeeded), e(5, 5));
        assert_eq!(of(Some(Pending), Succeeded), e(0, 5));
        assert_eq!(of(Some(Pending), Failed), e(-5, 0));
        assert_eq!(of(Some(Succeeded), Failed), e(-5, -5));
        assert!(of(Some(Pending), Pending).is_none());
        assert!(of(Some(Failed), Failed).is_none());
    }

    #[test]
    fn only_a_pending_refund_the_gateway_has_not_named_is_unsent() {
        let p = payment(100, PaymentStatus::Completed);
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut r = through(&p, 10, GatewayId::Stripe, now);
        assert!(r.is_unsent());
        let offline = Refund::of(RefundId::new(), &p, usd(10), None, None, now);
        assert!(!offline.is_unsent(), "no gateway to ask");
        assert!(r.report(RefundStatus::Pending, Some("re_1"), now));
        assert!(
            !r.is_unsent(),
            "named by the gateway: its webhooks tell the rest"
        );
        let mut failed = through(&p, 10, GatewayId::Stripe, now);
        assert!(failed.report(RefundStatus::Failed, None, now));
        assert!(!failed.is_unsent());
    }

    #[test]
    fn offline_refunds_succeed_at_once_gateway_refunds_wait() {
        let p = payment(100, PaymentStatus::Completed);
        let now = OffsetDateTime::UNIX_EPOCH;
        let offline = Refund::of(RefundId::new(), &p, usd(10), None, None, now);
        assert_eq!(offline.status, RefundStatus::Succeeded);
        let card = Refund::of(
            RefundId::new(),
            &p,
            usd(10),
            Some("requested by the customer".into()),
            Some(GatewayId::Stripe),
            now,
        );
        assert_eq!(card.status, RefundStatus::Pending);
        assert_eq!(card.payment_id, p.id);
    }

    #[test]
    fn reports_move_a_refund_forward_only() {
        let p = payment(100, PaymentStatus::Completed);
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut r = through(&p, 10, GatewayId::Test, now);
        assert!(r.report(RefundStatus::Pending, Some("re_1"), now), "named");
        assert!(!r.report(RefundStatus::Pending, Some("re_2"), now), "once");
        assert_eq!(r.gateway_refund_id.as_deref(), Some("re_1"));
        assert!(r.report(RefundStatus::Succeeded, None, now));
        assert!(!r.report(RefundStatus::Pending, None, now), "not backwards");
        assert!(r.report(RefundStatus::Failed, None, now), "returned later");
        for status in RefundStatus::ALL {
            assert!(!r.report(status, None, now), "failed is final");
        }
    }

    #[test]
    fn fees_stay_with_a_refunded_payment() {
        let mut p = payment(10_000, PaymentStatus::Completed);
        p.method = PaymentMethod::BankTransfer;
        p.fix_fee(&FeeSchedule::standard());
        refunded(&mut p, 10_000);
        assert_eq!(p.fee_minor, 200, "2 % of 100.00, kept by the processor");
    }

    #[test]
    fn statuses_round_trip() {
        for s in RefundStatus::ALL {
            assert_eq!(RefundStatus::parse(s.as_str()), Ok(s));
        }
        assert!(RefundStatus::parse("canceled").is_err());
    }
}
