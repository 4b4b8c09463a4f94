//! Events: what changed, in Stripe's words (`payment_intent.succeeded`, …).
//! Storage writes them in the same write as the change they describe (an
//! outbox), so an event exists exactly when its change does. Which events a
//! change produces is decided here, once, from the state before and after.

use time::{Duration, OffsetDateTime};

use super::ids::random_token;
use super::names::{named_enum, shown_as_text};
use super::{
    IntentStatus, Invalid, Payable, Payment, PaymentIntent, PaymentStatus, Refund, RefundStatus,
};

/// How long an event stays readable after it happened.
pub const EVENT_RETENTION: Duration = Duration::days(30);

/// `evt_` and 24 random letters and digits, as Stripe's event ids look.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(String);

impl EventId {
    const PREFIX: &'static str = "evt_";
    const RANDOM_LEN: usize = 24;
    /// What `parse` accepts, as a regular expression.
    pub const PATTERN: &'static str = "^evt_[A-Za-z0-9]{24}$";

    pub fn new() -> Self {
        Self(format!(
            "{}{}",
            Self::PREFIX,
            random_token(Self::RANDOM_LEN)
        ))
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let ok = s.strip_prefix(Self::PREFIX).is_some_and(|rest| {
            rest.len() == Self::RANDOM_LEN && rest.chars().all(|c| c.is_ascii_alphanumeric())
        });
        if !ok {
            return Err(Invalid::new(
                "an event id is evt_ followed by 24 letters and digits",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl Default for EventId {
    fn default() -> Self {
        Self::new()
    }
}

shown_as_text!(EventId);

named_enum! {
    /// What happened, by Stripe's event names.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum EventType {
        IntentCreated => "payment_intent.created",
        IntentRequiresAction => "payment_intent.requires_action",
        IntentSucceeded => "payment_intent.succeeded",
        IntentPaymentFailed => "payment_intent.payment_failed",
        IntentCanceled => "payment_intent.canceled",
        PaymentCreated => "payment.created",
        PaymentCompleted => "payment.completed",
        RefundCreated => "refund.created",
        RefundSucceeded => "refund.succeeded",
        RefundFailed => "refund.failed",
        PayablePaid => "payable.paid",
    }
}

impl EventType {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Self::from_name(s).ok_or_else(|| {
            let names = Self::ALL.map(Self::as_str).join(", ");
            Invalid::new(format!("type must be one of {names}"))
        })
    }
}

/// The object an event is about, as it stood right after the change.
// A write makes a handful of events and drops them: their size never matters,
// and unboxed variants keep matching on them plain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventObject {
    Intent(PaymentIntent),
    Payment(Payment),
    Payable(Payable),
    Refund(Refund),
}

impl EventObject {
    /// The object's id as events are filtered by it: an intent's or a
    /// payment's id, a payable's `kind/id` (its id alone is unique only
    /// within its kind).
    pub fn id(&self) -> String {
        match self {
            Self::Intent(i) => i.id.to_string(),
            Self::Payment(p) => p.id.to_string(),
            Self::Payable(p) => p.payable.to_string(),
            Self::Refund(r) => r.id().to_string(),
        }
    }

    /// Its kind, as the `object` field of its JSON names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Intent(_) => "payment_intent",
            Self::Payment(_) => "payment",
            Self::Payable(_) => "payable",
            Self::Refund(_) => "refund",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: EventId,
    pub kind: EventType,
    pub created: OffsetDateTime,
    pub object: EventObject,
    /// The events about the same object that the same change wrote before
    /// this one (see [`Event::in_sequence`]).
    pub follows: Vec<EventId>,
}

impl Event {
    pub fn new(kind: EventType, object: EventObject, now: OffsetDateTime) -> Self {
        Self {
            id: EventId::new(),
            kind,
            created: now,
            object,
            follows: Vec::new(),
        }
    }

    /// The events of one change, in the order they happened, each naming
    /// the earlier ones about its object. Stored items reach whoever reads
    /// them in any order (a table's stream splits them over shards): from
    /// any one of them, the ones it follows are known, and an endpoint hears
    /// of a payment's creation before its completion.
    pub fn in_sequence(mut events: Vec<Self>) -> Vec<Self> {
        for i in 0..events.len() {
            let object = events[i].object.id();
            let follows = events[..i]
                .iter()
                .filter(|e| e.object.id() == object)
                .map(|e| e.id.clone())
                .collect();
            events[i].follows = follows;
        }
        events
    }

    /// When it stops being readable (storage deletes it some time after).
    pub fn expires_at(&self) -> OffsetDateTime {
        self.created + EVENT_RETENTION
    }

    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at()
    }

    /// Orders events newest first. The events of one change share its time,
    /// so `position` — the event's place among them, as the functions below
    /// return them — keeps their order: a payment is created before it completes.
    pub fn list_key(&self, position: usize) -> String {
        format!(
            "{:020}#{position:02}#{}",
            self.created.unix_timestamp_nanos().max(0),
            self.id
        )
    }

    /// What an intent's change says: `before` is its status before the
    /// change (`None`: it is new), `after` the intent as stored.
    ///
    /// `payment_failed` is a decline that hands the intent back to its payer
    /// (`requires_payment_method` with a failure reason, declined at the
    /// change's own time — even from `requires_payment_method`, where a card
    /// tried and declined leaves it), or the intent failing for good.
    pub fn for_intent_change(
        before: Option<IntentStatus>,
        after: &PaymentIntent,
        now: OffsetDateTime,
    ) -> Vec<Self> {
        let entered = |status: IntentStatus| after.status == status && before != Some(status);
        let declined_now = after.status == IntentStatus::RequiresPaymentMethod
            && after.failure_reason.is_some()
            && after.failed_at == Some(after.updated_at);
        let kinds = [
            (before.is_none(), EventType::IntentCreated),
            (
                entered(IntentStatus::RequiresAction),
                EventType::IntentRequiresAction,
            ),
            (entered(IntentStatus::Succeeded), EventType::IntentSucceeded),
            (
                entered(IntentStatus::Failed) || declined_now,
                EventType::IntentPaymentFailed,
            ),
            (entered(IntentStatus::Canceled), EventType::IntentCanceled),
        ];
        Self::each_that_happened(kinds, EventObject::Intent(snapshot(after)), now)
    }

    /// One event about `object` for each kind whose condition holds, in order.
    fn each_that_happened(
        kinds: impl IntoIterator<Item = (bool, EventType)>,
        object: EventObject,
        now: OffsetDateTime,
    ) -> Vec<Self> {
        kinds
            .into_iter()
            .filter(|(happened, _)| *happened)
            .map(|(_, kind)| Self::new(kind, object.clone(), now))
            .collect()
    }

    /// A payment just recorded: created, and completed too when it was
    /// recorded COMPLETED.
    pub fn for_new_payment(payment: &Payment, now: OffsetDateTime) -> Vec<Self> {
        let mut events = vec![Self::new(
            EventType::PaymentCreated,
            EventObject::Payment(payment.clone()),
            now,
        )];
        if payment.status == PaymentStatus::Completed {
            events.extend(Self::for_completed_payment(payment, now));
        }
        events
    }

    /// A payment that completed (PENDING → COMPLETED); none for any other status.
    pub fn for_completed_payment(payment: &Payment, now: OffsetDateTime) -> Option<Self> {
        (payment.status == PaymentStatus::Completed).then(|| {
            Self::new(
                EventType::PaymentCompleted,
                EventObject::Payment(payment.clone()),
                now,
            )
        })
    }

    /// A payable that became paid; none while it is not.
    pub fn for_paid_payable(payable: &Payable, now: OffsetDateTime) -> Option<Self> {
        (payable.status == super::PayableStatus::Paid).then(|| {
            Self::new(
                EventType::PayablePaid,
                EventObject::Payable(payable.clone()),
                now,
            )
        })
    }
}

impl Event {
    /// What a refund's change says: `before` is the refund before the change
    /// (`None`: it is new), `after` the refund as stored. A refund made
    /// succeeded at once (cash, recorded by staff) is created and succeeded.
    pub fn for_refund_change(
        before: Option<&Refund>,
        after: &Refund,
        now: OffsetDateTime,
    ) -> Vec<Self> {
        let before = before.map(|b| b.status());
        let entered = |status: RefundStatus| after.status() == status && before != Some(status);
        let kinds = [
            (before.is_none(), EventType::RefundCreated),
            (entered(RefundStatus::Succeeded), EventType::RefundSucceeded),
            (entered(RefundStatus::Failed), EventType::RefundFailed),
        ];
        Self::each_that_happened(kinds, EventObject::Refund(after.clone()), now)
    }
}

/// The intent as an event carries it: nothing that lets its reader act as
/// the payer (the client secret) or guess a code (the code's hash).
fn snapshot(intent: &PaymentIntent) -> PaymentIntent {
    let mut shown = intent.clone();
    shown.client_secret = None;
    shown.otp = None;
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::intent::{Confirmation, GatewayReport};
    use crate::domain::payable::sample_payable;
    use crate::domain::{
        Currency, FeeSchedule, GatewayId, Money, OtpCode, OtpHash, OtpPolicy, PayableKind,
        PaymentMethod, RefundId,
    };
    use IntentStatus::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_760_000_000).expect("valid")
    }

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::parse("USD").expect("usd")).expect("valid")
    }

    fn intent(gateway: GatewayId) -> PaymentIntent {
        crate::domain::intent::sample_intent(gateway, now())
    }

    fn order() -> Payable {
        sample_payable(PayableKind::Order, "ORD-1", usd(11200), now())
    }

    fn kinds(events: &[Event]) -> Vec<&'static str> {
        events.iter().map(|e| e.kind.as_str()).collect()
    }

    /// The events of `before` moved to `after` by `change` at a later time.
    fn change(before: &PaymentIntent, change: impl FnOnce(&mut PaymentIntent)) -> Vec<Event> {
        let mut after = before.clone();
        change(&mut after);
        Event::for_intent_change(Some(before.status), &after, after.updated_at)
    }

    fn later() -> OffsetDateTime {
        now() + Duration::seconds(5)
    }

    #[test]
    fn event_ids_look_like_stripes() {
        let id = EventId::new();
        assert!(
            id.as_str().starts_with("evt_") && id.as_str().len() == 28,
            "{id}"
        );
        assert_eq!(EventId::parse(id.as_str()), Ok(id.clone()));
        assert_ne!(id, EventId::new());
        for bad in [
            "",
            "evt_",
            "evt_abc",
            "EVT_ABCDEFGHIJKLMNOPQRSTUVWX",
            "evt_ABCDEFGHIJKLMNOPQRSTUVW-",
            "evt_ABCDEFGHIJKLMNOPQRSTUVWXY",
        ] {
            assert!(EventId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn types_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Ok(t));
        }
        assert!(EventType::parse("payment_intent.processing").is_err());
        assert!(EventType::parse("Payment_intent.created").is_err());
    }

    #[test]
    fn a_new_intent_is_created() {
        let i = intent(GatewayId::Test);
        let events = Event::for_intent_change(None, &i, now());
        assert_eq!(kinds(&events), ["payment_intent.created"]);
        assert_eq!(events[0].created, now());
        assert_eq!(events[0].object.id(), i.id.to_string());
        assert_eq!(events[0].object.kind(), "payment_intent");
    }

    #[test]
    fn entering_each_announced_status_says_so_once() {
        let i = intent(GatewayId::Test);
        let action = Confirmation::RequiresAction {
            next_action: crate::domain::NextAction {
                kind: "redirect_to_url".into(),
                url: Some("https://gateway.test/a".into()),
            },
        };
        let mut waiting = i.clone();
        waiting
            .apply_confirmation(&action, later())
            .expect("action");
        assert_eq!(
            kinds(&change(&i, |x| x
                .apply_confirmation(&action, later())
                .expect("action"))),
            ["payment_intent.requires_action"]
        );
        assert!(
            change(&waiting, |x| x
                .apply_confirmation(&action, later())
                .expect("again"))
            .is_empty(),
            "a new step while already waiting is no new event"
        );
        assert_eq!(
            kinds(&change(&i, |x| x
                .apply_confirmation(&Confirmation::Succeeded, later())
                .expect("ok"))),
            ["payment_intent.succeeded"]
        );
        assert_eq!(
            kinds(&change(&i, |x| x
                .cancel("requested_by_customer", later())
                .expect("cancel"))),
            ["payment_intent.canceled"]
        );
        assert_eq!(
            kinds(&change(&i, |x| x
                .fail("marked_failed_by_admin", later())
                .expect("fail"))),
            ["payment_intent.payment_failed"]
        );
        assert!(
            change(&i, |x| x
                .apply_confirmation(&Confirmation::Processing, later())
                .expect("processing"))
            .is_empty(),
            "processing is announced by nothing"
        );
    }

    #[test]
    fn a_decline_is_a_payment_failure_even_where_the_intent_already_was() {
        let i = intent(GatewayId::Test);
        assert_eq!(i.status, RequiresPaymentMethod);
        let declined = Confirmation::Declined {
            reason: "card_declined".into(),
        };
        let events = change(&i, |x| {
            x.apply_confirmation(&declined, later()).expect("declined")
        });
        assert_eq!(kinds(&events), ["payment_intent.payment_failed"]);
        let EventObject::Intent(shown) = &events[0].object else {
            panic!("an intent event");
        };
        assert_eq!(shown.failure_reason.as_deref(), Some("card_declined"));

        let mut processing = i.clone();
        processing
            .apply_confirmation(&Confirmation::Processing, now())
            .expect("processing");
        let report = GatewayReport::Declined {
            reason: "insufficient_funds".into(),
        };
        assert_eq!(
            kinds(&change(&processing, |x| assert!(
                x.apply_gateway_report(&report, later())
            ))),
            ["payment_intent.payment_failed"]
        );

        // A later write that leaves the old decline on the intent is not a new one.
        let mut after_decline = i.clone();
        after_decline
            .apply_confirmation(&declined, now())
            .expect("declined");
        let mut touched = after_decline.clone();
        touched.updated_at = later();
        assert!(
            Event::for_intent_change(Some(RequiresPaymentMethod), &touched, later()).is_empty()
        );
    }

    #[test]
    fn an_otp_code_sent_asks_for_action_once_and_never_carries_its_hash() {
        let i = intent(GatewayId::Otp);
        let policy = OtpPolicy::STANDARD;
        let hash = || OtpHash::compute(b"p", &i.id, &OtpCode::parse("123456").expect("code"));
        let mut sent = i.clone();
        sent.issue_otp(hash(), now(), &policy).expect("sent");
        let events = Event::for_intent_change(Some(RequiresConfirmation), &sent, now());
        assert_eq!(kinds(&events), ["payment_intent.requires_action"]);
        let EventObject::Intent(shown) = &events[0].object else {
            panic!("an intent event");
        };
        assert!(shown.otp.is_none() && sent.otp.is_some());
        let mut resent = sent.clone();
        resent
            .issue_otp(hash(), now() + Duration::minutes(1), &policy)
            .expect("resent");
        assert!(Event::for_intent_change(Some(RequiresAction), &resent, now()).is_empty());
    }

    #[test]
    fn events_never_carry_the_client_secret() {
        let i = intent(GatewayId::Test);
        assert!(i.client_secret.is_some());
        let events = Event::for_intent_change(None, &i, now());
        let EventObject::Intent(shown) = &events[0].object else {
            panic!("an intent event");
        };
        assert_eq!(shown.client_secret, None);
        assert_eq!(shown.id, i.id);
    }

    #[test]
    fn a_late_success_beside_an_ended_intent_changes_no_intent_status() {
        let mut i = intent(GatewayId::Test);
        i.cancel("expired", now()).expect("cancel");
        let before = i.status;
        i.on_gateway_succeeded(later()).expect("flagged");
        assert!(Event::for_intent_change(Some(before), &i, later()).is_empty());
    }

    #[test]
    fn payments_are_created_then_completed() {
        let p = order();
        let fees = FeeSchedule::standard();
        let pending = Payment::against(
            &p,
            usd(100),
            PaymentMethod::Cash,
            PaymentStatus::Pending,
            &fees,
            now(),
        );
        assert_eq!(
            kinds(&Event::for_new_payment(&pending, now())),
            ["payment.created"]
        );
        assert!(Event::for_completed_payment(&pending, now()).is_none());
        let completed = Payment::against(
            &p,
            usd(100),
            PaymentMethod::Cash,
            PaymentStatus::Completed,
            &fees,
            now(),
        );
        let events = Event::for_new_payment(&completed, now());
        assert_eq!(kinds(&events), ["payment.created", "payment.completed"]);
        assert_eq!(events[0].object.id(), completed.id.to_string());
        assert!(
            events[0].list_key(0) < events[1].list_key(1),
            "newest first lists the completion before the creation"
        );
        let failed = Payment::against(
            &p,
            usd(100),
            PaymentMethod::Cash,
            PaymentStatus::Failed,
            &fees,
            now(),
        );
        assert_eq!(
            kinds(&Event::for_new_payment(&failed, now())),
            ["payment.created"]
        );
        let mut settled = pending.clone();
        settled.complete(&fees).expect("completes");
        let done = Event::for_completed_payment(&settled, later()).expect("completed");
        assert_eq!(done.kind, EventType::PaymentCompleted);
        assert_eq!(done.object, EventObject::Payment(settled));
    }

    #[test]
    fn a_payable_is_paid_once_it_is() {
        let mut p = order();
        assert!(Event::for_paid_payable(&p, now()).is_none());
        p.mark_paid(now());
        let paid = Event::for_paid_payable(&p, now()).expect("paid");
        assert_eq!(paid.kind.as_str(), "payable.paid");
        assert_eq!(paid.object.id(), "order/ORD-1");
        assert_eq!(paid.object.kind(), "payable");
    }

    #[test]
    fn a_refund_is_created_then_succeeds_or_fails() {
        let fees = FeeSchedule::standard();
        let payment = Payment::against(
            &order(),
            usd(100),
            PaymentMethod::Cash,
            PaymentStatus::Completed,
            &fees,
            now(),
        );
        let by_gateway = Refund::of(
            RefundId::new(),
            &payment,
            usd(40),
            None,
            Some(GatewayId::Stripe),
            now(),
        );
        let created = Event::for_refund_change(None, &by_gateway, now());
        assert_eq!(kinds(&created), ["refund.created"]);
        assert_eq!(created[0].object.kind(), "refund");
        assert_eq!(created[0].object.id(), by_gateway.id().to_string());
        let mut succeeded = by_gateway.clone();
        assert!(succeeded.report(RefundStatus::Succeeded, Some("re_1"), later()));
        let events = Event::for_refund_change(Some(&by_gateway), &succeeded, later());
        assert_eq!(kinds(&events), ["refund.succeeded"]);
        assert_eq!(events[0].object, EventObject::Refund(succeeded.clone()));
        assert_eq!(events[0].created, later());
        let mut failed = succeeded.clone();
        assert!(failed.report(RefundStatus::Failed, None, later()));
        assert_eq!(
            kinds(&Event::for_refund_change(
                Some(&succeeded),
                &failed,
                later()
            )),
            ["refund.failed"]
        );
        // A report that changes only the gateway's name for it says nothing.
        assert!(Event::for_refund_change(Some(&succeeded), &succeeded, later()).is_empty());
        // Settled within the clock's resolution of its creation: still after it.
        let mut at_once = by_gateway.clone();
        assert!(at_once.report(RefundStatus::Succeeded, Some("re_2"), now()));
        let settled = Event::for_refund_change(Some(&by_gateway), &at_once, at_once.updated());
        assert!(settled[0].list_key(0) > created[0].list_key(0));
        let cash = Refund::of(RefundId::new(), &payment, usd(40), None, None, now());
        assert_eq!(
            kinds(&Event::for_refund_change(None, &cash, now())),
            ["refund.created", "refund.succeeded"]
        );
    }

    #[test]
    fn the_events_of_one_change_name_the_earlier_ones_about_their_object() {
        let fees = FeeSchedule::standard();
        let mut p = order();
        let payment = Payment::against(
            &p,
            usd(11200),
            PaymentMethod::Cash,
            PaymentStatus::Completed,
            &fees,
            now(),
        );
        p.mark_paid(now());
        let mut change = Event::for_new_payment(&payment, now());
        change.extend(Event::for_paid_payable(&p, now()));
        let change = Event::in_sequence(change);
        assert_eq!(
            kinds(&change),
            ["payment.created", "payment.completed", "payable.paid"]
        );
        assert!(change[0].follows.is_empty());
        assert_eq!(change[1].follows, [change[0].id.clone()]);
        assert!(change[2].follows.is_empty(), "another object");
    }

    #[test]
    fn events_expire_after_thirty_days() {
        let e = Event::for_intent_change(None, &intent(GatewayId::Test), now()).remove(0);
        assert_eq!(e.expires_at(), now() + Duration::days(30));
        assert!(!e.is_expired(now() + Duration::days(30) - Duration::seconds(1)));
        assert!(e.is_expired(now() + Duration::days(30)));
    }
}
