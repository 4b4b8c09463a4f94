use time::OffsetDateTime;

use crate::domain::{
    IntentId, IntentStatus, Payable, PayableRef, Payment, PaymentId, PaymentIntent, UserId,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost: someone changed the item first.
    #[error("the item changed concurrently")]
    Conflict,
    #[error("invalid pagination cursor")]
    BadCursor,
    #[error("stored item is corrupt: {0}")]
    Corrupt(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// The state a write expects to replace: both must still hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub status: IntentStatus,
    pub version: u64,
}

impl Expected {
    pub fn of(intent: &PaymentIntent) -> Self {
        Self {
            status: intent.status,
            version: intent.version,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque; pass back to get the next page.
    pub next: Option<String>,
}

/// What happened to a payable upsert.
#[derive(Debug, Clone)]
pub enum PayableWrite {
    Written {
        payable: Box<Payable>,
        created: bool,
    },
    /// Paid payables are final.
    AlreadyPaid,
    /// The amount cannot change under an intent that is collecting it.
    OpenIntentAmountChange(IntentId),
    /// Payments already hold this much (minor units): the total cannot drop below it
    /// nor change currency.
    PaymentsRecorded(i64),
}

/// What happened to an attempt to record a payment against its payable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    Recorded,
    /// The payable no longer matches what was read (paid, re-priced, filled up by
    /// another payment, or held by an intent): re-read and decide.
    PayableChanged,
}

/// What happened to an attempt to open an intent for a payable.
#[derive(Debug, Clone)]
pub enum OpenOutcome {
    Created,
    /// Another intent holds the payable; callers return that one.
    PayableHasOpenIntent(IntentId),
    /// The payable changed (paid, canceled or re-priced) since it was read.
    PayableChanged,
}

#[async_trait::async_trait]
pub trait Store: Send + Sync {
    async fn upsert_payable(
        &self,
        payable: &Payable,
        now: OffsetDateTime,
    ) -> Result<PayableWrite, StoreError>;
    async fn get_payable(&self, payable: &PayableRef) -> Result<Option<Payable>, StoreError>;

    /// Stores a new intent; when it collects a payable, also claims that payable's
    /// single open-intent slot, in one transaction.
    async fn open_intent(&self, intent: &PaymentIntent) -> Result<OpenOutcome, StoreError>;
    async fn get_intent(&self, id: &IntentId) -> Result<Option<PaymentIntent>, StoreError>;

    /// Writes a non-terminal change; `Conflict` if `expected` no longer holds.
    async fn save_intent(
        &self,
        intent: &PaymentIntent,
        expected: Expected,
    ) -> Result<(), StoreError>;

    /// Writes a terminal change and frees the payable in one transaction; with a
    /// payment, also creates it and marks the payable paid.
    async fn finish_intent(
        &self,
        intent: &PaymentIntent,
        expected: Expected,
        payment: Option<&Payment>,
    ) -> Result<(), StoreError>;

    /// Counts one wrong code while the intent awaits one and fewer than `limit`
    /// attempts are counted. Returns the new count, or `None` when that no longer holds.
    async fn count_wrong_otp(
        &self,
        id: &IntentId,
        limit: u32,
        now: OffsetDateTime,
    ) -> Result<Option<u32>, StoreError>;

    /// Newest first.
    async fn list_intents_by_user(
        &self,
        user: &UserId,
        status: Option<IntentStatus>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<PaymentIntent>, StoreError>;

    /// Newest first.
    async fn list_intents_by_payable(
        &self,
        payable: &PayableRef,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<PaymentIntent>, StoreError>;

    async fn get_payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError>;

    /// Stores a payment. A PENDING or COMPLETED one also adds its amount to the
    /// payable's allocated (and, if COMPLETED, paid) sums, in the same transaction,
    /// only while the allocated sum stays within `payable`'s total and no intent holds it.
    async fn record_payment(
        &self,
        payment: &Payment,
        payable: &Payable,
    ) -> Result<RecordOutcome, StoreError>;

    /// Marks the payable paid if its COMPLETED payments cover it; true when it did.
    async fn settle_if_covered(
        &self,
        payable: &PayableRef,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Marks `payable` paid, completes its `pending` payments and stores `extra`, in
    /// one transaction; `Conflict` if the payable or a payment changed since read.
    async fn complete_payable(
        &self,
        payable: &Payable,
        pending: &[Payment],
        extra: Option<&Payment>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

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
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Payment>, StoreError>;
}
