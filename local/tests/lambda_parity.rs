//! By hand, not in CI: every sample event answers with the same HTTP status
//! through `cargo lambda invoke` as the same request through the local
//! gateway. With `make run` up and `cargo lambda watch` running (it reads
//! `.stack/lambda.env`), from the repository root:
//!
//! ```sh
//! cargo test -p local-gateway --test lambda_parity -- --ignored --nocapture
//! ```
//!
//! Events change data (a second PUT of a payable answers 200, not 201), so
//! each side gets a fresh table with the demo data (`local-setup --fresh`)
//! and the events in the same order. This drops `make run`'s table: what you
//! created by hand is gone afterwards, the demo data is back.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use payment_shared::routes;
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repo root")
}

struct Event {
    name: String,
    path: PathBuf,
    json: Value,
}

fn events() -> Vec<Event> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(repo().join("events"))
        .expect("events/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| Event {
            name: path
                .file_stem()
                .expect("name")
                .to_string_lossy()
                .into_owned(),
            json: serde_json::from_str(&std::fs::read_to_string(&path).expect("readable"))
                .expect("JSON"),
            path,
        })
        .collect()
}

/// events/<binary>.json or events/<binary>-<case>.json
fn binary(name: &str) -> &'static str {
    routes::BINARIES
        .iter()
        .filter(|b| name == **b || name.starts_with(&format!("{b}-")))
        .max_by_key(|b| b.len())
        .unwrap_or_else(|| panic!("{name}.json is not named after a binary"))
}

fn lambda_env() -> Vec<(String, String)> {
    let path = repo().join(".stack/lambda.env");
    dotenvy::from_path_iter(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (is `make run` up?)", path.display()))
        .map(|item| item.expect("KEY=VALUE"))
        .collect()
}

fn fresh_table(env: &[(String, String)]) {
    let status = Command::new(env!("CARGO_BIN_EXE_local-setup"))
        .arg("--fresh")
        .envs(env.iter().cloned())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("local-setup runs");
    assert!(status.success(), "local-setup --fresh failed");
}

async fn through_gateway(http: &reqwest::Client, api: &str, event: &Event) -> String {
    let e = &event.json;
    let method = e["requestContext"]["http"]["method"]
        .as_str()
        .expect("method");
    let mut url = format!("{api}{}", e["rawPath"].as_str().expect("rawPath"));
    if let Some(query) = e["rawQueryString"].as_str().filter(|q| !q.is_empty()) {
        url = format!("{url}?{query}");
    }
    let mut request = http.request(method.parse().expect("a method"), url);
    for (name, value) in e["headers"].as_object().into_iter().flatten() {
        if name != "host" && name != "content-length" {
            request = request.header(name, value.as_str().unwrap_or_default());
        }
    }
    if let Some(body) = e["body"].as_str() {
        let bytes = if e["isBase64Encoded"] == true {
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .expect("base64 body")
        } else {
            body.as_bytes().to_vec()
        };
        request = request.body(bytes);
    }
    match request.send().await {
        Ok(response) => response.status().as_u16().to_string(),
        Err(e) => format!("error: {e}"),
    }
}

fn through_cargo_lambda(event: &Event) -> String {
    let out = Command::new("cargo")
        .args(["lambda", "invoke", binary(&event.name), "--data-file"])
        .arg(&event.path)
        .current_dir(repo())
        .output()
        .expect("cargo lambda runs (pip install cargo-lambda)");
    if !out.status.success() {
        return format!("error: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    serde_json::from_slice::<Value>(&out.stdout)
        .ok()
        .and_then(|r| r["statusCode"].as_u64())
        .map_or_else(
            || format!("error: {}", String::from_utf8_lossy(&out.stdout)),
            |s| s.to_string(),
        )
}

#[tokio::test]
#[ignore = "needs `make run` and `cargo lambda watch` running"]
async fn sample_events_answer_alike_through_cargo_lambda_and_the_gateway() {
    let api = std::env::var("API").unwrap_or_else(|_| "http://127.0.0.1:3000".into());
    let env = lambda_env();
    let events = events();
    let http = reqwest::Client::new();

    fresh_table(&env);
    let mut gateway = Vec::new();
    for event in &events {
        gateway.push(through_gateway(&http, &api, event).await);
    }
    fresh_table(&env);
    let mut lambda = Vec::new();
    for event in &events {
        lambda.push(through_cargo_lambda(event));
    }

    let mut differ = Vec::new();
    println!("{:<45} {:>8} {:>8}", "event", "gateway", "lambda");
    for ((event, g), l) in events.iter().zip(&gateway).zip(&lambda) {
        println!("{:<45} {g:>8} {l:>8}", event.name);
        if g != l {
            differ.push(event.name.clone());
        }
    }
    assert!(differ.is_empty(), "different answers for {differ:?}");
}
