//! Refunds: money given back on a completed payment, never more than it in
//! total. A refund's writes span its payment and the payment's payable, so it
//! drives them: each one is all or nothing.

use super::{Page, StoreError};
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

    /// Stores a new refund of `payment` (as read) and adds its amount to the
    /// refunded sums of the payment and of its payable, all or nothing, only
    /// while the payment is COMPLETED and its refunded sum stays within its
    /// amount, even when refunds race. The refund that reaches the amount
    /// marks the payment REFUNDED in that same write.
    async fn create_refund(
        &self,
        refund: &Refund,
        payment: &Payment,
    ) -> Result<RefundOutcome, StoreError>;

    /// Stores `after`, a change of `before` (a new status, the gateway's id
    /// for it), only while the stored refund is still in `before`'s status.
    /// The gateway's id makes it findable by that id from then on. A refund
    /// that fails gives its amount back to its payment (COMPLETED again) and
    /// payable in the same write. `Conflict` if it changed meanwhile.
    async fn update_refund(&self, before: &Refund, after: &Refund) -> Result<(), StoreError>;

    /// The refund that `gateway` knows as `gateway_refund_id` (its webhooks
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
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Refund>, StoreError>;
}
