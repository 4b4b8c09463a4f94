//! Newest-first reads of one partition of an index (a user's, a payable's,
//! an object's events), a page at a time.

use super::DynamoStore;
use super::codec::{Item, names, s, unavailable, values};
use super::cursor;
use super::keys::payable_pk;
use super::table::{BY_PAYABLE, Index};
use crate::domain::PayableRef;
use crate::ports::{Page, PageRequest, StoreError};

/// Most pages a filtered list reads before answering with what it has.
const MAX_PAGES_PER_LIST: usize = 10;

impl DynamoStore {
    /// A payable's items of one kind (its intents, its payments), newest first.
    pub(super) async fn query_payable(
        &self,
        payable: &PayableRef,
        prefix: &str,
        request: &PageRequest,
    ) -> Result<Page<Item>, StoreError> {
        let partition = payable_pk(payable);
        self.query_newest_first(BY_PAYABLE, partition, prefix, None, request)
            .await
    }

    pub(super) async fn query_newest_first(
        &self,
        index: Index,
        partition: String,
        prefix: &str,
        // Only items whose attribute (`status`, `type`) has this value.
        only: Option<(&str, &str)>,
        request: &PageRequest,
    ) -> Result<Page<Item>, StoreError> {
        let limit = request.limit;
        let cursor = request.cursor();
        let mut start = cursor
            .map(|c| cursor::decode(&self.cursor_key, c, index.pk, &partition))
            .transpose()?;
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES_PER_LIST {
            let mut attr_names = names(&[("#pk", index.pk), ("#sk", index.sk)]);
            let mut attr_values =
                values(vec![(":pk", s(partition.clone())), (":prefix", s(prefix))]);
            let mut query = self
                .query()
                .index_name(index.name)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .scan_index_forward(false)
                .limit(i32::try_from(limit - items.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take());
            if let Some((attribute, value)) = only {
                attr_names.insert("#only".into(), attribute.into());
                attr_values.insert(":only".into(), s(value));
                query = query.filter_expression("#only = :only");
            }
            let out = query
                .set_expression_attribute_names(Some(attr_names))
                .set_expression_attribute_values(Some(attr_values))
                .send()
                .await
                .map_err(|e| {
                    let e = e.into_service_error();
                    // A forged start key that passed decoding is still refused here.
                    if cursor.is_some() && e.meta().code() == Some("ValidationException") {
                        StoreError::BadCursor
                    } else {
                        unavailable(e)
                    }
                })?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if items.len() >= limit || start.is_none() {
                break;
            }
        }
        let next = start
            .as_ref()
            .and_then(|k| cursor::encode(&self.cursor_key, k));
        Ok(Page { items, next })
    }
}
