//! One cold start, measured as Lambda would see it: the function's process is
//! started against a local Lambda Runtime API that hands it one event.
//!
//! - init: from starting the process to its first `GET …/invocation/next`;
//! - first invoke: from handing it the event to its response;
//! - peak RSS: the process's high-water mark once it answered.

use std::convert::Infallible;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// How long one cold start may take before it counts as failed.
const RUN_TIMEOUT: Duration = Duration::from_secs(20);
const REQUEST_ID: &str = "00000000-0000-4000-8000-000000000001";

/// What one cold start measured.
#[derive(Debug, Clone, Copy)]
pub struct ColdStart {
    pub init: Duration,
    pub first_invoke: Duration,
    /// The first invoke's window (the event handed over, the answer in),
    /// within which the calls the function waited on count.
    pub window: (Instant, Instant),
    /// KiB, as Linux reports `VmHWM`.
    pub peak_rss_kib: u64,
    /// The HTTP status of the function's answer (API Gateway's `statusCode`).
    pub status: u16,
}

#[derive(Default)]
struct Seen {
    next_at: Option<Instant>,
    answered_at: Option<Instant>,
    status: Option<u16>,
    error: Option<String>,
}

struct RunState {
    event: String,
    seen: Mutex<Seen>,
    done: Notify,
}

fn reply(status: u16, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    response
}

async fn serve(state: Arc<RunState>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    if path == "/2018-06-01/runtime/invocation/next" {
        let first = {
            let mut seen = state.seen.lock().unwrap_or_else(|p| p.into_inner());
            if seen.next_at.is_none() {
                seen.next_at = Some(Instant::now());
                true
            } else {
                false
            }
        };
        if !first {
            // One invocation per process: the next one never comes.
            std::future::pending::<()>().await;
        }
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            + Duration::from_secs(10);
        let mut response = reply(200, &state.event);
        let headers = response.headers_mut();
        for (name, value) in [
            ("lambda-runtime-aws-request-id", REQUEST_ID.to_owned()),
            (
                "lambda-runtime-deadline-ms",
                deadline.as_millis().to_string(),
            ),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench".to_owned(),
            ),
            ("content-type", "application/json".to_owned()),
        ] {
            if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        return response;
    }
    let answered_at = Instant::now();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    {
        let mut seen = state.seen.lock().unwrap_or_else(|p| p.into_inner());
        if path.ends_with("/response") {
            seen.answered_at = Some(answered_at);
            // A function no HTTP request reaches (the deliveries' dispatch and
            // retry pass) answers its own JSON: any answer is a 200.
            seen.status = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .map(|v| v["statusCode"].as_u64().unwrap_or(200))
                .and_then(|s| u16::try_from(s).ok());
        } else {
            seen.error = Some(format!(
                "{path}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ));
        }
    }
    state.done.notify_one();
    reply(202, r#"{"status":"OK"}"#)
}

/// The process's peak resident set, while it still runs.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Starts `program` (with `args`, in `dir`, with `env` on top of ours) as a
/// Lambda function receiving `event`, and measures its cold start.
pub async fn cold_start(
    program: &Path,
    args: &[&str],
    dir: &Path,
    env: &[(String, String)],
    event: &str,
) -> Result<ColdStart, String> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| format!("runtime API: {e}"))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("runtime API: {e}"))?
        .port();
    let state = Arc::new(RunState {
        event: event.to_owned(),
        seen: Mutex::new(Seen::default()),
        done: Notify::new(),
    });
    let server_state = state.clone();
    let server = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let state = server_state.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(serve(state, req).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });

    let name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    let finished = tokio::time::timeout(RUN_TIMEOUT, state.done.notified()).await;
    let rss = peak_rss_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    if finished.is_err() {
        return Err(format!(
            "{name}: no answer within {} s",
            RUN_TIMEOUT.as_secs()
        ));
    }
    let seen = state.seen.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(error) = &seen.error {
        return Err(format!("{name}: reported an error: {error}"));
    }
    match (seen.next_at, seen.answered_at) {
        (Some(next), Some(answered)) => Ok(ColdStart {
            init: next - started,
            first_invoke: answered - next,
            window: (next, answered),
            peak_rss_kib: rss.unwrap_or(0),
            status: seen.status.unwrap_or(0),
        }),
        _ => Err(format!("{name}: answered without asking for an event")),
    }
}
