//! A local stand-in for API Gateway (HTTP API, payload format 2.0) in front of
//! every function of `template.yaml`: `make run` serves the whole API on
//! localhost, each request handled by the same handler its Lambda binary runs
//! and seen by it exactly as in Lambda; and the local AWS stack behind it
//! (`stack`, driven by `make_run` and `make_test`). Development tools; not
//! deployed.

pub mod bench;
pub mod deliveries;
pub mod env_file;
pub mod event;
pub mod gateway;
pub mod make_bench;
pub mod make_run;
pub mod make_test;
pub mod receiver;
pub mod refund_pass;
pub mod router;
pub mod sample_events;
pub mod send_webhook;
pub mod setup;
pub mod stack;
pub mod stop;
pub mod template;

use std::convert::Infallible;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use payment_shared::app::App;
use tokio::net::TcpListener;

pub use gateway::Gateway;

/// How long open connections get to finish once shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `gateway` on `listener` until `shutdown` completes, then lets
/// in-flight requests finish (up to 10 s).
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(target: "local_gateway", "accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let gateway = gateway.clone();
                let service = hyper::service::service_fn(move |req| {
                    let gateway = gateway.clone();
                    async move { Ok::<_, Infallible>(gateway.handle(req, remote).await) }
                });
                let connection = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(target: "local_gateway", "connection from {remote}: {e}");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!(target: "local_gateway", "connections still open after {} s; closing them", DRAIN_TIMEOUT.as_secs());
        }
    }
}

/// Every route of the template at `template_path` on 127.0.0.1:`port` (0: a
/// free port), logged with the address, until `shutdown` completes.
pub async fn serve_template(
    template_path: &Path,
    app: Arc<App>,
    port: u16,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    let functions = template::load(template_path).map_err(|e| e.to_string())?;
    if let Err(e) = app.secrets().await {
        tracing::warn!(
            target: "local_gateway",
            "secrets do not load ({e}); authenticated routes will answer 500 (see .env.example)"
        );
    }
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "127.0.0.1:{port} is already in use (another `make run`?); set PORT to use another port"
            ),
            _ => format!("cannot listen on 127.0.0.1:{port}: {e}"),
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("listener address: {e}"))?;
    let table = app.config.table_name.clone();
    let gateway = Arc::new(Gateway::new(&functions, app, addr.port())?);
    tracing::info!(
        target: "local_gateway",
        "routes from {} (table {table}):",
        template_path.display(),
    );
    for (key, binary) in gateway.routes() {
        tracing::info!(target: "local_gateway", "  {key:<52} {binary}");
    }
    tracing::info!(target: "local_gateway", "listening on http://{addr}");
    serve(listener, gateway, shutdown).await;
    tracing::info!(target: "local_gateway", "stopped");
    Ok(())
}

/// `PORT`, or `default` when unset or empty.
pub fn port_from_env(default: u16) -> Result<u16, String> {
    match std::env::var("PORT") {
        Ok(p) if !p.trim().is_empty() => p
            .trim()
            .parse::<u16>()
            .map_err(|_| format!("PORT must be a port number, not '{p}'")),
        _ => Ok(default),
    }
}

/// Human-readable logs (`LOG_FORMAT=json`: the JSON lines Lambda writes),
/// filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    use std::io::IsTerminal;
    if std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        payment_shared::telemetry::init();
        return;
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .with_target(false)
        .try_init();
}
