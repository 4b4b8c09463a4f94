//! The refund pass of the local stack: the scheduled function's own
//! handler, run every few seconds instead of every five minutes, so that a
//! refund a gateway fault left unsent is finished while you watch (after
//! the pass's grace for its own request, as in AWS).

use std::sync::Arc;
use std::time::Duration;

use payment_shared::app::App;
use payment_shared::surfaces::refund_pass;

/// The pass's period here (five minutes in AWS).
const PERIOD: Duration = Duration::from_secs(10);

/// Runs the pass until dropped (abort its task to stop it).
pub async fn run(app: Arc<App>) {
    loop {
        if let Err(e) = refund_pass::run(app.clone(), serde_json::Value::Null).await {
            tracing::warn!(target: "local_gateway", "refund pass: {e}");
        }
        tokio::time::sleep(PERIOD).await;
    }
}
