//! Deliveries on DynamoDB.
//!
//! A delivery lives in its lane's partition (`WEBHOOK_LANE#<endpoint>#<object>`),
//! sorted in delivery order, so "is an earlier one still pending?" is one
//! consistent query, never an index that may lag. Two of the table's generic
//! indexes carry it besides: its endpoint's list (newest first) and, while it
//! is pending, its endpoint's due list, which the retry pass reads
//! (sorted by the time it is due; finished deliveries leave it, so it only
//! holds work). One due list per endpoint, so that the retry pass can take
//! each endpoint's share: an endpoint that is down with a backlog does not
//! fill the pass. Its list is one partition of the index, which takes every
//! write of the endpoint's pending deliveries (two for one sent at once:
//! made claimed, then its outcome removing it; each retry two more); an
//! index partition takes 1,000 writes a second, some 500 deliveries a
//! second to one endpoint.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::DynamoStore;
use super::codec::{Item, corrupt, n, names, parse_opt_ts, parse_ts, s, ts, unavailable, values};
use super::request::{Wanted, read_pages, unless_refused};
use super::table::{ALL_INTENTS, BY_USER, Index, PK, SK};
use crate::domain::delivery::{EventRef, RETENTION};
use crate::domain::{Attempt, Delivery, DeliveryId, DeliveryStatus, EndpointId, NoAnswer};
use crate::ports::{DeliveryCreate, DeliveryStore, Page, PageRequest, StoreError};

/// The prefix of every lane's partition key.
pub const LANE_PREFIX: &str = "WEBHOOK_LANE#";
const DELIVERY_PREFIX: &str = "DELIVERY#";

/// An endpoint's deliveries, newest first (the generic index of user lists).
const BY_ENDPOINT: Index = BY_USER;
/// Pending deliveries by the time they are due (the generic index of the
/// all-intents list).
const DUE: Index = ALL_INTENTS;

/// The prefix of every due list's partition key (the retry pass may
/// read these lists and no other of the index).
pub const DUE_PREFIX: &str = "DELIVERIES_DUE#";

/// Partitions of the one due list every endpoint shared before each had its
/// own (`DELIVERIES_DUE#0..3`). A delivery leaves it the next time it is
/// written; the retry pass reads it until then, so what it holds is
/// retried, or given up, as before. Once every delivery listed there has
/// come due once (retries end three days after the first attempt), it is
/// empty for good.
pub const SHARED_DUE_SHARDS: u8 = 4;

fn lane_pk(endpoint: &EndpointId, object_id: &str) -> String {
    // Endpoint ids never hold '#', so the object id cannot be mistaken for part of it.
    format!("{LANE_PREFIX}{endpoint}#{object_id}")
}

fn lane_sk(d: &Delivery) -> String {
    format!("{DELIVERY_PREFIX}{}", d.order_key())
}

fn endpoint_partition(endpoint: &EndpointId) -> String {
    format!("WEBHOOK_DELIVERIES#{endpoint}")
}

/// Nanoseconds since 1970, as text that sorts as the times do.
fn sortable(t: OffsetDateTime) -> String {
    format!("{:020}", t.unix_timestamp_nanos().max(0))
}

/// An endpoint's due list. Its own word before the id: no endpoint id can
/// name a shard of the shared list that came before (ids hold no '#').
pub fn due_partition(endpoint: &EndpointId) -> String {
    format!("{DUE_PREFIX}ENDPOINT#{endpoint}")
}

/// A shard of the due list every endpoint shared before.
pub fn shared_due_partition(shard: u8) -> String {
    format!("{DUE_PREFIX}{shard}")
}

/// A pending delivery's place in its due list: when it is due, then its id
/// (only to make the order total).
fn due_sk(due: OffsetDateTime, id: &DeliveryId) -> String {
    format!("{}#{id}", sortable(due))
}

/// An attempt: its status code, or the reason no answer came in `error`.
#[derive(Serialize, Deserialize)]
struct AttemptItem {
    at: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    status_code: Option<u16>,
    latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    error: Option<String>,
}

impl AttemptItem {
    fn of(a: &Attempt) -> Self {
        Self {
            at: ts(a.at),
            status_code: a.status_code(),
            latency_ms: a.latency_ms,
            error: a.error().map(|r| r.as_str().to_owned()),
        }
    }

    fn attempt(self) -> Result<Attempt, StoreError> {
        let at = parse_ts(&self.at)?;
        Ok(match self.status_code {
            Some(status) => Attempt::answered(at, status, self.latency_ms),
            None => Attempt::unanswered(at, self.latency_ms, reason_of(self.error.as_deref())),
        })
    }
}

/// The reason an unanswered attempt's `error` names. Attempts stored before
/// reasons were kept hold the sender's own words instead (an error's text,
/// which only ever named these kinds of failure): they read as the reason
/// those words describe, so the deliveries API shows reasons only. Words
/// that name none of them meant the endpoint could not be reached or gave
/// no answer: `connection_refused`.
fn reason_of(error: Option<&str>) -> NoAnswer {
    let text = error.unwrap_or_default();
    if let Ok(reason) = NoAnswer::parse(text) {
        return reason;
    }
    let text = text.to_ascii_lowercase();
    let says = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if says(&["no answer within", "timed out", "timeout", "deadline"]) {
        NoAnswer::Timeout
    } else if says(&["dns", "lookup", "resolve", "name or service"]) {
        NoAnswer::DnsFailure
    } else if says(&["tls", "certificate", "handshake"]) {
        NoAnswer::TlsError
    } else {
        NoAnswer::ConnectionRefused
    }
}

#[derive(Serialize, Deserialize)]
struct DeliveryItem {
    pk: String,
    sk: String,
    id: String,
    endpoint_id: String,
    event_id: String,
    event_type: String,
    object_id: String,
    event_created: String,
    status: String,
    attempts: Vec<AttemptItem>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    next_attempt_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    failure: Option<String>,
    #[serde(default)]
    sending: bool,
    created: String,
    version: u64,
    /// Epoch seconds after which DynamoDB deletes it (its retention).
    ttl: i64,
    gsi1pk: String,
    gsi1sk: String,
    /// Only while pending: the due list holds work, nothing else.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    gsi3pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    gsi3sk: Option<String>,
}

/// The item of `d` as stored at `version`.
fn delivery_to_item(d: &Delivery, version: u64) -> Result<Item, StoreError> {
    let due = d.next_attempt_at.filter(|_| d.is_pending());
    let item = DeliveryItem {
        pk: lane_pk(&d.endpoint_id, &d.event.object_id),
        sk: lane_sk(d),
        id: d.id.to_string(),
        endpoint_id: d.endpoint_id.to_string(),
        event_id: d.event.id.clone(),
        event_type: d.event.event_type.clone(),
        object_id: d.event.object_id.clone(),
        event_created: ts(d.event.created),
        status: d.status.as_str().to_owned(),
        attempts: d.attempts.iter().map(AttemptItem::of).collect(),
        next_attempt_at: d.next_attempt_at.map(ts),
        failure: d.failure.clone(),
        sending: d.sending,
        created: ts(d.created),
        version,
        ttl: (d.created + RETENTION).unix_timestamp(),
        gsi1pk: endpoint_partition(&d.endpoint_id),
        gsi1sk: format!("{DELIVERY_PREFIX}{}#{}", sortable(d.created), d.id),
        gsi3pk: due.map(|_| due_partition(&d.endpoint_id)),
        gsi3sk: due.map(|t| due_sk(t, &d.id)),
    };
    serde_dynamo::to_item(item).map_err(|e| corrupt("delivery", e))
}

fn delivery_from_item(item: Item) -> Result<Delivery, StoreError> {
    let d: DeliveryItem = serde_dynamo::from_item(item).map_err(|e| corrupt("delivery", e))?;
    Ok(Delivery {
        id: DeliveryId::parse(&d.id).map_err(|e| corrupt("delivery id", e))?,
        endpoint_id: EndpointId::parse(&d.endpoint_id).map_err(|e| corrupt("endpoint id", e))?,
        event: EventRef {
            id: d.event_id,
            event_type: d.event_type,
            object_id: d.object_id,
            created: parse_ts(&d.event_created)?,
        },
        status: DeliveryStatus::parse(&d.status).map_err(|e| corrupt("delivery status", e))?,
        attempts: d
            .attempts
            .into_iter()
            .map(AttemptItem::attempt)
            .collect::<Result<_, StoreError>>()?,
        next_attempt_at: parse_opt_ts(&d.next_attempt_at)?,
        failure: d.failure,
        sending: d.sending,
        created: parse_ts(&d.created)?,
        version: d.version,
    })
}

impl DynamoStore {
    /// Up to `limit` deliveries of due list `partition` due by `now`,
    /// soonest first, from `start` on (exclusive).
    async fn read_due_list(
        &self,
        partition: String,
        now: OffsetDateTime,
        start: Option<Item>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        // '~' sorts after every delivery id: all that is due by `now`, inclusive.
        let bound = format!("{}#~", sortable(now));
        let query = self
            .query()
            .index_name(DUE.name)
            .key_condition_expression("#pk = :pk AND #sk <= :bound")
            .set_expression_attribute_names(Some(names(&[("#pk", DUE.pk), ("#sk", DUE.sk)])))
            .set_expression_attribute_values(Some(values(vec![
                (":pk", s(partition)),
                (":bound", s(bound)),
            ])))
            .scan_index_forward(true)
            .set_exclusive_start_key(start);
        let items = read_pages(query, Wanted::AtMost(limit)).await?;
        items.into_iter().map(delivery_from_item).collect()
    }
}

#[async_trait::async_trait]
impl DeliveryStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(delivery = %delivery.id), err)]
    async fn create_delivery(&self, delivery: &Delivery) -> Result<DeliveryCreate, StoreError> {
        // The delivery's key follows from the endpoint and the event alone: a
        // stream record handed over twice finds the first one's delivery.
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(delivery_to_item(delivery, delivery.version)?))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(DeliveryCreate::Created),
            Err(e) => match e.into_service_error() {
                PutItemError::ConditionalCheckFailedException(failed) => match failed.item {
                    Some(item) => Ok(DeliveryCreate::Exists(Box::new(delivery_from_item(item)?))),
                    None => Err(StoreError::Conflict),
                },
                other => Err(unavailable(other)),
            },
        }
    }

    #[tracing::instrument(skip_all, fields(delivery = %delivery.id, version = delivery.version), err)]
    async fn save_delivery(&self, delivery: &mut Delivery) -> Result<(), StoreError> {
        // Every write expects the version it read: a claim, an attempt's
        // outcome or a postponement made by anyone else in between wins, and
        // this one is dropped.
        let written = delivery.version + 1;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(delivery_to_item(delivery, written)?))
            .condition_expression("version = :expected")
            .set_expression_attribute_values(Some(values(vec![(":expected", n(delivery.version))])))
            .send()
            .await;
        unless_refused(result)?.ok_or(StoreError::Conflict)?;
        delivery.version = written;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(delivery = %delivery.id), err)]
    async fn pending_in_lane(&self, delivery: &Delivery) -> Result<Vec<Delivery>, StoreError> {
        // The whole lane in one consistent read, both sides of this one.
        let query = self
            .query()
            .key_condition_expression("#pk = :pk")
            .filter_expression("#status = :pending")
            .set_expression_attribute_names(Some(names(&[("#pk", PK), ("#status", "status")])))
            .set_expression_attribute_values(Some(values(vec![
                (
                    ":pk",
                    s(lane_pk(&delivery.endpoint_id, &delivery.event.object_id)),
                ),
                (":pending", s(DeliveryStatus::Pending.as_str())),
            ])))
            .scan_index_forward(true)
            .consistent_read(true);
        let mut lane = Vec::new();
        for item in read_pages(query, Wanted::All).await? {
            let pending = delivery_from_item(item)?;
            if pending.id != delivery.id {
                lane.push(pending);
            }
        }
        Ok(lane)
    }

    #[tracing::instrument(skip_all, fields(endpoint = %endpoint), err)]
    async fn due_deliveries_to(
        &self,
        endpoint: &EndpointId,
        now: OffsetDateTime,
        after: Option<&Delivery>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        // The index resumes after a position: the one `after` had in this
        // list when it was read (it may have moved since; the position stays).
        let start = after.and_then(|d| {
            let due = d.next_attempt_at?;
            let position = [
                (PK, s(lane_pk(&d.endpoint_id, &d.event.object_id))),
                (SK, s(lane_sk(d))),
                (DUE.pk, s(due_partition(endpoint))),
                (DUE.sk, s(due_sk(due, &d.id))),
            ];
            Some(
                position
                    .map(|(k, v)| (k.to_owned(), v))
                    .into_iter()
                    .collect(),
            )
        });
        self.read_due_list(due_partition(endpoint), now, start, limit)
            .await
    }

    #[tracing::instrument(skip_all, err)]
    async fn stray_due_deliveries(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut shards = JoinSet::new();
        for shard in 0..SHARED_DUE_SHARDS {
            let store = self.clone();
            shards.spawn(
                async move {
                    store
                        .read_due_list(shared_due_partition(shard), now, None, limit)
                        .await
                }
                .instrument(tracing::Span::current()),
            );
        }
        let mut due = Vec::new();
        while let Some(read) = shards.join_next().await {
            due.extend(read.map_err(unavailable)??);
        }
        due.sort_by_key(|d| d.next_attempt_at);
        due.truncate(limit);
        Ok(due)
    }

    #[tracing::instrument(skip_all, fields(endpoint = %endpoint), err)]
    async fn list_deliveries(
        &self,
        endpoint: &EndpointId,
        request: &PageRequest,
    ) -> Result<Page<Delivery>, StoreError> {
        let page = self
            .query_newest_first(
                BY_ENDPOINT,
                endpoint_partition(endpoint),
                DELIVERY_PREFIX,
                None,
                request,
            )
            .await?;
        page.try_map(delivery_from_item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(status_code: Option<u16>, error: Option<&str>) -> Attempt {
        AttemptItem {
            at: "2025-10-09T08:53:20Z".into(),
            status_code,
            latency_ms: 12,
            error: error.map(str::to_owned),
        }
        .attempt()
        .expect("reads")
    }

    #[test]
    fn attempts_stored_with_an_errors_text_read_as_a_reason() {
        use NoAnswer::*;
        for (text, reason) in [
            ("no answer within 10 s", Timeout),
            (
                "could not connect: client error (Connect)",
                ConnectionRefused,
            ),
            ("no answer: client error (SendRequest)", ConnectionRefused),
            (
                "could not connect: dns error: failed to lookup address",
                DnsFailure,
            ),
            (
                "could not connect: invalid peer certificate: UnknownIssuer",
                TlsError,
            ),
            (
                "this function is not connected to the webhook sender",
                ConnectionRefused,
            ),
            ("", ConnectionRefused),
        ] {
            assert_eq!(stored(None, Some(text)).error(), Some(reason), "{text}");
        }
        assert_eq!(stored(None, None).error(), Some(ConnectionRefused));
        for reason in NoAnswer::ALL {
            assert_eq!(stored(None, Some(reason.as_str())).error(), Some(reason));
        }
    }

    #[test]
    fn an_answer_stored_with_words_beside_it_is_its_status() {
        let answered = stored(Some(500), Some("the endpoint answered 500"));
        assert_eq!(
            (answered.status_code(), answered.error()),
            (Some(500), None)
        );
        let item = AttemptItem::of(&answered);
        assert_eq!((item.status_code, item.error), (Some(500), None));
    }
}
