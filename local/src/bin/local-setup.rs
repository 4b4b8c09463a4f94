//! `local-setup [--fresh]`: prepares the local stack for the API (see
//! `local_gateway::setup`) with the configuration the gateway gets, and prints
//! the demo tokens as shell `export` lines on stdout. `--fresh` drops the
//! table first.
//!
//! `local-setup --sign-events [DIR]`: puts the demo users' tokens (signed with
//! the local development key) and the local API key into the sample events
//! (default `events/`), so `cargo lambda invoke --data-file` works against
//! `make run`'s stack. Needs no stack.

use std::path::PathBuf;
use std::process::ExitCode;

use local_gateway::{sample_events, setup};
use payment_shared::app::App;

const USAGE: &str = "usage: local-setup [--fresh] | --sign-events [DIR]";

async fn prepare(fresh: bool) -> Result<(), String> {
    let app = App::from_env()
        .await
        .map_err(|e| format!("configuration: {e}"))?;
    let tokens = setup::prepare(&app, fresh).await?;
    print!("{}", setup::exports(&tokens));
    Ok(())
}

fn sign_events(dir: PathBuf) -> Result<(), String> {
    let changed = sample_events::sign_all(&dir)?;
    if changed.is_empty() {
        eprintln!("local-setup: the events in {} are current", dir.display());
    }
    for name in changed {
        eprintln!("local-setup: signed {}/{name}.json", dir.display());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let done = match args.as_slice() {
        [] => prepare(false).await,
        ["--fresh"] => prepare(true).await,
        ["--sign-events"] => sign_events(PathBuf::from("events")),
        ["--sign-events", dir] => sign_events(PathBuf::from(dir)),
        _ => Err(USAGE.into()),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local-setup: error: {e}");
            ExitCode::FAILURE
        }
    }
}
