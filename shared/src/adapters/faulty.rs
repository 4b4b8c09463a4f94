//! A decorator around any storage ports that fails them the way AWS and Lambda
//! do, at a chosen call: an answer lost after the write was made, a call the
//! SDK sent twice, a function that died between two writes, an index that lags
//! its table. Tests put it around the real adapters (DynamoDB Local or memory)
//! to prove that no such failure records money twice or strands it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

use crate::domain::{
    Event, EventId, GatewayId, IntentId, IntentStatus, OtpHash, OtpPolicy, Payable, PayableRef,
    Payment, PaymentId, PaymentIntent, Refund, RefundId, UserId,
};
use crate::ports::{
    EventFilter, EventStore, Expected, IdempotencyStore, Idempotent, IntentStore, OpenOutcome,
    Page, PageRequest, PayableStore, PayableWrite, PaymentStore, RecordOutcome, RefundOutcome,
    RefundStore, ReplayGuard, StoreError, StoredResponse, Stores,
};

/// What goes wrong, and at which call: `nth` counts calls of the operation
/// `op` (the port method's name), from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The call is made, then its answer is lost: the caller sees `Unavailable`
    /// although the write happened.
    LoseAnswer { op: &'static str, nth: usize },
    /// The call's answer is lost and the SDK sends the very same call again;
    /// the caller sees the second answer.
    SentTwice { op: &'static str, nth: usize },
    /// The call is made, then the function dies: every later call of any
    /// operation fails, so nothing after it happens.
    CrashAfter { op: &'static str, nth: usize },
    /// A conditional write loses a race: it answers `Conflict` and writes nothing.
    Outraced { op: &'static str, nth: usize },
    /// A list answers without its newest item, as an index that has not caught
    /// up with its table does.
    Lagging { op: &'static str, nth: usize },
}

impl Fault {
    fn op(&self) -> &'static str {
        match self {
            Self::LoseAnswer { op, .. }
            | Self::SentTwice { op, .. }
            | Self::CrashAfter { op, .. }
            | Self::Outraced { op, .. }
            | Self::Lagging { op, .. } => op,
        }
    }

    fn nth(&self) -> usize {
        match self {
            Self::LoseAnswer { nth, .. }
            | Self::SentTwice { nth, .. }
            | Self::CrashAfter { nth, .. }
            | Self::Outraced { nth, .. }
            | Self::Lagging { nth, .. } => *nth,
        }
    }
}

/// The ports of `inner`, failing as `faults` say.
pub struct FaultyStores {
    inner: Stores,
    faults: Vec<Fault>,
    state: Mutex<Calls>,
}

#[derive(Default)]
struct Calls {
    counts: HashMap<&'static str, usize>,
    crashed: bool,
}

fn lost() -> StoreError {
    StoreError::Unavailable("injected: the answer was lost".into())
}

fn dead() -> StoreError {
    StoreError::Unavailable("injected: the function died".into())
}

impl FaultyStores {
    pub fn new(inner: Stores, faults: Vec<Fault>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            faults,
            state: Mutex::new(Calls::default()),
        })
    }

    /// Every port through this decorator.
    pub fn stores(self: &Arc<Self>) -> Stores {
        Stores::sharing(self.clone())
    }

    /// How many calls of `op` were made (or refused after a crash).
    pub fn calls(&self, op: &str) -> usize {
        self.state
            .lock()
            .map(|s| s.counts.get(op).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Counts this call of `op` and says which fault, if any, hits it; `Err`
    /// when the function already died.
    fn enter(&self, op: &'static str) -> Result<Option<Fault>, StoreError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| StoreError::Unavailable("fault plan poisoned".into()))?;
        let count = state.counts.entry(op).or_insert(0);
        *count += 1;
        let count = *count;
        if state.crashed {
            return Err(dead());
        }
        let fault = self
            .faults
            .iter()
            .find(|f| f.op() == op && f.nth() == count)
            .copied();
        if matches!(fault, Some(Fault::CrashAfter { .. })) {
            state.crashed = true;
        }
        Ok(fault)
    }

    async fn call<T, F, Fut>(&self, op: &'static str, run: F) -> Result<T, StoreError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let fault = self.enter(op)?;
        Self::run(fault, run).await
    }

    async fn run<T, F, Fut>(fault: Option<Fault>, run: F) -> Result<T, StoreError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        match fault {
            None | Some(Fault::CrashAfter { .. }) | Some(Fault::Lagging { .. }) => run().await,
            Some(Fault::LoseAnswer { .. }) => {
                let _ = run().await;
                Err(lost())
            }
            Some(Fault::SentTwice { .. }) => {
                let _ = run().await;
                run().await
            }
            Some(Fault::Outraced { .. }) => Err(StoreError::Conflict),
        }
    }

    async fn list<T, F, Fut>(&self, op: &'static str, run: F) -> Result<Page<T>, StoreError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Page<T>, StoreError>>,
    {
        let fault = self.enter(op)?;
        let mut page = Self::run(fault, run).await?;
        if matches!(fault, Some(Fault::Lagging { .. })) && !page.items.is_empty() {
            page.items.remove(0);
        }
        Ok(page)
    }
}

#[async_trait::async_trait]
impl PayableStore for FaultyStores {
    async fn upsert_payable(
        &self,
        payable: &Payable,
        now: OffsetDateTime,
    ) -> Result<PayableWrite, StoreError> {
        self.call("upsert_payable", || {
            self.inner.payables.upsert_payable(payable, now)
        })
        .await
    }

    async fn get_payable(&self, payable: &PayableRef) -> Result<Option<Payable>, StoreError> {
        self.call("get_payable", || self.inner.payables.get_payable(payable))
            .await
    }

    async fn admit_otp_intent(
        &self,
        payable: &PayableRef,
        intent: &IntentId,
        now: OffsetDateTime,
        policy: &OtpPolicy,
    ) -> Result<bool, StoreError> {
        self.call("admit_otp_intent", || {
            self.inner
                .payables
                .admit_otp_intent(payable, intent, now, policy)
        })
        .await
    }

    async fn complete_payable(
        &self,
        payable: &Payable,
        pending: &[Payment],
        extra: Option<&Payment>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.call("complete_payable", || {
            self.inner
                .payables
                .complete_payable(payable, pending, extra, now)
        })
        .await
    }
}

#[async_trait::async_trait]
impl IntentStore for FaultyStores {
    async fn open_intent(&self, intent: &mut PaymentIntent) -> Result<OpenOutcome, StoreError> {
        let sent = &*intent;
        let (outcome, stored) = self
            .call("open_intent", || async {
                let mut stored = sent.clone();
                let outcome = self.inner.intents.open_intent(&mut stored).await?;
                Ok((outcome, stored))
            })
            .await?;
        *intent = stored;
        Ok(outcome)
    }

    async fn get_intent(&self, id: &IntentId) -> Result<Option<PaymentIntent>, StoreError> {
        self.call("get_intent", || self.inner.intents.get_intent(id))
            .await
    }

    async fn find_intent_by_gateway_id(
        &self,
        gateway: GatewayId,
        gateway_intent_id: &str,
    ) -> Result<Option<PaymentIntent>, StoreError> {
        self.call("find_intent_by_gateway_id", || {
            self.inner
                .intents
                .find_intent_by_gateway_id(gateway, gateway_intent_id)
        })
        .await
    }

    async fn save_intent(
        &self,
        intent: &mut PaymentIntent,
        expected: Expected,
    ) -> Result<(), StoreError> {
        let sent = &*intent;
        *intent = self
            .call("save_intent", || async {
                let mut stored = sent.clone();
                self.inner
                    .intents
                    .save_intent(&mut stored, expected)
                    .await?;
                Ok(stored)
            })
            .await?;
        Ok(())
    }

    async fn finish_intent(
        &self,
        intent: &mut PaymentIntent,
        expected: Expected,
        payment: Option<&Payment>,
    ) -> Result<(), StoreError> {
        let sent = &*intent;
        *intent = self
            .call("finish_intent", || async {
                let mut stored = sent.clone();
                self.inner
                    .intents
                    .finish_intent(&mut stored, expected, payment)
                    .await?;
                Ok(stored)
            })
            .await?;
        Ok(())
    }

    async fn record_late_success(
        &self,
        intent: &mut PaymentIntent,
        expected: Expected,
        payment: &Payment,
    ) -> Result<(), StoreError> {
        let sent = &*intent;
        *intent = self
            .call("record_late_success", || async {
                let mut stored = sent.clone();
                self.inner
                    .intents
                    .record_late_success(&mut stored, expected, payment)
                    .await?;
                Ok(stored)
            })
            .await?;
        Ok(())
    }

    async fn reserve_otp_attempt(
        &self,
        id: &IntentId,
        code: &OtpHash,
        limit: u32,
        now: OffsetDateTime,
    ) -> Result<Option<u32>, StoreError> {
        self.call("reserve_otp_attempt", || {
            self.inner.intents.reserve_otp_attempt(id, code, limit, now)
        })
        .await
    }

    async fn list_intents_by_user(
        &self,
        user: &UserId,
        status: Option<IntentStatus>,
        page: &PageRequest,
    ) -> Result<Page<PaymentIntent>, StoreError> {
        self.list("list_intents_by_user", || {
            self.inner.intents.list_intents_by_user(user, status, page)
        })
        .await
    }

    async fn list_all_intents(
        &self,
        page: &PageRequest,
    ) -> Result<Page<PaymentIntent>, StoreError> {
        self.list("list_all_intents", || {
            self.inner.intents.list_all_intents(page)
        })
        .await
    }

    async fn list_intents_by_payable(
        &self,
        payable: &PayableRef,
        page: &PageRequest,
    ) -> Result<Page<PaymentIntent>, StoreError> {
        self.list("list_intents_by_payable", || {
            self.inner.intents.list_intents_by_payable(payable, page)
        })
        .await
    }
}

#[async_trait::async_trait]
impl PaymentStore for FaultyStores {
    async fn get_payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        self.call("get_payment", || self.inner.payments.get_payment(id))
            .await
    }

    async fn record_payment(
        &self,
        payment: &Payment,
        payable: &Payable,
    ) -> Result<RecordOutcome, StoreError> {
        self.call("record_payment", || {
            self.inner.payments.record_payment(payment, payable)
        })
        .await
    }

    async fn list_payments_by_user(
        &self,
        user: &UserId,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        self.call("list_payments_by_user", || {
            self.inner
                .payments
                .list_payments_by_user(user, limit, offset)
        })
        .await
    }

    async fn list_payments_by_payable(
        &self,
        payable: &PayableRef,
        page: &PageRequest,
    ) -> Result<Page<Payment>, StoreError> {
        self.list("list_payments_by_payable", || {
            self.inner.payments.list_payments_by_payable(payable, page)
        })
        .await
    }
}

#[async_trait::async_trait]
impl RefundStore for FaultyStores {
    async fn get_refund(&self, id: &RefundId) -> Result<Option<Refund>, StoreError> {
        self.call("get_refund", || self.inner.refunds.get_refund(id))
            .await
    }

    async fn create_refund(
        &self,
        refund: &Refund,
        payment: &Payment,
    ) -> Result<RefundOutcome, StoreError> {
        self.call("create_refund", || {
            self.inner.refunds.create_refund(refund, payment)
        })
        .await
    }

    async fn update_refund(
        &self,
        before: &Refund,
        after: &Refund,
        payment: &Payment,
    ) -> Result<(), StoreError> {
        self.call("update_refund", || {
            self.inner.refunds.update_refund(before, after, payment)
        })
        .await
    }

    async fn unsent_refunds(
        &self,
        made_before: time::OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Refund>, StoreError> {
        self.call("unsent_refunds", || {
            self.inner.refunds.unsent_refunds(made_before, limit)
        })
        .await
    }

    async fn find_refund_by_gateway_id(
        &self,
        gateway: GatewayId,
        gateway_refund_id: &str,
    ) -> Result<Option<Refund>, StoreError> {
        self.call("find_refund_by_gateway_id", || {
            self.inner
                .refunds
                .find_refund_by_gateway_id(gateway, gateway_refund_id)
        })
        .await
    }

    async fn list_refunds(
        &self,
        payment: &PaymentId,
        page: &PageRequest,
    ) -> Result<Page<Refund>, StoreError> {
        self.list("list_refunds", || {
            self.inner.refunds.list_refunds(payment, page)
        })
        .await
    }
}

#[async_trait::async_trait]
impl IdempotencyStore for FaultyStores {
    async fn claim(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        owner: &str,
        now: OffsetDateTime,
    ) -> Result<Idempotent, StoreError> {
        self.call("claim", || {
            self.inner
                .idempotency
                .claim(scope, key, fingerprint, owner, now)
        })
        .await
    }

    async fn complete(
        &self,
        scope: &str,
        key: &str,
        owner: &str,
        response: &StoredResponse,
        now: OffsetDateTime,
        retain: time::Duration,
    ) -> Result<(), StoreError> {
        self.call("complete", || {
            self.inner
                .idempotency
                .complete(scope, key, owner, response, now, retain)
        })
        .await
    }

    async fn release(&self, scope: &str, key: &str, owner: &str) -> Result<(), StoreError> {
        self.call("release", || {
            self.inner.idempotency.release(scope, key, owner)
        })
        .await
    }
}

#[async_trait::async_trait]
impl ReplayGuard for FaultyStores {
    async fn first_use(
        &self,
        scope: &str,
        token: &str,
        now: OffsetDateTime,
        keep: time::Duration,
    ) -> Result<bool, StoreError> {
        self.call("first_use", || {
            self.inner.replay.first_use(scope, token, now, keep)
        })
        .await
    }
}

#[async_trait::async_trait]
impl EventStore for FaultyStores {
    async fn get_event(
        &self,
        id: &EventId,
        now: OffsetDateTime,
    ) -> Result<Option<Event>, StoreError> {
        self.call("get_event", || self.inner.events.get_event(id, now))
            .await
    }

    async fn list_events(
        &self,
        filter: &EventFilter,
        page: &PageRequest,
        now: OffsetDateTime,
    ) -> Result<Page<Event>, StoreError> {
        self.list("list_events", || {
            self.inner.events.list_events(filter, page, now)
        })
        .await
    }
}
