//! The key that seals the answers the Idempotency-Key ledger keeps. An
//! answer may hold a secret the service shows once (a webhook endpoint's
//! signing secret, new or rotated), and its replay must be that same
//! answer: so the ledger keeps it, but sealed. Sealed is encrypted and
//! authenticated (ChaCha20-Poly1305) under a key derived by HKDF from the
//! cursor secret, and bound to the caller and key it answers: whoever reads
//! the table learns nothing from it, and no answer can be moved to another
//! caller's key.

use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{self, Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf;

/// What the derived key is for: another use of the same secret derives
/// another key.
const PURPOSE: &[u8] = b"payment-service idempotency answers v1";

/// How a sealed answer begins; what follows is base64url of nonce ‖
/// ciphertext ‖ tag.
const SEALED: &str = "sealed:v1:";

/// Shared, as the key schedule is large and each request holds the key.
#[derive(Clone)]
pub struct AnswerKey(Arc<LessSafeKey>);

impl std::fmt::Debug for AnswerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AnswerKey(..)")
    }
}

/// A kept answer that this key did not seal for this caller and key, or
/// that was changed since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a kept answer could not be opened")]
pub struct Unopenable;

impl AnswerKey {
    /// The key of `secret` (the cursor secret): the same in every container
    /// of the deployment, so a replay opens what any of them sealed.
    pub fn derive(secret: &[u8]) -> Self {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &[]).extract(secret);
        // 32 bytes is far below what HKDF-SHA256 can expand to.
        #[allow(clippy::expect_used)]
        let okm = prk
            .expand(&[PURPOSE], &CHACHA20_POLY1305)
            .expect("a ChaCha20-Poly1305 key is within HKDF's output limit");
        Self(Arc::new(LessSafeKey::new(UnboundKey::from(okm))))
    }

    /// A key for this process only, where no cursor secret is configured (a
    /// local run that starts without its secrets, tests): its answers
    /// replay as long as the process lives.
    pub fn for_this_process() -> Self {
        static KEY: OnceLock<AnswerKey> = OnceLock::new();
        KEY.get_or_init(|| {
            let mut secret = [0u8; 32];
            // The OS RNG failing is unrecoverable for a payment service.
            #[allow(clippy::expect_used)]
            getrandom::fill(&mut secret).expect("operating system RNG unavailable");
            Self::derive(&secret)
        })
        .clone()
    }

    /// `answer`, sealed for `bound_to` (the caller's scope and key).
    pub fn seal(&self, bound_to: &[u8], answer: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        // A fresh random nonce per answer: 96 bits never repeat at the
        // ledger's rate.
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut nonce).expect("operating system RNG unavailable");
        let mut sealed = answer.as_bytes().to_vec();
        // Only an input of hundreds of gigabytes is refused.
        #[allow(clippy::expect_used)]
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(bound_to),
                &mut sealed,
            )
            .expect("an answer is far below the AEAD's input limit");
        let mut kept = nonce.to_vec();
        kept.extend_from_slice(&sealed);
        format!("{SEALED}{}", URL_SAFE_NO_PAD.encode(kept))
    }

    /// The answer `kept` holds, if this key sealed it for `bound_to`. An
    /// answer kept before answers were sealed (it lives a day at most) is
    /// given back as it was kept.
    pub fn open(&self, bound_to: &[u8], kept: &str) -> Result<String, Unopenable> {
        let Some(sealed) = kept.strip_prefix(SEALED) else {
            return Ok(kept.to_owned());
        };
        let mut bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| Unopenable)?;
        if bytes.len() < NONCE_LEN + aead::MAX_TAG_LEN {
            return Err(Unopenable);
        }
        let mut ciphertext = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| Unopenable)?;
        let opened = self
            .0
            .open_in_place(nonce, Aad::from(bound_to), &mut ciphertext)
            .map_err(|_| Unopenable)?;
        String::from_utf8(opened.to_vec()).map_err(|_| Unopenable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = r#"{"id":"ops","secret":"whsec_2kVn8Qx0aT5LmR3pZ7cY1bN6dW4eH9fJ"}"#;

    #[test]
    fn a_sealed_answer_hides_its_text_and_opens_to_it() {
        let key = AnswerKey::derive(b"local-dev-cursor-secret");
        let sealed = key.seal(b"service\0k1", ANSWER);
        assert!(sealed.starts_with(SEALED), "{sealed}");
        for part in [
            "whsec_",
            "2kVn8Qx0aT5LmR3pZ7cY1bN6dW4eH9fJ",
            "secret",
            "ops",
        ] {
            assert!(!sealed.contains(part), "{part} in {sealed}");
        }
        assert_eq!(key.open(b"service\0k1", &sealed), Ok(ANSWER.to_owned()));
        // Each seal is its own: the same answer never seals the same twice.
        assert_ne!(key.seal(b"service\0k1", ANSWER), sealed);
    }

    #[test]
    fn only_the_same_secret_and_binding_open_an_answer() {
        let key = AnswerKey::derive(b"local-dev-cursor-secret");
        let sealed = key.seal(b"service\0k1", ANSWER);
        assert_eq!(
            AnswerKey::derive(b"another secret").open(b"service\0k1", &sealed),
            Err(Unopenable)
        );
        assert_eq!(key.open(b"service\0k2", &sealed), Err(Unopenable));
        assert_eq!(key.open(b"user:x\0k1", &sealed), Err(Unopenable));
        // Derived, not the secret itself: a second derivation is the same key.
        assert_eq!(
            AnswerKey::derive(b"local-dev-cursor-secret").open(b"service\0k1", &sealed),
            Ok(ANSWER.to_owned())
        );
    }

    #[test]
    fn a_changed_or_malformed_answer_does_not_open() {
        let key = AnswerKey::for_this_process();
        let sealed = key.seal(b"b", ANSWER);
        let mut bytes = URL_SAFE_NO_PAD
            .decode(sealed.strip_prefix(SEALED).expect("prefix"))
            .expect("base64");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("{SEALED}{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(key.open(b"b", &tampered), Err(Unopenable));
        for bad in [
            format!("{SEALED}not base64!"),
            format!("{SEALED}{}", URL_SAFE_NO_PAD.encode([0u8; 20])),
            SEALED.to_owned(),
        ] {
            assert_eq!(key.open(b"b", &bad), Err(Unopenable), "{bad}");
        }
        assert_eq!(
            AnswerKey::for_this_process().open(b"b", &sealed),
            Ok(ANSWER.to_owned()),
            "one key for the whole process"
        );
    }

    #[test]
    fn an_answer_kept_before_sealing_is_given_back_as_kept() {
        let key = AnswerKey::for_this_process();
        assert_eq!(
            key.open(b"b", r#"{"ok":true}"#),
            Ok(r#"{"ok":true}"#.into())
        );
    }
}
