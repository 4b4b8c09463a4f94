//! Implementations of the ports: on AWS (DynamoDB, SES, Secrets Manager) and
//! the environment; and, behind the `testing` feature that only tests turn on,
//! in memory and a decorator that fails any of them on purpose.

pub mod answer_key;
pub mod aws_http;
pub mod cursor_key;
pub mod delivery_sender;
pub mod dynamo;
pub mod env_secrets;
#[cfg(any(test, feature = "testing"))]
pub mod faulty;
pub mod https;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod secrets_manager;
pub mod ses;
pub mod stripe;
pub mod test_gateway;
