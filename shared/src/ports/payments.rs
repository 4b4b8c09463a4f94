//! Payments: the money records.

use super::{Page, PageRequest, StoreError};
use crate::domain::{Payable, PayableRef, Payment, PaymentId, UserId};

/// What happened to an attempt to record a payment against its payable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    Recorded,
    /// A payment with this id exists already: an earlier run under the same
    /// Idempotency-Key recorded it. Nothing was written.
    AlreadyRecorded,
    /// The payable no longer matches what was read (paid, re-priced, filled up by
    /// another payment, or held by an intent): re-read and decide.
    PayableChanged,
}

#[async_trait::async_trait]
pub trait PaymentStore: Send + Sync {
    async fn get_payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError>;

    /// Stores a payment. A PENDING or COMPLETED one also adds its amount to the
    /// payable's allocated (and, if COMPLETED, paid) sums, all or nothing, only
    /// while the payable is open, priced as `payable`, held by no intent, and the
    /// allocated sum stays within its total; a PENDING one also counts itself
    /// among the payable's pending payments, only while fewer than
    /// [`MAX_PENDING_PAYMENTS`](crate::domain::MAX_PENDING_PAYMENTS) are; the
    /// COMPLETED payment that completes the total marks the payable paid in
    /// that same write. Any other payment only needs the payable to exist.
    /// Every payment also needs the payable to still belong to the business
    /// `payable` names, the one the payment carries. The payment's events (and
    /// `payable.paid` when it pays the payable, which it then does only while
    /// the payable is as read) are stored in the same write.
    async fn record_payment(
        &self,
        payment: &Payment,
        payable: &Payable,
    ) -> Result<RecordOutcome, StoreError>;

    /// The user's payments, newest first, skipping `offset`.
    async fn list_payments_by_user(
        &self,
        user: &UserId,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Payment>, StoreError>;

    /// The payable's payments, newest first.
    async fn list_payments_by_payable(
        &self,
        payable: &PayableRef,
        page: &PageRequest,
    ) -> Result<Page<Payment>, StoreError>;
}
