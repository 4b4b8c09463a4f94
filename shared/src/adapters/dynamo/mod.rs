//! The one DynamoDB table behind every storage port: one file per aggregate
//! (payables, intents, payments, refunds, events, the idempotency ledger, the
//! replay guard), sharing the item codec, keys, cursors and request helpers.

mod codec;
mod cursor;
pub mod deliveries;
mod events;
mod idempotency;
mod intents;
mod items;
mod keys;
mod payables;
mod payments;
mod query;
mod refunds;
pub mod replay;
mod request;
mod sharded;
pub mod table;
pub mod webhook_endpoints;

use aws_sdk_dynamodb::Client;

pub use keys::event_id_in_key;

use crate::adapters::cursor_key::CursorKey;

/// Every storage port over one table.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    cursor_key: CursorKey,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            cursor_key: CursorKey::random(),
        }
    }

    /// Cursors sealed with `key` hold across containers that share it.
    pub fn with_cursor_key(mut self, key: CursorKey) -> Self {
        self.cursor_key = key;
        self
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }
}
