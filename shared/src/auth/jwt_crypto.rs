//! The cryptography `jsonwebtoken` verifies bearer tokens with, from `ring`
//! (already linked for TLS and the idempotency ledger's AEAD), for the three
//! algorithms configuration may name: HS256, RS256 and ES256.
//!
//! The crate's own RustCrypto backend brings every algorithm it knows (RSA
//! signing and PSS, P-384, Ed25519, their big-integer and random-number
//! code) into every function that checks a token, and none of it ever runs:
//! the algorithm is fixed by configuration, never taken from the token.

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::{hmac, signature as ring_signature};

/// Verifies HS256, RS256 and ES256 and signs HS256 only: no function signs a
/// token, and the test and local tools sign theirs with a shared secret.
/// JWKs (which need key utilities) are not read.
static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes [`PROVIDER`] the process's `jsonwebtoken` cryptography, unless one
/// is already installed (a tool that signed a token first, with the crate's
/// own backend, which verifies the same algorithms alike).
pub(super) fn install() {
    let _ = PROVIDER.install_default();
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    match algorithm {
        Algorithm::HS256 => Ok(Box::new(Hs256(hmac::Key::new(
            hmac::HMAC_SHA256,
            key.as_bytes(),
        )))),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    // A key made for another family (an RSA key offered to HMAC) is refused
    // as the crate's own backend refuses it.
    if key.family() != algorithm.family() {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    let verifier: Box<dyn JwtVerifier> = match (algorithm, key.kind()) {
        (Algorithm::HS256, DecodingKeyKind::SecretOrDer(secret)) => {
            Box::new(Hs256(hmac::Key::new(hmac::HMAC_SHA256, secret)))
        }
        // A PKCS#1 RSAPublicKey (what `DecodingKey::from_rsa_pem` keeps).
        (Algorithm::RS256, DecodingKeyKind::SecretOrDer(der)) => {
            Box::new(Rs256(RsaKey::Der(der.clone())))
        }
        (Algorithm::RS256, DecodingKeyKind::RsaModulusExponent { n, e }) => {
            Box::new(Rs256(RsaKey::Components {
                n: n.clone(),
                e: e.clone(),
            }))
        }
        // The uncompressed point (what `DecodingKey::from_ec_pem` keeps).
        (Algorithm::ES256, DecodingKeyKind::SecretOrDer(point)) => Box::new(Es256(point.clone())),
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(verifier)
}

struct Hs256(hmac::Key);

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(hmac::sign(&self.0, message).as_ref().to_vec())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, message: &[u8], tag: &Vec<u8>) -> Result<(), signature::Error> {
        // Compares in constant time.
        hmac::verify(&self.0, message, tag).map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

enum RsaKey {
    Der(Vec<u8>),
    Components { n: Vec<u8>, e: Vec<u8> },
}

/// RSASSA-PKCS1-v1_5 with SHA-256, for keys of 2048 bits or more (the least
/// RS256 allows, RFC 7518 §3.3).
struct Rs256(RsaKey);

impl Verifier<Vec<u8>> for Rs256 {
    fn verify(&self, message: &[u8], sig: &Vec<u8>) -> Result<(), signature::Error> {
        let params = &ring_signature::RSA_PKCS1_2048_8192_SHA256;
        match &self.0 {
            RsaKey::Der(der) => {
                ring_signature::UnparsedPublicKey::new(params, der).verify(message, sig)
            }
            RsaKey::Components { n, e } => {
                ring_signature::RsaPublicKeyComponents { n, e }.verify(params, message, sig)
            }
        }
        .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Rs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

/// ECDSA on P-256 with SHA-256, the signature as JWS writes it (r ‖ s).
struct Es256(Vec<u8>);

impl Verifier<Vec<u8>> for Es256 {
    fn verify(&self, message: &[u8], sig: &Vec<u8>) -> Result<(), signature::Error> {
        ring_signature::UnparsedPublicKey::new(&ring_signature::ECDSA_P256_SHA256_FIXED, &self.0)
            .verify(message, sig)
            .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Es256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}
