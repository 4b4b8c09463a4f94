//! SPEC §4: the first response to an Idempotency-Key is kept 24 h and replayed.

use std::future::Future;

use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};

use super::{ApiError, ErrorFormat, header, replayed};
use crate::ports::{Idempotent, StoredResponse};
use crate::runtime::App;

const MAX_KEY_LEN: usize = 255;

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

/// Runs `handle` at most once per (scope, key). Without the header it just runs.
/// `scope` is the authenticated caller, so keys never collide between callers.
pub async fn idempotent<F, Fut>(
    app: &App,
    req: Request,
    scope: &str,
    format: &dyn ErrorFormat,
    handle: F,
) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    let Some(key) = header(&req, "idempotency-key").map(str::to_owned) else {
        return handle(req).await;
    };
    let key = key.as_str();
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return format.render(&ApiError::BadRequest(format!(
            "Idempotency-Key must be 1 to {MAX_KEY_LEN} characters"
        )));
    }
    let now = app.clock.now();
    match app
        .idempotency
        .claim(scope, key, &fingerprint(&req), now)
        .await
    {
        Err(e) => format.render(&e.into()),
        Ok(Idempotent::Replay(stored)) => replayed(&stored),
        Ok(Idempotent::InFlight) => format.render(&ApiError::Conflict(
            "A request with this Idempotency-Key is still being processed".into(),
        )),
        Ok(Idempotent::Mismatch) => format.render(&ApiError::Unprocessable(
            "This Idempotency-Key was already used with a different request".into(),
        )),
        Ok(Idempotent::Claimed) => {
            let response = handle(req).await;
            let status = response.status().as_u16();
            // A server-side failure is not an answer worth keeping: let the client retry.
            let outcome = if status >= 500 {
                app.idempotency.release(scope, key).await
            } else {
                let stored = StoredResponse {
                    status,
                    content_type: response
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("application/json")
                        .to_owned(),
                    body: match response.body() {
                        Body::Text(t) => t.clone(),
                        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
                        Body::Empty => String::new(),
                        _ => String::new(),
                    },
                };
                app.idempotency
                    .complete(scope, key, &stored, app.clock.now())
                    .await
            };
            if let Err(e) = outcome {
                tracing::error!(error = %e, "idempotency record not updated");
            }
            response
        }
    }
}
