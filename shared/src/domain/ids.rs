//! Identifiers and contact data, each checked once at the edge.

use std::fmt;

use uuid::Uuid;

use super::Invalid;
use super::names::{named_enum, shown_as_text};

const MAX_ID_LEN: usize = 128;

fn id_chars_ok(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// The authenticated user (JWT `sub`). Opaque to us, but bounded and printable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    /// What `parse` accepts, as a regular expression.
    pub const PATTERN: &'static str = r"^[^\s\x00-\x1f\x7f-\x9f]{1,256}$";

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        if s.is_empty()
            || s.chars().count() > 256
            || s.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(Invalid::new("user id must be 1-256 printable characters"));
        }
        Ok(Self(s.to_owned()))
    }
}

shown_as_text!(UserId);

/// An email address, syntactically plausible and at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        let bad = || Invalid::new("not a valid email address");
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(bad());
        }
        Ok(Self(s.to_owned()))
    }
}

shown_as_text!(Email);

named_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum PayableKind {
        Registration => "registration",
        Order => "order",
        Invoice => "invoice",
    }
}

impl PayableKind {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Self::from_name(s)
            .ok_or_else(|| Invalid::new("kind must be one of registration, order, invoice"))
    }
}

/// A payable's id within its kind, chosen by the operator's backend.
/// Limited to key-safe characters because it becomes part of storage keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PayableId(String);

impl PayableId {
    pub const MAX_LEN: usize = MAX_ID_LEN;
    /// What `parse` accepts, as a regular expression.
    pub const PATTERN: &'static str = "^[A-Za-z0-9._:-]{1,128}$";

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        if s.is_empty() || s.len() > MAX_ID_LEN || !id_chars_ok(s) {
            return Err(Invalid::new(
                "id must be 1-128 characters of letters, digits, '-', '_', '.', ':'",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

shown_as_text!(PayableId);

/// The merchant a payable is owed to: partners see only their own business's
/// payments. Any unsigned 64-bit integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BusinessId(u64);

impl BusinessId {
    pub fn new(id: u64) -> Self {
        Self(id)
    }

    pub fn get(&self) -> u64 {
        self.0
    }
}

impl fmt::Display for BusinessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PayableRef {
    pub kind: PayableKind,
    pub id: PayableId,
}

impl fmt::Display for PayableRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.id)
    }
}

/// `len` random letters and digits from the OS CSPRNG (client secrets and the like).
pub fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut buf = [0u8; 32];
        #[allow(clippy::expect_used)] // no randomness is unrecoverable for a payment service
        getrandom::fill(&mut buf).expect("operating system RNG unavailable");
        // 248 = 4 * 62: rejecting above it keeps every symbol equally likely.
        out.extend(
            buf.iter()
                .filter(|b| **b < 248)
                .map(|b| ALPHABET[usize::from(*b % 62)] as char),
        );
    }
    out.truncate(len);
    out
}

macro_rules! uuid_id {
    ($name:ident, $what:literal) => {
        /// A UUIDv7: unique and sortable by creation time.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn parse(s: &str) -> Result<Self, Invalid> {
                Uuid::try_parse(s)
                    .map(Self)
                    .map_err(|_| Invalid::new(concat!("not a valid ", $what, " id")))
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(IntentId, "payment intent");
uuid_id!(PaymentId, "payment");
uuid_id!(RefundId, "refund");

/// A caller's Idempotency-Key within the caller's own scope. What a request
/// creates under a key is named from it, so a run after a crash, a timeout or
/// a lost response finds what the first run created instead of making a
/// second one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    scope: String,
    key: String,
}

impl RequestKey {
    /// `scope` names the caller, so two callers' keys never name the same record.
    pub fn new(scope: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            scope: scope.into(),
            key: key.into(),
        }
    }

    /// A UUIDv8 from SHA-256 of scope, key and what is being created: stable
    /// for one request, and one key may create one record of each kind.
    fn derive(&self, purpose: &str) -> Uuid {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(self.scope.as_bytes())
            .chain_update([0u8])
            .chain_update(self.key.as_bytes())
            .chain_update([0u8])
            .chain_update(purpose.as_bytes())
            .finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Uuid::new_v8(bytes)
    }

    /// The payment this request records.
    pub fn payment_id(&self) -> PaymentId {
        PaymentId(self.derive("payment"))
    }

    /// The payment intent this request creates.
    pub fn intent_id(&self) -> IntentId {
        IntentId(self.derive("intent"))
    }

    /// The refund this request makes.
    pub fn refund_id(&self) -> RefundId {
        RefundId(self.derive("refund"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(Email::parse("a@b.co").is_ok());
        assert_eq!(
            Email::parse(" a@b.co ").expect("trimmed").as_str(),
            "a@b.co"
        );
        for bad in [
            "", "a", "@b.co", "a@", "a@b", "a@.b", "a@b.", "a b@c.d", "a@b..c", "a@b@c.d",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(Email::parse(&format!("{}@b.co", "a".repeat(65))).is_err());
    }

    #[test]
    fn payable_ids_are_key_safe() {
        assert!(PayableId::parse("REG-2025_001.a:b").is_ok());
        for bad in ["", "a#b", "a/b", "a b", "ä"] {
            assert!(PayableId::parse(bad).is_err(), "{bad}");
        }
        assert!(PayableId::parse(&"x".repeat(129)).is_err());
    }

    #[test]
    fn kinds_round_trip() {
        for k in [
            PayableKind::Registration,
            PayableKind::Order,
            PayableKind::Invoice,
        ] {
            assert_eq!(PayableKind::parse(k.as_str()), Ok(k));
        }
        assert!(PayableKind::parse("Order").is_err());
    }

    #[test]
    fn uuid_ids_sort_by_creation() {
        let a = IntentId::new();
        let b = IntentId::new();
        assert!(a.to_string() < b.to_string());
        assert_eq!(IntentId::parse(&a.to_string()), Ok(a));
        assert!(IntentId::parse("nope").is_err());
    }

    #[test]
    fn random_tokens_are_alphanumeric_and_distinct() {
        let a = random_token(24);
        assert_eq!(a.len(), 24);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, random_token(24));
    }

    #[test]
    fn user_ids() {
        assert!(UserId::parse("auth0|123").is_ok());
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse("a b").is_err());
    }
}
