//! Configuration from the environment, read once per container.

use std::collections::BTreeMap;

use jsonwebtoken::Algorithm;

use crate::domain::{FeeRate, FeeSchedule};
use time::Duration;

use crate::domain::GatewayId;

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// Fixed here, never taken from a token's header.
    pub algorithm: Algorithm,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub sender_email: String,
    /// When set, secrets come from this Secrets Manager secret; otherwise from the environment.
    pub secret_arn: Option<String>,
    pub jwt: JwtConfig,
    /// A developer's machine (`make run`): `APP_ENV=local` and no `SECRET_ARN`.
    /// Only there are the short example secrets of `.env.example` accepted.
    pub local: bool,
    /// How long an intent may wait for its payer before it counts as canceled.
    pub intent_ttl: Duration,
    /// What each completed payment pays the operator (`FEE_SCHEDULE`).
    pub fees: FeeSchedule,
    /// Where Stripe's API is (a local emulator in development and tests).
    pub stripe_api_base: String,
    /// Whether the `test` gateway exists here (`ENABLE_TEST_GATEWAY=true`):
    /// it "collects" money that never moves, so only local stacks, tests and
    /// the bench switch it on.
    pub enable_test_gateway: bool,
    /// The gateway that collects shop orders and the PaymentIntents API's
    /// intents that name none (`DEFAULT_GATEWAY`).
    pub default_gateway: GatewayId,
    /// The wait before a failed webhook delivery's first retry
    /// (`WEBHOOK_RETRY_BASE_SECONDS`); each later one waits twice as long.
    pub webhook_retry_base: Duration,
}

/// Abandoned intents free their payable after a day unless configured otherwise.
pub const DEFAULT_INTENT_TTL: Duration = Duration::hours(24);

/// `INTENT_TTL`: seconds, or a number with `s`, `m`, `h` or `d`.
pub fn parse_duration(value: &str) -> Result<Duration, ConfigError> {
    let value = value.trim();
    let (digits, unit) = match value.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&value[..i], c),
        _ => (value, 's'),
    };
    let n: i64 = digits
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ConfigError(format!("INTENT_TTL '{value}' is not a positive duration")))?;
    match unit {
        's' => Ok(Duration::seconds(n)),
        'm' => Ok(Duration::minutes(n)),
        'h' => Ok(Duration::hours(n)),
        'd' => Ok(Duration::days(n)),
        _ => Err(ConfigError(format!(
            "INTENT_TTL '{value}' must end in s, m, h or d"
        ))),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RateDoc {
    percent_bp: u32,
    fixed_minor: i64,
}

/// `FEE_SCHEDULE`: `{"<payment method or gateway>": {"percent_bp": N, "fixed_minor": N}, …}`,
/// replacing the standard schedule as a whole.
pub fn parse_fee_schedule(value: &str) -> Result<FeeSchedule, ConfigError> {
    let doc: BTreeMap<String, RateDoc> = serde_json::from_str(value)
        .map_err(|e| ConfigError(format!("FEE_SCHEDULE is not a fee schedule: {e}")))?;
    let rates = doc
        .into_iter()
        .map(|(method, rate)| {
            FeeRate::new(rate.percent_bp, rate.fixed_minor)
                .map(|r| (method.clone(), r))
                .map_err(|e| ConfigError(format!("FEE_SCHEDULE {method}: {}", e.0)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FeeSchedule::new(rates))
}

pub fn parse_algorithm(name: &str) -> Result<Algorithm, ConfigError> {
    match name {
        "HS256" => Ok(Algorithm::HS256),
        "RS256" => Ok(Algorithm::RS256),
        "ES256" => Ok(Algorithm::ES256),
        other => Err(ConfigError(format!(
            "JWT_ALGORITHM {other} is not one of HS256, RS256, ES256"
        ))),
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The configuration the variables `var` looks up describe (trimmed, an
    /// empty value counting as unset).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let secret_arn = var("SECRET_ARN");
        let local =
            secret_arn.is_none() && var("APP_ENV").is_some_and(|e| e.eq_ignore_ascii_case("local"));
        let jwt = JwtConfig {
            algorithm: parse_algorithm(&var("JWT_ALGORITHM").unwrap_or_else(|| "HS256".into()))?,
            issuer: var("JWT_ISSUER"),
            audience: var("JWT_AUDIENCE"),
        };
        // A token minted for another application of the same identity
        // provider (or signed with a key shared between two of them) must
        // not pay here: only a developer's machine may leave both unset.
        if !local && (jwt.issuer.is_none() || jwt.audience.is_none()) {
            return Err(ConfigError(
                "JWT_ISSUER and JWT_AUDIENCE must both be set: every bearer token must name \
                 this deployment's issuer and audience (only a local run, APP_ENV=local \
                 without SECRET_ARN, may leave them unset)"
                    .into(),
            ));
        }
        Ok(Self {
            local,
            intent_ttl: var("INTENT_TTL")
                .map(|v| parse_duration(&v))
                .transpose()?
                .unwrap_or(DEFAULT_INTENT_TTL),
            fees: var("FEE_SCHEDULE")
                .map(|v| parse_fee_schedule(&v))
                .transpose()?
                .unwrap_or_default(),
            enable_test_gateway: parse_switch(
                "ENABLE_TEST_GATEWAY",
                var("ENABLE_TEST_GATEWAY").as_deref(),
            )?,
            default_gateway: parse_default_gateway(var("DEFAULT_GATEWAY").as_deref())?,
            webhook_retry_base: parse_retry_base(
                var("WEBHOOK_RETRY_BASE_SECONDS").as_deref(),
                local,
            )?,
            stripe_api_base: var("STRIPE_API_BASE")
                .unwrap_or_else(|| crate::adapters::stripe::DEFAULT_API_BASE.into()),
            table_name: var("TABLE_NAME").unwrap_or_else(|| "payments".into()),
            sender_email: var("SENDER_EMAIL").unwrap_or_else(|| "payments@example.com".into()),
            secret_arn,
            jwt,
        })
    }
}

/// A developer watching deliveries retry should not wait minutes.
pub const LOCAL_WEBHOOK_RETRY_BASE: Duration = Duration::seconds(1);

/// `WEBHOOK_RETRY_BASE_SECONDS`: whole seconds from 1 to a day; when unset,
/// a minute (a second on a developer's machine).
pub fn parse_retry_base(value: Option<&str>, local: bool) -> Result<Duration, ConfigError> {
    match value {
        None if local => Ok(LOCAL_WEBHOOK_RETRY_BASE),
        None => Ok(crate::domain::delivery::DEFAULT_RETRY_BASE),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|s| (1..=86_400).contains(s))
            .map(Duration::seconds)
            .ok_or_else(|| {
                ConfigError(format!(
                    "WEBHOOK_RETRY_BASE_SECONDS '{v}' is not a whole number of seconds from 1 to 86400"
                ))
            }),
    }
}

/// A deployment takes real money unless told otherwise.
pub const DEFAULT_GATEWAY: GatewayId = GatewayId::Stripe;

/// `DEFAULT_GATEWAY`: a card gateway, `stripe` when unset. Whether it is
/// configured is known only once the secrets are read; a default that is not
/// answers 503 where it is needed, never falling back to another.
pub fn parse_default_gateway(value: Option<&str>) -> Result<GatewayId, ConfigError> {
    match value.map(GatewayId::parse) {
        None => Ok(DEFAULT_GATEWAY),
        Some(Ok(GatewayId::Otp)) | Some(Err(_)) => Err(ConfigError(format!(
            "DEFAULT_GATEWAY '{}' is not a card gateway (stripe or test)",
            value.unwrap_or_default()
        ))),
        Some(Ok(gateway)) => Ok(gateway),
    }
}

/// An on/off setting: `true` or `false` (any case), off when unset. Anything
/// else stops the function rather than guessing which was meant.
pub fn parse_switch(name: &str, value: Option<&str>) -> Result<bool, ConfigError> {
    match value {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(ConfigError(format!(
            "{name} '{v}' is neither true nor false"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fee_schedule_replaces_the_standard_one() {
        use crate::domain::{Currency, Money};
        let usd =
            |minor| Money::from_minor(minor, Currency::parse("USD").expect("usd")).expect("money");
        let s = parse_fee_schedule(r#"{"Cash": {"percent_bp": 100, "fixed_minor": 5}}"#)
            .expect("schedule");
        assert_eq!(s.fee("cash", usd(10_000)), 105);
        assert_eq!(s.fee("Card", usd(10_000)), 0, "only what it names");
        for bad in [
            "",
            "[]",
            r#"{"Cash": {"percent_bp": 10001, "fixed_minor": 0}}"#,
            r#"{"Cash": {"percent_bp": 1, "fixed_minor": -1}}"#,
            r#"{"Cash": {"percent_bp": 1.5, "fixed_minor": 0}}"#,
            r#"{"Cash": {"percent": 1, "fixed_minor": 0}}"#,
        ] {
            assert!(parse_fee_schedule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_gateway_is_a_card_gateway_stripe_unless_configured() {
        assert_eq!(
            parse_default_gateway(None).expect("default"),
            GatewayId::Stripe
        );
        assert_eq!(
            parse_default_gateway(Some("test")).expect("test"),
            GatewayId::Test
        );
        for bad in ["otp", "", "Stripe", "paypal"] {
            assert!(parse_default_gateway(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_switch_is_off_unless_set_to_true() {
        assert!(!parse_switch("S", None).expect("unset"));
        assert!(parse_switch("S", Some("true")).expect("true"));
        assert!(parse_switch("S", Some("TRUE")).expect("TRUE"));
        assert!(!parse_switch("S", Some("false")).expect("false"));
        for bad in ["1", "yes", "on", "ture"] {
            assert!(parse_switch("S", Some(bad)).is_err(), "{bad}");
        }
    }

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn outside_a_local_run_tokens_must_name_an_issuer_and_an_audience() {
        let deployed = [
            ("SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:s"),
            ("JWT_ISSUER", "https://id.example.com"),
            ("JWT_AUDIENCE", "payments"),
        ];
        let config = Config::from_vars(vars(&deployed)).expect("deployed");
        assert!(!config.local);
        assert_eq!(config.jwt.issuer.as_deref(), Some("https://id.example.com"));
        assert_eq!(config.jwt.audience.as_deref(), Some("payments"));
        for missing in ["JWT_ISSUER", "JWT_AUDIENCE"] {
            let without: Vec<_> = deployed
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            let refused = Config::from_vars(vars(&without)).expect_err(missing);
            assert!(refused.0.contains(missing), "{refused}");
            // Blank counts as unset.
            let blank: Vec<_> = deployed
                .iter()
                .map(|&(k, v)| (k, if k == missing { " " } else { v }))
                .collect();
            assert!(Config::from_vars(vars(&blank)).is_err(), "{missing} blank");
            // APP_ENV=local does not make a deployment (it has SECRET_ARN) local.
            let mut claimed_local = without.clone();
            claimed_local.push(("APP_ENV", "local"));
            assert!(
                Config::from_vars(vars(&claimed_local)).is_err(),
                "{missing}"
            );
        }
        // No APP_ENV=local and no secret: still not a developer's machine.
        assert!(Config::from_vars(vars(&[])).is_err());
        let local = Config::from_vars(vars(&[("APP_ENV", "local")])).expect("local");
        assert!(local.local && local.jwt.issuer.is_none() && local.jwt.audience.is_none());
    }

    #[test]
    fn a_deployment_gets_no_test_gateway_and_stripe_by_default() {
        let config = Config::from_vars(vars(&[("APP_ENV", "local")])).expect("defaults");
        assert!(!config.enable_test_gateway);
        assert_eq!(config.default_gateway, GatewayId::Stripe);
        let switched = Config::from_vars(vars(&[
            ("APP_ENV", "local"),
            ("ENABLE_TEST_GATEWAY", "true"),
            ("DEFAULT_GATEWAY", "test"),
        ]))
        .expect("switched on");
        assert!(switched.enable_test_gateway);
        assert_eq!(switched.default_gateway, GatewayId::Test);
    }

    #[test]
    fn webhook_retries_start_after_a_minute_or_a_second_locally() {
        assert_eq!(
            parse_retry_base(None, false).expect("default"),
            Duration::seconds(60)
        );
        assert_eq!(
            parse_retry_base(None, true).expect("local"),
            Duration::seconds(1)
        );
        assert_eq!(
            parse_retry_base(Some("5"), false).expect("set"),
            Duration::seconds(5)
        );
        for bad in ["0", "-1", "1.5", "1m", "86401"] {
            assert!(parse_retry_base(Some(bad), true).is_err(), "{bad}");
        }
    }

    #[test]
    fn intent_ttl_takes_seconds_or_a_unit() {
        assert_eq!(parse_duration("90").expect("secs"), Duration::seconds(90));
        assert_eq!(parse_duration("15m").expect("mins"), Duration::minutes(15));
        assert_eq!(parse_duration("24h").expect("hours"), Duration::hours(24));
        assert_eq!(parse_duration("2d").expect("days"), Duration::days(2));
        for bad in ["", "0", "-5", "h", "5w", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
