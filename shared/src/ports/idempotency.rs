use time::OffsetDateTime;

/// A response as first sent, kept to replay it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// What claiming an Idempotency-Key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Idempotent {
    /// First use: run the request, then `complete` or `release`.
    Claimed,
    /// Same key, same request, finished: send this again.
    Replay(StoredResponse),
    /// Same key, same request, still running.
    InFlight,
    /// Same key, different request.
    Mismatch,
}

#[async_trait::async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// `scope` is the caller; `fingerprint` a digest of method, path and body;
    /// `owner` names this run of the request. A claim found in flight under the
    /// same owner is this run's own (its first attempt's answer was lost and the
    /// call was retried): `Claimed`, not `InFlight`.
    async fn claim(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        owner: &str,
        now: OffsetDateTime,
    ) -> Result<Idempotent, super::StoreError>;

    /// Keeps `response` to replay for `retain` from `now` (a day for
    /// Idempotency-Keys; a gateway's event ids for as long as it may
    /// redeliver), only while the claim is still `owner`'s: a run whose
    /// claim went stale and was taken over by another keeps nothing
    /// (`Conflict`), and the other run's answer stands.
    async fn complete(
        &self,
        scope: &str,
        key: &str,
        owner: &str,
        response: &StoredResponse,
        now: OffsetDateTime,
        retain: time::Duration,
    ) -> Result<(), super::StoreError>;

    /// Forgets `owner`'s claim, its request having failed unexpectedly, so
    /// a retry may run. A claim that is no longer `owner`'s (taken over, or
    /// finished) stays as it is.
    async fn release(&self, scope: &str, key: &str, owner: &str) -> Result<(), super::StoreError>;
}
