//! Where an operator wants to hear about what happened: a URL, the event
//! types it subscribes to, and the secret every delivery to it is signed with.

use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use super::Invalid;
use super::ids::random_token;
use super::names::shown_as_text;
use super::network_address::{blocked, ip_literal};

/// Every event type the service emits, each object's in the order of its
/// life: an event that happened at the same instant as another of the same
/// object is delivered after it when it comes later here.
pub const EVENT_TYPES: [&str; 11] = [
    "payment_intent.created",
    "payment_intent.requires_action",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment.created",
    "payment.completed",
    "refund.created",
    "refund.succeeded",
    "refund.failed",
    "payable.paid",
];

/// What `enabled_events` takes besides the types: every type, present and future.
pub const ALL_EVENTS: &str = "*";

/// Where `event_type` stands among the events of one object (see [`EVENT_TYPES`]).
pub fn event_type_rank(event_type: &str) -> usize {
    EVENT_TYPES
        .iter()
        .position(|t| *t == event_type)
        .unwrap_or(EVENT_TYPES.len())
}

/// An endpoint's id, chosen by the operator (the path's `{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointId(String);

impl EndpointId {
    pub const PATTERN: &'static str = "^[A-Za-z0-9._:-]{1,128}$";
    pub const MAX_LEN: usize = 128;

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(Invalid::new(
                "id must be 1-128 characters of letters, digits, '.', '_', ':' or '-'",
            ))
        }
    }
}

shown_as_text!(EndpointId);

/// The event types an endpoint hears about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnabledEvents {
    All,
    /// Known types, each once, in the order given.
    Only(Vec<String>),
}

impl EnabledEvents {
    /// A non-empty list of known types, or `["*"]` alone.
    pub fn parse(list: &[String]) -> Result<Self, Invalid> {
        if list.is_empty() {
            return Err(Invalid::new(
                "enabled_events must name at least one event type, or \"*\"",
            ));
        }
        if list.iter().any(|t| t == ALL_EVENTS) {
            return if list.iter().all(|t| t == ALL_EVENTS) {
                Ok(Self::All)
            } else {
                Err(Invalid::new(
                    "\"*\" already names every event type: send it alone",
                ))
            };
        }
        let mut types: Vec<String> = Vec::new();
        for t in list {
            if !EVENT_TYPES.contains(&t.as_str()) {
                return Err(Invalid::new(format!(
                    "unknown event type '{}'; known types: {}",
                    t.chars().take(64).collect::<String>(),
                    EVENT_TYPES.join(", ")
                )));
            }
            if !types.contains(t) {
                types.push(t.clone());
            }
        }
        Ok(Self::Only(types))
    }

    pub fn includes(&self, event_type: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(types) => types.iter().any(|t| t == event_type),
        }
    }

    /// As the API shows and stores it.
    pub fn to_list(&self) -> Vec<String> {
        match self {
            Self::All => vec![ALL_EVENTS.to_owned()],
            Self::Only(types) => types.clone(),
        }
    }
}

/// Longest URL an endpoint takes: the bound of every text field.
pub const MAX_URL_LEN: usize = 1000;

/// An `https://` URL; `http://` only to this machine, and only on a
/// developer's machine. No credentials in it, no fragment: what is sent is
/// exactly what the operator sees in the endpoint. A host that is an address
/// (in any spelling) is a public one; a name is only resolved when a
/// delivery is sent, and its addresses checked then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl(String);

/// Ports 1-65535, as a regular expression.
const PORT: &str =
    "(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})";
/// What may follow the host and port besides letters and digits: a path and
/// query of URL characters.
const REST_SYMBOLS: &str = "-._~!$&'()*+,;=:@%/?";

fn rest_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || REST_SYMBOLS.contains(c)
}

impl EndpointUrl {
    /// The hosts a local run may reach over plain HTTP.
    pub const LOOPBACK: [&'static str; 3] = ["127.0.0.1", "localhost", "[::1]"];

    /// What `parse` accepts, as a regular expression (`http://` passes
    /// only on a developer's machine). An IPv6 address is shown in its full
    /// eight groups; `parse` takes its shortened forms too.
    pub fn pattern() -> String {
        format!(
            r"^(https://([A-Za-z0-9.-]{{1,253}}|\[([0-9A-Fa-f]{{1,4}}:){{7}}[0-9A-Fa-f]{{1,4}}\])|http://(127\.0\.0\.1|localhost|\[::1\]))(:{PORT})?([/?][-A-Za-z0-9._~!$&'()*+,;=:@%/?]*)?$"
        )
    }

    /// `local`: the service runs on a developer's machine, where plain HTTP
    /// to this machine is how a receiver is reached.
    pub fn parse(s: &str, local: bool) -> Result<Self, Invalid> {
        let url = Self::read(s, local)?;
        if let Some(ip) = ip_literal(url.host())? {
            if let Some(range) = blocked(ip, local) {
                return Err(Invalid::new(format!(
                    "url's host is {}: deliveries only go to public addresses",
                    range.describe()
                )));
            }
        }
        Ok(url)
    }

    /// A URL as stored: its form is checked, not its address. An endpoint
    /// registered before its address was refused still reads (to be shown,
    /// replaced or deleted); nothing is sent to it, as every send checks
    /// the addresses it connects to.
    pub fn stored(s: &str) -> Result<Self, Invalid> {
        Self::read(s, true)
    }

    /// The URL's form: scheme, host, port, path and query.
    fn read(s: &str, local: bool) -> Result<Self, Invalid> {
        if s.len() > MAX_URL_LEN {
            return Err(Invalid::new(format!(
                "url must be at most {MAX_URL_LEN} characters"
            )));
        }
        let (rest, plain) = if let Some(rest) = s.strip_prefix("https://") {
            (rest, false)
        } else if let Some(rest) = s.strip_prefix("http://") {
            (rest, true)
        } else {
            return Err(Invalid::new("url must start with https://"));
        };
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (host, port) = split_port(authority)
            .ok_or_else(|| Invalid::new("url must have a host and at most a port after it"))?;
        if plain {
            if !local {
                return Err(Invalid::new("url must start with https://"));
            }
            if !Self::LOOPBACK.contains(&host) {
                return Err(Invalid::new(
                    "a plain http:// url may only name this machine (127.0.0.1, localhost or [::1])",
                ));
            }
        }
        let host_ok = match host.strip_prefix('[') {
            // Only an IPv6 address goes in brackets: `[abB]` is no host.
            Some(v6) => v6
                .strip_suffix(']')
                .is_some_and(|inner| inner.parse::<std::net::Ipv6Addr>().is_ok()),
            None => {
                (1..=253).contains(&host.len())
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            }
        };
        if !host_ok {
            return Err(Invalid::new("url must have a host name or address"));
        }
        if let Some(port) = port {
            let valid = !port.is_empty()
                && !port.starts_with('0')
                && port.len() <= 5
                && port.chars().all(|c| c.is_ascii_digit())
                && port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p));
            if !valid {
                return Err(Invalid::new("url's port must be 1-65535"));
            }
        }
        if !tail.chars().all(rest_char) {
            return Err(Invalid::new(
                "url's path and query may only hold URL characters (no spaces, no fragment)",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host as written (an IPv6 address in its brackets).
    pub fn host(&self) -> &str {
        let rest = self
            .0
            .split_once("://")
            .map_or(self.0.as_str(), |(_, rest)| rest);
        let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
        split_port(authority).map_or(authority, |(host, _)| host)
    }
}

/// `host[:port]`, the port as written (checked by the caller).
fn split_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, after) = authority.split_at(close + 1);
        match after {
            "" => Some((host, None)),
            _ => after.strip_prefix(':').map(|p| (host, Some(p))),
        }
    } else {
        match authority.split_once(':') {
            None => Some((authority, None)),
            Some((host, port)) => Some((host, Some(port))),
        }
    }
}

/// The secret deliveries are signed with: `whsec_` and 32 random letters and digits.
pub fn new_signing_secret() -> SecretString {
    SecretString::from(format!("whsec_{}", random_token(32)))
}

/// How long a rotated-out secret still signs deliveries beside the new one:
/// from 0 (it ends at once) to a day, time for the operator's receivers to
/// take the new secret without refusing a single delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OldSecretLifetime(i64);

impl OldSecretLifetime {
    pub const MAX_SECONDS: i64 = 86_400;

    pub fn parse(seconds: i64) -> Result<Self, Invalid> {
        if (0..=Self::MAX_SECONDS).contains(&seconds) {
            Ok(Self(seconds))
        } else {
            Err(Invalid::new(format!(
                "expires_in_seconds must be an integer from 0 to {}",
                Self::MAX_SECONDS
            )))
        }
    }

    pub fn seconds(self) -> i64 {
        self.0
    }
}

/// A secret that signed deliveries before a rotation, and the unix second
/// from which it no longer does.
#[derive(Debug, Clone)]
pub struct RetiringSecret {
    pub secret: SecretString,
    pub expires: OffsetDateTime,
}

impl RetiringSecret {
    /// Still signing a delivery made at `timestamp` (unix seconds).
    pub fn signs_at(&self, timestamp: i64) -> bool {
        timestamp < self.expires.unix_timestamp()
    }
}

/// A new signing secret for an endpoint: the one it replaces keeps signing
/// until `old_expires`, or ends at once when there is none.
#[derive(Debug, Clone)]
pub struct SecretRotation {
    pub new_secret: SecretString,
    /// Whole unix seconds, as deliveries are signed: `None` when the old
    /// secret ends now.
    pub old_expires: Option<OffsetDateTime>,
    pub at: OffsetDateTime,
}

impl SecretRotation {
    pub fn new(new_secret: SecretString, old_lives: OldSecretLifetime, at: OffsetDateTime) -> Self {
        let whole_second = at - time::Duration::nanoseconds(i64::from(at.nanosecond()));
        let old_expires = (old_lives.seconds() > 0)
            .then(|| whole_second + time::Duration::seconds(old_lives.seconds()));
        Self {
            new_secret,
            old_expires,
            at,
        }
    }
}

/// Everything storage keeps of a webhook endpoint: what an endpoint is
/// rebuilt from when read back ([`WebhookEndpoint::restore`]).
#[derive(Debug, Clone)]
pub struct EndpointParts {
    pub id: EndpointId,
    pub url: EndpointUrl,
    pub enabled_events: EnabledEvents,
    /// Chosen by the service when the endpoint is created or its secret
    /// rotated; a replace keeps it.
    pub secret: SecretString,
    /// The secret the last rotation replaced, while it may still sign (a
    /// replace keeps it too).
    pub previous_secret: Option<RetiringSecret>,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
}

/// An endpoint's fields are the domain's: outside it they are read through
/// accessors and changed only by its methods.
#[derive(Debug, Clone)]
pub struct WebhookEndpoint {
    pub(super) id: EndpointId,
    pub(super) url: EndpointUrl,
    pub(super) enabled_events: EnabledEvents,
    /// Chosen by the service when the endpoint is created or its secret
    /// rotated; a replace keeps it.
    pub(super) secret: SecretString,
    /// The secret the last rotation replaced, while it may still sign (a
    /// replace keeps it too).
    pub(super) previous_secret: Option<RetiringSecret>,
    pub(super) created: OffsetDateTime,
    pub(super) updated: OffsetDateTime,
}

impl WebhookEndpoint {
    /// A new endpoint made `now`, signing with `secret` alone.
    pub fn new(
        id: EndpointId,
        url: EndpointUrl,
        enabled_events: EnabledEvents,
        secret: SecretString,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            url,
            enabled_events,
            secret,
            previous_secret: None,
            created: now,
            updated: now,
        }
    }

    pub fn id(&self) -> &EndpointId {
        &self.id
    }

    pub fn url(&self) -> &EndpointUrl {
        &self.url
    }

    pub fn enabled_events(&self) -> &EnabledEvents {
        &self.enabled_events
    }

    pub fn secret(&self) -> &SecretString {
        &self.secret
    }

    pub fn previous_secret(&self) -> &Option<RetiringSecret> {
        &self.previous_secret
    }

    pub fn created(&self) -> OffsetDateTime {
        self.created
    }

    pub fn updated(&self) -> OffsetDateTime {
        self.updated
    }

    /// This endpoint as a replace of `old` stores it: its URL, event types
    /// and update time, with `old`'s secrets and creation time.
    pub fn replacing(self, old: &Self) -> Self {
        Self {
            secret: old.secret.clone(),
            previous_secret: old.previous_secret.clone(),
            created: old.created,
            ..self
        }
    }
}

/// Storage's side of a webhook endpoint.
impl WebhookEndpoint {
    /// An endpoint as storage holds it.
    pub fn restore(parts: EndpointParts) -> Self {
        Self {
            id: parts.id,
            url: parts.url,
            enabled_events: parts.enabled_events,
            secret: parts.secret,
            previous_secret: parts.previous_secret,
            created: parts.created,
            updated: parts.updated,
        }
    }

    /// Everything it holds, as storage keeps it.
    pub fn into_parts(self) -> EndpointParts {
        EndpointParts {
            id: self.id,
            url: self.url,
            enabled_events: self.enabled_events,
            secret: self.secret,
            previous_secret: self.previous_secret,
            created: self.created,
            updated: self.updated,
        }
    }
}

impl WebhookEndpoint {
    pub fn subscribes_to(&self, event_type: &str) -> bool {
        self.enabled_events.includes(event_type)
    }

    /// Takes the rotation's secret; the current one keeps signing until the
    /// rotation says, and whatever the last rotation left behind is dropped
    /// (an endpoint has at most two secrets at once, as on Stripe).
    pub fn rotate(&mut self, rotation: &SecretRotation) {
        let old = std::mem::replace(&mut self.secret, rotation.new_secret.clone());
        self.previous_secret = rotation.old_expires.map(|expires| RetiringSecret {
            secret: old,
            expires,
        });
        self.updated = rotation.at;
    }

    /// The `Stripe-Signature` header of `body` sent at `timestamp` (unix
    /// seconds): one `v1` with the current secret, then one with the
    /// rotated-out secret while it still signs, so that a receiver holding
    /// either accepts the delivery.
    pub fn signature(&self, timestamp: i64, body: &[u8]) -> String {
        let mut secrets = vec![self.secret.expose_secret().as_bytes()];
        if let Some(old) = self
            .previous_secret
            .as_ref()
            .filter(|o| o.signs_at(timestamp))
        {
            secrets.push(old.secret.expose_secret().as_bytes());
        }
        super::webhook_signature::sign_with_each(&secrets, timestamp, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_id_rules() {
        assert!(EndpointId::parse("ops-1.main:v2_x").is_ok());
        for bad in ["", "a b", "a/b", "é", &"x".repeat(129)] {
            assert!(EndpointId::parse(bad).is_err(), "{bad}");
        }
        assert!(EndpointId::parse(&"x".repeat(128)).is_ok());
    }

    #[test]
    fn enabled_events_are_known_types_or_the_wildcard_alone() {
        let list = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            EnabledEvents::parse(&list(&["*"])).expect("all"),
            EnabledEvents::All
        );
        let only = EnabledEvents::parse(&list(&[
            "payment_intent.succeeded",
            "refund.created",
            "payment_intent.succeeded",
        ]))
        .expect("known");
        assert_eq!(
            only.to_list(),
            ["payment_intent.succeeded", "refund.created"]
        );
        assert!(only.includes("refund.created"));
        assert!(!only.includes("payment.created"));
        assert!(EnabledEvents::All.includes("payable.paid"));
        for bad in [
            list(&[]),
            list(&["charge.succeeded"]),
            list(&["*", "refund.created"]),
            list(&[""]),
        ] {
            assert!(EnabledEvents::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls_are_https_or_loopback_http_on_a_developer_machine() {
        let https = [
            "https://example.com/hooks",
            "https://example.com",
            "https://api.example.com:8443/a/b?x=1&y=%20",
            "https://[2606:4700::1111]/h",
            "https://93.184.215.14?x",
        ];
        let loopback_http = [
            "http://127.0.0.1:4000/hooks",
            "http://localhost/x",
            "http://[::1]:9/",
        ];
        let bad = [
            "ftp://example.com",
            "https://",
            "https://user:pw@example.com/",
            "https://example.com/a b",
            "https://example.com/#frag",
            "https://example.com:0/",
            "https://example.com:65536/",
            "https://example.com:/",
            "http://example.com/",
            "http://127.0.0.2/",
            "HTTPS://example.com",
            "https://[::1/",
            "https://[abB]/",
            "https://[1:2]/",
        ];
        // Whether a deployed service takes each, and a developer's machine.
        for (urls, deployed, local) in [
            (&https[..], true, true),
            (&loopback_http[..], false, true),
            (&bad[..], false, false),
        ] {
            for url in urls {
                assert_eq!(EndpointUrl::parse(url, false).is_ok(), deployed, "{url}");
                assert_eq!(EndpointUrl::parse(url, true).is_ok(), local, "{url}");
            }
        }
        assert!(EndpointUrl::parse(&format!("https://e.com/{}", "a".repeat(1000)), false).is_err());
    }

    /// Hosts that name an address inside a network, in every spelling URL
    /// parsers take, refused wherever the service runs.
    const NEVER: [&str; 34] = [
        "https://10.0.0.5/",
        "https://10.1/",
        "https://012.0.0.1/",
        "https://167772161/",
        "https://0xa000001/",
        "https://172.16.0.1/",
        "https://192.168.0.1:8443/h",
        "https://169.254.169.254/latest/meta-data/",
        "https://0xa9.0xfe.0xa9.0xfe/",
        "https://2852039166/",
        "https://169.254.43518/",
        "https://100.64.0.1/",
        "https://224.0.0.1/",
        "https://0.0.0.0/",
        "https://0/",
        "https://0x/",
        "https://255.255.255.255/",
        "https://192.0.2.1/",
        "https://198.51.100.1/",
        "https://203.0.113.9/",
        "https://[fd00:ec2::254]/",
        "https://[fe80::1]/",
        "https://[fc00::1]/",
        "https://[fd12:3456::1]/",
        "https://[ff02::1]/",
        "https://[::]/",
        "https://[2001:db8::1]/h",
        "https://[::ffff:10.0.0.1]/",
        "https://[::ffff:a00:1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:8.8.8.8]/",
        "https://[64:ff9b::a9fe:a9fe]/",
        "https://10.0.0.5./",
        "https://240.0.0.1/",
    ];

    /// This machine, in every spelling: a receiver on a developer's machine only.
    const LOOPBACK: [&str; 10] = [
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://2130706433/",
        "https://0177.0.0.1/",
        "https://0x7f.0.0.1/",
        "https://0X7F.0.0.1/",
        "https://0x7f000001/",
        "https://127.1/",
        "https://127.0.0.1.:8443/",
        "https://017700000001/",
    ];

    #[test]
    fn addresses_inside_networks_are_refused_in_every_spelling() {
        for url in NEVER {
            for local in [false, true] {
                let refused = EndpointUrl::parse(url, local).expect_err(url);
                assert!(
                    refused.0.starts_with("url's host is"),
                    "{url}: {}",
                    refused.0
                );
            }
        }
        for url in LOOPBACK {
            let refused = EndpointUrl::parse(url, false).expect_err(url);
            assert!(refused.0.contains("loopback"), "{url}: {}", refused.0);
            assert!(EndpointUrl::parse(url, true).is_ok(), "{url} locally");
        }
        // Plain HTTP locally is for the loopback names it always took.
        for url in [
            "http://127.0.0.1:4000/",
            "http://localhost:4000/",
            "http://[::1]:4000/",
        ] {
            assert!(EndpointUrl::parse(url, true).is_ok(), "{url}");
            assert!(EndpointUrl::parse(url, false).is_err(), "{url}");
        }
        for url in ["http://169.254.169.254/", "http://2130706433/"] {
            assert!(EndpointUrl::parse(url, true).is_err(), "{url}");
        }
    }

    #[test]
    fn hosts_that_end_in_a_number_must_be_addresses() {
        for url in [
            "https://1.2.3.4.5/",
            "https://256.0.0.1/",
            "https://example.0x10/",
            "https://example.123/",
            "https://08.0.0.1/",
            "https://4294967296/",
        ] {
            assert!(EndpointUrl::parse(url, true).is_err(), "{url}");
        }
        // A name is not resolved here: whatever it names is checked at each send.
        for url in [
            "https://8.8.8.8/",
            "https://134744072/",
            "https://0x8.0x8.0x8.0x8/",
            "https://[2606:4700::1111]/",
            "https://0x7f.example.com/",
            "https://localhost/",
            "https://metadata.google.internal/",
            "https://10.0.0.5.nip.io/",
        ] {
            assert!(EndpointUrl::parse(url, false).is_ok(), "{url}");
        }
    }

    #[test]
    fn stored_urls_read_whatever_their_address() {
        for url in NEVER.iter().chain(&LOOPBACK) {
            let stored = EndpointUrl::stored(url).expect(url);
            assert_eq!(stored.as_str(), *url);
        }
        assert!(EndpointUrl::stored("ftp://example.com/").is_err());
    }

    #[test]
    fn the_host_is_read_from_the_url() {
        for (url, host) in [
            ("https://example.com:8443/a?b", "example.com"),
            ("https://example.com?b", "example.com"),
            ("https://[::1]:9/", "[::1]"),
            ("http://127.0.0.1/", "127.0.0.1"),
        ] {
            assert_eq!(EndpointUrl::stored(url).expect(url).host(), host);
        }
    }

    #[test]
    fn every_accepted_url_is_one_the_http_client_takes() {
        for good in [
            "https://api.example.com:8443/a/b?x=1&y=%20",
            "https://[2606:4700::1111]/h",
            "http://[::1]:9/",
            "https://e.com/~!$&'()*+,;=:@%/?",
        ] {
            let url = EndpointUrl::parse(good, true).expect(good);
            assert!(
                url.as_str().parse::<hyper::Uri>().is_ok(),
                "{good} is not a URI to hyper"
            );
        }
    }

    #[test]
    fn the_secret_is_random_and_marked() {
        use secrecy::ExposeSecret;
        let (a, b) = (new_signing_secret(), new_signing_secret());
        assert!(a.expose_secret().starts_with("whsec_"));
        assert_eq!(a.expose_secret().len(), 6 + 32);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    fn endpoint_at(t: OffsetDateTime) -> WebhookEndpoint {
        WebhookEndpoint {
            id: EndpointId::parse("ops").expect("id"),
            url: EndpointUrl::parse("https://example.com/hooks", false).expect("url"),
            enabled_events: EnabledEvents::All,
            secret: SecretString::from("whsec_old".to_owned()),
            previous_secret: None,
            created: t,
            updated: t,
        }
    }

    /// The `v1` values of a header, in order.
    fn v1s(header: &str) -> Vec<&str> {
        header
            .split(',')
            .filter_map(|part| part.strip_prefix("v1="))
            .collect()
    }

    fn rotated(t: OffsetDateTime, seconds: i64) -> WebhookEndpoint {
        let mut endpoint = endpoint_at(t);
        endpoint.rotate(&SecretRotation::new(
            SecretString::from("whsec_new".to_owned()),
            OldSecretLifetime::parse(seconds).expect("lifetime"),
            t,
        ));
        endpoint
    }

    #[test]
    fn while_the_old_secret_lives_each_delivery_is_signed_by_both_new_first() {
        use super::super::webhook_signature::{sign, verify};
        // Half a second into the rotation's second: the old secret's hour is
        // counted in the whole seconds deliveries are signed at.
        let t = OffsetDateTime::from_unix_timestamp(1_760_000_000).expect("t")
            + time::Duration::milliseconds(500);
        let endpoint = rotated(t, 3600);
        assert_eq!(endpoint.secret.expose_secret(), "whsec_new");
        assert_eq!(endpoint.updated, t);
        let body = br#"{"id":"evt_1"}"#;
        for at in [1_760_000_000, 1_760_003_599] {
            let header = endpoint.signature(at, body);
            let new = sign(b"whsec_new", at, body);
            let old = sign(b"whsec_old", at, body);
            assert_eq!(
                header,
                format!("t={at},v1={},v1={}", v1s(&new)[0], v1s(&old)[0])
            );
            let now = OffsetDateTime::from_unix_timestamp(at).expect("now");
            for secret in [&b"whsec_new"[..], b"whsec_old"] {
                assert_eq!(verify(secret, Some(&header), body, now), Ok(()));
            }
        }
    }

    #[test]
    fn once_the_old_secret_expires_deliveries_carry_one_signature() {
        use super::super::webhook_signature::sign;
        let t = OffsetDateTime::from_unix_timestamp(1_760_000_000).expect("t");
        let endpoint = rotated(t, 3600);
        let body = b"{}";
        for at in [1_760_003_600, 1_760_090_000] {
            assert_eq!(endpoint.signature(at, body), sign(b"whsec_new", at, body));
        }
        // Ended at once: nothing of the old secret is kept.
        let ended = rotated(t, 0);
        assert!(ended.previous_secret.is_none());
        assert_eq!(
            ended.signature(1_760_000_000, body),
            sign(b"whsec_new", 1_760_000_000, body)
        );
    }

    #[test]
    fn a_second_rotation_retires_the_first_ones_secret_and_drops_the_one_before() {
        let t = OffsetDateTime::from_unix_timestamp(1_760_000_000).expect("t");
        let mut endpoint = rotated(t, 3600);
        endpoint.rotate(&SecretRotation::new(
            SecretString::from("whsec_newest".to_owned()),
            OldSecretLifetime::parse(60).expect("lifetime"),
            t + time::Duration::seconds(10),
        ));
        assert_eq!(endpoint.secret.expose_secret(), "whsec_newest");
        let old = endpoint.previous_secret.as_ref().expect("the last one's");
        assert_eq!(old.secret.expose_secret(), "whsec_new");
        assert_eq!(old.expires.unix_timestamp(), 1_760_000_070);
        assert_eq!(v1s(&endpoint.signature(1_760_000_010, b"{}")).len(), 2);
    }

    #[test]
    fn the_old_secret_lives_from_zero_seconds_to_a_day() {
        for good in [0, 1, 3600, 86_400] {
            assert_eq!(
                OldSecretLifetime::parse(good).expect("in bounds").seconds(),
                good
            );
        }
        for bad in [-1, 86_401, i64::MIN, i64::MAX] {
            assert!(OldSecretLifetime::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(OldSecretLifetime::default().seconds(), 0);
    }

    #[test]
    fn ranks_follow_each_objects_life() {
        assert!(
            event_type_rank("payment_intent.created")
                < event_type_rank("payment_intent.requires_action")
        );
        assert!(
            event_type_rank("payment_intent.requires_action")
                < event_type_rank("payment_intent.succeeded")
        );
        assert!(event_type_rank("payment.created") < event_type_rank("payment.completed"));
        assert!(event_type_rank("refund.created") < event_type_rank("refund.succeeded"));
        assert!(event_type_rank("refund.created") < event_type_rank("refund.failed"));
        assert_eq!(event_type_rank("other"), EVENT_TYPES.len());
    }

    #[test]
    fn every_type_the_events_api_lists_can_be_subscribed_to() {
        for kind in super::super::event::EventType::ALL {
            assert!(EVENT_TYPES.contains(&kind.as_str()), "{}", kind.as_str());
        }
        assert_eq!(EVENT_TYPES.len(), super::super::event::EventType::ALL.len());
    }
}
