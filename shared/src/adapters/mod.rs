//! Implementations of the ports on AWS: DynamoDB, SES, Secrets Manager, environment.

pub mod dynamo;
pub mod env_secrets;
pub mod secrets_manager;
pub mod ses;
