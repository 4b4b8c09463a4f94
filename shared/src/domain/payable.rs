//! What someone owes. Registered by the operator's backend (surface F).

use time::OffsetDateTime;

use super::{Email, IntentId, Invalid, Money, PayableRef, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payer {
    pub user_id: UserId,
    pub email: Email,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayableStatus {
    Open,
    Paid,
    Canceled,
}

impl PayableStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Paid => "paid",
            Self::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s {
            "open" => Ok(Self::Open),
            "paid" => Ok(Self::Paid),
            "canceled" => Ok(Self::Canceled),
            _ => Err(Invalid::new("status must be open, paid or canceled")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItem {
    pub name: String,
    /// Unit price.
    pub amount: Money,
    pub quantity: u32,
    pub description: Option<String>,
}

impl LineItem {
    pub fn new(
        name: &str,
        amount: Money,
        quantity: u32,
        description: Option<String>,
    ) -> Result<Self, Invalid> {
        let name = name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(Invalid::new("line item name must be 1-200 characters"));
        }
        if quantity == 0 || quantity > 10_000 {
            return Err(Invalid::new(
                "line item quantity must be between 1 and 10000",
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            amount,
            quantity,
            description,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payable {
    pub payable: PayableRef,
    pub owner: Payer,
    pub amount: Money,
    pub number: Option<String>,
    pub description: Option<String>,
    pub line_items: Vec<LineItem>,
    pub business_id: Option<String>,
    pub status: PayableStatus,
    /// The one intent that may still collect this payable, if any.
    pub open_intent_id: Option<IntentId>,
    /// Sum of its PENDING and COMPLETED payments, in minor units.
    pub allocated_minor: i64,
    /// Sum of its COMPLETED payments, in minor units.
    pub paid_minor: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Payable {
    /// Checks that line items are in the payable's currency.
    pub fn validate_line_items(amount: &Money, items: &[LineItem]) -> Result<(), Invalid> {
        for item in items {
            item.amount
                .ensure_currency(amount.currency())
                .map_err(|e| Invalid::new(format!("line item '{}': {e}", item.name)))?;
        }
        Ok(())
    }

    pub fn is_owned_by(&self, user: &UserId) -> bool {
        &self.owner.user_id == user
    }

    /// What no payment holds yet, in minor units.
    pub fn unallocated_minor(&self) -> i64 {
        self.amount.minor() - self.allocated_minor
    }

    /// Whether a new payment of `amount` fits: same currency, within what is unallocated.
    pub fn accepts(&self, amount: &Money) -> Result<(), Invalid> {
        amount
            .ensure_currency(self.amount.currency())
            .map_err(|e| Invalid::new(e.to_string()))?;
        if amount.minor() > self.unallocated_minor() {
            let left = Money::from_minor(self.unallocated_minor(), self.amount.currency())
                .map(|m| format!("{m} {}", m.currency()))
                .unwrap_or_else(|_| "nothing".into());
            return Err(Invalid::new(format!(
                "amount exceeds what is left to pay on this order ({left})"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Currency, PayableId, PayableKind};

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::parse("USD").expect("usd")).expect("valid")
    }

    fn order(total: i64, allocated: i64) -> Payable {
        let now = OffsetDateTime::UNIX_EPOCH;
        Payable {
            payable: PayableRef {
                kind: PayableKind::Order,
                id: PayableId::parse("o1").expect("id"),
            },
            owner: Payer {
                user_id: UserId::parse("u").expect("id"),
                email: Email::parse("u@example.com").expect("email"),
            },
            amount: usd(total),
            number: None,
            description: None,
            line_items: vec![],
            business_id: None,
            status: PayableStatus::Open,
            open_intent_id: None,
            allocated_minor: allocated,
            paid_minor: 0,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn accepts_payments_up_to_what_is_unallocated() {
        assert!(order(10_000, 0).accepts(&usd(10_000)).is_ok());
        assert!(order(10_000, 4_000).accepts(&usd(6_000)).is_ok());
        let err = order(10_000, 4_000).accepts(&usd(6_001)).expect_err("over");
        assert_eq!(
            err.0,
            "amount exceeds what is left to pay on this order (60.00 USD)"
        );
        let eur = Money::from_minor(100, Currency::parse("EUR").expect("eur")).expect("valid");
        assert!(order(10_000, 0).accepts(&eur).is_err());
    }
}
