//! The replay guard in memory, with the table's expiry rule.

use time::{Duration, OffsetDateTime};

use super::MemoryStore;
use crate::ports::{ReplayGuard, StoreError};

#[async_trait::async_trait]
impl ReplayGuard for MemoryStore {
    async fn first_use(
        &self,
        scope: &str,
        token: &str,
        now: OffsetDateTime,
        keep: Duration,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let key = (scope.to_owned(), token.to_owned());
        let now_s = now.unix_timestamp();
        if state
            .used_tokens
            .get(&key)
            .is_some_and(|&until| until >= now_s)
        {
            return Ok(false);
        }
        state.used_tokens.insert(key, (now + keep).unix_timestamp());
        Ok(true)
    }
}
