//! The all-intents list: its index spreads new intents over several partitions,
//! so a page reads every shard newest first and merges them. All shards share
//! one order (the intents' sort key), so one position — the sort key of the
//! last intent returned — resumes every shard at once.

use tokio::task::JoinSet;
use tracing::Instrument;

use super::DynamoStore;
use super::codec::{Item, names, s, unavailable, values};
use super::cursor;
use super::keys::{ALL_INTENTS_LIST, ALL_INTENTS_SHARDS, all_intents_partition};
use super::table::ALL_INTENTS;
use crate::ports::{Page, StoreError};

impl DynamoStore {
    /// Up to `limit` intent items newest first, after `cursor`'s position.
    pub(super) async fn query_all_intents(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Item>, StoreError> {
        let before = cursor.map(|c| self.open_position(c)).transpose()?;
        let mut items = self
            .read_every_shard(limit.saturating_add(1), before)
            .await?;
        items.sort_by(|a, b| sort_key(b).cmp(sort_key(a)));
        let more = items.len() > limit;
        items.truncate(limit);
        let next = if more {
            items.last().and_then(|last| self.seal_position(last))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// Asks every shard at once for its newest `wanted` items before `before`.
    async fn read_every_shard(
        &self,
        wanted: usize,
        before: Option<String>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut shards = JoinSet::new();
        for shard in 0..ALL_INTENTS_SHARDS {
            let store = self.clone();
            let before = before.clone();
            shards.spawn(
                async move { store.read_shard(shard, wanted, before).await }
                    .instrument(tracing::Span::current()),
            );
        }
        let mut items = Vec::new();
        while let Some(read) = shards.join_next().await {
            items.extend(read.map_err(unavailable)??);
        }
        Ok(items)
    }

    /// Reads one shard until it gave `wanted` items or has no more: a Query
    /// page stops at 1 MB, whatever its limit.
    async fn read_shard(
        &self,
        shard: u8,
        wanted: usize,
        before: Option<String>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut attr_names = vec![("#pk", ALL_INTENTS.pk)];
        let mut attr_values = vec![(":pk", s(all_intents_partition(shard)))];
        // DynamoDB refuses a name or value the condition does not use.
        let condition = match before {
            Some(before) => {
                attr_names.push(("#sk", ALL_INTENTS.sk));
                attr_values.push((":before", s(before)));
                "#pk = :pk AND #sk < :before"
            }
            None => "#pk = :pk",
        };
        let attr_names = names(&attr_names);
        let attr_values = values(attr_values);
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(ALL_INTENTS.name)
                .key_condition_expression(condition)
                .set_expression_attribute_names(Some(attr_names.clone()))
                .set_expression_attribute_values(Some(attr_values.clone()))
                .scan_index_forward(false)
                .limit(i32::try_from(wanted - items.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable(e.into_service_error()))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if items.len() >= wanted || start.is_none() {
                return Ok(items);
            }
        }
    }

    /// The position after `last`, sealed so that callers can neither forge nor
    /// move it.
    fn seal_position(&self, last: &Item) -> Option<String> {
        let position: Item = [
            (ALL_INTENTS.pk.to_owned(), s(ALL_INTENTS_LIST)),
            (ALL_INTENTS.sk.to_owned(), last.get(ALL_INTENTS.sk)?.clone()),
        ]
        .into_iter()
        .collect();
        cursor::encode(&self.cursor_key, &position)
    }

    /// Accepts only a position this list gave out.
    fn open_position(&self, token: &str) -> Result<String, StoreError> {
        let position = cursor::decode(&self.cursor_key, token, ALL_INTENTS.pk, ALL_INTENTS_LIST)?;
        position
            .get(ALL_INTENTS.sk)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or(StoreError::BadCursor)
    }
}

/// Every item the index returns has the index's sort key.
fn sort_key(item: &Item) -> &str {
    item.get(ALL_INTENTS.sk)
        .and_then(|v| v.as_s().ok())
        .map_or("", String::as_str)
}
