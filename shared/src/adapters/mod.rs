//! Implementations of the ports: on AWS (DynamoDB, SES, Secrets Manager), the
//! environment, and in memory; and a decorator that fails any of them on
//! purpose, for tests.

pub mod answer_key;
pub mod aws_http;
pub mod cursor_key;
pub mod delivery_sender;
pub mod dynamo;
pub mod env_secrets;
pub mod faulty;
pub mod https;
pub mod memory;
pub mod secrets_manager;
pub mod ses;
pub mod stripe;
pub mod test_gateway;
