//! Logging, set up once per container: JSON lines to stdout, filtered by `RUST_LOG`.
//! Handlers never log bodies, headers, tokens or codes.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests, local gateway) is harmless.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .without_time() // CloudWatch stamps every line.
        .try_init();
}
