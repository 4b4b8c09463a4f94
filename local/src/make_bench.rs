//! `make bench`'s run: DynamoDB Local and the SES emulator on free ports,
//! then the bench (`local_gateway::bench`, the `bench` binary next to this
//! one) against them; its exit status.

use std::path::Path;
use std::process::Command;

use crate::stack::{DYNAMODB, PortChoice, SES, Stack, StartError};
use crate::stop::Stop;

/// The bench's own table, never `make run`'s.
const TABLE_NAME: &str = "payments-bench";

/// `PYTHON` (the peer's virtualenv, as `make bench` sets it), else the
/// interpreter itself, not a shim in front of it (pyenv's shims are scripts
/// that would add their own start to every cold start measured).
fn python() -> String {
    if let Some(python) = std::env::var("PYTHON").ok().filter(|p| !p.is_empty()) {
        return python;
    }
    Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into())
}

/// Must run on the main thread (see `stack::command`).
pub fn run(root: &Path, stop: &Stop) -> Result<u8, String> {
    let bench = std::env::current_exe()
        .map_err(|e| format!("cannot find this program: {e}"))?
        .with_file_name("bench");
    if !bench.is_file() {
        return Err(format!(
            "{} is missing (cargo build -p local-gateway --bin bench)",
            bench.display()
        ));
    }
    let services = [(&DYNAMODB, PortChoice::Free), (&SES, PortChoice::Free)];
    let stack = match Stack::start(root, &root.join(".stack/bench"), &services, &|| {
        stop.requested()
    }) {
        Ok(stack) => stack,
        Err(StartError::Interrupted(_)) => return Ok(130),
        Err(e) => return Err(e.to_string()),
    };
    let mut env = stack.client_env(TABLE_NAME);
    // Secrets from the local variables, never from Secrets Manager.
    env.push(("SECRET_ARN".into(), String::new()));
    // The card flows measured are the test gateway's (no network to wait on):
    // switched on, and the default, here only.
    env.push(("ENABLE_TEST_GATEWAY".into(), "true".into()));
    env.push(("DEFAULT_GATEWAY".into(), "test".into()));
    env.push(("PYTHON".into(), python()));
    let status = Command::new(&bench)
        .envs(env)
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", bench.display()))?;
    drop(stack);
    Ok(status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(1))
}
