//! `local-gateway [--template PATH]`: every route of `template.yaml` on
//! `http://127.0.0.1:$PORT` (default 3000; `PORT=0` picks a free port), as
//! API Gateway would serve it. Configuration as the functions read it
//! (`TABLE_NAME`, `JWT_SECRET`, ..., `AWS_ENDPOINT_URL_*`; see `.env.example`).
//! Stops on SIGINT/SIGTERM after in-flight requests finish.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use local_gateway::{Gateway, template};
use payment_shared::runtime::App;
use tokio::net::TcpListener;

const DEFAULT_PORT: u16 = 3000;

fn template_path() -> Result<PathBuf, String> {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next(), args.next()) {
        (None, _, _) => Ok(template::default_path()),
        (Some("--template"), Some(path), None) => Ok(PathBuf::from(path)),
        _ => Err("usage: local-gateway [--template PATH]".into()),
    }
}

async fn run() -> Result<(), String> {
    let template_path = template_path()?;
    let functions = template::load(&template_path).map_err(|e| e.to_string())?;
    let port = match std::env::var("PORT") {
        Ok(p) if !p.trim().is_empty() => p
            .trim()
            .parse::<u16>()
            .map_err(|_| format!("PORT must be a port number, not '{p}'"))?,
        _ => DEFAULT_PORT,
    };
    let app = Arc::new(
        App::from_env()
            .await
            .map_err(|e| format!("configuration: {e}"))?,
    );
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
    local_gateway::serve(listener, gateway, local_gateway::shutdown_signal()).await;
    tracing::info!(target: "local_gateway", "stopped");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    local_gateway::init_logging();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local-gateway: error: {e}");
            ExitCode::FAILURE
        }
    }
}
