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
    /// The gateway that collects shop orders (`SHOP_GATEWAY`).
    pub shop_gateway: GatewayId,
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

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
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
        let secret_arn = var("SECRET_ARN");
        let local =
            secret_arn.is_none() && var("APP_ENV").is_some_and(|e| e.eq_ignore_ascii_case("local"));
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
            shop_gateway: parse_shop_gateway(var("SHOP_GATEWAY").as_deref())?,
            webhook_retry_base: parse_retry_base(
                var("WEBHOOK_RETRY_BASE_SECONDS").as_deref(),
                local,
            )?,
            stripe_api_base: var("STRIPE_API_BASE")
                .unwrap_or_else(|| crate::adapters::stripe::DEFAULT_API_BASE.into()),
            table_name: var("TABLE_NAME").unwrap_or_else(|| "payments".into()),
            sender_email: var("SENDER_EMAIL").unwrap_or_else(|| "payments@example.com".into()),
            secret_arn,
            jwt: JwtConfig {
                algorithm: parse_algorithm(
                    &var("JWT_ALGORITHM").unwrap_or_else(|| "HS256".into()),
                )?,
                issuer: var("JWT_ISSUER"),
                audience: var("JWT_AUDIENCE"),
            },
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

/// `SHOP_GATEWAY`: a card gateway, `test` when unset.
pub fn parse_shop_gateway(value: Option<&str>) -> Result<GatewayId, ConfigError> {
    match value.map(GatewayId::parse) {
        None => Ok(GatewayId::Test),
        Some(Ok(GatewayId::Otp)) | Some(Err(_)) => Err(ConfigError(format!(
            "SHOP_GATEWAY '{}' is not a card gateway (test or stripe)",
            value.unwrap_or_default()
        ))),
        Some(Ok(gateway)) => Ok(gateway),
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
    fn shop_orders_go_to_a_card_gateway_test_unless_configured() {
        assert_eq!(parse_shop_gateway(None).expect("default"), GatewayId::Test);
        assert_eq!(
            parse_shop_gateway(Some("stripe")).expect("stripe"),
            GatewayId::Stripe
        );
        for bad in ["otp", "", "Stripe", "paypal"] {
            assert!(parse_shop_gateway(Some(bad)).is_err(), "{bad}");
        }
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
