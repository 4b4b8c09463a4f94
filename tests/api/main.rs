//! Every integration test in one binary (one link of the AWS SDK), a module
//! per API and per concern, sharing the harness in `tests/support`.
//! `make test` starts the local stack they talk to.

mod contract;
mod deployed_defaults;
mod docs;
mod dynamodb_calls;
mod events;
mod exactly_once;
mod idempotency_store;
mod intents;
mod local_gateway;
mod log_hygiene;
mod partner;
mod payables;
mod payment_intents;
mod payments;
mod races;
mod readme;
mod refund_pass;
mod refunds;
mod sample_events;
mod secrets;
mod shop;
mod storage_contract;
mod stripe;
mod table_definition;
mod template;
mod webhook_endpoints;
mod wording;
