//! Payments in memory.

use super::cursor::page;
use super::{MemoryStore, payable_key};
use crate::domain::{Event, Payable, PayableRef, PayableStatus, Payment, PaymentId, UserId};
use crate::ports::{Page, PageRequest, PaymentStore, RecordOutcome, StoreError};

fn sort_key(p: &Payment) -> String {
    p.list_key()
}

#[async_trait::async_trait]
impl PaymentStore for MemoryStore {
    async fn get_payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        Ok(self.lock()?.payments.get(id).cloned())
    }

    async fn record_payment(
        &self,
        payment: &Payment,
        payable: &Payable,
    ) -> Result<RecordOutcome, StoreError> {
        let mut state = self.lock()?;
        if state.payments.contains_key(&payment.id()) {
            return Ok(RecordOutcome::AlreadyRecorded);
        }
        let Some(slot) = state.payables.get_mut(&payable_key(payable.payable())) else {
            return Ok(RecordOutcome::PayableChanged);
        };
        // The payment belongs to the business its payable had when it was made.
        if slot.payable.business_id() != payable.business_id() {
            return Ok(RecordOutcome::PayableChanged);
        }
        let now = payment.created_at();
        let mut events = Event::for_new_payment(payment, now);
        if payment.counts_toward_total() {
            // Priced as it was read, and the payment still fits (a pending one
            // also under the cap): racing payments can never hold more than the
            // total, nor more pending payments than settling can complete.
            let mut allocated = slot.payable.clone();
            if allocated.amount() != payable.amount() || !allocated.allocate(payment) {
                return Ok(RecordOutcome::PayableChanged);
            }
            allocated.fix_owner();
            // The payment that completes the total pays the payable in this
            // write, and its event shows the payable as read: only if nothing
            // changed it since, as on the table.
            if allocated.status() == PayableStatus::Paid {
                if slot.payable.updated_at() != payable.updated_at() {
                    return Ok(RecordOutcome::PayableChanged);
                }
                events.extend(Event::for_paid_payable(&allocated, now));
            }
            slot.payable = allocated;
        }
        slot.payable.fix_owner();
        state.payments.insert(payment.id(), payment.clone());
        state.record_events(events);
        Ok(RecordOutcome::Recorded)
    }

    async fn list_payments_by_user(
        &self,
        user: &UserId,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        let state = self.lock()?;
        let mut items: Vec<Payment> = state
            .payments
            .values()
            .filter(|p| p.payer_user_id() == user)
            .cloned()
            .collect();
        items.sort_by_key(|p| std::cmp::Reverse(sort_key(p)));
        Ok(items.into_iter().skip(offset).take(limit).collect())
    }

    async fn list_payments_by_payable(
        &self,
        payable: &PayableRef,
        request: &PageRequest,
    ) -> Result<Page<Payment>, StoreError> {
        let state = self.lock()?;
        let items = state
            .payments
            .values()
            .filter(|p| p.payable().as_ref() == Some(payable))
            .cloned()
            .collect();
        let list = format!("payments/payable/{}", payable_key(payable));
        page(&self.cursor_key, items, sort_key, &list, request)
    }
}
