//! Pieces every DynamoDB request shares: keys, consistent reads, request
//! building, and reading a cancelled transaction.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::codec::{Item, s, unavailable};
use super::table::{PK, SK};
use crate::ports::StoreError;

/// DynamoDB's limit on the items of one TransactWriteItems.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

pub fn key(pk: String, sk: &str) -> Item {
    [(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))]
        .into_iter()
        .collect()
}

impl super::DynamoStore {
    /// The item at `key`, read consistently.
    pub(super) async fn get_consistent(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    /// A Put of `item` that fails when its key is already taken.
    pub(super) fn put_new(&self, item: Item) -> Result<Put, StoreError> {
        build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build(),
        )
    }

    /// Writes `items` in one transaction: all or nothing.
    pub(super) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(transaction_error)?;
        Ok(())
    }
}

pub fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Unavailable(format!("request: {e}")))
}

/// Cancelled transactions whose reasons are only lost conditions or conflicts are
/// ordinary concurrency, not failures.
pub fn transaction_error(e: SdkError<TransactWriteItemsError>) -> StoreError {
    match e.into_service_error() {
        TransactWriteItemsError::TransactionCanceledException(c) => {
            let benign = c.cancellation_reasons().iter().all(|r| {
                matches!(
                    r.code(),
                    None | Some("None" | "ConditionalCheckFailed" | "TransactionConflict")
                )
            });
            if benign {
                StoreError::Conflict
            } else {
                unavailable(c)
            }
        }
        TransactWriteItemsError::TransactionInProgressException(_) => StoreError::Conflict,
        other => unavailable(other),
    }
}
