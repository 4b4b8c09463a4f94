//! Configuration from the environment, read once per container.

use jsonwebtoken::Algorithm;

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// Fixed here, never taken from a token's header.
    pub algorithm: Algorithm,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub sender_email: String,
    /// When set, secrets come from this Secrets Manager secret; otherwise from the environment.
    pub secret_arn: Option<String>,
    pub jwt: JwtConfig,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

pub fn parse_algorithm(name: &str) -> Result<Algorithm, ConfigError> {
    match name {
        "HS256" => Ok(Algorithm::HS256),
        "RS256" => Ok(Algorithm::RS256),
        "ES256" => Ok(Algorithm::ES256),
        other => Err(ConfigError(format!(
            "JWT_ALGORITHM {other} is not one of HS256, RS256, ES256"
        ))),
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: var("TABLE_NAME").unwrap_or_else(|| "payments".into()),
            sender_email: var("SENDER_EMAIL").unwrap_or_else(|| "payments@example.com".into()),
            secret_arn: var("SECRET_ARN"),
            jwt: JwtConfig {
                algorithm: parse_algorithm(
                    &var("JWT_ALGORITHM").unwrap_or_else(|| "HS256".into()),
                )?,
                issuer: var("JWT_ISSUER"),
                audience: var("JWT_AUDIENCE"),
            },
        })
    }
}
