//! The key that seals pagination cursors. A cursor names a position in a list
//! (a table key, a sort key); sealing it with an HMAC means a caller can only
//! hand back a position the service gave out, never one they made up.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ports::StoreError;

/// Bytes of the tag appended to every cursor.
const TAG_LEN: usize = 32;

#[derive(Clone)]
pub struct CursorKey(Arc<[u8]>);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

impl Default for CursorKey {
    fn default() -> Self {
        Self::random()
    }
}

impl CursorKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(Arc::from(secret))
    }

    /// A key for this process only: its cursors mean nothing to another process.
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        // The OS RNG failing is unrecoverable for a payment service.
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut key).expect("operating system RNG unavailable");
        Self::new(&key)
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        #[allow(clippy::expect_used)]
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length")
    }

    /// `payload ‖ HMAC-SHA256(key, payload)`, base64url.
    pub fn seal(&self, payload: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(payload);
        let mut sealed = payload.to_vec();
        sealed.extend_from_slice(&mac.finalize().into_bytes());
        URL_SAFE_NO_PAD.encode(sealed)
    }

    /// The payload of a cursor this key sealed; `BadCursor` for anything else.
    pub fn open(&self, token: &str) -> Result<Vec<u8>, StoreError> {
        let sealed = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| StoreError::BadCursor)?;
        if sealed.len() < TAG_LEN {
            return Err(StoreError::BadCursor);
        }
        let (payload, tag) = sealed.split_at(sealed.len() - TAG_LEN);
        let mut mac = self.mac();
        mac.update(payload);
        // Constant time: the tag is not guessable byte by byte.
        mac.verify_slice(tag).map_err(|_| StoreError::BadCursor)?;
        Ok(payload.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_what_it_sealed() {
        let key = CursorKey::new(b"0123456789abcdef0123456789abcdef");
        let token = key.seal(b"{\"after\":\"x\"}");
        assert_eq!(key.open(&token).expect("opens"), b"{\"after\":\"x\"}");
        assert!(matches!(
            CursorKey::new(b"another key").open(&token),
            Err(StoreError::BadCursor)
        ));
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).expect("base64");
        bytes[2] ^= 1;
        assert!(matches!(
            key.open(&URL_SAFE_NO_PAD.encode(&bytes)),
            Err(StoreError::BadCursor)
        ));
        let unsigned = URL_SAFE_NO_PAD.encode(b"{\"after\":\"x\"}");
        assert!(matches!(key.open(&unsigned), Err(StoreError::BadCursor)));
        assert!(matches!(
            key.open("not base64!"),
            Err(StoreError::BadCursor)
        ));
    }
}
