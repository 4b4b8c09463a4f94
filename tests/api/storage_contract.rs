//! The storage contract on DynamoDB Local: the same cases the in-memory
//! adapter passes in the shared crate's unit tests.

use integration_tests::Harness;
use payment_shared::ports::Stores;

payment_shared::storage_contract!(Stores::sharing(Harness::new().await.store));

/// Webhook endpoints and deliveries: the same cases the in-memory adapter passes.
mod webhooks {
    use std::sync::Arc;

    use integration_tests::Harness;
    use payment_shared::contract::NoSender;
    use payment_shared::ports::{SystemClock, Webhooks};
    use payment_shared::surfaces::events::DeliverableEvents;

    payment_shared::webhook_storage_contract!({
        let store = Harness::new().await.store;
        let events = DeliverableEvents::new(store.clone(), Arc::new(SystemClock));
        Webhooks::sharing(store, Arc::new(events), Arc::new(NoSender))
    });
}
