//! One-time codes that confirm a payment by email. A code is never stored: only its keyed hash.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use super::{IntentId, Invalid};

/// Expiry, resend cooldown, send cap and wrong-code limit; one value so tests
/// and handlers agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtpPolicy {
    pub ttl: Duration,
    pub resend_cooldown: Duration,
    pub max_sends: u32,
    pub max_attempts: u32,
    /// Each intent brings five fresh attempts, so a payable caps how many
    /// intents may have codes sent within `payable_window`.
    pub max_intents_per_payable: u32,
    pub payable_window: Duration,
}

impl OtpPolicy {
    pub const STANDARD: Self = Self {
        ttl: Duration::minutes(5),
        resend_cooldown: Duration::seconds(30),
        max_sends: 5,
        max_attempts: 5,
        max_intents_per_payable: 5,
        payable_window: Duration::hours(24),
    };
}

/// A six-digit code. Debug and Display never show the digits.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(String);

impl OtpCode {
    /// Draws uniformly from 000000-999999 with the OS CSPRNG (rejection sampling, no modulo bias).
    pub fn generate() -> Self {
        const RANGE: u32 = 1_000_000;
        const LIMIT: u32 = u32::MAX - (u32::MAX % RANGE);
        loop {
            let mut buf = [0u8; 4];
            // The OS RNG failing is unrecoverable for a payment service.
            #[allow(clippy::expect_used)]
            getrandom::fill(&mut buf).expect("operating system RNG unavailable");
            let n = u32::from_le_bytes(buf);
            if n < LIMIT {
                return Self(format!("{:06}", n % RANGE));
            }
        }
    }

    /// What `parse` accepts, as a regular expression (surrounding blanks aside).
    pub const PATTERN: &'static str = "^[0-9]{6}$";

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(Invalid::new("otp_code must be exactly 6 digits"))
        }
    }

    /// The digits, for the one place that must show them: the email to the payer.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode(******)")
    }
}

/// HMAC-SHA256(pepper, intent id ‖ code). Binding the intent id stops a code
/// (or its hash) from one intent being replayed against another.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpHash([u8; 32]);

impl OtpHash {
    pub fn compute(pepper: &[u8], intent: &IntentId, code: &OtpCode) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(pepper).expect("HMAC takes any key length");
        mac.update(intent.to_string().as_bytes());
        mac.update(code.expose().as_bytes());
        Self(mac.finalize().into_bytes().into())
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Constant-time comparison of the stored hash with a candidate code.
    pub fn matches(&self, pepper: &[u8], intent: &IntentId, candidate: &OtpCode) -> bool {
        let other = Self::compute(pepper, intent, candidate);
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for OtpHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpHash(..)")
    }
}

/// The code currently valid for an intent, and the counters that limit sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpState {
    pub hash: OtpHash,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OtpError {
    #[error("a code was sent less than {0} seconds ago; retry in {1} seconds")]
    Cooldown(i64, i64),
    #[error("the maximum of {0} codes for this payment intent has been sent")]
    TooManySends(u32),
    #[error("no code has been requested for this payment intent")]
    NotRequested,
    #[error("the code has expired; request a new one")]
    Expired,
    #[error(
        "codes were sent for {0} payment intents of this payable in the last 24 hours; try again later"
    )]
    TooManyIntentsForPayable(u32),
}

/// The intents of one payable that had codes sent, and when the first was sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtpSenders(pub Vec<(OffsetDateTime, IntentId)>);

impl OtpSenders {
    /// Lets `intent` send codes if it already does, or if fewer than the cap
    /// of intents sent any within the window: the log to store, or `None`.
    pub fn admit(
        &self,
        intent: &IntentId,
        now: OffsetDateTime,
        policy: &OtpPolicy,
    ) -> Option<Self> {
        let mut recent: Vec<_> = self
            .0
            .iter()
            .filter(|(at, _)| *at + policy.payable_window > now)
            .cloned()
            .collect();
        if recent.iter().any(|(_, id)| id == intent) {
            return Some(Self(recent));
        }
        if recent.len() >= policy.max_intents_per_payable as usize {
            return None;
        }
        recent.push((now, *intent));
        Some(Self(recent))
    }

    /// `unix:intent,…`: one string, so a write can be conditional on the whole log.
    pub fn encode(&self) -> String {
        self.0
            .iter()
            .map(|(at, id)| format!("{}:{id}", at.unix_timestamp()))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn decode(s: &str) -> Option<Self> {
        s.split(',')
            .filter(|e| !e.is_empty())
            .map(|entry| {
                let (at, id) = entry.split_once(':')?;
                let at = OffsetDateTime::from_unix_timestamp(at.parse().ok()?).ok()?;
                Some((at, IntentId::parse(id).ok()?))
            })
            .collect::<Option<Vec<_>>>()
            .map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_are_six_digits_and_vary() {
        let codes: std::collections::HashSet<String> = (0..200)
            .map(|_| OtpCode::generate().expose().to_owned())
            .collect();
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        assert!(
            codes.len() > 190,
            "a CSPRNG should rarely repeat in 200 draws"
        );
    }

    #[test]
    fn parse_accepts_only_six_digits() {
        assert!(OtpCode::parse("012345").is_ok());
        for bad in ["", "12345", "1234567", "12345a", "12 345", "１２３４５６"] {
            assert!(OtpCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hash_binds_pepper_intent_and_code() {
        let intent = IntentId::new();
        let code = OtpCode::parse("123456").expect("valid");
        let hash = OtpHash::compute(b"pepper", &intent, &code);
        assert!(hash.matches(b"pepper", &intent, &code));
        assert!(!hash.matches(
            b"pepper",
            &intent,
            &OtpCode::parse("123457").expect("valid")
        ));
        assert!(!hash.matches(b"other", &intent, &code));
        assert!(!hash.matches(b"pepper", &IntentId::new(), &code));
        assert_eq!(OtpHash::from_bytes(hash.as_bytes()), Some(hash));
    }

    #[test]
    fn debug_never_shows_the_code() {
        let code = OtpCode::parse("987654").expect("valid");
        assert!(!format!("{code:?}").contains("987654"));
    }

    #[test]
    fn five_intents_per_payable_send_codes_per_day() {
        let p = OtpPolicy::STANDARD;
        let t0 = OffsetDateTime::from_unix_timestamp(1_760_000_000).expect("time");
        let mut log = OtpSenders::default();
        let ids: Vec<IntentId> = (0..6).map(|_| IntentId::new()).collect();
        for id in &ids[..5] {
            log = log.admit(id, t0, &p).expect("within the cap");
        }
        assert_eq!(log.admit(&ids[5], t0 + Duration::hours(23), &p), None);
        assert!(
            log.admit(&ids[0], t0, &p).is_some(),
            "a resend is not a new intent"
        );
        let later = log
            .admit(&ids[5], t0 + Duration::hours(24), &p)
            .expect("the window moved on");
        assert_eq!(later.0.len(), 1);
        assert_eq!(OtpSenders::decode(&log.encode()), Some(log.clone()));
        assert_eq!(OtpSenders::decode(""), Some(OtpSenders::default()));
        assert_eq!(OtpSenders::decode("x:y"), None);
    }
}
