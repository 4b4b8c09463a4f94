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
}
