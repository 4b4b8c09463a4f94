use std::collections::HashMap;

use secrecy::SecretString;

use crate::domain::BusinessId;

/// A partner that reads its business's payments over signed requests.
#[derive(Clone)]
pub struct PartnerClient {
    /// Keys the HMAC of every request the partner signs.
    pub secret: SecretString,
    /// The only business whose payments the partner may read.
    pub business_id: BusinessId,
}

/// Every secret the service uses, loaded once per container.
#[derive(Clone)]
pub struct Secrets {
    /// HS256 shared secret, or the PEM public key for RS256/ES256.
    pub jwt_key: SecretString,
    /// SHA-256 digests of the accepted service API keys.
    pub api_key_hashes: Vec<[u8; 32]>,
    /// Partner client id → its signing secret and business (the partner API).
    pub partner_clients: HashMap<String, PartnerClient>,
    /// Gateway id → webhook signing secret.
    pub webhook_secrets: HashMap<String, SecretString>,
    pub otp_pepper: SecretString,
    /// Seals pagination cursors so that callers cannot forge a position.
    pub cursor_key: Option<SecretString>,
    /// Authenticates calls to Stripe; without it the `stripe` gateway is not offered.
    pub stripe_secret_key: Option<SecretString>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("api_keys", &self.api_key_hashes.len())
            .field("partners", &self.partner_clients.keys().collect::<Vec<_>>())
            .field("webhooks", &self.webhook_secrets.keys().collect::<Vec<_>>())
            .field("stripe", &self.stripe_secret_key.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret store unavailable: {0}")]
    Unavailable(String),
    #[error("secret is malformed: {0}")]
    Malformed(String),
}

#[async_trait::async_trait]
pub trait SecretsProvider: Send + Sync {
    async fn load(&self) -> Result<Secrets, SecretError>;
}
