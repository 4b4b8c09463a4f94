//! Proof that a webhook event comes from the gateway: the gateway signs the
//! exact bytes it sent, with a secret only it and we hold, and says when.
//!
//! Header: `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

/// How far the signing time may lie from ours, either way: a captured event
/// replayed later is refused, and small clock drift is forgiven.
pub const TOLERANCE: Duration = Duration::seconds(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("webhook signature header missing")]
    Missing,
    #[error("webhook signature header malformed")]
    Malformed,
    #[error("webhook signature timestamp outside the tolerance")]
    Stale,
    #[error("webhook signature does not match the payload")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    #[allow(clippy::expect_used)] // HMAC takes a key of any length
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value the gateway would send for `body` signed at `timestamp`;
/// for tests and for sending test events.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    sign_with_each(&[secret], timestamp, body)
}

/// The header signed by each of `secrets`, one `v1` apiece in their order:
/// while a secret is rotated, a receiver holding either one accepts it.
pub fn sign_with_each(secrets: &[&[u8]], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        let digest = mac(secret, timestamp, body).finalize().into_bytes();
        header.push_str(",v1=");
        header.push_str(&hex::encode(digest));
    }
    header
}

/// Checks `header` against the raw `body` as received. Any one `v1` may
/// match: while a secret is rotated the gateway signs with both.
pub fn verify(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now: OffsetDateTime,
) -> Result<(), SignatureError> {
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" => {
                let t = value
                    .parse::<i64>()
                    .map_err(|_| SignatureError::Malformed)?;
                // Two times would leave it open which one was signed.
                if timestamp.replace(t).is_some() {
                    return Err(SignatureError::Malformed);
                }
            }
            "v1" => {
                let bytes = hex::decode(value).map_err(|_| SignatureError::Malformed)?;
                candidates.push(bytes);
            }
            // Other schemes (`v0`, test-mode extras) are not ours to check.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let age = Duration::seconds(now.unix_timestamp().saturating_sub(timestamp));
    if age.abs() > TOLERANCE {
        return Err(SignatureError::Stale);
    }
    let expected = mac(secret, timestamp, body).finalize().into_bytes();
    // Every candidate is compared in full, so timing tells nothing about which matched.
    let matched = candidates.iter().fold(subtle::Choice::from(0), |acc, c| {
        acc | expected.as_slice().ct_eq(c)
    });
    if bool::from(matched) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_760_000_000).expect("valid")
    }

    fn t() -> i64 {
        now().unix_timestamp()
    }

    #[test]
    fn a_valid_signature_verifies() {
        let header = sign(SECRET, t(), BODY);
        assert_eq!(verify(SECRET, Some(&header), BODY, now()), Ok(()));
    }

    #[test]
    fn one_valid_signature_among_several_is_enough() {
        let old = sign(b"whsec_old", t(), BODY);
        let old_v1 = old.split_once(",v1=").expect("v1").1;
        let header = format!("{},v1={old_v1}", sign(SECRET, t(), BODY));
        assert_eq!(verify(SECRET, Some(&header), BODY, now()), Ok(()));
        assert_eq!(verify(b"whsec_old", Some(&header), BODY, now()), Ok(()));
        assert_eq!(
            verify(b"whsec_other", Some(&header), BODY, now()),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_tampered_body_does_not_verify() {
        let header = sign(SECRET, t(), BODY);
        let tampered = br#"{"id":"evt_1","type":"payment_intent.canceled"}"#;
        assert_eq!(
            verify(SECRET, Some(&header), tampered, now()),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_wrong_secret_does_not_verify() {
        let header = sign(b"whsec_wrong", t(), BODY);
        assert_eq!(
            verify(SECRET, Some(&header), BODY, now()),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn signatures_outside_five_minutes_either_way_are_stale() {
        for offset in [-301, 301] {
            let header = sign(SECRET, t() + offset, BODY);
            assert_eq!(
                verify(SECRET, Some(&header), BODY, now()),
                Err(SignatureError::Stale),
                "{offset}"
            );
        }
        for offset in [-300, 300] {
            let header = sign(SECRET, t() + offset, BODY);
            assert_eq!(
                verify(SECRET, Some(&header), BODY, now()),
                Ok(()),
                "{offset}"
            );
        }
    }

    #[test]
    fn malformed_headers_are_refused() {
        let good = sign(SECRET, t(), BODY);
        let v1 = good.split_once(",v1=").expect("v1").1.to_owned();
        for header in [
            "garbage".to_owned(),
            format!("v1={v1}"),
            format!("t={}", t()),
            format!("t=yesterday,v1={v1}"),
            format!("t={},v1=not-hex", t()),
            format!("t={},t={},v1={v1}", t(), t()),
            format!("t={},v0={v1}", t()),
        ] {
            assert_eq!(
                verify(SECRET, Some(&header), BODY, now()),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
    }

    #[test]
    fn a_missing_header_is_refused() {
        assert_eq!(
            verify(SECRET, None, BODY, now()),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(SECRET, Some("  "), BODY, now()),
            Err(SignatureError::Missing)
        );
    }
}
