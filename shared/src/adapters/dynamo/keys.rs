//! Where each aggregate lives in the table: its key, and its sort key in the
//! by-user and by-payable indexes.

use crate::domain::{IntentId, PayableRef, PaymentId, UserId};

pub const INTENT_SK: &str = "INTENT";
pub const PAYABLE_SK: &str = "PAYABLE";
/// Beside its payable: the intents that had codes sent for it lately.
pub const OTP_SENDERS_SK: &str = "OTP_SENDERS";
pub const PAYMENT_SK: &str = "PAYMENT";

pub fn intent_pk(id: &IntentId) -> String {
    format!("INTENT#{id}")
}

pub fn payable_pk(p: &PayableRef) -> String {
    format!("PAYABLE#{}#{}", p.kind, p.id)
}

pub fn payment_pk(id: &PaymentId) -> String {
    format!("PAYMENT#{id}")
}

pub fn user_partition(user: &UserId) -> String {
    format!("USER#{user}")
}

/// Sort-key prefixes inside the by-user and by-payable indexes.
pub const INTENT_PREFIX: &str = "INTENT#";
pub const PAYMENT_PREFIX: &str = "PAYMENT#";
