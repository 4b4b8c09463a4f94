//! Every storage port in memory, with the same rules as the DynamoDB adapter:
//! conditional writes, one open intent per payable, all-or-nothing multi-item
//! writes, newest-first lists with opaque cursors, each change's events
//! written with it. For tests and local tools; nothing here survives the
//! process.

mod cursor;
mod events;
mod fixed;
mod idempotency;
mod intents;
mod payables;
mod payments;
mod refunds;
mod replay;
mod webhooks;

pub use fixed::{FixedSecrets, TestClock};
pub use webhooks::MemoryWebhooks;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use crate::adapters::cursor_key::CursorKey;
use crate::domain::{
    EventId, IntentId, Payable, PayableRef, Payment, PaymentId, PaymentIntent, Refund, RefundId,
};
use crate::ports::StoreError;

/// One lock over all aggregates: holding it for a whole write is what makes a
/// write that spans items all or nothing, as a DynamoDB transaction is.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    cursor_key: CursorKey,
}

#[derive(Default)]
struct State {
    payables: BTreeMap<String, StoredPayable>,
    intents: BTreeMap<IntentId, PaymentIntent>,
    payments: BTreeMap<PaymentId, Payment>,
    refunds: BTreeMap<RefundId, Refund>,
    /// The refund each gateway id names, set once, as the table's lookup items are.
    gateway_refunds: BTreeMap<String, RefundId>,
    idempotency: BTreeMap<(String, String), idempotency::Record>,
    otp_senders: BTreeMap<String, crate::domain::otp::OtpSenders>,
    /// The intent each gateway id names, set once when the intent opens, as
    /// the table's lookup items are.
    gateway_intents: BTreeMap<String, IntentId>,
    /// (scope, token) → until when (unix seconds) it stays used.
    used_tokens: BTreeMap<(String, String), i64>,
    /// Written by the same writes as the changes they describe.
    events: BTreeMap<EventId, events::StoredEvent>,
}

struct StoredPayable {
    payable: Payable,
    /// Counts replaces, as the table's item does: the first write is version 1.
    version: u64,
}

fn payable_key(p: &PayableRef) -> String {
    format!("{}#{}", p.kind, p.id)
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        // A panic while holding the lock leaves the state half-written.
        self.state
            .lock()
            .map_err(|_| StoreError::Unavailable("in-memory store poisoned".into()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::MemoryStore;
    use crate::ports::Stores;

    crate::storage_contract!(Stores::sharing(Arc::new(MemoryStore::new())));
}

#[cfg(test)]
mod webhook_tests {
    use std::sync::Arc;

    use super::MemoryWebhooks;
    use crate::contract::NoSender;
    use crate::ports::Webhooks;

    crate::webhook_storage_contract!({
        let store = Arc::new(MemoryWebhooks::new());
        Webhooks::sharing(store.clone(), store, Arc::new(NoSender))
    });
}
