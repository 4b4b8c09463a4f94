//! Secrets from environment variables: for local runs and tests (see `.env.example`).

use std::collections::HashMap;

use secrecy::SecretString;
use sha2::{Digest, Sha256};

use crate::ports::{SecretError, Secrets, SecretsProvider};

/// Reads `JWT_SECRET` (or `JWT_PUBLIC_KEY`), `SERVICE_API_KEY` (comma-separated keys)
/// or `SERVICE_API_KEY_SHA256` (comma-separated hex digests), `PARTNER_CLIENTS`
/// (`id:secret,…`), `WEBHOOK_SECRET_<GATEWAY>`, `OTP_PEPPER`, `CURSOR_SECRET` and
/// `STRIPE_SECRET_KEY`.
pub struct EnvSecrets;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn required(name: &str) -> Result<SecretString, SecretError> {
    var(name)
        .map(SecretString::from)
        .ok_or_else(|| SecretError::Malformed(format!("{name} is not set")))
}

pub fn parse_hex_digest(hex_digest: &str) -> Result<[u8; 32], SecretError> {
    hex::decode(hex_digest.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| SecretError::Malformed("an API key hash is not 64 hex characters".into()))
}

pub fn parse_pairs(value: &str) -> Result<HashMap<String, SecretString>, SecretError> {
    value
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| {
            let (id, secret) = pair
                .split_once(':')
                .ok_or_else(|| SecretError::Malformed("expected id:secret pairs".into()))?;
            Ok((
                id.trim().to_owned(),
                SecretString::from(secret.trim().to_owned()),
            ))
        })
        .collect()
}

impl EnvSecrets {
    pub fn read() -> Result<Secrets, SecretError> {
        let jwt_key = required("JWT_SECRET").or_else(|_| required("JWT_PUBLIC_KEY"))?;
        let mut api_key_hashes: Vec<[u8; 32]> = var("SERVICE_API_KEY")
            .unwrap_or_default()
            .split(',')
            .filter(|k| !k.trim().is_empty())
            .map(|k| Sha256::digest(k.trim().as_bytes()).into())
            .collect();
        for digest in var("SERVICE_API_KEY_SHA256")
            .unwrap_or_default()
            .split(',')
            .filter(|d| !d.trim().is_empty())
        {
            api_key_hashes.push(parse_hex_digest(digest)?);
        }
        let partner_secrets = parse_pairs(&var("PARTNER_CLIENTS").unwrap_or_default())?;
        let webhook_secrets = std::env::vars()
            .filter_map(|(k, v)| {
                k.strip_prefix("WEBHOOK_SECRET_")
                    .map(|gateway| (gateway.to_ascii_lowercase(), SecretString::from(v)))
            })
            .collect();
        Ok(Secrets {
            jwt_key,
            api_key_hashes,
            partner_secrets,
            webhook_secrets,
            otp_pepper: required("OTP_PEPPER")?,
            cursor_key: var("CURSOR_SECRET").map(SecretString::from),
            stripe_secret_key: var("STRIPE_SECRET_KEY").map(SecretString::from),
        })
    }
}

#[async_trait::async_trait]
impl SecretsProvider for EnvSecrets {
    async fn load(&self) -> Result<Secrets, SecretError> {
        Self::read()
    }
}
