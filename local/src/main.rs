//! `local-gateway [--template PATH]`: every route of `template.yaml` on
//! `http://127.0.0.1:$PORT` (default 3000; `PORT=0` picks a free port), as
//! API Gateway would serve it. Configuration as the functions read it
//! (`TABLE_NAME`, `JWT_SECRET`, ..., `AWS_ENDPOINT_URL_*`; see `.env.example`).
//! Stops on SIGINT/SIGTERM after in-flight requests finish.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use local_gateway::stop::Stop;
use local_gateway::template;
use payment_shared::app::App;

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
    let port = local_gateway::port_from_env(DEFAULT_PORT)?;
    let app = Arc::new(
        App::from_env()
            .await
            .map_err(|e| format!("configuration: {e}"))?,
    );
    let stop = Stop::listen()?;
    local_gateway::serve_template(&template_path, app, port, async move {
        let signal = stop.wait().await;
        tracing::info!(target: "local_gateway", "{signal}: shutting down");
    })
    .await
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
