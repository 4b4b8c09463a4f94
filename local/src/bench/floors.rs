//! The floor of each call type: raw round trips of that call to the same
//! DynamoDB Local, measured in the same run. A write costs DynamoDB Local
//! more than a read, and a transaction more per item, so a row's floor is
//! the sum of its calls' floors by type, not a count of GetItems.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use payment_shared::adapters::dynamo::table::INDEXES;

use super::calls::{Call, CallKind};
use super::report::percentile;

/// Round trips per call type.
pub const ROUNDS: usize = 50;

/// The median raw round trip of each call type measured.
pub type Floors = BTreeMap<CallKind, Duration>;

/// A row's floor: the sum of its calls' floors, if every type was measured.
pub fn floor_of(calls: &[Call], floors: &Floors) -> Option<Duration> {
    calls.iter().map(|c| floors.get(&c.kind).copied()).sum()
}

/// The partition the floors write to, apart from every item of the service.
const PK: &str = "BENCH#FLOORS";

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// Measures the floor of each of `kinds` (DynamoDB operations; others are
/// left out) against `table`.
pub async fn measure(
    sdk: &payment_shared::runtime::SdkConfig,
    table: &str,
    kinds: impl IntoIterator<Item = CallKind>,
) -> Result<Floors, String> {
    let client = Client::new(sdk);
    let mut floors = Floors::new();
    let kinds: std::collections::BTreeSet<CallKind> = kinds.into_iter().collect();
    // The item the reads read, as a function's reads find theirs.
    let seed = CallKind {
        operation: "PutItem".into(),
        items: 1,
    };
    round_trip(&client, table, &seed, 0).await?;
    for kind in kinds {
        let mut took = Vec::with_capacity(ROUNDS);
        for round in 0..ROUNDS {
            let Some(one) = round_trip(&client, table, &kind, round).await? else {
                break;
            };
            took.push(one);
        }
        if let Some(median) = percentile(&took, 50) {
            floors.insert(kind, median);
        }
    }
    Ok(floors)
}

/// How long one raw call of `kind` on small items took; None for a type we
/// do not measure.
async fn round_trip(
    client: &Client,
    table: &str,
    kind: &CallKind,
    round: usize,
) -> Result<Option<Duration>, String> {
    // Keyed in every index, as an intent or an event is: DynamoDB Local
    // keeps each index a write touches, and that is part of the call's cost.
    let item = |sk: String| {
        let mut item: std::collections::HashMap<_, _> = [
            ("pk".to_owned(), s(PK)),
            ("sk".to_owned(), s(sk.clone())),
            ("n".to_owned(), AttributeValue::N(round.to_string())),
        ]
        .into_iter()
        .collect();
        for index in INDEXES {
            item.insert(index.pk.to_owned(), s(format!("{PK}#{}", index.name)));
            item.insert(index.sk.to_owned(), s(sk.clone()));
        }
        item
    };
    let failed = |e: String| format!("floor of {kind}: {e}");
    // A delete finds its item, as the one it stands for does: put untimed.
    if kind.operation == "DeleteItem" {
        client
            .put_item()
            .table_name(table)
            .set_item(Some(item(format!("DELETE#{round}"))))
            .send()
            .await
            .map_err(|e| failed(e.to_string()))?;
    }
    let started = Instant::now();
    match kind.operation.as_str() {
        "GetItem" => {
            client
                .get_item()
                .table_name(table)
                .key("pk", s(PK))
                .key("sk", s("PUT#0"))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| failed(e.to_string()))?;
        }
        // A partition of one item: a list's Query reads a page, whose
        // decoding is ours but whose size DynamoDB Local's time grows with.
        "Query" => {
            client
                .query()
                .table_name(table)
                .key_condition_expression("pk = :pk AND sk = :sk")
                .expression_attribute_values(":pk", s(PK))
                .expression_attribute_values(":sk", s("PUT#0"))
                .send()
                .await
                .map_err(|e| failed(e.to_string()))?;
        }
        "PutItem" => {
            client
                .put_item()
                .table_name(table)
                .set_item(Some(item(format!("PUT#{round}"))))
                .send()
                .await
                .map_err(|e| failed(e.to_string()))?;
        }
        "UpdateItem" => {
            client
                .update_item()
                .table_name(table)
                .key("pk", s(PK))
                .key("sk", s("UPDATE"))
                .update_expression("ADD n :one")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .send()
                .await
                .map_err(|e| failed(e.to_string()))?;
        }
        "DeleteItem" => {
            client
                .delete_item()
                .table_name(table)
                .key("pk", s(PK))
                .key("sk", s(format!("DELETE#{round}")))
                .send()
                .await
                .map_err(|e| failed(e.to_string()))?;
        }
        "TransactWriteItems" => {
            let items = (0..kind.items.max(1))
                .map(|i| {
                    Put::builder()
                        .table_name(table)
                        .set_item(Some(item(format!("TX#{}#{round}#{i}", kind.items))))
                        .build()
                        .map(|put| TransactWriteItem::builder().put(put).build())
                        .map_err(|e| failed(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await
                .map_err(|e| failed(e.to_string()))?;
        }
        _ => return Ok(None),
    }
    Ok(Some(started.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(operation: &str, items: usize) -> Call {
        let now = Instant::now();
        Call {
            kind: CallKind {
                operation: operation.into(),
                items,
            },
            start: now,
            end: now,
        }
    }

    #[test]
    fn a_floor_is_the_sum_by_type_and_unknown_without_every_type() {
        let mut floors = Floors::new();
        let get = call("GetItem", 1);
        let tx = call("TransactWriteItems", 3);
        floors.insert(get.kind.clone(), Duration::from_micros(1_500));
        floors.insert(tx.kind.clone(), Duration::from_micros(5_000));
        assert_eq!(
            floor_of(&[get.clone(), tx, get.clone()], &floors),
            Some(Duration::from_micros(8_000))
        );
        assert_eq!(
            floor_of(&[get, call("TransactWriteItems", 7)], &floors),
            None
        );
        assert_eq!(floor_of(&[], &floors), Some(Duration::ZERO));
    }
}
