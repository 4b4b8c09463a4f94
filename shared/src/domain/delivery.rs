//! One event on its way to one webhook endpoint: its attempts so far, and
//! when the next one is due.
//!
//! Retries back off exponentially from a base (`base × 2^(n−1)` after the
//! n-th failure) for up to three days after the first attempt, then the
//! delivery has failed. Deliveries of one endpoint about one object form a
//! lane: each waits until every earlier one of its lane has succeeded or
//! finally failed, so an endpoint hears about an object in order.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use super::Invalid;
use super::names::{named_enum, shown_as_text};
use super::webhook_endpoint::{EndpointId, event_type_rank};

/// How long retries go on after the first attempt.
pub const RETRY_WINDOW: Duration = Duration::days(3);

/// The first retry comes this long after a failure unless configured
/// otherwise (`WEBHOOK_RETRY_BASE_SECONDS`); each later one waits twice as
/// long as the one before.
pub const DEFAULT_RETRY_BASE: Duration = Duration::seconds(60);

/// How long a delivery stays readable after it was made (as its event):
/// long after its last retry.
pub const RETENTION: Duration = Duration::days(30);

/// How far two functions' clocks may be apart.
pub const CLOCK_SKEW: Duration = Duration::seconds(1);

/// How long an endpoint has to answer one delivery.
pub const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub window: Duration,
}

impl RetryPolicy {
    pub fn new(base: Duration) -> Self {
        Self {
            base,
            window: RETRY_WINDOW,
        }
    }

    /// The wait after the `failures`-th failed attempt (1 for the first).
    pub fn delay_after(&self, failures: u32) -> Duration {
        // 2^40 bases is beyond any window: no overflow, same answer.
        let doublings = failures.saturating_sub(1).min(40);
        self.base
            .checked_mul(1i32 << doublings.min(30))
            .and_then(|d| d.checked_mul(1i32 << doublings.saturating_sub(30)))
            .unwrap_or(Duration::MAX)
    }

    /// When to try again after the `failures`-th failure at `failed_at`, the
    /// first attempt having been at `first`: never once the window is over;
    /// the last retry comes exactly at its end.
    pub fn next_attempt(
        &self,
        first: OffsetDateTime,
        failed_at: OffsetDateTime,
        failures: u32,
    ) -> Option<OffsetDateTime> {
        let deadline = first + self.window;
        if failed_at >= deadline {
            return None;
        }
        let next = failed_at
            .checked_add(self.delay_after(failures))
            .unwrap_or(deadline);
        Some(next.min(deadline))
    }
}

/// Derived from the endpoint and the event: the same event reaches an
/// endpoint through one delivery, however often it is dispatched.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId(String);

impl DeliveryId {
    pub fn of(endpoint: &EndpointId, event_id: &str) -> Self {
        let digest = Sha256::new()
            .chain_update(endpoint.as_str().as_bytes())
            .chain_update([0u8])
            .chain_update(event_id.as_bytes())
            .finalize();
        Self(format!("whd_{}", &hex::encode(digest)[..32]))
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s.strip_prefix("whd_") {
            Some(hex) if hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()) => {
                Ok(Self(s.to_owned()))
            }
            _ => Err(Invalid::new("not a delivery id")),
        }
    }
}

shown_as_text!(DeliveryId);

named_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum DeliveryStatus {
        /// Not yet sent, waiting behind an earlier one, or failing and retried.
        Pending => "pending",
        Succeeded => "succeeded",
        /// Given up: three days of failures, or nothing left to send it to.
        Failed => "failed",
    }
}

impl DeliveryStatus {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Self::from_name(s).ok_or_else(|| Invalid::new(format!("unknown delivery status {s}")))
    }
}

named_enum! {
    /// Why an attempt came back without an HTTP status. An operator sees only
    /// this, never an error's own text: that could tell them which addresses
    /// and ports answer where the service runs.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum NoAnswer {
        /// No answer within the send's time, or no connection within the connect's.
        Timeout => "timeout",
        /// Nothing took the connection, or the receiver dropped it without an answer.
        ConnectionRefused => "connection_refused",
        /// The TLS handshake failed (a certificate not trusted or not for the host).
        TlsError => "tls_error",
        /// The host's name named no address.
        DnsFailure => "dns_failure",
        /// The host is, or its name names, an address deliveries never go to:
        /// nothing was sent.
        BlockedAddress => "blocked_address",
        /// The event could not be read when it was to be sent: nothing was sent.
        EventUnavailable => "event_unavailable",
    }
}

impl NoAnswer {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Self::from_name(s).ok_or_else(|| Invalid::new("not a reason an attempt records"))
    }
}

/// What came of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint's HTTP status: a 2xx is a success, anything else a failure.
    Answered(u16),
    Unanswered(NoAnswer),
}

/// One POST to the endpoint and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub at: OffsetDateTime,
    pub outcome: Outcome,
    pub latency_ms: u64,
}

impl Attempt {
    /// An answer: a 2xx is a success, anything else a failure.
    pub fn answered(at: OffsetDateTime, status_code: u16, latency_ms: u64) -> Self {
        Self {
            at,
            outcome: Outcome::Answered(status_code),
            latency_ms,
        }
    }

    /// No answer, and why.
    pub fn unanswered(at: OffsetDateTime, latency_ms: u64, reason: NoAnswer) -> Self {
        Self {
            at,
            outcome: Outcome::Unanswered(reason),
            latency_ms,
        }
    }

    /// The endpoint's HTTP status; none when no answer came.
    pub fn status_code(&self) -> Option<u16> {
        match self.outcome {
            Outcome::Answered(status) => Some(status),
            Outcome::Unanswered(_) => None,
        }
    }

    /// Why no answer came; none when one did.
    pub fn error(&self) -> Option<NoAnswer> {
        match self.outcome {
            Outcome::Answered(_) => None,
            Outcome::Unanswered(reason) => Some(reason),
        }
    }

    pub fn succeeded(&self) -> bool {
        self.status_code().is_some_and(|s| (200..300).contains(&s))
    }
}

/// What a delivery carries of its event: enough to order it in its lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef {
    pub id: String,
    pub event_type: String,
    pub object_id: String,
    pub created: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub endpoint_id: EndpointId,
    pub event: EventRef,
    pub status: DeliveryStatus,
    pub attempts: Vec<Attempt>,
    /// When it is next tried (or looked at again, while it waits); none once finished.
    pub next_attempt_at: Option<OffsetDateTime>,
    /// Why it failed without a last attempt (the endpoint or the event is gone).
    pub failure: Option<String>,
    /// A sender has claimed it and is sending it, until `next_attempt_at`
    /// (if that passes, the sender died and it is due again).
    pub sending: bool,
    pub created: OffsetDateTime,
    /// Counts writes; every write expects the one it read
    /// ([`Delivery::version`]). Only the stores set it, when they write:
    /// the crate sees it for them, nothing here changes it.
    pub(crate) version: u64,
}

impl Delivery {
    /// A delivery due at once.
    pub fn new(endpoint_id: &EndpointId, event: EventRef, now: OffsetDateTime) -> Self {
        Self {
            id: DeliveryId::of(endpoint_id, &event.id),
            endpoint_id: endpoint_id.clone(),
            event,
            status: DeliveryStatus::Pending,
            attempts: Vec::new(),
            next_attempt_at: Some(now),
            failure: None,
            sending: false,
            created: now,
            version: 0,
        }
    }

    /// Its lane: deliveries to this endpoint about this object.
    pub fn lane(&self) -> (&EndpointId, &str) {
        (&self.endpoint_id, &self.event.object_id)
    }

    /// Its place in its lane, as text that sorts in delivery order: when
    /// the event happened, then where its type stands in the object's life,
    /// then the event id (only to make the order total).
    pub fn order_key(&self) -> String {
        order_key(&self.event)
    }

    /// Whether it was made for an endpoint created at `endpoint_created`, or
    /// for an earlier one deleted since under the same id. Functions' clocks
    /// may differ by a little: a delivery made just before the endpoint (by
    /// another clock) is still its own.
    pub fn belongs_to_endpoint_created(&self, endpoint_created: OffsetDateTime) -> bool {
        endpoint_created <= self.created + CLOCK_SKEW
    }

    /// Past its retention at `now` (storage deletes it some time later).
    pub fn expired(&self, now: OffsetDateTime) -> bool {
        self.created + RETENTION <= now
    }

    pub fn is_pending(&self) -> bool {
        self.status == DeliveryStatus::Pending
    }

    pub fn is_due(&self, now: OffsetDateTime) -> bool {
        self.is_pending() && self.next_attempt_at.is_some_and(|t| t <= now)
    }

    pub fn failures(&self) -> u32 {
        let failed = self.attempts.iter().filter(|a| !a.succeeded()).count();
        u32::try_from(failed).unwrap_or(u32::MAX)
    }

    /// How many writes were stored: the next write expects it.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Being sent by a sender whose claim still holds at `now`.
    pub fn in_flight(&self, now: OffsetDateTime) -> bool {
        self.sending && self.next_attempt_at.is_some_and(|t| t > now)
    }

    /// The next write of this delivery: still at the version it was read
    /// at, which that write expects.
    fn next_write(&self) -> Self {
        let mut next = self.clone();
        next.sending = false;
        next
    }

    /// Taken by one sender until `until`: nobody else sends it meanwhile,
    /// and if the sender dies it is due again then.
    pub fn claimed(&self, until: OffsetDateTime) -> Self {
        let mut next = self.next_write();
        next.sending = true;
        next.next_attempt_at = Some(until);
        next
    }

    /// Waits behind an earlier delivery of its lane, looked at again at `until`.
    pub fn postponed(&self, until: OffsetDateTime) -> Self {
        let mut next = self.next_write();
        next.next_attempt_at = Some(until);
        next
    }

    /// With `attempt` recorded: succeeded, retried later, or failed for good.
    pub fn after(&self, attempt: Attempt, policy: &RetryPolicy) -> Self {
        let mut next = self.next_write();
        let first = self.attempts.first().map_or(attempt.at, |a| a.at);
        let at = attempt.at;
        let succeeded = attempt.succeeded();
        next.attempts.push(attempt);
        if succeeded {
            next.status = DeliveryStatus::Succeeded;
            next.next_attempt_at = None;
        } else {
            next.next_attempt_at = policy.next_attempt(first, at, next.failures());
            if next.next_attempt_at.is_none() {
                next.status = DeliveryStatus::Failed;
            }
        }
        next
    }

    /// Failed without an attempt: there is nothing left to send or nowhere to send it.
    pub fn abandoned(&self, why: &str) -> Self {
        let mut next = self.next_write();
        next.status = DeliveryStatus::Failed;
        next.next_attempt_at = None;
        next.failure = Some(why.to_owned());
        next
    }
}

/// Up to `limit` of `due` (what was found due, any endpoints') taken in
/// turns across endpoints: each endpoint's soonest due, then each one's
/// next, and so on; within a turn the one due longest first. So an
/// endpoint with hundreds due takes one place a turn, as one with a single
/// delivery due does, and none holds back another's. A delivery found
/// twice (two lists may both show it while it moves) is taken once.
pub fn take_in_turns(due: Vec<Delivery>, limit: usize) -> Vec<Delivery> {
    let mut by_endpoint: BTreeMap<EndpointId, Vec<Delivery>> = BTreeMap::new();
    for d in due {
        by_endpoint
            .entry(d.endpoint_id.clone())
            .or_default()
            .push(d);
    }
    let mut queues: Vec<VecDeque<Delivery>> = by_endpoint
        .into_values()
        .map(|mut q| {
            q.sort_by(|a, b| (a.next_attempt_at, &a.id).cmp(&(b.next_attempt_at, &b.id)));
            q.into()
        })
        .collect();
    let mut taken = BTreeSet::new();
    let mut picked = Vec::new();
    while picked.len() < limit {
        let mut turn: Vec<Delivery> = queues
            .iter_mut()
            .filter_map(|q| std::iter::from_fn(|| q.pop_front()).find(|d| !taken.contains(&d.id)))
            .collect();
        if turn.is_empty() {
            break;
        }
        turn.sort_by_key(|d| d.next_attempt_at);
        turn.truncate(limit - picked.len());
        taken.extend(turn.iter().map(|d| d.id.clone()));
        picked.extend(turn);
    }
    picked
}

/// See [`Delivery::order_key`].
pub fn order_key(event: &EventRef) -> String {
    format!(
        "{:020}#{:02}#{}",
        event.created.unix_timestamp_nanos().max(0),
        event_type_rank(&event.event_type),
        event.id
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_760_000_000).expect("valid")
    }

    fn event(id: &str, event_type: &str, created: OffsetDateTime) -> EventRef {
        EventRef {
            id: id.into(),
            event_type: event_type.into(),
            object_id: "pi_1".into(),
            created,
        }
    }

    fn endpoint() -> EndpointId {
        EndpointId::parse("ops").expect("id")
    }

    #[test]
    fn backoff_doubles_from_the_base() {
        let policy = RetryPolicy::new(Duration::seconds(60));
        let delays: Vec<i64> = (1..=5)
            .map(|n| policy.delay_after(n).whole_seconds())
            .collect();
        assert_eq!(delays, [60, 120, 240, 480, 960]);
        assert!(policy.delay_after(1000) >= RETRY_WINDOW);
    }

    #[test]
    fn retries_stop_three_days_after_the_first_attempt() {
        let policy = RetryPolicy::new(Duration::seconds(60));
        // Failures 1..: each retry at the last failure plus the doubled wait.
        let mut at = t0();
        let mut schedule = Vec::new();
        let mut failures = 0;
        while let Some(next) = policy.next_attempt(t0(), at, failures + 1) {
            failures += 1;
            schedule.push((next - t0()).whole_seconds());
            at = next;
        }
        // 60 × (2^n − 1) while within three days, then once at the very end.
        assert_eq!(
            schedule[..4],
            [60, 180, 420, 900],
            "cumulative waits: {schedule:?}"
        );
        assert_eq!(
            *schedule.last().expect("some"),
            RETRY_WINDOW.whole_seconds()
        );
        assert_eq!(schedule.len(), 13);
        assert!(policy.next_attempt(t0(), t0() + RETRY_WINDOW, 14).is_none());
    }

    #[test]
    fn a_2xx_succeeds_anything_else_is_retried_then_fails() {
        let policy = RetryPolicy::new(Duration::seconds(1));
        let d = Delivery::new(&endpoint(), event("evt_a", "payment.created", t0()), t0());
        assert!(d.is_due(t0()));
        let failed = d.after(Attempt::answered(t0(), 500, 12), &policy);
        assert_eq!(failed.status, DeliveryStatus::Pending);
        assert_eq!(failed.next_attempt_at, Some(t0() + Duration::seconds(1)));
        assert_eq!(failed.version(), 0, "the version it was read at");
        let later = t0() + Duration::seconds(1);
        let timed_out = failed.after(
            Attempt::unanswered(later, 10_000, NoAnswer::Timeout),
            &policy,
        );
        assert_eq!(
            timed_out.next_attempt_at,
            Some(later + Duration::seconds(2))
        );
        let ok = timed_out.after(Attempt::answered(later, 204, 3), &policy);
        assert_eq!(ok.status, DeliveryStatus::Succeeded);
        assert_eq!(ok.next_attempt_at, None);
        assert_eq!(ok.attempts.len(), 3);
        assert_eq!(ok.failures(), 2);
        let end = t0() + RETRY_WINDOW;
        let given_up = failed.after(Attempt::answered(end, 302, 1), &policy);
        assert_eq!(given_up.status, DeliveryStatus::Failed);
        assert!(!given_up.is_due(end));
    }

    #[test]
    fn an_attempt_holds_a_status_or_one_reason() {
        let answered = Attempt::answered(t0(), 503, 40);
        assert_eq!(
            (answered.status_code(), answered.error()),
            (Some(503), None)
        );
        assert!(!answered.succeeded());
        let refused = Attempt::unanswered(t0(), 2, NoAnswer::ConnectionRefused);
        assert_eq!(
            (refused.status_code(), refused.error()),
            (None, Some(NoAnswer::ConnectionRefused))
        );
        assert!(!refused.succeeded());
        let names: Vec<&str> = NoAnswer::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            [
                "timeout",
                "connection_refused",
                "tls_error",
                "dns_failure",
                "blocked_address",
                "event_unavailable"
            ]
        );
        for reason in NoAnswer::ALL {
            assert_eq!(NoAnswer::parse(reason.as_str()), Ok(reason));
        }
        assert!(NoAnswer::parse("could not connect: 10.0.0.5:22 refused").is_err());
    }

    #[test]
    fn one_event_reaches_one_endpoint_through_one_delivery() {
        let other = EndpointId::parse("other").expect("id");
        assert_eq!(
            DeliveryId::of(&endpoint(), "evt_a"),
            DeliveryId::of(&endpoint(), "evt_a")
        );
        assert_ne!(
            DeliveryId::of(&endpoint(), "evt_a"),
            DeliveryId::of(&other, "evt_a")
        );
        assert_ne!(
            DeliveryId::of(&endpoint(), "evt_a"),
            DeliveryId::of(&endpoint(), "evt_b")
        );
        let id = DeliveryId::of(&endpoint(), "evt_a");
        assert_eq!(DeliveryId::parse(id.as_str()).expect("parses"), id);
    }

    /// A delivery to `endpoint` about its own object, due `due_in` seconds after t0.
    fn due(endpoint: &str, n: u32, due_in: i64) -> Delivery {
        let endpoint = EndpointId::parse(endpoint).expect("id");
        let mut d = Delivery::new(
            &endpoint,
            EventRef {
                id: format!("evt_{endpoint}_{n}"),
                event_type: "payment.created".into(),
                object_id: format!("pay_{n}"),
                created: t0(),
            },
            t0(),
        );
        d.next_attempt_at = Some(t0() + Duration::seconds(due_in));
        d
    }

    fn events(picked: &[Delivery]) -> Vec<&str> {
        picked.iter().map(|d| d.event.id.as_str()).collect()
    }

    #[test]
    fn due_deliveries_are_taken_in_turns_across_endpoints() {
        // The busy endpoint's are due longest; each endpoint still takes one a turn.
        let mut found: Vec<Delivery> = (0..5).map(|n| due("busy", n, i64::from(n))).collect();
        found.push(due("calm", 0, 10));
        found.push(due("calm", 1, 11));
        found.push(due("quiet", 0, 20));
        found.reverse();
        let picked = take_in_turns(found.clone(), 100);
        assert_eq!(
            events(&picked),
            [
                "evt_busy_0",
                "evt_calm_0",
                "evt_quiet_0",
                "evt_busy_1",
                "evt_calm_1",
                "evt_busy_2",
                "evt_busy_3",
                "evt_busy_4",
            ]
        );
        let few = take_in_turns(found, 4);
        assert_eq!(
            events(&few),
            ["evt_busy_0", "evt_calm_0", "evt_quiet_0", "evt_busy_1"]
        );
    }

    #[test]
    fn within_a_turn_the_one_due_longest_goes_first() {
        let found = vec![due("a", 0, 30), due("b", 0, 10), due("c", 0, 20)];
        assert_eq!(
            events(&take_in_turns(found, 2)),
            ["evt_b_0", "evt_c_0"],
            "what is cut is the least overdue"
        );
    }

    #[test]
    fn a_delivery_found_twice_is_taken_once() {
        let first = due("a", 0, 0);
        let moved = first.claimed(t0() + Duration::seconds(5));
        let found = vec![first, due("a", 1, 1), moved, due("b", 0, 2)];
        assert_eq!(
            events(&take_in_turns(found, 10)),
            ["evt_a_0", "evt_b_0", "evt_a_1"]
        );
    }

    #[test]
    fn lanes_order_by_time_then_by_the_objects_life() {
        let later = t0() + Duration::milliseconds(5);
        let created = order_key(&event("evt_z", "payment_intent.created", t0()));
        let action = order_key(&event("evt_a", "payment_intent.requires_action", t0()));
        let succeeded = order_key(&event("evt_b", "payment_intent.succeeded", later));
        assert!(created < action, "same instant: by type");
        assert!(action < succeeded, "by time");
        // Far apart in time, the text still sorts as the times do.
        let much_later = order_key(&event(
            "evt_0",
            "payment_intent.created",
            t0() + RETRY_WINDOW,
        ));
        assert!(succeeded < much_later);
    }
}
