//! Payables: what someone owes, and the sums its payments hold.

use time::OffsetDateTime;

use super::StoreError;
use crate::domain::{IntentId, OtpPolicy, Payable, PayableRef, Payment};

/// What happened to a payable upsert.
#[derive(Debug, Clone)]
pub enum PayableWrite {
    Written {
        payable: Box<Payable>,
        created: bool,
    },
    /// Paid payables are final.
    AlreadyPaid,
    /// The amount, payer and business cannot change under an intent that is
    /// collecting it.
    OpenIntentAmountChange(IntentId),
    /// Payments already hold this much (minor units): the total cannot drop below it
    /// nor change currency.
    PaymentsRecorded(i64),
    /// Intents or payments were made for it: its owner cannot change.
    OwnerFixed,
}

#[async_trait::async_trait]
pub trait PayableStore: Send + Sync {
    /// Creates or replaces the payable's own fields. Status, open intent, payment
    /// sums and creation time are the service's and survive a replace. Refused
    /// when paid, when an open intent would see its amount, currency, payer or
    /// business change, when recorded payments would no longer fit the total, or when
    /// the owner would change after any intent or payment was made for it.
    async fn upsert_payable(
        &self,
        payable: &Payable,
        now: OffsetDateTime,
    ) -> Result<PayableWrite, StoreError>;

    async fn get_payable(&self, payable: &PayableRef) -> Result<Option<Payable>, StoreError>;

    /// Lets `intent` send codes for `payable` under the per-payable cap of
    /// `policy` (an intent already admitted always is); false when the cap is
    /// reached. `Conflict` when a concurrent admission changed the log.
    async fn admit_otp_intent(
        &self,
        payable: &PayableRef,
        intent: &IntentId,
        now: OffsetDateTime,
        policy: &OtpPolicy,
    ) -> Result<bool, StoreError>;

    /// Settling is the payable's decision, so this write spans its payments too:
    /// marks `payable` paid, completes its pending payments (none is pending
    /// after) and stores `extra`, all or nothing; `Conflict` if the payable or a payment changed since read.
    /// `pending` are given as they complete (COMPLETED, their fee fixed); each
    /// must still be PENDING in storage. Each payment's events and `payable.paid`
    /// are stored in the same write, the payable shown as read: `Conflict` too
    /// if anything changed it since.
    async fn complete_payable(
        &self,
        payable: &Payable,
        pending: &[Payment],
        extra: Option<&Payment>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}
