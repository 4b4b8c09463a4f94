//! The Idempotency-Key ledger on DynamoDB Local.

use integration_tests::Harness;
use payment_shared::ports::{IdempotencyStore, Idempotent, StoredResponse};
use time::{Duration, OffsetDateTime};

/// A new run of a request: each claims with its own token.
fn claimer() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn response() -> StoredResponse {
    StoredResponse {
        status: 201,
        content_type: "application/json".into(),
        body: r#"{"ok":true}"#.into(),
    }
}

#[tokio::test]
async fn claims_replays_conflicts_and_expires() {
    let h = Harness::new().await;
    let store = h.store.clone();
    let now = OffsetDateTime::now_utc();
    let first = claimer();
    assert_eq!(
        store
            .claim("user:a", "k", "fp1", &first, now)
            .await
            .expect("claim"),
        Idempotent::Claimed
    );
    assert_eq!(
        store
            .claim("user:a", "k", "fp1", &claimer(), now)
            .await
            .expect("claim"),
        Idempotent::InFlight
    );
    assert_eq!(
        store
            .claim("user:a", "k", "fp2", &claimer(), now)
            .await
            .expect("claim"),
        Idempotent::Mismatch
    );
    assert_eq!(
        store
            .claim("user:b", "k", "fp1", &claimer(), now)
            .await
            .expect("claim"),
        Idempotent::Claimed,
        "scoped per caller"
    );

    store
        .complete(
            "user:a",
            "k",
            &first,
            &response(),
            now,
            time::Duration::hours(24),
        )
        .await
        .expect("complete");
    assert_eq!(
        store
            .claim("user:a", "k", "fp1", &claimer(), now)
            .await
            .expect("claim"),
        Idempotent::Replay(response())
    );
    // TTL deletion lags: a record past its 24 hours counts as gone even while it still exists.
    let later = now + Duration::hours(24) + Duration::seconds(1);
    assert_eq!(
        store
            .claim("user:a", "k", "fp2", &claimer(), later)
            .await
            .expect("claim"),
        Idempotent::Claimed
    );
}

#[tokio::test]
async fn a_crashed_claim_is_released_or_goes_stale() {
    let h = Harness::new().await;
    let store = h.store.clone();
    let now = OffsetDateTime::now_utc();
    let crashed = claimer();
    assert_eq!(
        store
            .claim("s", "k1", "fp", &crashed, now)
            .await
            .expect("claim"),
        Idempotent::Claimed
    );
    store.release("s", "k1", &crashed).await.expect("release");
    assert_eq!(
        store
            .claim("s", "k1", "fp", &claimer(), now)
            .await
            .expect("claim"),
        Idempotent::Claimed
    );

    let soon = now + Duration::minutes(4);
    assert_eq!(
        store
            .claim("s", "k1", "fp", &claimer(), soon)
            .await
            .expect("claim"),
        Idempotent::InFlight
    );
    let stale = now + Duration::minutes(6);
    assert_eq!(
        store
            .claim("s", "k1", "fp", &claimer(), stale)
            .await
            .expect("claim"),
        Idempotent::Claimed,
        "an abandoned claim can be taken over"
    );
}

#[tokio::test]
async fn secrets_are_fetched_once_per_container() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use payment_shared::ports::{SecretError, Secrets, SecretsProvider};

    struct Counting(AtomicUsize);
    #[async_trait::async_trait]
    impl SecretsProvider for Counting {
        async fn load(&self) -> Result<Secrets, SecretError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(integration_tests::test_secrets())
        }
    }
    let h = Harness::new().await;
    let counting = Arc::new(Counting(AtomicUsize::new(0)));
    let app = payment_shared::app::App::new(
        h.app.config.clone(),
        payment_shared::ports::Stores::sharing(h.store.clone()),
        h.app.mailer.clone(),
        counting.clone(),
        h.clock.clone(),
    );
    for _ in 0..3 {
        app.secrets().await.expect("secrets");
    }
    assert_eq!(counting.0.load(Ordering::SeqCst), 1);
}
