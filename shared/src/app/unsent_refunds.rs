//! The refund pass: finishes refunds that a gateway fault (a timeout, a 5xx,
//! a function stopped mid-call) left pending before the gateway named them.
//! Nobody else would: the staff member got an error and may never retry,
//! and the gateway's events only speak of refunds it made.
//!
//! Within the gateway's memory of our key the pass simply asks again, under
//! the same key (derived from the refund id): a gateway that made the refund
//! answers with it, one that did not makes it now, once. Past that, asking
//! again could give the money back twice, so the pass looks for the refund
//! instead, by the refund id the gateway keeps with it; if the gateway has
//! none, it was never made, and the refund fails: its amount may be refunded
//! again and `refund.failed` tells the operator.

use time::Duration;

use super::AppError;
use super::refunds::{collected_by, connector_of, store_answer};
use crate::app::App;
use crate::domain::{Refund, RefundId};
use crate::ports::GatewayError;

/// How old an unsent refund must be before the pass takes it: the request
/// that made it may still be waiting on the gateway until its function's
/// timeout, and its own answer is the one to store.
pub const GRACE: Duration = Duration::seconds(60);

/// How long before the gateway forgets our key the pass stops asking and
/// looks instead: a clock a little off, or a slow call, never straddles it.
pub const KEY_MARGIN: Duration = Duration::hours(1);

/// Most refunds one pass takes on; the next pass takes the rest.
pub const BATCH: usize = 25;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    /// Unsent refunds now named by their gateway, succeeded or failed.
    pub finished: usize,
    /// Those still unsent after this pass (a gateway still failing).
    pub left: usize,
}

/// One pass over the refunds still unsent.
pub async fn finish_unsent(app: &App) -> Result<PassReport, AppError> {
    let unsent = app
        .refunds
        .unsent_refunds(app.clock.now() - GRACE, BATCH)
        .await?;
    let mut report = PassReport::default();
    for listed in unsent {
        match finish(app, listed.id()).await {
            Ok(true) => report.finished += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(refund = %listed.id(), error = %e, "refund still unsent");
                report.left += 1;
            }
        }
    }
    Ok(report)
}

/// Finishes the refund `id` if it is still unsent (the list may lag behind
/// it). True when this pass finished it.
async fn finish(app: &App, id: RefundId) -> Result<bool, AppError> {
    let Some(refund) = app.refunds.get_refund(&id).await? else {
        return Ok(false);
    };
    if !refund.is_unsent() {
        return Ok(false);
    }
    let (payment, intent) = collected_by(app, &refund).await?;
    let connector = connector_of(app, &intent)?;
    let answer = if forgotten(&refund, connector.refund_key_lifetime(), app) {
        match connector.find_refund(&intent, &refund).await? {
            Some(made) => Ok(made),
            None => Err(GatewayError::Refused(format!(
                "the gateway has no refund {} after its key expired: it was never made",
                refund.id()
            ))),
        }
    } else {
        connector.refund(&intent, &refund).await
    };
    // Stored as a request's answer is: named by the gateway, or failed.
    let stored = store_answer(app, refund, answer, payment).await?;
    tracing::info!(refund = %stored.id(), status = stored.status().as_str(), "unsent refund finished");
    Ok(true)
}

/// Whether the gateway may have forgotten the key `refund` is asked under.
fn forgotten(refund: &Refund, lifetime: Option<Duration>, app: &App) -> bool {
    lifetime.is_some_and(|lifetime| app.clock.now() - refund.created() >= lifetime - KEY_MARGIN)
}
