//! Payment intents. An intent drives the writes that span its payable and its
//! payment: claiming the payable when it opens, and freeing it (or marking it
//! paid with the new payment) when it ends.
//!
//! Every write here also stores the events its change produces
//! (`Event::for_intent_change`, and for a payment and a paid payable theirs),
//! in the same all-or-nothing write: a write that refuses, or answers
//! `Conflict`, stores none.

use time::OffsetDateTime;

use super::{Expected, Page, PageRequest, StoreError};
use crate::domain::{
    GatewayId, IntentId, IntentStatus, OtpHash, PayableRef, Payment, PaymentIntent, UserId,
};

/// What happened to an attempt to open an intent for a payable.
#[derive(Debug, Clone)]
pub enum OpenOutcome {
    Created,
    /// Another intent holds the payable; callers return that one.
    PayableHasOpenIntent(IntentId),
    /// The payable changed (paid, canceled, re-priced, gone) since it was read.
    PayableChanged,
}

#[async_trait::async_trait]
pub trait IntentStore: Send + Sync {
    /// Stores a new intent at version 1; when it collects a payable, also claims
    /// that payable's single open-intent slot, all or nothing. The claim holds only
    /// while the payable is open, unclaimed, owned by the payer, priced as the
    /// intent and holds no payments. An intent with a gateway intent id is
    /// findable by it from then on (`find_intent_by_gateway_id`); the id is
    /// recorded only here, so an intent must be opened already named by its
    /// gateway to be findable. `Conflict` if an intent without a payable already
    /// has this id, or if another intent already goes by this gateway intent id
    /// (nothing is written then). Once created, `intent` is at version 1.
    async fn open_intent(&self, intent: &mut PaymentIntent) -> Result<OpenOutcome, StoreError>;

    async fn get_intent(&self, id: &IntentId) -> Result<Option<PaymentIntent>, StoreError>;

    /// The intent that `gateway` knows as `gateway_intent_id` (its events
    /// name intents so); read consistently, never by scanning.
    async fn find_intent_by_gateway_id(
        &self,
        gateway: GatewayId,
        gateway_intent_id: &str,
    ) -> Result<Option<PaymentIntent>, StoreError>;

    /// Writes a non-terminal change at `expected.version + 1`, the version
    /// `intent` then carries; `Conflict` if `expected` no longer holds.
    async fn save_intent(
        &self,
        intent: &mut PaymentIntent,
        expected: Expected,
    ) -> Result<(), StoreError>;

    /// Writes a terminal change and frees the payable (only if this intent holds
    /// it), all or nothing; with a payment, also creates it and marks the payable
    /// paid in full. `Conflict` if any of that no longer holds. Written, `intent`
    /// carries the version it was stored at.
    async fn finish_intent(
        &self,
        intent: &mut PaymentIntent,
        expected: Expected,
        payment: Option<&Payment>,
    ) -> Result<(), StoreError>;

    /// Money the gateway collected for an intent that had already ended: stores
    /// the intent as given (flagged for review, still ended) and creates the
    /// payment, all or nothing, leaving the payable alone (a person decides
    /// whether to refund or apply it). `Conflict` if `expected` no longer holds.
    /// Written, `intent` carries the version it was stored at.
    async fn record_late_success(
        &self,
        intent: &mut PaymentIntent,
        expected: Expected,
        payment: &Payment,
    ) -> Result<(), StoreError>;

    /// Reserves one attempt at the code whose hash is `code`, while the intent
    /// awaits that very code and fewer than `limit` attempts are reserved. A code
    /// is compared only on a reserved attempt, so parallel guesses never exceed
    /// the limit. Returns the attempt's number, or `None` when that no longer holds.
    async fn reserve_otp_attempt(
        &self,
        id: &IntentId,
        code: &OtpHash,
        limit: u32,
        now: OffsetDateTime,
    ) -> Result<Option<u32>, StoreError>;

    /// Newest first; a page may hold fewer than `limit` when filtering by status.
    async fn list_intents_by_user(
        &self,
        user: &UserId,
        status: Option<IntentStatus>,
        page: &PageRequest,
    ) -> Result<Page<PaymentIntent>, StoreError>;

    /// Every intent, newest first. Their index spreads new intents' writes
    /// over several partitions, merged here on read.
    async fn list_all_intents(&self, page: &PageRequest)
    -> Result<Page<PaymentIntent>, StoreError>;

    /// Newest first.
    async fn list_intents_by_payable(
        &self,
        payable: &PayableRef,
        page: &PageRequest,
    ) -> Result<Page<PaymentIntent>, StoreError>;
}
