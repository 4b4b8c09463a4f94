//! The replay guard: a token is used once while it is remembered.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use super::*;

const KEEP: Duration = Duration::seconds(600);

pub async fn a_token_is_accepted_once_until_it_expires(s: &Stores) {
    let scope = unique("partner");
    let t = now();
    let guard = &s.replay;
    assert!(
        guard
            .first_use(&scope, "sig-1", t, KEEP)
            .await
            .expect("first")
    );
    assert!(
        !guard
            .first_use(&scope, "sig-1", t, KEEP)
            .await
            .expect("again")
    );
    assert!(
        !guard
            .first_use(&scope, "sig-1", t + Duration::seconds(599), KEEP)
            .await
            .expect("still remembered")
    );
    // Another token, or the same one from another caller, is another request.
    assert!(
        guard
            .first_use(&scope, "sig-2", t, KEEP)
            .await
            .expect("other token")
    );
    assert!(
        guard
            .first_use(&unique("partner"), "sig-1", t, KEEP)
            .await
            .expect("other scope")
    );
    // Deleting expired items lags; an expired one counts as gone.
    assert!(
        guard
            .first_use(&scope, "sig-1", t + Duration::seconds(601), KEEP)
            .await
            .expect("expired")
    );
}

pub async fn concurrent_first_uses_of_a_token_let_one_through(s: &Stores) {
    let scope = unique("partner");
    let t = now();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let guard = s.replay.clone();
            let scope = scope.clone();
            tokio::spawn(async move { guard.first_use(&scope, "sig", t, KEEP).await })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        if task.await.expect("task").expect("answer") {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1);
}
