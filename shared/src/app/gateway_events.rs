//! Events from payment gateways, as their webhooks post them: verified, each
//! event acted on once, and never allowed to move an intent backwards.

use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use super::AppError;
use super::intents::{expire_if_due, gateway_succeeded};
use super::retry::Attempts;
use crate::app::App;
use crate::domain::{
    GatewayId, GatewayReport, IntentId, PaymentIntent, PaymentMethod, Refund, RefundId,
};
use crate::ports::{
    Expected, GatewayEvent, GatewayEventKind, GatewayRefund, Idempotent, StoreError, StoredResponse,
};

/// Gateways redeliver an event for days; its id is remembered for longer.
pub const EVENT_RETENTION: time::Duration = time::Duration::days(30);

/// How long a delivery waits for a concurrent delivery of the same event to
/// finish before asking the gateway to send it again later.
const CONCURRENT_POLLS: usize = 40;
const CONCURRENT_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

/// What became of a gateway's event; every one is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    Applied,
    /// This event was acted on already.
    Duplicate,
    /// Nothing to do: an unknown intent, a type not acted on, a stale or
    /// mismatched report.
    Ignored,
}

/// What a gateway this deployment does not take events from is answered.
pub fn unknown_gateway() -> AppError {
    AppError::NotFound("Payment gateway".into())
}

/// Verifies and acts on one event `gateway` posted to its webhook route.
/// `delivery` names this run (the gateway's post), so that a retried run takes over its own claim.
pub async fn receive(
    app: &App,
    gateway: GatewayId,
    signature: Option<&str>,
    body: &[u8],
    delivery: &str,
) -> Result<EventOutcome, AppError> {
    let connector = app.gateways.get(gateway).ok_or_else(unknown_gateway)?;
    let secrets = app.secrets().await?;
    let Some(secret) = secrets.webhook_secrets.get(gateway.as_str()) else {
        tracing::error!(
            gateway = gateway.as_str(),
            "no webhook secret configured for this gateway"
        );
        return Err(unknown_gateway());
    };
    let event = connector.verify_event(
        secret.expose_secret().as_bytes(),
        signature,
        body,
        app.clock.now(),
    )?;
    let scope = format!("webhook:{}", gateway.as_str());
    let fingerprint = hex::encode(Sha256::digest(body));
    if let Some(done) = claim_event(app, &scope, &event.id, &fingerprint, delivery).await? {
        return Ok(done);
    }
    match apply(app, gateway, &event).await {
        Ok(outcome) => {
            let acknowledged = StoredResponse {
                status: 200,
                content_type: "application/json".into(),
                body: "{}".into(),
            };
            let kept = app
                .idempotency
                .complete(
                    &scope,
                    &event.id,
                    delivery,
                    &acknowledged,
                    app.clock.now(),
                    EVENT_RETENTION,
                )
                .await;
            match kept {
                // A later delivery took the event over after this one's claim
                // went stale: it records the event as handled.
                Ok(()) | Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
            tracing::info!(event = %event.id, outcome = ?outcome, "webhook event handled");
            Ok(outcome)
        }
        Err(e) => {
            // Let the gateway's retry run it again.
            if let Err(release) = app.idempotency.release(&scope, &event.id, delivery).await {
                tracing::error!(error = %release, "webhook event claim not released");
            }
            Err(e)
        }
    }
}

/// Claims the event for this delivery: `None` to go on, or the answer when
/// the event was handled already. A delivery of the same event still running
/// elsewhere is waited for.
async fn claim_event(
    app: &App,
    scope: &str,
    event: &str,
    fingerprint: &str,
    delivery: &str,
) -> Result<Option<EventOutcome>, AppError> {
    for _ in 0..CONCURRENT_POLLS {
        match app
            .idempotency
            .claim(scope, event, fingerprint, delivery, app.clock.now())
            .await?
        {
            Idempotent::Claimed => return Ok(None),
            // Gateways resend an event byte for byte; a changed body under a
            // known id is still that event, and it was handled.
            Idempotent::Replay(_) | Idempotent::Mismatch => {
                return Ok(Some(EventOutcome::Duplicate));
            }
            Idempotent::InFlight => tokio::time::sleep(CONCURRENT_PAUSE).await,
        }
    }
    // Still running elsewhere: an error, so that the gateway sends it again.
    Err(StoreError::Conflict.into())
}

/// What the event means for its intent (or its refunds), stored.
async fn apply(
    app: &App,
    gateway: GatewayId,
    event: &GatewayEvent,
) -> Result<EventOutcome, AppError> {
    if let GatewayEventKind::Refunds(reported) = &event.kind {
        return refunds_reported(app, gateway, &event.id, reported).await;
    }
    let Some(intent) = intent_of(app, gateway, event).await? else {
        // Answered all the same, so that the gateway stops sending it.
        tracing::warn!(event = %event.id, "webhook event for an unknown gateway intent");
        return Ok(EventOutcome::Ignored);
    };
    if !same_money(&intent, event) {
        tracing::warn!(event = %event.id, intent = %intent.id(), "webhook event amount or currency differs from the intent's; ignored");
        return Ok(EventOutcome::Ignored);
    }
    let report = match &event.kind {
        GatewayEventKind::Succeeded => {
            let (_, payment) =
                gateway_succeeded(app, intent, PaymentMethod::Card, &event.gateway_intent_id)
                    .await?;
            return Ok(if payment.is_some() {
                EventOutcome::Applied
            } else {
                EventOutcome::Ignored
            });
        }
        GatewayEventKind::Processing => GatewayReport::Processing,
        GatewayEventKind::PaymentFailed => GatewayReport::Declined {
            reason: event
                .failure_code
                .clone()
                .unwrap_or_else(|| "payment_failed".into()),
        },
        GatewayEventKind::Canceled => GatewayReport::Canceled,
        GatewayEventKind::RequiresAction => GatewayReport::RequiresAction {
            next_action: event.next_action.clone(),
        },
        // Handled before the intent is looked for.
        GatewayEventKind::Refunds(_) | GatewayEventKind::Other(_) => {
            return Ok(EventOutcome::Ignored);
        }
    };
    report_to(app, intent, &report).await
}

/// The intent `event` is about. The gateway echoes back the id we gave it
/// with the intent: read by that id, the intent stands only if it is this
/// gateway's intent the event names. Without it (or when it names another),
/// the gateway's id finds ours first.
async fn intent_of(
    app: &App,
    gateway: GatewayId,
    event: &GatewayEvent,
) -> Result<Option<PaymentIntent>, AppError> {
    let echoed = event
        .intent_id
        .as_deref()
        .and_then(|id| IntentId::parse(id).ok());
    if let Some(id) = echoed
        && let Some(intent) = app.intents.get_intent(&id).await?
        && intent.gateway() == gateway
        && intent.gateway_intent_id().as_deref() == Some(event.gateway_intent_id.as_str())
    {
        return Ok(Some(intent));
    }
    Ok(app
        .intents
        .find_intent_by_gateway_id(gateway, &event.gateway_intent_id)
        .await?)
}

/// What the gateway says became of refunds it made: each one it names that
/// is ours moves forward (a failed one gives its amount back); any other is
/// acknowledged, so that the gateway stops sending it.
async fn refunds_reported(
    app: &App,
    gateway: GatewayId,
    event: &str,
    reported: &[GatewayRefund],
) -> Result<EventOutcome, AppError> {
    let mut outcome = EventOutcome::Ignored;
    for report in reported {
        let Some(refund) = reported_refund(app, gateway, report).await? else {
            tracing::warn!(event, "webhook event for an unknown refund");
            continue;
        };
        let (_, changed) =
            super::refunds::settle(app, refund, report.status, Some(&report.id), None).await?;
        if changed {
            outcome = EventOutcome::Applied;
        }
    }
    Ok(outcome)
}

/// The refund a report is about: by the gateway's id for it, or, when the
/// gateway's report outran our record of that id, by our own id the gateway
/// echoes back (only a refund of this gateway not yet named otherwise).
async fn reported_refund(
    app: &App,
    gateway: GatewayId,
    report: &GatewayRefund,
) -> Result<Option<Refund>, AppError> {
    if let Some(refund) = app
        .refunds
        .find_refund_by_gateway_id(gateway, &report.id)
        .await?
    {
        return Ok(Some(refund));
    }
    let Some(ours) = report
        .refund_id
        .as_deref()
        .and_then(|id| RefundId::parse(id).ok())
    else {
        return Ok(None);
    };
    Ok(app.refunds.get_refund(&ours).await?.filter(|r| {
        r.gateway() == Some(gateway)
            && r.gateway_refund_id()
                .as_deref()
                .is_none_or(|named| named == report.id)
    }))
}

/// An event about other money than the intent's is not about this intent.
fn same_money(intent: &PaymentIntent, event: &GatewayEvent) -> bool {
    let amount = event
        .amount_minor
        .is_none_or(|minor| minor == intent.amount().minor());
    let currency = event
        .currency
        .as_deref()
        .is_none_or(|c| c.eq_ignore_ascii_case(intent.amount().currency().code()));
    amount && currency
}

async fn report_to(
    app: &App,
    intent: PaymentIntent,
    report: &GatewayReport,
) -> Result<EventOutcome, AppError> {
    let mut intent = expire_if_due(app, intent).await?;
    let mut attempts = Attempts::new();
    loop {
        attempts.next()?;
        let expected = Expected::of(&intent);
        let mut next = intent.clone();
        if !next.apply_gateway_report(report, app.clock.now()) {
            tracing::info!(intent = %intent.id(), status = %intent.status(), "stale gateway report ignored");
            return Ok(EventOutcome::Ignored);
        }
        // An ended intent frees its payable in the same write.
        let written = if next.status().is_terminal() {
            app.intents.finish_intent(&mut next, expected, None).await
        } else {
            app.intents.save_intent(&mut next, expected).await
        };
        match written {
            Ok(()) => return Ok(EventOutcome::Applied),
            Err(StoreError::Conflict) => {
                intent = app
                    .intents
                    .get_intent(&intent.id())
                    .await?
                    .ok_or(StoreError::Conflict)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
}
