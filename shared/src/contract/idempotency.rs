//! The Idempotency-Key ledger: claim, replay, mismatch, in flight, expiry.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use super::*;

/// A new run of a request: each claims with its own token.
fn claimer() -> String {
    unique("run")
}

fn response(body: &str) -> StoredResponse {
    StoredResponse {
        status: 201,
        content_type: "application/json".into(),
        body: body.into(),
    }
}

pub async fn idempotency_claim_replay_mismatch_and_in_flight(s: &Stores) {
    let scope = unique("caller");
    let t = now();
    let ledger = &s.idempotency;
    let first = claimer();
    assert_eq!(
        ledger
            .claim(&scope, "k1", "fp", &first, t)
            .await
            .expect("claim"),
        Idempotent::Claimed
    );
    assert_eq!(
        ledger
            .claim(&scope, "k1", "fp", &claimer(), t)
            .await
            .expect("claim"),
        Idempotent::InFlight
    );
    assert_eq!(
        ledger
            .claim(&scope, "k1", "other", &claimer(), t)
            .await
            .expect("claim"),
        Idempotent::Mismatch
    );
    ledger
        .complete(
            &scope,
            "k1",
            &first,
            &response("{\"id\":1}"),
            t,
            time::Duration::hours(24),
        )
        .await
        .expect("complete");
    assert_eq!(
        ledger
            .claim(&scope, "k1", "fp", &claimer(), t)
            .await
            .expect("claim"),
        Idempotent::Replay(response("{\"id\":1}"))
    );
    assert_eq!(
        ledger
            .claim(&scope, "k1", "other", &claimer(), t)
            .await
            .expect("claim"),
        Idempotent::Mismatch
    );
    // Keys are the caller's own.
    let other = unique("caller");
    assert_eq!(
        ledger
            .claim(&other, "k1", "fp", &claimer(), t)
            .await
            .expect("claim"),
        Idempotent::Claimed
    );
}

pub async fn idempotency_records_expire_and_stale_claims_are_taken_over(s: &Stores) {
    let scope = unique("caller");
    let t = now();
    let ledger = &s.idempotency;
    assert_eq!(
        ledger
            .claim(&scope, "run", "fp", &claimer(), t)
            .await
            .expect("claim"),
        Idempotent::Claimed
    );
    let later = t + Duration::minutes(4);
    assert_eq!(
        ledger
            .claim(&scope, "run", "fp", &claimer(), later)
            .await
            .expect("claim"),
        Idempotent::InFlight
    );
    // Its function died: after five minutes the claim is anyone's with the same key.
    let stale = t + Duration::minutes(5) + Duration::seconds(2);
    let taker = claimer();
    assert_eq!(
        ledger
            .claim(&scope, "run", "fp", &taker, stale)
            .await
            .expect("claim"),
        Idempotent::Claimed
    );
    assert_eq!(
        ledger
            .claim(&scope, "run", "fp", &claimer(), stale)
            .await
            .expect("claim"),
        Idempotent::InFlight
    );

    ledger
        .complete(
            &scope,
            "run",
            &taker,
            &response("{}"),
            stale,
            time::Duration::hours(24),
        )
        .await
        .expect("complete");
    let long_after = stale + Duration::hours(1);
    assert_eq!(
        ledger
            .claim(&scope, "run", "fp", &claimer(), long_after)
            .await
            .expect("claim"),
        Idempotent::Replay(response("{}")),
        "a finished response is never stale"
    );
    // Kept 24 hours; storage may delete late, so an expired record counts as absent.
    let expired = stale + Duration::hours(24) + Duration::seconds(2);
    assert_eq!(
        ledger
            .claim(&scope, "run", "new", &claimer(), expired)
            .await
            .expect("claim"),
        Idempotent::Claimed
    );
}

pub async fn a_released_key_runs_again(s: &Stores) {
    let scope = unique("caller");
    let t = now();
    let ledger = &s.idempotency;
    let run = claimer();
    assert_eq!(
        ledger
            .claim(&scope, "k", "fp", &run, t)
            .await
            .expect("claim"),
        Idempotent::Claimed
    );
    ledger.release(&scope, "k", &run).await.expect("release");
    assert_eq!(
        ledger
            .claim(&scope, "k", "other", &claimer(), t)
            .await
            .expect("claim"),
        Idempotent::Claimed
    );
    ledger
        .release(&scope, "never-claimed", &claimer())
        .await
        .expect("release of nothing");
}

/// A claim retried by the same run (its first answer lost on the way) is that
/// run's own; any other run still finds it in flight.
pub async fn a_claim_retried_by_its_own_run_is_its_own(s: &Stores) {
    let scope = unique("caller");
    let t = now();
    let ledger = &s.idempotency;
    let run = claimer();
    assert_eq!(
        ledger
            .claim(&scope, "k", "fp", &run, t)
            .await
            .expect("claim"),
        Idempotent::Claimed
    );
    assert_eq!(
        ledger
            .claim(&scope, "k", "fp", &run, t)
            .await
            .expect("claim"),
        Idempotent::Claimed
    );
    assert_eq!(
        ledger
            .claim(&scope, "k", "fp", &claimer(), t)
            .await
            .expect("claim"),
        Idempotent::InFlight
    );
    ledger
        .complete(
            &scope,
            "k",
            &run,
            &response("{}"),
            t,
            time::Duration::hours(24),
        )
        .await
        .expect("complete");
    assert_eq!(
        ledger
            .claim(&scope, "k", "fp", &run, t)
            .await
            .expect("claim"),
        Idempotent::Replay(response("{}")),
        "a finished claim replays, even to its own run"
    );
}

/// A run that outlived its claim (its function stalled past the stale
/// limit, another run took the key over) neither answers for the key nor
/// lets it go: the run that holds the claim does.
pub async fn a_run_whose_claim_was_taken_over_keeps_nothing_and_frees_nothing(s: &Stores) {
    let scope = unique("caller");
    let t = now();
    let ledger = &s.idempotency;
    let (slow, taker) = (claimer(), claimer());
    let scope = scope.as_str();
    let claim = |owner: String, at| async move {
        ledger
            .claim(scope, "k", "fp", &owner, at)
            .await
            .expect("claim")
    };
    assert_eq!(claim(slow.clone(), t).await, Idempotent::Claimed);
    let stale = t + Duration::minutes(5) + Duration::seconds(2);
    assert_eq!(claim(taker.clone(), stale).await, Idempotent::Claimed);

    let kept = ledger
        .complete(
            scope,
            "k",
            &slow,
            &response("slow"),
            stale,
            Duration::hours(24),
        )
        .await;
    assert!(matches!(kept, Err(StoreError::Conflict)), "{kept:?}");
    ledger
        .release(scope, "k", &slow)
        .await
        .expect("release of another's claim changes nothing");
    assert_eq!(claim(claimer(), stale).await, Idempotent::InFlight);

    ledger
        .complete(
            scope,
            "k",
            &taker,
            &response("taker"),
            stale,
            Duration::hours(24),
        )
        .await
        .expect("complete");
    // A finished key is not let go by its own run either.
    ledger.release(scope, "k", &taker).await.expect("release");
    assert_eq!(
        claim(claimer(), stale).await,
        Idempotent::Replay(response("taker"))
    );
}
