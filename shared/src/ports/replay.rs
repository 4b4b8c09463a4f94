//! One-time tokens: a partner's signature works once.

use time::{Duration, OffsetDateTime};

use super::StoreError;

#[async_trait::async_trait]
pub trait ReplayGuard: Send + Sync {
    /// Remembers `token` under `scope` for `keep` from `now`: true the first
    /// time, false while it is remembered (concurrent first uses: one wins).
    async fn first_use(
        &self,
        scope: &str,
        token: &str,
        now: OffsetDateTime,
        keep: Duration,
    ) -> Result<bool, StoreError>;
}
