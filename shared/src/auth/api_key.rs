use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AuthError;

/// A trusted backend, identified by which configured key it presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCaller {
    /// First 8 hex digits of the key's hash: enough to tell keys apart in scopes, useless to an attacker.
    pub key_id: String,
}

/// Compares the presented key's SHA-256 with every configured hash in constant time.
pub fn check_api_key(
    presented: Option<&str>,
    hashes: &[[u8; 32]],
) -> Result<ServiceCaller, AuthError> {
    let presented = presented
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or(AuthError::BadApiKey)?;
    let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
    let matched = hashes
        .iter()
        .fold(subtle::Choice::from(0), |acc, h| acc | h.ct_eq(&digest));
    if bool::from(matched) {
        Ok(ServiceCaller {
            key_id: hex::encode(&digest[..4]),
        })
    } else {
        Err(AuthError::BadApiKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_configured_keys() {
        let hashes = [Sha256::digest(b"k1").into(), Sha256::digest(b"k2").into()];
        assert!(check_api_key(Some("k2"), &hashes).is_ok());
        assert_eq!(
            check_api_key(Some("k3"), &hashes),
            Err(AuthError::BadApiKey)
        );
        assert_eq!(check_api_key(None, &hashes), Err(AuthError::BadApiKey));
        assert_eq!(check_api_key(Some(""), &hashes), Err(AuthError::BadApiKey));
        assert_eq!(check_api_key(Some("k1"), &[]), Err(AuthError::BadApiKey));
    }
}
