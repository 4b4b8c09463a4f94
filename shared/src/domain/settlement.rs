//! What a business is owed for its payments: each completed payment credits
//! the business's settlement account with its amount less its fee.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{BusinessId, Payment, PaymentStatus};

/// The settlement account of `business`: the same id on every run, in every
/// deployment, so partners can reconcile against it.
pub fn settlement_account(business: BusinessId) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("payment-service:business:{business}").as_bytes(),
    )
}

/// Sums of payments in minor units of their one currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// What completed payments brought in.
    pub paid_minor: i64,
    /// What pending payments are still collecting.
    pub collecting_minor: i64,
    pub fee_minor: i64,
    /// Paid less fees: what reaches the business.
    pub net_minor: i64,
}

impl Totals {
    /// A payment's own totals. Refunds take back from what was paid and from
    /// what reaches the business; the fee was spent collecting the money and
    /// stays spent (as card processors keep theirs), so net + fee = paid holds.
    pub fn of(payment: &Payment) -> Self {
        match payment.status {
            PaymentStatus::Completed | PaymentStatus::Refunded => Self {
                paid_minor: payment.amount.minor() - payment.refunded_minor,
                collecting_minor: 0,
                fee_minor: payment.fee_minor,
                net_minor: payment.net_minor() - payment.refunded_minor,
            },
            PaymentStatus::Pending => Self {
                collecting_minor: payment.amount.minor(),
                ..Self::default()
            },
            // Failed and cancelled payments moved no money.
            PaymentStatus::Failed | PaymentStatus::Cancelled => Self::default(),
        }
    }

    /// What the payment credited to its business when it completed: its
    /// refunds are debits of their own, never a smaller credit.
    pub fn credit(payment: &Payment) -> Self {
        let mut totals = Self::of(payment);
        if matches!(
            payment.status,
            PaymentStatus::Completed | PaymentStatus::Refunded
        ) {
            totals.paid_minor += payment.refunded_minor;
            totals.net_minor += payment.refunded_minor;
        }
        totals
    }

    pub fn sum<'a>(payments: impl IntoIterator<Item = &'a Payment>) -> Self {
        payments
            .into_iter()
            .map(Self::of)
            .fold(Self::default(), |acc, t| Self {
                paid_minor: acc.paid_minor + t.paid_minor,
                collecting_minor: acc.collecting_minor + t.collecting_minor,
                fee_minor: acc.fee_minor + t.fee_minor,
                net_minor: acc.net_minor + t.net_minor,
            })
    }
}

impl Payment {
    /// The payment's reference for people: `PMT` and 12 uppercase letters or
    /// digits, the same every time it is shown.
    pub fn reference(&self) -> String {
        const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let digest = Sha256::digest(format!("payment-reference:{}", self.id).as_bytes());
        let code: String = digest
            .iter()
            .take(12)
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
            .collect();
        format!("PMT{code}")
    }

    /// The id of the credit this payment makes to its business's settlement account.
    pub fn credit_id(&self) -> Uuid {
        Uuid::new_v5(
            &Uuid::NAMESPACE_URL,
            format!("payment-service:payment:{}:credit", self.id).as_bytes(),
        )
    }
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::domain::payable::sample_payable;
    use crate::domain::{Currency, FeeSchedule, Money, Payable, PayableKind, PaymentMethod};

    fn payment(minor: i64, method: PaymentMethod, status: PaymentStatus) -> Payment {
        let amount = Money::from_minor(minor, Currency::parse("USD").expect("usd")).expect("money");
        let at = OffsetDateTime::UNIX_EPOCH;
        let invoice = Payable {
            business_id: Some(BusinessId::new(123456)),
            ..sample_payable(PayableKind::Invoice, "inv-1", amount, at)
        };
        Payment::against(
            &invoice,
            amount,
            method,
            status,
            &FeeSchedule::standard(),
            at,
        )
    }

    #[test]
    fn the_settlement_account_is_the_uuid_v5_of_the_business() {
        assert_eq!(
            settlement_account(BusinessId::new(123456)),
            Uuid::new_v5(&Uuid::NAMESPACE_URL, b"payment-service:business:123456")
        );
        assert_eq!(
            settlement_account(BusinessId::new(123456)).get_version_num(),
            5
        );
        assert_ne!(
            settlement_account(BusinessId::new(123456)),
            settlement_account(BusinessId::new(123457))
        );
    }

    #[test]
    fn a_completed_bank_transfer_of_5000_pays_100_in_fees() {
        let t = Totals::of(&payment(
            500_000,
            PaymentMethod::BankTransfer,
            PaymentStatus::Completed,
        ));
        assert_eq!(
            t,
            Totals {
                paid_minor: 500_000,
                collecting_minor: 0,
                fee_minor: 10_000,
                net_minor: 490_000,
            }
        );
    }

    #[test]
    fn pending_payments_are_collecting_and_failed_ones_count_for_nothing() {
        let payments = [
            payment(
                500_000,
                PaymentMethod::BankTransfer,
                PaymentStatus::Completed,
            ),
            payment(10_000, PaymentMethod::Card, PaymentStatus::Completed),
            payment(20_000, PaymentMethod::Cash, PaymentStatus::Pending),
            payment(30_000, PaymentMethod::Card, PaymentStatus::Failed),
            payment(40_000, PaymentMethod::Card, PaymentStatus::Cancelled),
        ];
        let t = Totals::sum(&payments);
        // Card: 2.9 % of 100.00 + 0.30 = 3.20.
        assert_eq!(t.paid_minor, 510_000);
        assert_eq!(t.collecting_minor, 20_000);
        assert_eq!(t.fee_minor, 10_000 + 320);
        assert_eq!(t.net_minor + t.fee_minor, t.paid_minor);
    }

    #[test]
    fn refunds_take_back_from_paid_and_net_never_from_the_fee() {
        use crate::domain::{RefundEffect, RefundStatus};
        let mut p = payment(
            500_000,
            PaymentMethod::BankTransfer,
            PaymentStatus::Completed,
        );
        p.apply_refund(RefundEffect::of(None, RefundStatus::Succeeded, 100_000));
        let t = Totals::of(&p);
        assert_eq!(
            (t.paid_minor, t.fee_minor, t.net_minor),
            (400_000, 10_000, 390_000)
        );
        p.apply_refund(RefundEffect::of(None, RefundStatus::Succeeded, 400_000));
        assert_eq!(p.status, PaymentStatus::Refunded);
        let t = Totals::of(&p);
        assert_eq!(
            (t.paid_minor, t.fee_minor, t.net_minor),
            (0, 10_000, -10_000)
        );
        assert_eq!(t.net_minor + t.fee_minor, t.paid_minor);
    }

    #[test]
    fn references_and_credit_ids_are_stable_per_payment() {
        let p = payment(100, PaymentMethod::Cash, PaymentStatus::Completed);
        let code = p.reference();
        assert_eq!(code.len(), 15);
        assert!(code.starts_with("PMT"));
        assert!(
            code[3..]
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
        assert_eq!(p.reference(), code);
        assert_eq!(p.clone().reference(), code);
        assert_eq!(p.credit_id(), p.clone().credit_id());
        let other = payment(100, PaymentMethod::Cash, PaymentStatus::Completed);
        assert_ne!(other.reference(), code);
        assert_ne!(other.credit_id(), p.credit_id());
    }
}
