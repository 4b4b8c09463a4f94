//! Secrets from environment variables: for local runs and tests (see `.env.example`).

use std::collections::HashMap;

use secrecy::SecretString;
use sha2::{Digest, Sha256};

use crate::domain::BusinessId;
use crate::ports::{PartnerClient, SecretError, Secrets, SecretsProvider};

/// Reads `JWT_SECRET` (or `JWT_PUBLIC_KEY`), `SERVICE_API_KEY` (comma-separated keys)
/// or `SERVICE_API_KEY_SHA256` (comma-separated hex digests), `PARTNER_CLIENTS`
/// (`client:secret:business,…`), `WEBHOOK_SECRET_<GATEWAY>`, `OTP_PEPPER`, `CURSOR_SECRET` and
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

/// `client:secret:business,…`: the secret may itself hold colons, the client
/// id and the business id (an unsigned 64-bit integer) cannot.
pub fn parse_partner_clients(value: &str) -> Result<HashMap<String, PartnerClient>, SecretError> {
    let malformed =
        || SecretError::Malformed("PARTNER_CLIENTS expects client:secret:business entries".into());
    value
        .split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(|entry| {
            let (id, rest) = entry.trim().split_once(':').ok_or_else(malformed)?;
            let (secret, business) = rest.rsplit_once(':').ok_or_else(malformed)?;
            let business_id = business.trim().parse::<u64>().map_err(|_| {
                SecretError::Malformed(
                    "a PARTNER_CLIENTS business id is not an unsigned 64-bit integer".into(),
                )
            })?;
            if id.trim().is_empty() || secret.is_empty() {
                return Err(malformed());
            }
            Ok((
                id.trim().to_owned(),
                PartnerClient {
                    secret: SecretString::from(secret.to_owned()),
                    business_id: BusinessId::new(business_id),
                },
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
        let partner_clients = parse_partner_clients(&var("PARTNER_CLIENTS").unwrap_or_default())?;
        let webhook_secrets = std::env::vars()
            .filter_map(|(k, v)| {
                k.strip_prefix("WEBHOOK_SECRET_")
                    .map(|gateway| (gateway.to_ascii_lowercase(), SecretString::from(v)))
            })
            .collect();
        Ok(Secrets {
            jwt_key,
            api_key_hashes,
            partner_clients,
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

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn partner_clients_name_their_secret_and_business() {
        let clients = parse_partner_clients(
            "demo-client:local-dev-partner-secret:123456, b:x:y:z:18446744073709551615",
        )
        .expect("parses");
        assert_eq!(
            clients["demo-client"].secret.expose_secret(),
            "local-dev-partner-secret"
        );
        assert_eq!(clients["demo-client"].business_id.get(), 123456);
        assert_eq!(clients["b"].secret.expose_secret(), "x:y:z");
        assert_eq!(clients["b"].business_id.get(), u64::MAX);
        assert!(parse_partner_clients("").expect("none").is_empty());
    }

    #[test]
    fn a_partner_client_without_a_numeric_business_is_refused() {
        for bad in [
            "demo-client:secret",
            "demo-client:secret:-1",
            "demo-client:secret:12.5",
            "demo-client:secret:18446744073709551616",
            ":secret:1",
            "demo-client::1",
        ] {
            assert!(parse_partner_clients(bad).is_err(), "{bad}");
        }
    }
}
