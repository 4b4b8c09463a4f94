//! Refunds in memory.

use super::cursor::page;
use super::{MemoryStore, payable_key};
use crate::domain::{Event, GatewayId, Payment, PaymentId, PaymentStatus, Refund, RefundId};
use crate::ports::{Page, RefundOutcome, RefundStore, StoreError};

fn gateway_key(gateway: GatewayId, gateway_refund_id: &str) -> String {
    format!("{}#{gateway_refund_id}", gateway.as_str())
}

#[async_trait::async_trait]
impl RefundStore for MemoryStore {
    async fn get_refund(&self, id: &RefundId) -> Result<Option<Refund>, StoreError> {
        Ok(self.lock()?.refunds.get(id).cloned())
    }

    async fn create_refund(
        &self,
        refund: &Refund,
        payment: &Payment,
    ) -> Result<RefundOutcome, StoreError> {
        let mut state = self.lock()?;
        if state.refunds.contains_key(&refund.id) {
            return Ok(RefundOutcome::AlreadyExists);
        }
        let Some(stored) = state.payments.get(&payment.id) else {
            return Ok(RefundOutcome::PaymentChanged);
        };
        // The same bound as the table's condition: the refunded sum, as read,
        // leaves room for this refund, and the refund that reaches the amount
        // is decided on exactly the sum that was read. Racing refunds can
        // never give back more than the payment.
        let amount = refund.amount.minor();
        let before_limit = payment.amount.minor() - amount;
        let completes = payment.refunded_minor + amount >= payment.amount.minor();
        let mut next = stored.clone();
        let fits = refund.payment_id == payment.id
            && before_limit >= 0
            && next.status == PaymentStatus::Completed
            && next.amount == payment.amount
            && if completes {
                next.refunded_minor == before_limit
            } else {
                next.refunded_minor < before_limit
            };
        if !fits {
            return Ok(RefundOutcome::PaymentChanged);
        }
        next.add_refund(&refund.amount);
        if let Some(gateway_refund_id) = &refund.gateway_refund_id {
            if let Some(gateway) = refund.gateway {
                let key = gateway_key(gateway, gateway_refund_id);
                if state
                    .gateway_refunds
                    .get(&key)
                    .is_some_and(|r| r != &refund.id)
                {
                    return Ok(RefundOutcome::PaymentChanged);
                }
                state.gateway_refunds.insert(key, refund.id);
            }
        }
        state.payments.insert(next.id, next);
        if let Some(slot) = refund
            .payable
            .as_ref()
            .and_then(|p| state.payables.get_mut(&payable_key(p)))
        {
            slot.payable.refunded_minor += refund.amount.minor();
        }
        state.refunds.insert(refund.id, refund.clone());
        state.record_events(Event::for_refund_change(None, refund, refund.created));
        Ok(RefundOutcome::Created)
    }

    async fn update_refund(&self, before: &Refund, after: &Refund) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        let Some(stored) = state.refunds.get(&after.id) else {
            return Err(StoreError::Conflict);
        };
        let named_now = before.gateway_refund_id.is_none() && after.gateway_refund_id.is_some();
        if stored.status != before.status || (named_now && stored.gateway_refund_id.is_some()) {
            return Err(StoreError::Conflict);
        }
        let lookup = match (after.gateway, &after.gateway_refund_id) {
            (Some(gateway), Some(id)) if named_now => Some(gateway_key(gateway, id)),
            _ => None,
        };
        if let Some(key) = &lookup {
            if state
                .gateway_refunds
                .get(key)
                .is_some_and(|r| r != &after.id)
            {
                return Err(StoreError::Conflict);
            }
        }
        if after.gives_back(before) {
            let Some(payment) = state.payments.get_mut(&after.payment_id) else {
                return Err(StoreError::Conflict);
            };
            if payment.refunded_minor < after.amount.minor() {
                return Err(StoreError::Conflict);
            }
            payment.give_back_refund(&after.amount);
            if let Some(slot) = after
                .payable
                .as_ref()
                .and_then(|p| state.payables.get_mut(&payable_key(p)))
            {
                slot.payable.refunded_minor -= after.amount.minor();
            }
        }
        if let Some(key) = lookup {
            state.gateway_refunds.insert(key, after.id);
        }
        // What the table's update sets: the status, and the gateway's id when
        // it is named now.
        let stored = after.as_stored_over(before);
        state.record_events(Event::for_refund_change(
            Some(before),
            &stored,
            after.updated,
        ));
        state.refunds.insert(after.id, stored);
        Ok(())
    }

    async fn find_refund_by_gateway_id(
        &self,
        gateway: GatewayId,
        gateway_refund_id: &str,
    ) -> Result<Option<Refund>, StoreError> {
        let state = self.lock()?;
        Ok(state
            .gateway_refunds
            .get(&gateway_key(gateway, gateway_refund_id))
            .and_then(|id| state.refunds.get(id))
            .cloned())
    }

    async fn list_refunds(
        &self,
        payment: &PaymentId,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Refund>, StoreError> {
        let state = self.lock()?;
        let items = state
            .refunds
            .values()
            .filter(|r| &r.payment_id == payment)
            .cloned()
            .collect();
        let list = format!("refunds/payment/{payment}");
        page(
            &self.cursor_key,
            items,
            Refund::list_key,
            &list,
            limit,
            cursor,
        )
    }
}
