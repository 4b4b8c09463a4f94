//! How long the request being served may still wait on a payment gateway.
//!
//! A function has a fixed time to answer (its Timeout). When that runs out
//! Lambda stops it mid-call and nothing after the call happens: the
//! Idempotency-Key stays claimed (the payer's retry is refused as still in
//! flight), a refund is left pending, a gateway's event gets a 5xx. So
//! every call to a gateway is bounded twice: by its own attempt timeout,
//! and by what the invocation has left less the time that storing the
//! outcome needs. A confirm makes several calls (attach the card, confirm,
//! read the fee): each later one only gets what the earlier ones left.
//!
//! The deadline is held in a task-local that the request pipeline (and the
//! entry point of functions AWS feeds) sets from Lambda's invocation
//! context, rather than passed through every use case and the `Gateway`
//! port. It is a fact about this run of the function, not about the
//! payment, and the connectors are the only ones that act on it; every
//! gateway call of a request runs on the request's own task (nothing is
//! spawned on the way), so it is seen wherever a connector calls out.
//! Without one (a use case called directly, a function run outside
//! Lambda's context) only the attempt timeout applies.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Kept back from the invocation's time for what follows the gateway's
/// answer: the write that records the outcome (and its retries after a
/// lost race), settling the Idempotency-Key, the response. A few
/// single-digit-millisecond DynamoDB writes; the rest absorbs a slow one.
pub const STORING_MARGIN: Duration = Duration::from_secs(3);

tokio::task_local! {
    /// When the request's gateway calls must have ended.
    static GATEWAY_DEADLINE: Instant;
}

/// What an invocation that must end at `deadline_ms` has left for gateway
/// calls at `now_ms` (both in milliseconds since the Unix epoch, as Lambda
/// gives its deadline). None when no deadline is known: Lambda always
/// gives one, a context built without it says 0.
pub fn time_for_gateways(deadline_ms: u64, now_ms: u64) -> Option<Duration> {
    if deadline_ms == 0 {
        return None;
    }
    Some(Duration::from_millis(deadline_ms.saturating_sub(now_ms)).saturating_sub(STORING_MARGIN))
}

/// How long one call may wait: its own limit, or what the request has
/// `left` when that is less.
pub fn call_limit(per_call: Duration, left: Option<Duration>) -> Duration {
    left.map_or(per_call, |left| per_call.min(left))
}

/// Runs `work` (one invocation of the function) with its gateway calls
/// bounded by the invocation's `deadline_ms`, as Lambda's context gives it.
pub async fn within<F: Future>(deadline_ms: Option<u64>, work: F) -> F::Output {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default();
    match deadline_ms.and_then(|deadline| time_for_gateways(deadline, now_ms)) {
        Some(left) => GATEWAY_DEADLINE.scope(Instant::now() + left, work).await,
        None => work.await,
    }
}

/// What the request being served still has for gateway calls; none
/// outside [`within`] or when its invocation gave no deadline.
pub fn left() -> Option<Duration> {
    GATEWAY_DEADLINE
        .try_with(|deadline| deadline.saturating_duration_since(Instant::now()))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000;

    #[test]
    fn gateways_get_the_invocations_time_less_the_storing_margin() {
        let now = 1_700_000_000_000;
        assert_eq!(
            time_for_gateways(now + 28 * SECOND, now),
            Some(Duration::from_secs(28) - STORING_MARGIN)
        );
        assert_eq!(
            time_for_gateways(now + 3 * SECOND + 250, now),
            Some(Duration::from_millis(250))
        );
    }

    #[test]
    fn an_invocation_inside_its_margin_or_past_its_deadline_has_nothing_left() {
        let now = 1_700_000_000_000;
        assert_eq!(
            time_for_gateways(now + 2 * SECOND, now),
            Some(Duration::ZERO)
        );
        assert_eq!(time_for_gateways(now - SECOND, now), Some(Duration::ZERO));
    }

    #[test]
    fn a_context_without_a_deadline_sets_none() {
        assert_eq!(time_for_gateways(0, 1_700_000_000_000), None);
    }

    #[test]
    fn a_call_waits_its_own_limit_or_what_the_request_has_left() {
        let per_call = Duration::from_secs(8);
        assert_eq!(call_limit(per_call, None), per_call);
        assert_eq!(
            call_limit(per_call, Some(Duration::from_secs(25))),
            per_call
        );
        assert_eq!(
            call_limit(per_call, Some(Duration::from_millis(1_500))),
            Duration::from_millis(1_500)
        );
        assert_eq!(call_limit(per_call, Some(Duration::ZERO)), Duration::ZERO);
    }

    #[tokio::test]
    async fn the_deadline_is_seen_inside_the_request_only() {
        assert_eq!(left(), None);
        let in_an_hour = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_millis() as u64
            + 3_600 * SECOND;
        let seen = within(Some(in_an_hour), async { left() }).await;
        assert!(
            seen.is_some_and(|left| left > Duration::from_secs(3_500)
                && left <= Duration::from_secs(3_600) - STORING_MARGIN),
            "{seen:?}"
        );
        assert_eq!(within(None, async { left() }).await, None);
        assert_eq!(within(Some(0), async { left() }).await, None);
        assert_eq!(left(), None);
    }
}
