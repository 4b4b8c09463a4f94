//! Payment intents in memory.

use time::OffsetDateTime;

use super::cursor::page;
use super::{MemoryStore, payable_key};
use crate::domain::{
    ClaimRefused, Event, GatewayId, IntentId, IntentStatus, OtpHash, PayableRef, Payment,
    PaymentIntent, UserId,
};
use crate::ports::{Expected, IntentStore, OpenOutcome, Page, PageRequest, StoreError};

fn holds(stored: &PaymentIntent, expected: Expected) -> bool {
    stored.status() == expected.status && stored.version() == expected.version
}

fn sort_key(i: &PaymentIntent) -> String {
    i.list_key()
}

/// Gateways name intents by their own ids, which are unique only per gateway.
fn gateway_key(gateway: GatewayId, gateway_intent_id: &str) -> String {
    format!("{}#{gateway_intent_id}", gateway.as_str())
}

#[async_trait::async_trait]
impl IntentStore for MemoryStore {
    async fn open_intent(&self, intent: &mut PaymentIntent) -> Result<OpenOutcome, StoreError> {
        let mut state = self.lock()?;
        let mut stored = intent.clone();
        stored.stored_as(1);
        let lookup = intent
            .gateway_intent_id()
            .as_deref()
            .map(|id| gateway_key(intent.gateway(), id));
        // A gateway's id names one intent: a second intent under it is refused.
        if lookup
            .as_ref()
            .is_some_and(|l| state.gateway_intents.contains_key(l))
        {
            return Err(StoreError::Conflict);
        }
        let Some(payable) = &intent.payable() else {
            if state.intents.contains_key(&intent.id()) {
                return Err(StoreError::Conflict);
            }
            let events = Event::for_intent_change(None, &stored, intent.created_at());
            state.intents.insert(intent.id(), stored);
            if let Some(lookup) = lookup {
                state.gateway_intents.insert(lookup, intent.id());
            }
            state.record_events(events);
            intent.stored_as(1);
            return Ok(OpenOutcome::Created);
        };
        let taken = state.intents.contains_key(&intent.id());
        let Some(slot) = state.payables.get_mut(&payable_key(payable)) else {
            return Ok(OpenOutcome::PayableChanged);
        };
        // Check the claim on a copy: nothing changes unless the intent is stored too.
        let mut claimed = slot.payable.clone();
        match claimed.claim_for(&stored) {
            Err(ClaimRefused::HeldBy(id)) => return Ok(OpenOutcome::PayableHasOpenIntent(id)),
            Err(ClaimRefused::Changed) => return Ok(OpenOutcome::PayableChanged),
            Ok(()) if taken => return Ok(OpenOutcome::PayableChanged),
            Ok(()) => slot.payable = claimed,
        }
        let events = Event::for_intent_change(None, &stored, intent.created_at());
        state.intents.insert(intent.id(), stored);
        if let Some(lookup) = lookup {
            state.gateway_intents.insert(lookup, intent.id());
        }
        state.record_events(events);
        intent.stored_as(1);
        Ok(OpenOutcome::Created)
    }

    async fn get_intent(&self, id: &IntentId) -> Result<Option<PaymentIntent>, StoreError> {
        Ok(self.lock()?.intents.get(id).cloned())
    }

    async fn find_intent_by_gateway_id(
        &self,
        gateway: GatewayId,
        gateway_intent_id: &str,
    ) -> Result<Option<PaymentIntent>, StoreError> {
        let state = self.lock()?;
        Ok(state
            .gateway_intents
            .get(&gateway_key(gateway, gateway_intent_id))
            .and_then(|id| state.intents.get(id))
            .cloned())
    }

    async fn save_intent(
        &self,
        intent: &mut PaymentIntent,
        expected: Expected,
    ) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        match state.intents.get_mut(&intent.id()) {
            Some(stored) if holds(stored, expected) => {
                intent.stored_as(expected.version + 1);
                *stored = intent.clone();
                let events =
                    Event::for_intent_change(Some(expected.status), stored, intent.updated_at());
                state.record_events(events);
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    async fn finish_intent(
        &self,
        intent: &mut PaymentIntent,
        expected: Expected,
        payment: Option<&Payment>,
    ) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        let intent_holds = state
            .intents
            .get(&intent.id())
            .is_some_and(|s| holds(s, expected));
        // Only the intent holding the payable may free it, or mark it paid.
        let payable_holds = intent.payable().as_ref().is_none_or(|p| {
            state
                .payables
                .get(&payable_key(p))
                .is_some_and(|s| s.payable.is_held_by(&intent.id()))
        });
        let payment_is_new = payment.is_none_or(|p| !state.payments.contains_key(&p.id()));
        if !(intent_holds && payable_holds && payment_is_new) {
            return Err(StoreError::Conflict);
        }
        let now = intent.updated_at();
        intent.stored_as(expected.version + 1);
        let mut events = Event::for_intent_change(Some(expected.status), intent, now);
        state.intents.insert(intent.id(), intent.clone());
        if let Some(payment) = payment {
            events.extend(Event::for_new_payment(payment, now));
        }
        if let Some(slot) = intent
            .payable()
            .as_ref()
            .and_then(|p| state.payables.get_mut(&payable_key(p)))
        {
            match payment {
                Some(_) => {
                    slot.payable.mark_paid(now);
                    events.extend(Event::for_paid_payable(&slot.payable, now));
                }
                None => slot.payable.release(now),
            }
        }
        if let Some(payment) = payment {
            state.payments.insert(payment.id(), payment.clone());
        }
        state.record_events(events);
        Ok(())
    }

    async fn record_late_success(
        &self,
        intent: &mut PaymentIntent,
        expected: Expected,
        payment: &Payment,
    ) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        let current = state
            .intents
            .get(&intent.id())
            .ok_or(StoreError::Conflict)?;
        if !holds(current, expected) || state.payments.contains_key(&payment.id()) {
            return Err(StoreError::Conflict);
        }
        let now = intent.updated_at();
        intent.stored_as(expected.version + 1);
        let mut events = Event::for_intent_change(Some(expected.status), intent, now);
        events.extend(Event::for_new_payment(payment, now));
        state.intents.insert(intent.id(), intent.clone());
        state.payments.insert(payment.id(), payment.clone());
        state.record_events(events);
        Ok(())
    }

    async fn reserve_otp_attempt(
        &self,
        id: &IntentId,
        code: &OtpHash,
        limit: u32,
        now: OffsetDateTime,
    ) -> Result<Option<u32>, StoreError> {
        let mut state = self.lock()?;
        Ok(state
            .intents
            .get_mut(id)
            .and_then(|i| i.reserve_otp_attempt(code, limit, now)))
    }

    async fn list_intents_by_user(
        &self,
        user: &UserId,
        status: Option<IntentStatus>,
        request: &PageRequest,
    ) -> Result<Page<PaymentIntent>, StoreError> {
        let state = self.lock()?;
        let items = state
            .intents
            .values()
            .filter(|i| &i.payer().user_id == user && status.is_none_or(|s| i.status() == s))
            .cloned()
            .collect();
        page(
            &self.cursor_key,
            items,
            sort_key,
            &format!("intents/user/{user}"),
            request,
        )
    }

    async fn list_all_intents(
        &self,
        request: &PageRequest,
    ) -> Result<Page<PaymentIntent>, StoreError> {
        let state = self.lock()?;
        let items = state.intents.values().cloned().collect();
        page(&self.cursor_key, items, sort_key, "intents", request)
    }

    async fn list_intents_by_payable(
        &self,
        payable: &PayableRef,
        request: &PageRequest,
    ) -> Result<Page<PaymentIntent>, StoreError> {
        let state = self.lock()?;
        let items = state
            .intents
            .values()
            .filter(|i| i.payable().as_ref() == Some(payable))
            .cloned()
            .collect();
        let list = format!("intents/payable/{}", payable_key(payable));
        page(&self.cursor_key, items, sort_key, &list, request)
    }
}
