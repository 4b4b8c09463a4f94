//! Pieces every DynamoDB request shares: keys, consistent reads, request
//! building, and reading a cancelled transaction.

use std::fmt::Debug;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use aws_smithy_runtime_api::client::result::CreateUnhandledError;

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

/// How much of a query to read.
#[derive(Debug, Clone, Copy)]
pub enum Wanted {
    /// Every item it finds.
    All,
    /// Up to this many items, each page asked for no more than are still wanted.
    AtMost(usize),
}

/// Reads `query` page after page, as much as `wanted` says: a page stops at
/// 1 MB whatever its limit, so one page may not hold all there is. The
/// first page starts where the query says (its start key, if it has one).
pub async fn read_pages(
    query: QueryFluentBuilder,
    wanted: Wanted,
) -> Result<Vec<Item>, StoreError> {
    let enough = match wanted {
        Wanted::All => usize::MAX,
        Wanted::AtMost(n) => n,
    };
    let mut items = Vec::new();
    let mut next: Option<Item> = None;
    while items.len() < enough {
        let mut page = query.clone();
        if next.is_some() {
            page = page.set_exclusive_start_key(next.take());
        }
        if let Wanted::AtMost(n) = wanted {
            page = page.limit(i32::try_from(n - items.len()).unwrap_or(i32::MAX));
        }
        let out = page
            .send()
            .await
            .map_err(|e| unavailable(e.into_service_error()))?;
        items.extend(out.items.unwrap_or_default());
        next = out.last_evaluated_key;
        if next.is_none() {
            break;
        }
    }
    Ok(items)
}

impl super::DynamoStore {
    /// A query of the table, to be told what to read.
    pub(super) fn query(&self) -> QueryFluentBuilder {
        self.client.query().table_name(&self.table)
    }

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

/// The error of a single-item write, which may say that the write's
/// condition refused it.
pub trait Refusal: std::error::Error + CreateUnhandledError + Send + Sync + 'static {
    fn refused(&self) -> bool;
}

macro_rules! refusal {
    ($($error:ty),*) => {$(
        impl Refusal for $error {
            fn refused(&self) -> bool {
                self.is_conditional_check_failed_exception()
            }
        }
    )*};
}

refusal!(PutItemError, UpdateItemError, DeleteItemError);

/// What came of a conditional write: its output when it was made, `None`
/// when its condition refused it (what that means is the caller's to say).
pub fn unless_refused<T, E: Refusal, R: Debug + Send + Sync + 'static>(
    result: Result<T, SdkError<E, R>>,
) -> Result<Option<T>, StoreError> {
    match result.map_err(SdkError::into_service_error) {
        Ok(out) => Ok(Some(out)),
        Err(e) if e.refused() => Ok(None),
        Err(other) => Err(unavailable(other)),
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
