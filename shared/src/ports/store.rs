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
}
