//! The Idempotency-Key ledger: one item per (caller, key), kept 24 hours.

use time::{Duration, OffsetDateTime};

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::DynamoStore;
use super::codec::{Item, n, names, s, ts, unavailable, values};
use super::keys::hashed_pk;
use super::request::unless_refused;
use super::table::{PK, SK, TTL_ATTRIBUTE};
use crate::ports::{IdempotencyStore, Idempotent, StoreError, StoredResponse};

const RETENTION: Duration = Duration::hours(24);
/// A claim older than this was left by a crashed invocation (Lambda times out far sooner).
const STALE_CLAIM: Duration = Duration::minutes(5);
const SK_VALUE: &str = "IDEMPOTENCY";

fn pk(scope: &str, key: &str) -> String {
    hashed_pk("IDEMPOTENCY#", scope, key)
}

fn key_item(scope: &str, key: &str) -> Item {
    [
        (PK.to_owned(), s(pk(scope, key))),
        (SK.to_owned(), s(SK_VALUE)),
    ]
    .into_iter()
    .collect()
}

fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

#[async_trait::async_trait]
impl IdempotencyStore for DynamoStore {
    #[tracing::instrument(skip_all, err)]
    async fn claim(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        owner: &str,
        now: OffsetDateTime,
    ) -> Result<Idempotent, StoreError> {
        let mut item = key_item(scope, key);
        item.insert("fingerprint".into(), s(fingerprint));
        item.insert("owner".into(), s(owner));
        item.insert("state".into(), s("in_flight"));
        item.insert("claimed_at".into(), n(now.unix_timestamp()));
        item.insert("created_at".into(), s(ts(now)));
        item.insert(TTL_ATTRIBUTE.into(), n((now + RETENTION).unix_timestamp()));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // TTL deletes late, so an expired record counts as absent.
            .condition_expression(
                "attribute_not_exists(pk) OR #ttl < :now OR (#state = :in_flight AND claimed_at < :stale)",
            )
            .set_expression_attribute_names(Some(names(&[("#ttl", TTL_ATTRIBUTE), ("#state", "state")])))
            .set_expression_attribute_values(Some(values(vec![
                (":now", n(now.unix_timestamp())),
                (":in_flight", s("in_flight")),
                (":stale", n((now - STALE_CLAIM).unix_timestamp())),
            ])))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let old = match result {
            Ok(_) => return Ok(Idempotent::Claimed),
            Err(e) => match e.into_service_error() {
                PutItemError::ConditionalCheckFailedException(c) => c.item.unwrap_or_default(),
                other => return Err(unavailable(other)),
            },
        };
        if text(&old, "fingerprint").as_deref() != Some(fingerprint) {
            return Ok(Idempotent::Mismatch);
        }
        if text(&old, "state").as_deref() != Some("done") {
            // The SDK retries a put whose answer was lost; the retry then finds the
            // claim its own first attempt wrote. That claim is this run's.
            if text(&old, "owner").as_deref() == Some(owner) {
                return Ok(Idempotent::Claimed);
            }
            return Ok(Idempotent::InFlight);
        }
        let status = old
            .get("status")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(200);
        Ok(Idempotent::Replay(StoredResponse {
            status,
            content_type: text(&old, "content_type").unwrap_or_else(|| "application/json".into()),
            body: text(&old, "body").unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all, err)]
    async fn complete(
        &self,
        scope: &str,
        key: &str,
        owner: &str,
        response: &StoredResponse,
        now: OffsetDateTime,
        retain: Duration,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(scope, key)))
            .update_expression(
                "SET #state = :done, #status = :status, content_type = :ct, body = :body, #ttl = :ttl",
            )
            // Only this run's claim: one taken over is the other run's to answer.
            // Written again by this run (a retried call), it is still its own.
            .condition_expression("#owner = :owner")
            .set_expression_attribute_names(Some(names(&[
                ("#state", "state"),
                ("#status", "status"),
                ("#ttl", TTL_ATTRIBUTE),
                ("#owner", "owner"),
            ])))
            .set_expression_attribute_values(Some(values(vec![
                (":done", s("done")),
                (":status", n(response.status)),
                (":ct", s(response.content_type.clone())),
                (":body", s(response.body.clone())),
                (":ttl", n((now + retain).unix_timestamp())),
                (":owner", s(owner)),
            ])))
            .send()
            .await;
        unless_refused(result)?.ok_or(StoreError::Conflict)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err)]
    async fn release(&self, scope: &str, key: &str, owner: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(scope, key)))
            .condition_expression("#owner = :owner AND #state = :in_flight")
            .set_expression_attribute_names(Some(names(&[
                ("#owner", "owner"),
                ("#state", "state"),
            ])))
            .set_expression_attribute_values(Some(values(vec![
                (":owner", s(owner)),
                (":in_flight", s("in_flight")),
            ])))
            .send()
            .await;
        // Refused: not this run's claim to let go (any more), or already gone.
        unless_refused(result)?;
        Ok(())
    }
}
