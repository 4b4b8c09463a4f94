//! The webhook dispatcher and retry pass of the local stack, as AWS runs
//! them: the table's stream on DynamoDB Local is read (through the
//! DynamoDB Streams API at `AWS_ENDPOINT_URL_DYNAMODB_STREAMS`) and each
//! batch handed to the dispatcher's own handler, as Lambda's event source
//! mapping would; the retry pass runs every second instead of every minute.
//!
//! Unlike the deployed mapping (which starts at the latest record), the
//! local reader starts at the oldest one the stream holds: nothing written
//! before it started is missed, and the dispatcher makes one delivery per
//! endpoint and event however often a record is handed over.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodbstreams::Client as StreamsClient;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use payment_shared::app::deliveries;
use payment_shared::runtime::App;
use payment_shared::surfaces::webhook_delivery::{
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
/// A record the dispatcher reports as failed is handed over this many more
/// times, then given up on (in AWS it would go to the dead-letter queue).
const RECORD_RETRIES: usize = 3;

/// Runs the dispatcher on the stream of the App's table and the retry pass,
/// until dropped (abort its task to stop it).
pub async fn run(app: Arc<App>) {
    tokio::join!(read_stream(app.clone()), retry_passes(app));
}

/// The retry pass, every second.
pub async fn retry_passes(app: Arc<App>) {
    loop {
        if let Err(e) = deliveries::retry_due(app.clone()).await {
            tracing::warn!(target: "local_gateway", "webhook retry pass: {e}");
        }
        tokio::time::sleep(RETRY_PERIOD).await;
    }
}

/// The dispatcher fed by the table's stream.
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
        .map_err(|e| format!("{}", aws_sdk_dynamodb::Error::from(e)))?;
    described
        .table()
        .and_then(|t| t.latest_stream_arn())
        .map(str::to_owned)
        .ok_or_else(|| format!("table {table} has no stream"))
}

struct ShardReader {
    streams: StreamsClient,
    arn: String,
    /// Each open shard's next iterator.
    open: HashMap<String, String>,
    /// Shards read to their end.
    done: HashSet<String>,
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
                .map_err(|e| format!("{}", aws_sdk_dynamodbstreams::Error::from(e)))?;
            let Some(description) = out.stream_description() else {
                return Ok(());
            };
            for shard in description.shards() {
                let Some(id) = shard.shard_id() else { continue };
                if self.open.contains_key(id) || self.done.contains(id) {
                    continue;
                }
                let iterator = self
                    .streams
                    .get_shard_iterator()
                    .stream_arn(&self.arn)
                    .shard_id(id)
                    .shard_iterator_type(ShardIteratorType::TrimHorizon)
                    .send()
                    .await
                    .map_err(|e| format!("{}", aws_sdk_dynamodbstreams::Error::from(e)))?;
                if let Some(iterator) = iterator.shard_iterator() {
                    self.open.insert(id.to_owned(), iterator.to_owned());
                }
            }
            start = description.last_evaluated_shard_id().map(str::to_owned);
            if start.is_none() {
                return Ok(());
            }
        }
    }

    /// The new records of each shard, a batch per shard.
    async fn poll(&mut self) -> Vec<Vec<Record>> {
        let mut batches = Vec::new();
        let shards: Vec<(String, String)> = self
            .open
            .iter()
            .map(|(s, i)| (s.clone(), i.clone()))
            .collect();
        for (shard, iterator) in shards {
            let out = self
                .streams
                .get_records()
                .shard_iterator(iterator)
                .limit(BATCH_SIZE)
                .send()
                .await;
            match out {
                Ok(out) => {
                    if !out.records().is_empty() {
                        batches.push(out.records().to_vec());
                    }
                    match out.next_shard_iterator() {
                        Some(next) => {
                            self.open.insert(shard, next.to_owned());
                        }
                        // Closed and read to its end: its children are listed next.
                        None => {
                            self.open.remove(&shard);
                            self.done.insert(shard);
                        }
                    }
                }
                Err(e) => {
                    // An expired iterator starts over: the dispatcher keeps
                    // every record from being delivered twice.
                    tracing::warn!(target: "local_gateway", "webhook dispatcher: shard {shard}: {}", aws_sdk_dynamodbstreams::Error::from(e));
                    self.open.remove(&shard);
                }
            }
        }
        batches
    }
}

/// A record as Lambda hands it to the dispatcher.
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

/// Hands a shard's batch to the dispatcher; the records it reports as
/// failed are handed over again, a few times.
async fn hand_over(app: &Arc<App>, records: Vec<Record>) {
    let mut batch: Vec<StreamRecord> = records.iter().map(lambda_record).collect();
    for attempt in 0..=RECORD_RETRIES {
        let response = match webhook_delivery::dispatch(
            app.clone(),
            StreamBatch {
                records: std::mem::take(&mut batch),
            },
        )
        .await
        {
            Ok(response) => response,
            Err(e) => {
                tracing::warn!(target: "local_gateway", "webhook dispatcher failed: {e}");
                return;
            }
        };
        let failed: HashSet<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        if failed.is_empty() {
            return;
        }
        batch = records
            .iter()
            .map(lambda_record)
            .filter(|r| failed.contains(&r.dynamodb.sequence_number))
            .collect();
        if attempt == RECORD_RETRIES {
            tracing::error!(target: "local_gateway", "webhook dispatcher gave up on records {failed:?} (in AWS: the dead-letter queue)");
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
