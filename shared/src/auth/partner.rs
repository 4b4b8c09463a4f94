//! Partners sign each request with their client secret:
//! `x-signature` = hex HMAC-SHA256(secret, `METHOD\nPATH\nTIMESTAMP\nhex(SHA-256(body))`),
//! PATH being the path as sent with its `?query`, TIMESTAMP the `x-timestamp`
//! header (unix seconds).

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use super::AuthError;
use crate::domain::BusinessId;
use crate::ports::PartnerClient;

/// How far `x-timestamp` may be from now, either way: clocks drift, and a
/// captured request must stop working soon.
pub const SIGNATURE_TOLERANCE: Duration = Duration::seconds(300);

/// What a partner's request says about itself.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub client_id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub method: &'a str,
    /// The path as sent, with `?query` when there is one.
    pub path: &'a str,
    pub body: &'a [u8],
}

/// A partner whose signature held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerCaller {
    pub client_id: String,
    pub business_id: BusinessId,
    /// The signature in lowercase hex: accepted once, so it names this request.
    pub signature: String,
}

/// The text a partner signs.
pub fn string_to_sign(method: &str, path: &str, timestamp: &str, body: &[u8]) -> String {
    format!(
        "{method}\n{path}\n{timestamp}\n{}",
        hex::encode(Sha256::digest(body))
    )
}

fn mac(secret: &[u8], text: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(text.as_bytes());
    mac
}

/// The `x-signature` a partner with `secret` sends (for tests and local tools).
pub fn sign_partner_request(
    secret: &str,
    method: &str,
    path: &str,
    timestamp: &str,
    body: &[u8],
) -> String {
    let text = string_to_sign(method, path, timestamp, body);
    hex::encode(mac(secret.as_bytes(), &text).finalize().into_bytes())
}

/// Unix seconds, digits only: no sign, no fraction, no exponent.
fn unix_seconds(timestamp: &str) -> Option<i64> {
    if timestamp.is_empty()
        || timestamp.len() > 12
        || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    timestamp.parse().ok()
}

fn present(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

/// Checks the three headers against the configured clients at `now`. The
/// signature is compared in constant time, and an unknown client costs the
/// same HMAC as a known one.
pub fn verify_partner(
    req: &SignedRequest<'_>,
    clients: &HashMap<String, PartnerClient>,
    now: OffsetDateTime,
) -> Result<PartnerCaller, AuthError> {
    let (Some(client_id), Some(timestamp), Some(signature)) = (
        present(req.client_id),
        present(req.timestamp),
        present(req.signature),
    ) else {
        return Err(AuthError::UnsignedRequest);
    };
    let sent = unix_seconds(timestamp).ok_or(AuthError::StaleTimestamp)?;
    if (now.unix_timestamp() - sent).abs() > SIGNATURE_TOLERANCE.whole_seconds() {
        return Err(AuthError::StaleTimestamp);
    }
    let client = clients.get(client_id);
    let secret = client.map_or(&b"no such client"[..], |c| {
        c.secret.expose_secret().as_bytes()
    });
    let text = string_to_sign(req.method, req.path, timestamp, req.body);
    let claimed = hex::decode(signature).map_err(|_| AuthError::BadSignature)?;
    let valid = mac(secret, &text).verify_slice(&claimed).is_ok();
    match client {
        Some(client) if valid => Ok(PartnerCaller {
            client_id: client_id.to_owned(),
            business_id: client.business_id,
            signature: hex::encode(claimed),
        }),
        _ => Err(AuthError::BadSignature),
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    const SECRET: &str = "local-dev-partner-secret";
    const PATH: &str = "/api/v1/payment/detail/0193a0c4-4f1c-7000-8000-000000000001";

    fn clients() -> HashMap<String, PartnerClient> {
        HashMap::from([(
            "demo-client".to_owned(),
            PartnerClient {
                secret: SecretString::from(SECRET.to_owned()),
                business_id: BusinessId::new(123456),
            },
        )])
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_764_000_000).expect("valid")
    }

    fn request<'a>(timestamp: &'a str, signature: &'a str) -> SignedRequest<'a> {
        SignedRequest {
            client_id: Some("demo-client"),
            timestamp: Some(timestamp),
            signature: Some(signature),
            method: "GET",
            path: PATH,
            body: b"",
        }
    }

    #[test]
    fn the_signed_text_is_method_path_timestamp_and_body_digest() {
        assert_eq!(
            string_to_sign("GET", "/p?a=1", "1764000000", b""),
            "GET\n/p?a=1\n1764000000\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn a_valid_signature_names_the_client_and_its_business() {
        let sig = sign_partner_request(SECRET, "GET", PATH, "1764000000", b"");
        let caller =
            verify_partner(&request("1764000000", &sig), &clients(), now()).expect("valid");
        assert_eq!(caller.client_id, "demo-client");
        assert_eq!(caller.business_id, BusinessId::new(123456));
        assert_eq!(caller.signature, sig);
        // Hex is hex in either case; the nonce is one spelling of it.
        let upper = sig.to_uppercase();
        let caller =
            verify_partner(&request("1764000000", &upper), &clients(), now()).expect("valid");
        assert_eq!(caller.signature, sig);
    }

    #[test]
    fn timestamps_within_five_minutes_either_way_are_accepted() {
        for offset in [-300, 300, 0] {
            let t = (1_764_000_000 + offset).to_string();
            let sig = sign_partner_request(SECRET, "GET", PATH, &t, b"");
            assert!(
                verify_partner(&request(&t, &sig), &clients(), now()).is_ok(),
                "{offset}"
            );
        }
        for offset in [-301, 301, 86_400] {
            let t = (1_764_000_000 + offset).to_string();
            let sig = sign_partner_request(SECRET, "GET", PATH, &t, b"");
            assert_eq!(
                verify_partner(&request(&t, &sig), &clients(), now()),
                Err(AuthError::StaleTimestamp),
                "{offset}"
            );
        }
        for t in [
            "",
            "+1764000000",
            "1764000000.0",
            "1.764e9",
            "-1",
            "17640000000000",
        ] {
            let sig = sign_partner_request(SECRET, "GET", PATH, t, b"");
            assert!(
                verify_partner(&request(t, &sig), &clients(), now()).is_err(),
                "{t}"
            );
        }
    }

    #[test]
    fn anything_changed_after_signing_is_refused() {
        let t = "1764000000";
        let sig = sign_partner_request(SECRET, "GET", PATH, t, b"");
        let refused = |req: SignedRequest<'_>| {
            assert_eq!(
                verify_partner(&req, &clients(), now()),
                Err(AuthError::BadSignature)
            );
        };
        refused(SignedRequest {
            path: "/api/v1/payment/detail/other",
            ..request(t, &sig)
        });
        refused(SignedRequest {
            path: &format!("{PATH}?x=1"),
            ..request(t, &sig)
        });
        refused(SignedRequest {
            method: "POST",
            ..request(t, &sig)
        });
        refused(SignedRequest {
            body: b"{}",
            ..request(t, &sig)
        });
        refused(SignedRequest {
            client_id: Some("other-client"),
            ..request(t, &sig)
        });
        let wrong_secret = sign_partner_request("another-secret", "GET", PATH, t, b"");
        refused(request(t, &wrong_secret));
        refused(request(t, "not-hex"));
        refused(request(t, &sig[..62]));
        let signed_at_other_time = sign_partner_request(SECRET, "GET", PATH, "1764000001", b"");
        refused(request(t, &signed_at_other_time));
    }

    #[test]
    fn a_missing_header_is_an_unsigned_request() {
        let t = "1764000000";
        let sig = sign_partner_request(SECRET, "GET", PATH, t, b"");
        for req in [
            SignedRequest {
                client_id: None,
                ..request(t, &sig)
            },
            SignedRequest {
                timestamp: None,
                ..request(t, &sig)
            },
            SignedRequest {
                signature: None,
                ..request(t, &sig)
            },
            SignedRequest {
                signature: Some(" "),
                ..request(t, &sig)
            },
        ] {
            assert_eq!(
                verify_partner(&req, &clients(), now()),
                Err(AuthError::UnsignedRequest)
            );
        }
    }
}
