//! Sharded lists (every intent, every event, the events of one type): their
//! index spreads new items over several partitions, so a page reads every
//! shard newest first and merges them. All shards of a list share one order
//! (the items' sort key), so one position — the sort key of the last item
//! returned — resumes every shard at once.

use tokio::task::JoinSet;
use tracing::Instrument;

use super::DynamoStore;
use super::codec::{Item, names, s, unavailable, values};
use super::cursor;
use super::keys::shard_partition;
use super::request::{Wanted, read_pages};
use super::table::Index;
use crate::ports::{Page, PageRequest, StoreError};

/// A list whose items sit in `shards` partitions `<list>#<shard>` of `index`.
#[derive(Debug, Clone)]
pub(super) struct ShardedList {
    pub index: Index,
    /// Names the list in its partitions and its cursors: a cursor of one list
    /// opens no other.
    pub list: String,
    pub shards: u8,
}

impl DynamoStore {
    /// The `request`ed page of `list`, newest first.
    pub(super) async fn query_sharded(
        &self,
        list: &ShardedList,
        request: &PageRequest,
    ) -> Result<Page<Item>, StoreError> {
        let index = list.index;
        let limit = request.limit;
        let before = request
            .cursor()
            .map(|c| self.open_position(list, c))
            .transpose()?;
        let mut items = self
            .read_every_shard(list, limit.saturating_add(1), before)
            .await?;
        items.sort_by(|a, b| sort_key(index, b).cmp(sort_key(index, a)));
        let more = items.len() > limit;
        items.truncate(limit);
        let next = if more {
            items.last().and_then(|last| self.seal_position(list, last))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// Asks every shard at once for its newest `wanted` items before `before`.
    async fn read_every_shard(
        &self,
        list: &ShardedList,
        wanted: usize,
        before: Option<String>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut shards = JoinSet::new();
        for shard in 0..list.shards {
            let store = self.clone();
            let index = list.index;
            let partition = shard_partition(&list.list, shard);
            let before = before.clone();
            shards.spawn(
                async move { store.read_shard(index, partition, wanted, before).await }
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
        index: Index,
        partition: String,
        wanted: usize,
        before: Option<String>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut attr_names = vec![("#pk", index.pk)];
        let mut attr_values = vec![(":pk", s(partition))];
        // DynamoDB refuses a name or value the condition does not use.
        let condition = match before {
            Some(before) => {
                attr_names.push(("#sk", index.sk));
                attr_values.push((":before", s(before)));
                "#pk = :pk AND #sk < :before"
            }
            None => "#pk = :pk",
        };
        let query = self
            .query()
            .index_name(index.name)
            .key_condition_expression(condition)
            .set_expression_attribute_names(Some(names(&attr_names)))
            .set_expression_attribute_values(Some(values(attr_values)))
            .scan_index_forward(false);
        read_pages(query, Wanted::AtMost(wanted)).await
    }

    /// The position after `last`, sealed so that callers can neither forge nor
    /// move it.
    fn seal_position(&self, list: &ShardedList, last: &Item) -> Option<String> {
        let index = list.index;
        let position: Item = [
            (index.pk.to_owned(), s(list.list.clone())),
            (index.sk.to_owned(), last.get(index.sk)?.clone()),
        ]
        .into_iter()
        .collect();
        cursor::encode(&self.cursor_key, &position)
    }

    /// Accepts only a position this list gave out.
    fn open_position(&self, list: &ShardedList, token: &str) -> Result<String, StoreError> {
        let index = list.index;
        let position = cursor::decode(&self.cursor_key, token, index.pk, &list.list)?;
        position
            .get(index.sk)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or(StoreError::BadCursor)
    }
}

/// Every item the index returns has the index's sort key.
fn sort_key(index: Index, item: &Item) -> &str {
    item.get(index.sk)
        .and_then(|v| v.as_s().ok())
        .map_or("", String::as_str)
}
