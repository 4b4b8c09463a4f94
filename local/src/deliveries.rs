//! The deliveries' dispatch and retry pass of the local stack, as AWS runs
//! them: the table's stream on DynamoDB Local is read (through the
//! DynamoDB Streams API at `AWS_ENDPOINT_URL_DYNAMODB_STREAMS`) and each
//! batch handed to the dispatch's own handler, as Lambda's event source
//! mapping would; the retry pass runs every second instead of every minute.
//!
//! Unlike the deployed mapping (which starts at the latest record), the
//! local reader starts at the oldest one the stream holds: nothing written
//! before it started is missed, and the dispatch makes one delivery per
//! endpoint and event however often a record is handed over.
//!
//! A record it cannot read, or that the dispatch keeps failing on, is
//! tried a few times, then skipped and logged by its sequence number, as
//! the deployed mapping's bisection and dead-letter queue would: one bad
//! record never stops its shard, and the deliveries behind it go on.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodbstreams::Client as StreamsClient;
use aws_sdk_dynamodbstreams::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use payment_shared::app::App;
use payment_shared::surfaces::deliveries::{
    self, StreamBatch, StreamChange, StreamRecord, StreamValue,
};

/// How often each shard is asked for new records: well within the first
/// attempt's 5 s.
const POLL: Duration = Duration::from_millis(250);
/// How often the stream's shards are listed again (shards close and open).
const SHARDS_REFRESH: Duration = Duration::from_secs(5);
/// The retry pass's period here (a minute in AWS).
const RETRY_PERIOD: Duration = Duration::from_secs(1);
/// Records per batch, as the deployed mapping's `BatchSize`.
const BATCH_SIZE: i32 = 10;
/// A record the dispatch reports as failed is handed over this many more
/// times, then given up on (in AWS it would go to the dead-letter queue).
const RECORD_RETRIES: usize = 3;
/// An answer of the stream that cannot be read is asked for again this many
/// more times before its record is skipped.
const READ_RETRIES: u32 = 3;
/// How long a shard waits after a read that failed.
const READ_RETRY_PAUSE: Duration = Duration::from_millis(500);

/// Runs the dispatch on the stream of the App's table and the retry pass,
/// until dropped (abort its task to stop it).
pub async fn run(app: Arc<App>) {
    tokio::join!(read_stream(app.clone()), retry_passes(app));
}

/// The retry pass, every second.
pub async fn retry_passes(app: Arc<App>) {
    loop {
        if let Err(e) = payment_shared::app::deliveries::retry_due(app.clone()).await {
            tracing::warn!(target: "local_gateway", "webhook retry pass: {e}");
        }
        tokio::time::sleep(RETRY_PERIOD).await;
    }
}

/// The dispatch fed by the table's stream.
pub async fn read_stream(app: Arc<App>) {
    let aws = payment_shared::runtime::aws_sdk_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&aws);
    let streams = StreamsClient::new(&aws);
    let table = app.config.table_name.clone();
    let arn = loop {
        match stream_arn(&dynamo, &table).await {
            Ok(arn) => break arn,
            Err(e) => {
                tracing::warn!(target: "local_gateway", "webhook dispatcher waits for the stream of {table}: {e}");
                tokio::time::sleep(SHARDS_REFRESH).await;
            }
        }
    };
    tracing::info!(target: "local_gateway", "webhook dispatcher reads the stream of table {table}");
    let mut reader = ShardReader {
        streams,
        arn,
        open: HashMap::new(),
        done: HashSet::new(),
    };
    let mut listed = None::<tokio::time::Instant>;
    loop {
        if listed.is_none_or(|at| at.elapsed() >= SHARDS_REFRESH) {
            if let Err(e) = reader.list_shards().await {
                tracing::warn!(target: "local_gateway", "webhook dispatcher: listing shards: {e}");
            }
            listed = Some(tokio::time::Instant::now());
        }
        for records in reader.poll().await {
            hand_over(&app, records).await;
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn stream_arn(dynamo: &aws_sdk_dynamodb::Client, table: &str) -> Result<String, String> {
    let described = dynamo
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| why(&e))?;
    described
        .table()
        .and_then(|t| t.latest_stream_arn())
        .map(str::to_owned)
        .ok_or_else(|| format!("table {table} has no stream"))
}

struct ShardReader {
    streams: StreamsClient,
    arn: String,
    /// Where each shard not yet read to its end stands.
    open: HashMap<String, Shard>,
    /// Shards read to their end.
    done: HashSet<String>,
}

/// Where the reader stands in one shard. Records are handed over in order,
/// so the last one handed over (or skipped) is all it takes to go on after
/// any failure, never from the shard's start again.
#[derive(Default)]
struct Shard {
    /// The next read; none until one is got again after a failure.
    iterator: Option<String>,
    /// The sequence number of the last record handed over or skipped; none
    /// while none was, and a new iterator then starts at the shard's oldest record.
    after: Option<String>,
    /// Answers in a row that named records but could not be read.
    unreadable: u32,
    /// Reads still to take one record at a time, after an answer that could
    /// not be read: the records before the culprit go through, and only the
    /// culprit is skipped.
    one_at_a_time: i32,
    /// No read before then, after a failure.
    paused_until: Option<tokio::time::Instant>,
}

impl ShardReader {
    /// Starts reading every shard not seen yet, from its oldest record.
    async fn list_shards(&mut self) -> Result<(), String> {
        let mut start = None;
        loop {
            let out = self
                .streams
                .describe_stream()
                .stream_arn(&self.arn)
                .set_exclusive_start_shard_id(start)
                .send()
                .await
                .map_err(|e| why(&e))?;
            let Some(description) = out.stream_description() else {
                return Ok(());
            };
            for shard in description.shards() {
                let Some(id) = shard.shard_id() else { continue };
                if !self.done.contains(id) {
                    self.open.entry(id.to_owned()).or_default();
                }
            }
            start = description.last_evaluated_shard_id().map(str::to_owned);
            if start.is_none() {
                return Ok(());
            }
        }
    }

    /// An iterator just after the last record handed over or skipped, or at
    /// the shard's oldest record when there is none (or when the stream no
    /// longer holds it: what followed it is then the oldest it holds).
    async fn iterator(&self, shard: &str, after: Option<&str>) -> Result<Option<String>, String> {
        let request = self
            .streams
            .get_shard_iterator()
            .stream_arn(&self.arn)
            .shard_id(shard);
        let from_start = request
            .clone()
            .shard_iterator_type(ShardIteratorType::TrimHorizon);
        let out = match after {
            None => from_start.send().await,
            Some(sequence) => {
                match request
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .sequence_number(sequence)
                    .send()
                    .await
                {
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|e| e.is_trimmed_data_access_exception()) =>
                    {
                        from_start.send().await
                    }
                    out => out,
                }
            }
        };
        out.map(|out| out.shard_iterator().map(str::to_owned))
            .map_err(|e| why(&e))
    }

    /// The new records of each shard, a batch per shard.
    async fn poll(&mut self) -> Vec<Vec<Record>> {
        let mut batches = Vec::new();
        let ids: Vec<String> = self.open.keys().cloned().collect();
        for id in ids {
            let Some(mut shard) = self.open.remove(&id) else {
                continue;
            };
            match self.read(&id, &mut shard).await {
                Read::Records(records) => {
                    if !records.is_empty() {
                        batches.push(records);
                    }
                    self.open.insert(id, shard);
                }
                Read::Nothing => {
                    self.open.insert(id, shard);
                }
                // Closed and read to its end: its children are listed next.
                Read::End(records) => {
                    if !records.is_empty() {
                        batches.push(records);
                    }
                    self.done.insert(id);
                }
            }
        }
        batches
    }

    /// Reads the shard's next records. A read that fails is tried again
    /// from the last record handed over, with a new iterator (the old one
    /// may have expired); an answer that names records but cannot be read
    /// is tried again one record at a time, and the record that still
    /// cannot be read after a few tries is skipped, its sequence number
    /// logged, as Lambda's bisection and dead-letter queue would: one bad
    /// record never stops its shard.
    async fn read(&self, id: &str, shard: &mut Shard) -> Read {
        if shard
            .paused_until
            .is_some_and(|until| tokio::time::Instant::now() < until)
        {
            return Read::Nothing;
        }
        let iterator = match shard.iterator.take() {
            Some(iterator) => iterator,
            None => match self.iterator(id, shard.after.as_deref()).await {
                Ok(Some(iterator)) => iterator,
                result => {
                    let e = result.err().unwrap_or_else(|| "none given".into());
                    tracing::warn!(target: "local_gateway", "webhook dispatcher: shard {id}: no iterator: {e}");
                    shard.paused_until = Some(tokio::time::Instant::now() + READ_RETRY_PAUSE);
                    return Read::Nothing;
                }
            },
        };
        let limit = if shard.one_at_a_time > 0 {
            1
        } else {
            BATCH_SIZE
        };
        let out = self
            .streams
            .get_records()
            .shard_iterator(iterator)
            .limit(limit)
            .send()
            .await;
        match out {
            Ok(out) => {
                shard.unreadable = 0;
                shard.paused_until = None;
                shard.one_at_a_time = (shard.one_at_a_time - 1).max(0);
                let records = out.records().to_vec();
                if let Some(last) = records
                    .last()
                    .and_then(|r| r.dynamodb())
                    .and_then(|c| c.sequence_number())
                {
                    shard.after = Some(last.to_owned());
                }
                match out.next_shard_iterator() {
                    Some(next) => {
                        shard.iterator = Some(next.to_owned());
                        Read::Records(records)
                    }
                    None => Read::End(records),
                }
            }
            Err(e) => {
                shard.paused_until = Some(tokio::time::Instant::now() + READ_RETRY_PAUSE);
                let named = e
                    .raw_response()
                    .and_then(|r| r.body().bytes())
                    .map(sequence_numbers_in)
                    .unwrap_or_default();
                let error = why(&e);
                if named.is_empty() {
                    // Nothing was answered to skip (the stream did not
                    // answer, or refused the iterator): try again until it does.
                    tracing::warn!(target: "local_gateway", "webhook dispatcher: shard {id}: reading failed, tried again: {error}");
                    return Read::Nothing;
                }
                shard.unreadable += 1;
                if shard.unreadable <= READ_RETRIES {
                    tracing::warn!(target: "local_gateway", "webhook dispatcher: shard {id}: records {named:?} cannot be read, tried again one at a time: {error}");
                    if shard.one_at_a_time <= 0 {
                        shard.one_at_a_time = BATCH_SIZE;
                    }
                    return Read::Nothing;
                }
                tracing::error!(target: "local_gateway", "webhook dispatcher: shard {id}: skipped records {named:?}, which cannot be read (in AWS: the dead-letter queue): {error}");
                shard.unreadable = 0;
                shard.after = named.last().cloned();
                Read::Nothing
            }
        }
    }
}

/// What went wrong, the whole chain of causes, for the log. Never the
/// answer itself, which the SDK's error holds and shows in its debug form:
/// a stream's answer can hold an item's image (an email, a webhook secret).
fn why<E, R>(e: &SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e {
        SdkError::ServiceError(service) => DisplayErrorContext(service.err()).to_string(),
        SdkError::ResponseError(_) => {
            let mut chain = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                chain.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            chain
        }
        _ => DisplayErrorContext(e).to_string(),
    }
}

/// What one read of a shard gave.
enum Read {
    Records(Vec<Record>),
    /// Nothing to hand over now; the shard is read again.
    Nothing,
    /// The shard is closed and these were its last records.
    End(Vec<Record>),
}

/// The sequence numbers of the records an answer of GetRecords names, read
/// without the SDK (which refuses the whole answer over one record it cannot
/// take). Only these numbers are read: an image can hold what no log may.
fn sequence_numbers_in(body: &[u8]) -> Vec<String> {
    let Ok(answer) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    answer["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["dynamodb"]["SequenceNumber"].as_str())
        .map(str::to_owned)
        .collect()
}

/// A record as Lambda hands it to the dispatch.
pub fn lambda_record(record: &Record) -> StreamRecord {
    let change = record.dynamodb();
    StreamRecord {
        event_name: record
            .event_name()
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
        dynamodb: StreamChange {
            keys: change
                .and_then(|c| c.keys())
                .into_iter()
                .flatten()
                .map(|(name, value)| {
                    let s = match value {
                        AttributeValue::S(s) => Some(s.clone()),
                        _ => None,
                    };
                    (name.clone(), StreamValue { s })
                })
                .collect(),
            sequence_number: change
                .and_then(|c| c.sequence_number())
                .unwrap_or_default()
                .to_owned(),
        },
    }
}

/// Hands a shard's batch to the dispatch, as Lambda's mapping would: the
/// records it reports as failed (all of them, when it fails as a whole) are
/// handed over again a few times, then given up on with their sequence
/// numbers logged (in AWS: the dead-letter queue), and the shard goes on.
async fn hand_over(app: &Arc<App>, records: Vec<Record>) {
    let mut batch: Vec<StreamRecord> = records.iter().map(lambda_record).collect();
    for attempt in 0..=RECORD_RETRIES {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let sequence_numbers: HashSet<String> = batch
            .iter()
            .map(|r| r.dynamodb.sequence_number.clone())
            .collect();
        let failed: HashSet<String> = match deliveries::dispatch(
            app.clone(),
            StreamBatch {
                records: std::mem::take(&mut batch),
            },
        )
        .await
        {
            Ok(response) => response
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect(),
            Err(e) => {
                tracing::warn!(target: "local_gateway", "webhook dispatcher failed on records {sequence_numbers:?}: {e}");
                sequence_numbers
            }
        };
        if failed.is_empty() {
            return;
        }
        if attempt == RECORD_RETRIES {
            tracing::error!(target: "local_gateway", "webhook dispatcher gave up on records {failed:?} (in AWS: the dead-letter queue)");
            return;
        }
        batch = records
            .iter()
            .map(lambda_record)
            .filter(|r| failed.contains(&r.dynamodb.sequence_number))
            .collect();
    }
}
