//! Logging, set up once per container: JSON lines, filtered by `RUST_LOG`.
//! Handlers never log bodies, headers, tokens or codes.

use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// Libraries that log whole requests and responses below `info`: DynamoDB items
/// with email addresses, the SES form with the one-time code, Lambda events
/// with bearer tokens. They never log below `info`, whatever the level asked for.
const CHATTY: [&str; 10] = [
    "aws_runtime",
    "aws_sdk_dynamodb",
    "aws_sdk_secretsmanager",
    "aws_sdk_ses",
    "aws_sigv4",
    "aws_smithy",
    "h2",
    "hyper",
    "lambda_http",
    "lambda_runtime",
];

/// The service's log subscriber, writing JSON lines to `sink` at `filter`
/// (`RUST_LOG`'s target-and-level directives, e.g. `info` or
/// `warn,payment_shared=debug`; anything else means `info`). Tests build it
/// with their own sink, so what they check is what Lambda writes.
pub fn subscriber<W>(filter: &str, sink: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_max_level(LevelFilter::TRACE)
        .with_current_span(false)
        .without_time() // CloudWatch stamps every line.
        .with_writer(sink)
        .finish()
        .with(
            filter
                .parse::<Targets>()
                .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO)),
        )
        .with(
            Targets::new()
                .with_default(LevelFilter::TRACE)
                .with_targets(CHATTY.map(|target| (target, LevelFilter::INFO))),
        )
}

/// Installs the subscriber for this process: stdout, `RUST_LOG` (default `info`).
pub fn init() {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    // A second init (tests, local gateway) is harmless.
    let _ = tracing::subscriber::set_global_default(subscriber(&filter, std::io::stdout));
}
