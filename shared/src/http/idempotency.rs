//! The first response to an Idempotency-Key is kept 24 h and replayed.
//! It is kept sealed: an answer may show a secret once (a webhook
//! endpoint's signing secret), and the ledger must not hold it in the clear.

use lambda_http::{Body, Request, Response};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use super::{ApiError, replayed};
use crate::adapters::answer_key::AnswerKey;
use crate::app::App;
use crate::app::AppError;
use crate::ports::{Idempotent, StoreError, StoredResponse};

/// Longest Idempotency-Key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// How long a key's first answer is replayed.
pub const KEY_RETENTION: time::Duration = time::Duration::hours(24);
/// What a key may hold: visible ASCII, so it survives every HTTP hop unchanged
/// (blanks after it are not part of a header's value).
pub const KEY_PATTERN: &str = "^[!-~]+[ \\t]*$";

fn key_is_valid(key: &str) -> bool {
    (1..=MAX_KEY_LEN).contains(&key.len()) && key.bytes().all(|b| (b'!'..=b'~').contains(&b))
}

/// A key this request holds until its answer is settled.
pub struct Claimed {
    scope: String,
    key: String,
    /// This run's token: only its own claim is completed or let go.
    owner: String,
    /// Seals the answer kept for the key.
    sealer: AnswerKey,
}

/// What claiming found.
pub enum Claim {
    /// Run the request; with `Some`, settle the key with its answer.
    Run(Option<Claimed>),
    /// The first answer to this key and request, sent again.
    Answered(Response<Body>),
}

fn fingerprint(req: &Request) -> String {
    let digest = Sha256::new()
        .chain_update(req.method().as_str())
        .chain_update([0u8])
        .chain_update(req.uri().path())
        .chain_update([0u8])
        .chain_update(req.body().as_ref() as &[u8])
        .finalize();
    hex::encode(digest)
}

/// Claims the request's Idempotency-Key for `scope` (the authenticated caller, so
/// keys never collide between callers). Without the header the request just runs.
pub async fn claim(app: &App, req: &Request, scope: &str) -> Result<Claim, ApiError> {
    let Some(sent) = req.headers().get("idempotency-key") else {
        return Ok(Claim::Run(None));
    };
    // A key that is not text is refused, never taken as no key at all.
    let key = sent.to_str().unwrap_or_default().trim_matches([' ', '\t']);
    if !key_is_valid(key) {
        return Err(ApiError::BadRequest(format!(
            "Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"
        )));
    }
    let sealer = answer_key(app).await?;
    // One token per run of the request, sent unchanged on every retry of the
    // claim: a claim that finds its own token is its own.
    let owner = uuid::Uuid::now_v7().to_string();
    match app
        .idempotency
        .claim(scope, key, &fingerprint(req), &owner, app.clock.now())
        .await?
    {
        Idempotent::Claimed => Ok(Claim::Run(Some(Claimed {
            scope: scope.to_owned(),
            key: key.to_owned(),
            owner,
            sealer,
        }))),
        Idempotent::Replay(stored) => {
            let body = sealer
                .open(&bound_to(scope, key), &stored.body)
                // Sealed under another cursor secret (it was changed within
                // the day), or altered in the table: no answer to give.
                .map_err(|e| ApiError::Internal.logged("kept idempotent answer not replayed", e))?;
            Ok(Claim::Answered(replayed(&StoredResponse {
                body,
                ..stored
            })))
        }
        Idempotent::InFlight => Err(ApiError::Conflict(
            "A request with this Idempotency-Key is still being processed".into(),
        )),
        Idempotent::Mismatch => Err(ApiError::Unprocessable(
            "This Idempotency-Key was already used with a different request".into(),
        )),
    }
}

/// Keeps `response` as the key's answer when it is final, or lets the key go when
/// it is `transient` (a lost race, a cooldown) or a server-side failure, so that
/// a retry runs again. What the first run created is named from the key, so a
/// run again finds it rather than creating it twice.
pub async fn settle(
    app: &App,
    claimed: Claimed,
    response: Response<Body>,
    transient: bool,
) -> Response<Body> {
    let Claimed {
        scope,
        key,
        owner,
        sealer,
    } = claimed;
    let status = response.status().as_u16();
    let outcome = if transient || status >= 500 {
        app.idempotency.release(&scope, &key, &owner).await
    } else {
        let stored = StoredResponse {
            status,
            content_type: response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/json")
                .to_owned(),
            body: sealer.seal(
                &bound_to(&scope, &key),
                &match response.body() {
                    Body::Text(t) => t.clone(),
                    Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
                    _ => String::new(),
                },
            ),
        };
        app.idempotency
            .complete(
                &scope,
                &key,
                &owner,
                &stored,
                app.clock.now(),
                KEY_RETENTION,
            )
            .await
    };
    match outcome {
        Ok(()) => {}
        // This run outlived its claim and another run took the key over:
        // that run's answer is the one kept.
        Err(StoreError::Conflict) => {
            tracing::warn!("idempotency claim taken over by another run; this answer not kept");
        }
        Err(e) => tracing::error!(error = %e, "idempotency record not updated"),
    }
    response
}

/// The key that seals this deployment's kept answers, from the cursor secret.
async fn answer_key(app: &App) -> Result<AnswerKey, ApiError> {
    let secrets = app.secrets().await.map_err(AppError::from)?;
    Ok(secrets
        .cursor_key
        .as_ref()
        .map_or_else(AnswerKey::for_this_process, |secret| {
            AnswerKey::derive(secret.expose_secret().as_bytes())
        }))
}

/// What a kept answer is bound to: the caller and their key, so that no
/// answer opens under another's.
fn bound_to(scope: &str, key: &str) -> Vec<u8> {
    [scope.as_bytes(), &[0u8], key.as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(key_is_valid("0193f2a4-7c1e-7b61-9d2a-5e8f3c4b2a10"));
        assert!(key_is_valid(&"k".repeat(MAX_KEY_LEN)));
        for bad in ["", " ", "a b", "é", "tab\t", &"k".repeat(MAX_KEY_LEN + 1)] {
            assert!(!key_is_valid(bad), "{bad:?}");
        }
    }
}
