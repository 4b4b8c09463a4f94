//! Secrets from one Secrets Manager secret holding JSON:
//! `{"jwt_key", "api_key_sha256": [hex…],
//!   "partner_clients": {id: {"secret", "business_id"}},
//!   "webhook_secrets": {gateway: secret}, "otp_pepper", "cursor_key",
//!   "stripe_secret_key"}`.

use std::collections::HashMap;

use aws_sdk_secretsmanager::Client;
use secrecy::SecretString;
use serde::Deserialize;

use super::env_secrets::parse_hex_digest;
use crate::domain::BusinessId;
use crate::ports::{PartnerClient, SecretError, Secrets, SecretsProvider};

pub struct SecretsManagerSecrets {
    client: Client,
    secret_id: String,
}

impl SecretsManagerSecrets {
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
        }
    }
}

#[derive(Deserialize)]
struct Document {
    jwt_key: String,
    #[serde(default)]
    api_key_sha256: Vec<String>,
    #[serde(default)]
    partner_clients: HashMap<String, PartnerClientDocument>,
    #[serde(default)]
    webhook_secrets: HashMap<String, String>,
    otp_pepper: String,
    #[serde(default)]
    cursor_key: Option<String>,
    #[serde(default)]
    stripe_secret_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartnerClientDocument {
    secret: String,
    business_id: u64,
}

/// Parses the secret's JSON. Errors never echo the document.
pub fn parse_document(json: &str) -> Result<Secrets, SecretError> {
    let doc: Document = serde_json::from_str(json).map_err(|e| {
        SecretError::Malformed(format!(
            "secret JSON at line {} column {}: {}",
            e.line(),
            e.column(),
            e.classify_name()
        ))
    })?;
    let secret_map = |m: HashMap<String, String>| {
        m.into_iter()
            .map(|(k, v)| (k, SecretString::from(v)))
            .collect()
    };
    Ok(Secrets {
        jwt_key: SecretString::from(doc.jwt_key),
        api_key_hashes: doc
            .api_key_sha256
            .iter()
            .map(|h| parse_hex_digest(h))
            .collect::<Result<_, _>>()?,
        partner_clients: doc
            .partner_clients
            .into_iter()
            .map(|(id, client)| {
                let client = PartnerClient {
                    secret: SecretString::from(client.secret),
                    business_id: BusinessId::new(client.business_id),
                };
                (id, client)
            })
            .collect(),
        webhook_secrets: secret_map(doc.webhook_secrets),
        otp_pepper: SecretString::from(doc.otp_pepper),
        cursor_key: doc.cursor_key.map(SecretString::from),
        stripe_secret_key: doc.stripe_secret_key.map(SecretString::from),
    })
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "missing or mistyped field",
            serde_json::error::Category::Eof => "unexpected end",
        }
    }
}

#[async_trait::async_trait]
impl SecretsProvider for SecretsManagerSecrets {
    #[tracing::instrument(skip_all, err)]
    async fn load(&self) -> Result<Secrets, SecretError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| {
                SecretError::Unavailable(aws_sdk_secretsmanager::Error::from(e).to_string())
            })?;
        let json = out
            .secret_string()
            .ok_or_else(|| SecretError::Malformed("secret has no string value".into()))?;
        parse_document(json)
    }
}
