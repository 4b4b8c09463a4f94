//! Gateway events as a gateway sends them to the PaymentIntents API's
//! webhook endpoint: signed with the gateway's webhook secret at the
//! harness's now.

use lambda_http::http::Method;
use payment_shared::domain::webhook_signature;
use payment_shared::ports::Clock;
use payment_shared::surfaces::payment_intents;

use super::{Call, Harness, Reply, call, invoke};

/// The `stripe-signature` a gateway signing with `secret` puts on `body`
/// now, by the harness's clock.
pub fn gateway_signature(h: &Harness, secret: &str, body: &[u8]) -> String {
    webhook_signature::sign(secret.as_bytes(), h.clock.now().unix_timestamp(), body)
}

/// The webhook request `gateway` sends, signed when `signature` is given.
pub fn gateway_event_call(gateway: &str, body: &str, signature: Option<&str>) -> Call {
    let c = call(
        Method::POST,
        &format!("/api/v1/PaymentIntents/webhook/{gateway}"),
    )
    .param("gatewayId", gateway)
    .raw(body);
    match signature {
        Some(s) => c.header("stripe-signature", s),
        None => c,
    }
}

/// Posts `body` as `gateway` would, signed now with `secret`.
pub async fn post_gateway_event(h: &Harness, gateway: &str, secret: &str, body: &str) -> Reply {
    let signature = gateway_signature(h, secret, body.as_bytes());
    let c = gateway_event_call(gateway, body, Some(&signature));
    invoke(h, payment_intents::webhook, c).await
}
