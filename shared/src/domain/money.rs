//! Money as integer minor units of an ISO 4217 currency. Never a float.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// Largest amount accepted, in major units of any currency.
pub const MAX_MAJOR_UNITS: i64 = 99_999_999;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency code '{0}'")]
    UnknownCurrency(String),
    #[error("amount is not a decimal number")]
    NotANumber,
    #[error("amount must be greater than zero")]
    NotPositive,
    #[error("{currency} allows at most {exponent} decimal places")]
    TooManyDecimals {
        currency: &'static str,
        exponent: u32,
    },
    #[error("amount exceeds the maximum of 99999999 {0}")]
    TooLarge(&'static str),
    #[error("currency {expected} expected, got {got}")]
    CurrencyMismatch {
        expected: &'static str,
        got: &'static str,
    },
}

/// An ISO 4217 currency that has a minor-unit exponent (so not XAU, XXX, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    exponent: u32,
}

impl Currency {
    /// Accepts any letter case ("usd", "USD"); stores the canonical upper-case code.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let upper = code.trim().to_ascii_uppercase();
        let iso = iso_currency::Currency::from_code(&upper)
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))?;
        let exponent = iso
            .exponent()
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))?;
        Ok(Self {
            code: iso.code(),
            exponent: u32::from(exponent),
        })
    }

    /// Every currency `parse` accepts, by code, in alphabetical order.
    pub fn all() -> Vec<Self> {
        let letters = b'A'..=b'Z';
        letters
            .clone()
            .flat_map(|a| letters.clone().map(move |b| (a, b)))
            .flat_map(|(a, b)| (b'A'..=b'Z').map(move |c| [a, b, c]))
            .filter_map(|code| {
                std::str::from_utf8(&code)
                    .ok()
                    .and_then(|c| Self::parse(c).ok())
            })
            .collect()
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Number of minor-unit digits: JPY 0, USD 2, KWD 3.
    pub fn exponent(&self) -> u32 {
        self.exponent
    }

    fn max_minor(&self) -> i64 {
        MAX_MAJOR_UNITS * 10_i64.pow(self.exponent)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

/// An amount as a caller wrote it, before the currency it is in is known:
/// digits with at most one decimal point between them, no sign, no exponent.
/// Whether it is money depends on that currency ([`Money::from_stated`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatedAmount {
    /// `None` when it has more digits than a decimal holds: beyond the
    /// maximum of any currency.
    value: Option<Decimal>,
}

impl StatedAmount {
    pub fn parse(amount: &str) -> Result<Self, MoneyError> {
        let text = amount.trim();
        let plain = !text.is_empty()
            && text.chars().all(|c| c.is_ascii_digit() || c == '.')
            && text.matches('.').count() <= 1
            && !text.starts_with('.')
            && !text.ends_with('.');
        if plain {
            Ok(Self {
                value: Decimal::from_str_exact(text).ok(),
            })
        } else if text.starts_with('-') && Decimal::from_str(text).is_ok() {
            Err(MoneyError::NotPositive)
        } else {
            Err(MoneyError::NotANumber)
        }
    }
}

impl FromStr for StatedAmount {
    type Err = MoneyError;

    fn from_str(amount: &str) -> Result<Self, MoneyError> {
        Self::parse(amount)
    }
}

/// A positive amount, at most [`MAX_MAJOR_UNITS`], in whole minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    pub fn from_minor(minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        if minor <= 0 {
            return Err(MoneyError::NotPositive);
        }
        if minor > currency.max_minor() {
            return Err(MoneyError::TooLarge(currency.code()));
        }
        Ok(Self { minor, currency })
    }

    /// Parses a decimal string in major units ("112.00", "112", "0.5").
    /// Exponent notation, signs and more decimals than the currency has are refused.
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, MoneyError> {
        Self::from_stated(&StatedAmount::parse(amount)?, currency)
    }

    /// The stated amount in `currency`: refused when it has more decimals than
    /// the currency, is zero, or is over the maximum.
    pub fn from_stated(stated: &StatedAmount, currency: Currency) -> Result<Self, MoneyError> {
        let value = stated.value.ok_or(MoneyError::TooLarge(currency.code()))?;
        Self::from_decimal(value, currency)
    }

    pub fn from_decimal(value: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        if value <= Decimal::ZERO {
            return Err(MoneyError::NotPositive);
        }
        let value = value.normalize();
        if value.scale() > currency.exponent() {
            return Err(MoneyError::TooManyDecimals {
                currency: currency.code(),
                exponent: currency.exponent(),
            });
        }
        if value > Decimal::from(MAX_MAJOR_UNITS) {
            return Err(MoneyError::TooLarge(currency.code()));
        }
        let minor = value
            .checked_mul(Decimal::from(10_i64.pow(currency.exponent())))
            .and_then(|m| i64::try_from(m).ok())
            .ok_or(MoneyError::TooLarge(currency.code()))?;
        Self::from_minor(minor, currency)
    }

    pub fn minor(&self) -> i64 {
        self.minor
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount in major units with exactly the currency's decimals (112.00, 500, 1.250).
    pub fn to_decimal(&self) -> Decimal {
        Decimal::new(self.minor, self.currency.exponent())
    }

    pub fn ensure_currency(&self, currency: Currency) -> Result<(), MoneyError> {
        if self.currency == currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                expected: currency.code(),
                got: self.currency.code(),
            })
        }
    }
}

impl fmt::Display for Money {
    /// "112.00": the decimal string that the OTP payment intents and shop APIs show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_decimal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_parseable_currency_once() {
        let all = Currency::all();
        let codes: Vec<&str> = all.iter().map(Currency::code).collect();
        assert!(codes.contains(&"USD") && codes.contains(&"JPY") && codes.contains(&"KWD"));
        assert!(!codes.contains(&"XXX"), "no currency without minor units");
        assert!(
            codes.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
    }

    fn cur(code: &str) -> Currency {
        Currency::parse(code).expect("known currency")
    }

    #[test]
    fn exponents_follow_iso_4217() {
        assert_eq!(cur("JPY").exponent(), 0);
        assert_eq!(cur("usd").exponent(), 2);
        assert_eq!(cur("KWD").exponent(), 3);
        assert_eq!(cur("vnd").code(), "VND");
    }

    #[test]
    fn unknown_and_non_monetary_currencies_are_refused() {
        assert!(matches!(
            Currency::parse("ABC"),
            Err(MoneyError::UnknownCurrency(_))
        ));
        assert!(matches!(
            Currency::parse(""),
            Err(MoneyError::UnknownCurrency(_))
        ));
        assert!(matches!(
            Currency::parse("XAU"),
            Err(MoneyError::UnknownCurrency(_))
        ));
    }

    #[test]
    fn parses_and_renders_with_currency_decimals() {
        let m = Money::parse("112", cur("USD")).expect("valid");
        assert_eq!(m.minor(), 11200);
        assert_eq!(m.to_string(), "112.00");
        assert_eq!(
            Money::parse("0.5", cur("USD")).expect("valid").to_string(),
            "0.50"
        );
        assert_eq!(
            Money::parse("1500", cur("JPY")).expect("valid").to_string(),
            "1500"
        );
        assert_eq!(
            Money::parse("1.25", cur("KWD")).expect("valid").to_string(),
            "1.250"
        );
        assert_eq!(
            Money::parse("1.250", cur("KWD")).expect("valid").minor(),
            1250
        );
        // Trailing zeros beyond the exponent do not change the value.
        assert_eq!(
            Money::parse("10.000", cur("USD")).expect("valid").minor(),
            1000
        );
    }

    #[test]
    fn refuses_more_decimals_than_the_currency_has() {
        assert!(matches!(
            Money::parse("10.001", cur("USD")),
            Err(MoneyError::TooManyDecimals { exponent: 2, .. })
        ));
        assert!(matches!(
            Money::parse("10.5", cur("JPY")),
            Err(MoneyError::TooManyDecimals { exponent: 0, .. })
        ));
        assert!(Money::parse("0.0001", cur("KWD")).is_err());
    }

    #[test]
    fn refuses_zero_negative_and_garbage() {
        assert_eq!(Money::parse("0", cur("USD")), Err(MoneyError::NotPositive));
        assert_eq!(
            Money::parse("0.00", cur("USD")),
            Err(MoneyError::NotPositive)
        );
        assert_eq!(Money::parse("-1", cur("USD")), Err(MoneyError::NotPositive));
        for bad in [
            "", "abc", "1e5", "1.2.3", ".5", "5.", "+5", "NaN", "1,00", " ",
        ] {
            assert_eq!(
                Money::parse(bad, cur("USD")),
                Err(MoneyError::NotANumber),
                "{bad}"
            );
        }
        assert_eq!(
            Money::from_minor(0, cur("USD")),
            Err(MoneyError::NotPositive)
        );
        assert_eq!(
            Money::from_minor(-5, cur("USD")),
            Err(MoneyError::NotPositive)
        );
    }

    #[test]
    fn enforces_the_maximum_in_major_units() {
        assert_eq!(
            Money::parse("99999999", cur("USD")).expect("max").minor(),
            9_999_999_900
        );
        assert_eq!(
            Money::parse("99999999.99", cur("USD")),
            Err(MoneyError::TooLarge("USD"))
        );
        assert_eq!(
            Money::parse("100000000", cur("JPY")),
            Err(MoneyError::TooLarge("JPY"))
        );
        assert_eq!(
            Money::parse("99999999999999999999999999999", cur("USD")),
            Err(MoneyError::TooLarge("USD"))
        );
        assert!(Money::from_minor(99_999_999_000, cur("KWD")).is_ok());
        assert!(Money::from_minor(99_999_999_001, cur("KWD")).is_err());
    }

    #[test]
    fn a_stated_amount_is_refused_only_for_its_text() {
        for bad in [
            "", "abc", "1e5", "1.2.3", ".5", "5.", "+5", "NaN", "1,00", " ",
        ] {
            assert_eq!(
                StatedAmount::parse(bad),
                Err(MoneyError::NotANumber),
                "{bad}"
            );
        }
        assert_eq!(StatedAmount::parse("-1"), Err(MoneyError::NotPositive));
        assert_eq!(StatedAmount::parse("-0.5"), Err(MoneyError::NotPositive));
        // Zero, too many decimals and too much are the currency's to refuse.
        for later in ["0", "10.001", "100000000", "99999999999999999999999999999"] {
            assert!(StatedAmount::parse(later).is_ok(), "{later}");
        }
        assert_eq!(
            " 12.5 ".parse::<StatedAmount>(),
            StatedAmount::parse("12.5")
        );
    }

    #[test]
    fn a_stated_amount_becomes_money_in_a_currency() {
        let stated = |text: &str| StatedAmount::parse(text).expect("stated");
        assert_eq!(
            Money::from_stated(&stated("1.5"), cur("KWD")).map(|m| m.minor()),
            Ok(1500)
        );
        assert_eq!(
            Money::from_stated(&stated("10.5"), cur("JPY")),
            Err(MoneyError::TooManyDecimals {
                currency: "JPY",
                exponent: 0
            })
        );
        assert_eq!(
            Money::from_stated(&stated("0"), cur("USD")),
            Err(MoneyError::NotPositive)
        );
        assert_eq!(
            Money::from_stated(&stated("99999999999999999999999999999"), cur("EUR")),
            Err(MoneyError::TooLarge("EUR"))
        );
    }

    #[test]
    fn currency_mismatch_is_reported() {
        let m = Money::parse("1", cur("USD")).expect("valid");
        assert!(m.ensure_currency(cur("USD")).is_ok());
        assert!(matches!(
            m.ensure_currency(cur("EUR")),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
    }
}
