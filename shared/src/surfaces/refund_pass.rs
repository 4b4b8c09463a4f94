//! The refund pass as its schedule runs it: the scheduled event says nothing
//! the pass needs, and what it did is its answer (and its log line).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::app::unsent_refunds;

/// What one pass did.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PassSummary {
    /// Refunds the gateway has now named, or that failed.
    pub finished: usize,
    /// Refunds still waiting for their gateway.
    pub left: usize,
}

/// Finishes the refunds a gateway fault left unsent.
pub async fn run(
    app: Arc<App>,
    _schedule: serde_json::Value,
) -> Result<PassSummary, lambda_http::Error> {
    let report = unsent_refunds::finish_unsent(&app)
        .await
        .map_err(|e| lambda_http::Error::from(e.to_string()))?;
    tracing::info!(
        finished = report.finished,
        left = report.left,
        "refund pass"
    );
    Ok(PassSummary {
        finished: report.finished,
        left: report.left,
    })
}
