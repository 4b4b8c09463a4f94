//! The replay guard: one item per used token, kept until it can no longer be
//! accepted anyway. Its own key prefix, so a function that may only write
//! here is granted exactly that.

use time::{Duration, OffsetDateTime};

use super::DynamoStore;
use super::codec::{n, names, s, values};
use super::keys::hashed_pk;
use super::request::unless_refused;
use super::table::{PK, SK, TTL_ATTRIBUTE};
use crate::ports::{ReplayGuard, StoreError};

/// The prefix of every replay guard item's partition key.
pub const REPLAY_PREFIX: &str = "REPLAY#";

fn pk(scope: &str, token: &str) -> String {
    hashed_pk(REPLAY_PREFIX, scope, token)
}

#[async_trait::async_trait]
impl ReplayGuard for DynamoStore {
    #[tracing::instrument(skip_all, err)]
    async fn first_use(
        &self,
        scope: &str,
        token: &str,
        now: OffsetDateTime,
        keep: Duration,
    ) -> Result<bool, StoreError> {
        let item = [
            (PK.to_owned(), s(pk(scope, token))),
            (SK.to_owned(), s("REPLAY")),
            (TTL_ATTRIBUTE.to_owned(), n((now + keep).unix_timestamp())),
        ]
        .into_iter()
        .collect();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // TTL deletes late, so an expired item counts as absent.
            .condition_expression("attribute_not_exists(pk) OR #ttl < :now")
            .set_expression_attribute_names(Some(names(&[("#ttl", TTL_ATTRIBUTE)])))
            .set_expression_attribute_values(Some(values(vec![(":now", n(now.unix_timestamp()))])))
            .send()
            .await;
        Ok(unless_refused(result)?.is_some())
    }
}
