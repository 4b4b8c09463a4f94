//! The deliveries' two functions, fed by AWS rather than by callers: the
//! dispatch reads the table's stream (each new event item), the retry pass
//! runs on a schedule. Their wire formats are Lambda's:
//! a DynamoDB Streams batch answered with the records that failed
//! (`batchItemFailures`), and a scheduled event.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::adapters::dynamo::event_id_in_key;
use crate::app::App;
use crate::app::deliveries;

/// A DynamoDB Streams batch as Lambda hands it over (only what is read).
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct StreamBatch {
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct StreamRecord {
    /// `INSERT`, `MODIFY` or `REMOVE`.
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    #[serde(default)]
    pub dynamodb: StreamChange,
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct StreamChange {
    #[serde(rename = "Keys", default)]
    pub keys: HashMap<String, StreamValue>,
    /// What a failure names the record by.
    #[serde(rename = "SequenceNumber", default)]
    pub sequence_number: String,
}

/// An attribute value; keys are strings.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct StreamValue {
    #[serde(rename = "S", default, skip_serializing_if = "Option::is_none")]
    pub s: Option<String>,
}

/// Lambda's partial batch response: these records are retried (and, after
/// the mapping's retries, go to its dead-letter queue); the others are done.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

impl StreamRecord {
    /// The id of the event this record adds, if it adds one.
    pub fn new_event_id(&self) -> Option<&str> {
        if self.event_name != "INSERT" {
            return None;
        }
        let key = |name: &str| self.dynamodb.keys.get(name).and_then(|v| v.s.as_deref());
        event_id_in_key(key("pk")?, key("sk")?)
    }
}

/// Every new event of the batch reaches every endpoint subscribed to it:
/// its deliveries are written, then sent. A record whose deliveries cannot
/// be written is reported, and only it: the others of the batch go on.
pub async fn dispatch(
    app: Arc<App>,
    batch: StreamBatch,
) -> Result<BatchResponse, lambda_http::Error> {
    let mut failures = Vec::new();
    let mut to_send = Vec::new();
    let new_events: Vec<(&StreamRecord, &str)> = batch
        .records
        .iter()
        .filter_map(|r| r.new_event_id().map(|id| (r, id)))
        .collect();
    // One read of the endpoints for the whole batch; without it no record is done.
    let endpoints = if new_events.is_empty() {
        Vec::new()
    } else {
        match app.webhooks.endpoints.list_endpoints().await {
            Ok(endpoints) => endpoints,
            Err(e) => {
                tracing::error!(error = %e, "webhook endpoints unreadable: batch not dispatched");
                return Ok(BatchResponse {
                    batch_item_failures: new_events
                        .iter()
                        .map(|(r, _)| ItemFailure {
                            item_identifier: r.dynamodb.sequence_number.clone(),
                        })
                        .collect(),
                });
            }
        }
    };
    let mut read = deliveries::ReadEvents::new();
    for (record, event_id) in new_events {
        match deliveries::fan_out_to(&app, event_id, &endpoints, &mut read).await {
            Ok(deliveries) => to_send.extend(deliveries),
            Err(e) => {
                tracing::error!(event = %event_id, error = %e, "event not dispatched");
                failures.push(ItemFailure {
                    item_identifier: record.dynamodb.sequence_number.clone(),
                });
            }
        }
    }
    let attempts = deliveries::deliver(app, to_send).await;
    tracing::info!(
        records = batch.records.len(),
        failed = failures.len(),
        attempts,
        "stream batch"
    );
    Ok(BatchResponse {
        batch_item_failures: failures,
    })
}

/// What one retry pass did.
#[derive(Debug, Serialize, Deserialize)]
pub struct RetryReport {
    pub attempts: usize,
}

/// Sends every delivery that is due (the scheduled event's content does not matter).
pub async fn retry(
    app: Arc<App>,
    _schedule: serde_json::Value,
) -> Result<RetryReport, lambda_http::Error> {
    let attempts = deliveries::retry_due(app)
        .await
        .map_err(|e| lambda_http::Error::from(e.to_string()))?;
    tracing::info!(attempts, "retry pass");
    Ok(RetryReport { attempts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_inserted_event_items_are_dispatched() {
        let batch: StreamBatch = serde_json::from_str(
            r#"{"Records":[
              {"eventName":"INSERT","dynamodb":{"Keys":{"pk":{"S":"EVENT#evt_1"},"sk":{"S":"EVENT"}},"SequenceNumber":"1"}},
              {"eventName":"MODIFY","dynamodb":{"Keys":{"pk":{"S":"EVENT#evt_2"},"sk":{"S":"EVENT"}},"SequenceNumber":"2"}},
              {"eventName":"INSERT","dynamodb":{"Keys":{"pk":{"S":"INTENT#x"},"sk":{"S":"INTENT"}},"SequenceNumber":"3"}},
              {"eventName":"INSERT","dynamodb":{"Keys":{"pk":{"N":"1"}},"SequenceNumber":"4"}},
              {"eventName":"INSERT"}
            ]}"#,
        )
        .expect("a stream batch");
        let ids: Vec<Option<&str>> = batch
            .records
            .iter()
            .map(StreamRecord::new_event_id)
            .collect();
        assert_eq!(ids, [Some("evt_1"), None, None, None, None]);
    }

    #[test]
    fn failures_render_as_lambda_reads_them() {
        let response = BatchResponse {
            batch_item_failures: vec![ItemFailure {
                item_identifier: "42".into(),
            }],
        };
        assert_eq!(
            serde_json::to_value(&response).expect("json"),
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "42"}]})
        );
    }
}
