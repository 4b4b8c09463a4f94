//! What the service's operator keeps of each completed payment: a fee fixed
//! from the fee schedule when the payment completes, and the net settled.

use std::collections::BTreeMap;

use super::{Invalid, Money};

/// One method's price: basis points of the amount plus a fixed part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeRate {
    /// Hundredths of a percent: 290 is 2.9 %.
    pub percent_bp: u32,
    /// In minor units of the payment's currency.
    pub fixed_minor: i64,
}

impl FeeRate {
    pub fn new(percent_bp: u32, fixed_minor: i64) -> Result<Self, Invalid> {
        if percent_bp > 10_000 {
            return Err(Invalid::new("percent_bp must be between 0 and 10000"));
        }
        if fixed_minor < 0 {
            return Err(Invalid::new("fixed_minor must not be negative"));
        }
        Ok(Self {
            percent_bp,
            fixed_minor,
        })
    }

    /// The fee on `amount`, in its minor units: the percentage rounded half
    /// to even, plus the fixed part, never more than the amount itself.
    pub fn fee_on(&self, amount: Money) -> i64 {
        let scaled = i128::from(amount.minor()) * i128::from(self.percent_bp);
        let (quotient, remainder) = (scaled / 10_000, scaled % 10_000);
        let rounded = match (remainder * 2).cmp(&10_000) {
            std::cmp::Ordering::Greater => quotient + 1,
            std::cmp::Ordering::Equal if quotient % 2 == 1 => quotient + 1,
            _ => quotient,
        };
        let fee = rounded.saturating_add(i128::from(self.fixed_minor));
        i64::try_from(fee.min(i128::from(amount.minor()))).unwrap_or(amount.minor())
    }
}

/// Payment method (or gateway) name → rate; names match case-insensitively,
/// and a method the schedule does not name costs nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeSchedule {
    rates: BTreeMap<String, FeeRate>,
}

impl FeeSchedule {
    pub fn new(rates: impl IntoIterator<Item = (String, FeeRate)>) -> Self {
        Self {
            rates: rates
                .into_iter()
                .map(|(name, rate)| (name.to_lowercase(), rate))
                .collect(),
        }
    }

    /// Cards 2.9 % + 0.30, bank transfers 2 %, everything else free.
    pub fn standard() -> Self {
        Self::new([
            (
                "card".to_owned(),
                FeeRate {
                    percent_bp: 290,
                    fixed_minor: 30,
                },
            ),
            (
                "Bank Transfer".to_owned(),
                FeeRate {
                    percent_bp: 200,
                    fixed_minor: 0,
                },
            ),
        ])
    }

    /// The fee on `amount` paid by `method`.
    pub fn fee(&self, method: &str, amount: Money) -> i64 {
        self.rates
            .get(&method.to_lowercase())
            .map_or(0, |rate| rate.fee_on(amount))
    }
}

impl Default for FeeSchedule {
    fn default() -> Self {
        Self::standard()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;

    fn money(minor: i64, code: &str) -> Money {
        Money::from_minor(minor, Currency::parse(code).expect("currency")).expect("money")
    }

    #[test]
    fn the_standard_schedule_prices_cards_and_bank_transfers() {
        let s = FeeSchedule::standard();
        // 5000.00 USD by bank transfer: 2 % is 100.00.
        assert_eq!(s.fee("Bank Transfer", money(500_000, "USD")), 10_000);
        // 50.00 USD by card: 1.45 + 0.30.
        assert_eq!(s.fee("Card", money(5_000, "USD")), 175);
        assert_eq!(s.fee("card", money(5_000, "USD")), 175, "any case");
        for free in ["Cash", "Bkash", "Nagad", "Rocket", "email_otp"] {
            assert_eq!(s.fee(free, money(5_000, "USD")), 0, "{free}");
        }
    }

    #[test]
    fn percentages_round_half_to_even_in_minor_units() {
        let two_percent = FeeRate::new(200, 0).expect("rate");
        // 2 % of 12.25 is 24.5 cents: to the even 24; of 12.75, 25.5: to 26.
        for (amount, fee) in [(1_250, 25), (1_225, 24), (1_275, 26), (1_237, 25)] {
            assert_eq!(two_percent.fee_on(money(amount, "USD")), fee, "{amount}");
        }
        let half = FeeRate::new(50, 0).expect("rate");
        assert_eq!(half.fee_on(money(100, "USD")), 0, "0.5 rounds to even 0");
        assert_eq!(half.fee_on(money(300, "USD")), 2, "1.5 rounds to even 2");
        assert_eq!(half.fee_on(money(500, "USD")), 2, "2.5 rounds to even 2");
        // Currencies without minor units round to whole units.
        assert_eq!(
            FeeRate::new(290, 30)
                .expect("rate")
                .fee_on(money(1_000, "JPY")),
            59
        );
    }

    #[test]
    fn a_fee_never_exceeds_the_amount() {
        let steep = FeeRate::new(10_000, 500).expect("rate");
        assert_eq!(steep.fee_on(money(100, "USD")), 100);
        assert!(FeeRate::new(10_001, 0).is_err());
        assert!(FeeRate::new(0, -1).is_err());
    }
}
