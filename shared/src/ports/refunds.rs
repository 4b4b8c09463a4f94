//! Refunds: money given back on a completed payment, never more than it in
//! total. A refund's writes span its payment and the payment's payable, so it
//! drives them: each one is all or nothing.

use time::OffsetDateTime;

use super::{Page, PageRequest, StoreError};
use crate::domain::{GatewayId, Payment, PaymentId, Refund, RefundId};

/// What happened to an attempt to make a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundOutcome {
    Created,
    /// A refund with this id exists already: an earlier run under the same
    /// Idempotency-Key made it. Nothing was written.
    AlreadyExists,
    /// The payment no longer matches what was read (another refund, a status
    /// change): read it again and decide.
    PaymentChanged,
}

#[async_trait::async_trait]
pub trait RefundStore: Send + Sync {
    async fn get_refund(&self, id: &RefundId) -> Result<Option<Refund>, StoreError>;

    /// Stores a new refund of `payment` (as read) and takes its effect on
    /// the payment's sums (and, once it succeeded, on its payable's refunded
    /// sum), all or nothing, only while the payment is COMPLETED and what
    /// its refunds hold stays within its amount, even when refunds race. The
    /// refund that completes the refunded sum marks the payment REFUNDED in
    /// that same write.
    async fn create_refund(
        &self,
        refund: &Refund,
        payment: &Payment,
    ) -> Result<RefundOutcome, StoreError>;

    /// Stores `after`, a change of `before` (a new status, the gateway's id
    /// for it), only while the stored refund is still in `before`'s status,
    /// with its effect on its payment (`payment` as read decides whether a
    /// success completes it) and payable in the same write: a success adds
    /// to their refunded sums (REFUNDED when complete), a failure frees what
    /// the refund held (COMPLETED again). The gateway's id makes it findable
    /// by that id from then on. `Conflict` if the refund changed meanwhile,
    /// or the payment did so that `payment` decides wrongly.
    async fn update_refund(
        &self,
        before: &Refund,
        after: &Refund,
        payment: &Payment,
    ) -> Result<(), StoreError>;

    /// Refunds the gateway is still to be asked for ([`Refund::is_unsent`])
    /// made before `made_before`, oldest first, at most `limit`. Read from
    /// a list that may lag: each is to be read again before acting on it.
    async fn unsent_refunds(
        &self,
        made_before: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Refund>, StoreError>;

    /// The refund that `gateway` knows as `gateway_refund_id` (its events
    /// name refunds so); read consistently, never by scanning.
    async fn find_refund_by_gateway_id(
        &self,
        gateway: GatewayId,
        gateway_refund_id: &str,
    ) -> Result<Option<Refund>, StoreError>;

    /// The payment's refunds, newest first.
    async fn list_refunds(
        &self,
        payment: &PaymentId,
        page: &PageRequest,
    ) -> Result<Page<Refund>, StoreError>;
}
