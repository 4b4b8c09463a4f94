//! The Idempotency-Key ledger in memory, with the table's expiry rules.

use time::{Duration, OffsetDateTime};

use super::MemoryStore;
use crate::ports::{IdempotencyStore, Idempotent, StoreError, StoredResponse};

const RETENTION: Duration = Duration::hours(24);
/// A claim older than this was left by a crashed invocation (Lambda times out far sooner).
const STALE_CLAIM: Duration = Duration::minutes(5);

pub struct Record {
    fingerprint: Option<String>,
    /// The run that holds the claim.
    owner: Option<String>,
    response: Option<StoredResponse>,
    /// Unix seconds, as the table keeps them.
    claimed_at: i64,
    expires_at: i64,
}

fn ledger_key(scope: &str, key: &str) -> (String, String) {
    (scope.to_owned(), key.to_owned())
}

#[async_trait::async_trait]
impl IdempotencyStore for MemoryStore {
    async fn claim(
        &self,
        scope: &str,
        idempotency_key: &str,
        fingerprint: &str,
        owner: &str,
        now: OffsetDateTime,
    ) -> Result<Idempotent, StoreError> {
        let mut state = self.lock()?;
        let now_s = now.unix_timestamp();
        let stale = (now - STALE_CLAIM).unix_timestamp();
        let free = match state.idempotency.get(&ledger_key(scope, idempotency_key)) {
            None => true,
            // Expired records count as absent, as TTL deletion lags.
            Some(r) => r.expires_at < now_s || (r.response.is_none() && r.claimed_at < stale),
        };
        let own = match state.idempotency.get(&ledger_key(scope, idempotency_key)) {
            Some(r) => {
                r.response.is_none()
                    && r.owner.as_deref() == Some(owner)
                    && r.fingerprint.as_deref() == Some(fingerprint)
            }
            None => false,
        };
        if own {
            return Ok(Idempotent::Claimed);
        }
        if free {
            state.idempotency.insert(
                ledger_key(scope, idempotency_key),
                Record {
                    fingerprint: Some(fingerprint.to_owned()),
                    owner: Some(owner.to_owned()),
                    response: None,
                    claimed_at: now_s,
                    expires_at: (now + RETENTION).unix_timestamp(),
                },
            );
            return Ok(Idempotent::Claimed);
        }
        let Some(old) = state.idempotency.get(&ledger_key(scope, idempotency_key)) else {
            return Err(StoreError::Conflict);
        };
        Ok(if old.fingerprint.as_deref() != Some(fingerprint) {
            Idempotent::Mismatch
        } else {
            match &old.response {
                Some(response) => Idempotent::Replay(response.clone()),
                None => Idempotent::InFlight,
            }
        })
    }

    async fn complete(
        &self,
        scope: &str,
        idempotency_key: &str,
        owner: &str,
        response: &StoredResponse,
        now: OffsetDateTime,
        retain: Duration,
    ) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        let Some(record) = state
            .idempotency
            .get_mut(&ledger_key(scope, idempotency_key))
            .filter(|r| r.owner.as_deref() == Some(owner))
        else {
            return Err(StoreError::Conflict);
        };
        record.response = Some(response.clone());
        record.expires_at = (now + retain).unix_timestamp();
        Ok(())
    }

    async fn release(
        &self,
        scope: &str,
        idempotency_key: &str,
        owner: &str,
    ) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        let key = ledger_key(scope, idempotency_key);
        let own_in_flight = state
            .idempotency
            .get(&key)
            .is_some_and(|r| r.response.is_none() && r.owner.as_deref() == Some(owner));
        if own_in_flight {
            state.idempotency.remove(&key);
        }
        Ok(())
    }
}
