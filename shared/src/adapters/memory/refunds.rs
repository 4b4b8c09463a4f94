//! Refunds in memory.

use super::cursor::page;
use super::{MemoryStore, payable_key};
use time::OffsetDateTime;

use crate::domain::{
    Event, GatewayId, Payment, PaymentId, PaymentStatus, Refund, RefundEffect, RefundId,
};
use crate::ports::{Page, PageRequest, RefundOutcome, RefundStore, StoreError};

fn gateway_key(gateway: GatewayId, gateway_refund_id: &str) -> String {
    format!("{}#{gateway_refund_id}", gateway.as_str())
}

/// The same bounds as the table's conditions on a refund change's `effect`
/// on `stored`, the payment as it is now, decided on `read`, the payment as
/// the caller read it: what refunds hold stays within the amount and grows
/// only on a COMPLETED payment; the change that completes the refunded sum
/// is decided on exactly the sum that was read. Racing refunds can never
/// give back more than the payment.
fn sums_fit(stored: &Payment, refund: &Refund, effect: RefundEffect, read: &Payment) -> bool {
    let total = read.amount().minor();
    let held_fits = match effect.held {
        held if held > 0 => {
            stored.status() == PaymentStatus::Completed
                && stored.refund_held_minor() <= total - held
        }
        held => stored.refund_held_minor() >= -held,
    };
    let refunded_fits = match effect.refunded {
        refunded if refunded > 0 => {
            let before_limit = total - refunded;
            stored.status() == PaymentStatus::Completed
                && if read.completed_by(effect) {
                    stored.refunded_minor() == before_limit
                } else {
                    stored.refunded_minor() < before_limit
                }
        }
        refunded => {
            stored.refunded_minor() >= -refunded
                && matches!(
                    stored.status(),
                    PaymentStatus::Completed | PaymentStatus::Refunded
                )
        }
    };
    stored.amount() == read.amount()
        && refund.amount().minor() <= total
        && held_fits
        && refunded_fits
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
        if state.refunds.contains_key(&refund.id()) {
            return Ok(RefundOutcome::AlreadyExists);
        }
        let Some(stored) = state.payments.get(&payment.id()) else {
            return Ok(RefundOutcome::PaymentChanged);
        };
        if refund.payment_id() != payment.id()
            || !sums_fit(stored, refund, refund.effect(None), payment)
        {
            return Ok(RefundOutcome::PaymentChanged);
        }
        let effect = refund.effect(None);
        let mut next = stored.clone();
        next.apply_refund(effect);
        if let Some(gateway_refund_id) = &refund.gateway_refund_id() {
            if let Some(gateway) = refund.gateway() {
                let key = gateway_key(gateway, gateway_refund_id);
                if state
                    .gateway_refunds
                    .get(&key)
                    .is_some_and(|r| r != &refund.id())
                {
                    return Ok(RefundOutcome::PaymentChanged);
                }
                state.gateway_refunds.insert(key, refund.id());
            }
        }
        state.payments.insert(next.id(), next);
        if let Some(slot) = refund
            .payable()
            .as_ref()
            .and_then(|p| state.payables.get_mut(&payable_key(p)))
        {
            slot.payable.apply_refund(effect);
        }
        state.refunds.insert(refund.id(), refund.clone());
        state.record_events(Event::for_refund_change(None, refund, refund.created()));
        Ok(RefundOutcome::Created)
    }

    async fn update_refund(
        &self,
        before: &Refund,
        after: &Refund,
        payment: &Payment,
    ) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        let Some(stored) = state.refunds.get(&after.id()) else {
            return Err(StoreError::Conflict);
        };
        let named_now = before.gateway_refund_id().is_none() && after.gateway_refund_id().is_some();
        if stored.status() != before.status() || (named_now && stored.gateway_refund_id().is_some())
        {
            return Err(StoreError::Conflict);
        }
        let lookup = match (after.gateway(), &after.gateway_refund_id()) {
            (Some(gateway), Some(id)) if named_now => Some(gateway_key(gateway, id)),
            _ => None,
        };
        if let Some(key) = &lookup {
            if state
                .gateway_refunds
                .get(key)
                .is_some_and(|r| r != &after.id())
            {
                return Err(StoreError::Conflict);
            }
        }
        // What the table's update sets: the status, and the gateway's id when
        // it is named now.
        let stored = after.as_stored_over(before);
        let effect = stored.effect(Some(before));
        if !effect.is_none() {
            let Some(now) = state.payments.get_mut(&after.payment_id()) else {
                return Err(StoreError::Conflict);
            };
            if after.payment_id() != payment.id() || !sums_fit(now, &stored, effect, payment) {
                return Err(StoreError::Conflict);
            }
            now.apply_refund(effect);
            if let Some(slot) = after
                .payable()
                .as_ref()
                .and_then(|p| state.payables.get_mut(&payable_key(p)))
            {
                slot.payable.apply_refund(effect);
            }
        }
        if let Some(key) = lookup {
            state.gateway_refunds.insert(key, after.id());
        }
        state.record_events(Event::for_refund_change(
            Some(before),
            &stored,
            after.updated(),
        ));
        state.refunds.insert(after.id(), stored);
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

    async fn unsent_refunds(
        &self,
        made_before: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Refund>, StoreError> {
        let state = self.lock()?;
        let mut unsent: Vec<Refund> = state
            .refunds
            .values()
            .filter(|r| r.is_unsent() && r.created() < made_before)
            .cloned()
            .collect();
        unsent.sort_by_key(Refund::list_key);
        unsent.truncate(limit);
        Ok(unsent)
    }

    async fn list_refunds(
        &self,
        payment: &PaymentId,
        request: &PageRequest,
    ) -> Result<Page<Refund>, StoreError> {
        let state = self.lock()?;
        let items = state
            .refunds
            .values()
            .filter(|r| &r.payment_id() == payment)
            .cloned()
            .collect();
        let list = format!("refunds/payment/{payment}");
        page(&self.cursor_key, items, Refund::list_key, &list, request)
    }
}
