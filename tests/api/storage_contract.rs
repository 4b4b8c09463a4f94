//! The storage contract on DynamoDB Local: the same cases the in-memory
//! adapter passes in the shared crate's unit tests.

use integration_tests::Harness;
use payment_shared::ports::Stores;

payment_shared::storage_contract!(Stores::sharing(Harness::new().await.store));
