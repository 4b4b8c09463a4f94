//! Payables in memory.

use time::OffsetDateTime;

use super::{MemoryStore, StoredPayable, payable_key};
use crate::domain::{
    Event, IntentId, OtpPolicy, Payable, PayableRef, PayableStatus, Payment, PaymentParts,
    PaymentStatus, RevisionRefused,
};
use crate::ports::{PayableStore, PayableWrite, StoreError};

/// As many items as one DynamoDB transaction may write, so both adapters refuse alike.
const MAX_TRANSACTION_ITEMS: usize = 100;

#[async_trait::async_trait]
impl PayableStore for MemoryStore {
    async fn upsert_payable(
        &self,
        payable: &Payable,
        now: OffsetDateTime,
    ) -> Result<PayableWrite, StoreError> {
        let mut state = self.lock()?;
        let key = payable_key(payable.payable());
        let Some(stored) = state.payables.get_mut(&key) else {
            let registered = payable.clone().register(now);
            state.payables.insert(
                key,
                StoredPayable {
                    payable: registered.clone(),
                    version: 1,
                },
            );
            return Ok(PayableWrite::Written {
                payable: Box::new(registered),
                created: true,
            });
        };
        match stored.payable.check_revision(payable) {
            Ok(()) => {
                stored.payable.revise(payable, now);
                stored.version += 1;
                Ok(PayableWrite::Written {
                    payable: Box::new(stored.payable.clone()),
                    created: false,
                })
            }
            Err(RevisionRefused::AlreadyPaid) => Ok(PayableWrite::AlreadyPaid),
            Err(RevisionRefused::OpenIntent(id)) => Ok(PayableWrite::OpenIntentAmountChange(id)),
            Err(RevisionRefused::PaymentsRecorded(sum)) => Ok(PayableWrite::PaymentsRecorded(sum)),
            Err(RevisionRefused::OwnerFixed) => Ok(PayableWrite::OwnerFixed),
        }
    }

    async fn admit_otp_intent(
        &self,
        payable: &PayableRef,
        intent: &IntentId,
        now: OffsetDateTime,
        policy: &OtpPolicy,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let log = state.otp_senders.entry(payable_key(payable)).or_default();
        match log.admit(intent, now, policy) {
            Some(next) => {
                *log = next;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn get_payable(&self, payable: &PayableRef) -> Result<Option<Payable>, StoreError> {
        let state = self.lock()?;
        Ok(state
            .payables
            .get(&payable_key(payable))
            .map(|s| s.payable.clone()))
    }

    async fn complete_payable(
        &self,
        payable: &Payable,
        pending: &[Payment],
        extra: Option<&Payment>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        // The payable, each payment and each of their events, as the table writes them.
        let events = pending.len() + extra.map_or(0, |e| Event::for_new_payment(e, now).len()) + 1;
        if 1 + pending.len() + usize::from(extra.is_some()) + events > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::Unavailable(format!(
                "{} pending payments exceed one transaction",
                pending.len()
            )));
        }
        let mut state = self.lock()?;
        let key = payable_key(payable.payable());
        // Exactly the sums that were read: a concurrent payment makes this lose.
        let unchanged = state.payables.get(&key).is_some_and(|s| {
            let p = &s.payable;
            p.status() == PayableStatus::Open
                && p.open_intent_id().is_none()
                && p.amount().minor() == payable.amount().minor()
                && p.allocated_minor() == payable.allocated_minor()
                && p.paid_minor() == payable.paid_minor()
                // The paid event shows the payable as read.
                && p.updated_at() == payable.updated_at()
        });
        let all_pending = pending.iter().all(|p| {
            state
                .payments
                .get(&p.id())
                .is_some_and(|s| s.status() == PaymentStatus::Pending)
        });
        let extra_is_new = extra.is_none_or(|e| !state.payments.contains_key(&e.id()));
        if !(unchanged && all_pending && extra_is_new) {
            return Err(StoreError::Conflict);
        }
        let mut events = Vec::new();
        for p in pending {
            if let Some(stored) = state.payments.get_mut(&p.id()) {
                *stored = Payment::restore(PaymentParts {
                    status: PaymentStatus::Completed,
                    fee_minor: p.fee_minor(),
                    ..stored.clone().into_parts()
                });
                events.extend(Event::for_completed_payment(stored, now));
            }
        }
        if let Some(extra) = extra {
            state.payments.insert(extra.id(), extra.clone());
            events.extend(Event::for_new_payment(extra, now));
        }
        if let Some(stored) = state.payables.get_mut(&key) {
            stored.payable.mark_paid(now);
            events.extend(Event::for_paid_payable(&stored.payable, now));
        }
        state.record_events(events);
        Ok(())
    }
}
