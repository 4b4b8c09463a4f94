//! The one DynamoDB table behind every port that stores something.

mod codec;
mod cursor;
mod idempotency;
mod items;
mod store;
pub mod table;

use aws_sdk_dynamodb::Client;

/// Store and idempotency ledger over one table.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }
}
