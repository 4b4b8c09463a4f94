//! Logging, set up once per container: JSON lines, filtered by `RUST_LOG`.
//! Handlers never log bodies, headers, tokens or codes.

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The service's log subscriber, writing JSON lines to `sink` at `filter`
/// (a `RUST_LOG` directive). Tests build it with their own sink, so what they
/// check is what Lambda writes.
pub fn subscriber<W>(filter: &str, sink: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::new(filter))
        .with_current_span(false)
        .without_time() // CloudWatch stamps every line.
        .with_writer(sink)
        .finish()
}

/// Installs the subscriber for this process: stdout, `RUST_LOG` (default `info`).
pub fn init() {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    // A second init (tests, local gateway) is harmless.
    let _ = tracing::subscriber::set_global_default(subscriber(&filter, std::io::stdout));
}
