//! SIGINT (Ctrl-C), SIGTERM and SIGHUP (the terminal closed) as a request to stop, which both async code
//! (the gateway's shutdown) and blocking loops (waiting for the emulators, for
//! `cargo test`) can see.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

#[derive(Clone)]
pub struct Stop(watch::Receiver<Option<&'static str>>);

impl Stop {
    /// Catches SIGINT, SIGTERM and SIGHUP from now on (their default action
    /// would end us without stopping our children). Needs a Tokio runtime.
    pub fn listen() -> Result<Self, String> {
        let mut int =
            signal(SignalKind::interrupt()).map_err(|e| format!("cannot catch SIGINT: {e}"))?;
        let mut term =
            signal(SignalKind::terminate()).map_err(|e| format!("cannot catch SIGTERM: {e}"))?;
        let mut hup =
            signal(SignalKind::hangup()).map_err(|e| format!("cannot catch SIGHUP: {e}"))?;
        let (tx, rx) = watch::channel(None);
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
                _ = hup.recv() => "SIGHUP",
            };
            let _ = tx.send(Some(name));
            // Later signals are caught too, so a second Ctrl-C does not cut
            // the stop short; the stop is already under way.
            loop {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                    _ = hup.recv() => {}
                }
            }
        });
        Ok(Self(rx))
    }

    /// The signal that asked us to stop, if one has.
    pub fn requested(&self) -> Option<&'static str> {
        *self.0.borrow()
    }

    /// Completes with the signal's name once one arrives.
    pub async fn wait(mut self) -> &'static str {
        match self.0.wait_for(Option::is_some).await {
            Ok(name) => name.unwrap_or("a signal"),
            // The listener is gone, so no signal can come: wait forever.
            Err(_) => std::future::pending().await,
        }
    }
}
