//! One request through the local gateway, as API Gateway (HTTP API, payload
//! format 2.0) and Lambda would handle it:
//!
//! 1. limits: a body over 10 MB is `413 {"message":"Request Entity Too Large"}`;
//! 2. routing (`router`): no route is `404 {"message":"Not Found"}`;
//! 3. the v2 event JSON (`event`) goes through lambda_http's own event parsing
//!    and response conversion (the `Adapter` `lambda_http::run` wraps every
//!    handler in), so the handler sees what it sees in Lambda and returns the
//!    JSON Lambda would hand back to API Gateway;
//! 4. that JSON is rendered as API Gateway renders it: `statusCode`, `headers`,
//!    `cookies` as `set-cookie`, base64 bodies decoded.
//!
//! A panic, a handler running past the function's `Timeout` or a response over
//! Lambda's 6 MB limit is `500 {"message":"Internal Server Error"}`, as a
//! failed invocation is behind API Gateway.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue, SET_COOKIE};
use hyper::{Request, Response, StatusCode};
use lambda_http::lambda_runtime::LambdaEvent;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Service as _, service_fn};
use payment_shared::app::App;
use payment_shared::routes::{self, Handler};
use serde_json::Value;
use time::OffsetDateTime;

use crate::event::{self, EventInput};
use crate::router::Router;
use crate::template::Function;

/// API Gateway's request payload limit.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// Lambda's limit on a synchronous invocation's event and response.
pub const MAX_LAMBDA_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
/// Over-limit request bodies are read and dropped up to this much, so the
/// client gets to read the 413 instead of a reset connection.
const DRAIN_BYTES: usize = 64 * 1024 * 1024;
/// The `accountId` and `apiId` in events (SAM local uses the same account).
const ACCOUNT_ID: &str = "123456789012";
const API_ID: &str = "local";

/// Where a route leads.
pub struct Target {
    pub binary: String,
    pub timeout: Duration,
    handler: Arc<Handler>,
}

pub struct Gateway {
    router: Router<Target>,
    app: Arc<App>,
    port: u16,
}

type Reply = Response<Full<Bytes>>;

fn message(status: StatusCode, text: &str) -> Reply {
    let body = serde_json::json!({ "message": text }).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn internal_error() -> Reply {
    message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if getrandom::fill(&mut bytes).is_err() {
        // Only ids depend on it; fall back to the clock.
        let nanos = OffsetDateTime::now_utc()
            .unix_timestamp_nanos()
            .to_le_bytes();
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = nanos[i % nanos.len()];
        }
    }
    bytes
}

/// An id shaped like API Gateway's (`BlMDUj1VIAMEJ6A=`).
fn api_request_id() -> String {
    base64::engine::general_purpose::STANDARD.encode(random_bytes::<11>())
}

/// A UUID-shaped id, as Lambda's invocation ids are.
fn lambda_request_id() -> String {
    let b = random_bytes::<16>();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// `Root=1-<epoch seconds hex>-<96 random bits hex>`
fn trace_root(now: OffsetDateTime) -> String {
    let hex: String = random_bytes::<12>()
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    format!("Root=1-{:08x}-{hex}", now.unix_timestamp())
}

enum BodyRead {
    Complete(Vec<u8>),
    TooLarge,
    Failed,
}

async fn read_body<B>(body: B) -> BodyRead
where
    B: Body<Data = Bytes>,
{
    let mut body = std::pin::pin!(body);
    let mut data = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return BodyRead::Failed;
        };
        if let Ok(chunk) = frame.into_data() {
            seen = seen.saturating_add(chunk.len());
            if seen > DRAIN_BYTES {
                return BodyRead::TooLarge;
            }
            if seen <= MAX_BODY_BYTES {
                data.extend_from_slice(&chunk);
            }
        }
    }
    if seen > MAX_BODY_BYTES {
        BodyRead::TooLarge
    } else {
        BodyRead::Complete(data)
    }
}

/// API Gateway's rendering of a payload 2.0 response; `None` when the
/// function's answer is not a usable response.
pub fn render(lambda_response: &Value) -> Option<Reply> {
    let status = lambda_response
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())?;
    let body = match lambda_response.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => {
            if lambda_response.get("isBase64Encoded") == Some(&Value::Bool(true)) {
                base64::engine::general_purpose::STANDARD.decode(s).ok()?
            } else {
                s.clone().into_bytes()
            }
        }
        Some(other) => other.to_string().into_bytes(),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Some(map) = lambda_response.get("headers").and_then(Value::as_object) {
        for (name, value) in map {
            let value = match value {
                Value::String(s) => s.clone(),
                Value::Null => continue,
                other => other.to_string(),
            };
            let Ok(name) = HeaderName::try_from(name.as_str()) else {
                continue;
            };
            // The server frames the body itself.
            if name == CONTENT_LENGTH
                || name == hyper::header::TRANSFER_ENCODING
                || name == hyper::header::CONNECTION
            {
                continue;
            }
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.append(name, value);
            }
        }
    }
    if let Some(cookies) = lambda_response.get("cookies").and_then(Value::as_array) {
        for cookie in cookies.iter().filter_map(Value::as_str) {
            if let Ok(value) = HeaderValue::from_str(cookie) {
                headers.append(SET_COOKIE, value);
            }
        }
    }
    Some(response)
}

impl Gateway {
    /// Every route of every function, each with the handler its binary serves.
    /// A function no route reaches (the deliveries' dispatch and retry pass,
    /// fed by a stream and a schedule) is not the gateway's: the local stack
    /// runs those on its own (`deliveries`).
    pub fn new(functions: &[Function], app: Arc<App>, port: u16) -> Result<Self, String> {
        let mut routes = Vec::new();
        for function in functions {
            if function.routes.is_empty() {
                continue;
            }
            let handler = routes::handler(&function.binary).ok_or_else(|| {
                format!(
                    "{}: binary '{}' has no handler in payment_shared::routes",
                    function.logical_id, function.binary
                )
            })?;
            let handler = Arc::new(handler);
            for key in &function.routes {
                routes.push((
                    key.clone(),
                    Target {
                        binary: function.binary.clone(),
                        timeout: function.timeout,
                        handler: handler.clone(),
                    },
                ));
            }
        }
        let router = Router::new(routes).map_err(|e| e.to_string())?;
        Ok(Self { router, app, port })
    }

    /// `(route key, binary)` for every route.
    pub fn routes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.router.keys().map(|(k, t)| (k, t.binary.as_str()))
    }

    /// Answers one request; logs one line (method, path, status, duration).
    pub async fn handle<B>(&self, req: Request<B>, remote: SocketAddr) -> Reply
    where
        B: Body<Data = Bytes>,
    {
        let started = Instant::now();
        let method = req.method().as_str().to_owned();
        let path = req.uri().path().to_owned();
        let request_id = api_request_id();
        let (reply, binary) = self.dispatch(req, remote, &request_id).await;
        let mut reply = reply;
        if let Ok(id) = HeaderValue::from_str(&request_id) {
            reply
                .headers_mut()
                .insert(HeaderName::from_static("apigw-requestid"), id);
        }
        let micros = started.elapsed().as_micros();
        tracing::info!(
            target: "local_gateway",
            "{method} {path} {} {}.{} ms ({})",
            reply.status().as_u16(),
            micros / 1000,
            micros % 1000 / 100,
            binary.unwrap_or("-"),
        );
        reply
    }

    async fn dispatch<B>(
        &self,
        req: Request<B>,
        remote: SocketAddr,
        request_id: &str,
    ) -> (Reply, Option<&str>)
    where
        B: Body<Data = Bytes>,
    {
        let (parts, body) = req.into_parts();
        let declared = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let too_large = || message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
        if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            // Read (and drop) what the client is sending, so it sees the 413.
            let _ = read_body(body).await;
            return (too_large(), None);
        }
        let body = match read_body(body).await {
            BodyRead::Complete(body) => body,
            BodyRead::TooLarge => return (too_large(), None),
            BodyRead::Failed => return (message(StatusCode::BAD_REQUEST, "Bad Request"), None),
        };
        let method = parts.method.as_str();
        let raw_path = parts.uri.path();
        let Some(found) = self.router.find(method, raw_path) else {
            return (message(StatusCode::NOT_FOUND, "Not Found"), None);
        };
        let target = found.target;
        let reply = self
            .invoke(
                target,
                &parts,
                &body,
                remote,
                request_id,
                found.route_key,
                &found.path_parameters,
            )
            .await;
        (reply, Some(target.binary.as_str()))
    }

    #[allow(clippy::too_many_arguments)]
    async fn invoke(
        &self,
        target: &Target,
        parts: &hyper::http::request::Parts,
        body: &[u8],
        remote: SocketAddr,
        request_id: &str,
        route_key: &str,
        path_parameters: &BTreeMap<String, String>,
    ) -> Reply {
        let now = OffsetDateTime::now_utc();
        let trace = trace_root(now);
        // What API Gateway adds on its way to the integration.
        let mut headers = parts.headers.clone();
        let forwarded_for = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
            Some(earlier) => format!("{earlier}, {}", remote.ip()),
            None => remote.ip().to_string(),
        };
        for (name, value) in [
            ("x-forwarded-for", forwarded_for),
            ("x-forwarded-port", self.port.to_string()),
            ("x-forwarded-proto", "http".to_owned()),
            ("x-amzn-trace-id", trace.clone()),
        ] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        let protocol = format!("{:?}", parts.version);
        let source_ip = remote.ip().to_string();
        let event = event::build(&EventInput {
            route_key,
            method: parts.method.as_str(),
            raw_path: parts.uri.path(),
            raw_query: parts.uri.query().unwrap_or_default(),
            path_parameters,
            headers: &headers,
            body,
            source_ip: &source_ip,
            protocol: &protocol,
            request_id,
            api_id: API_ID,
            account_id: ACCOUNT_ID,
            now,
        })
        .to_string();
        if event.len() > MAX_LAMBDA_PAYLOAD_BYTES {
            // Lambda refuses a synchronous event this big.
            return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
        }
        // lambda_http's own event parsing, as in Lambda.
        let payload: LambdaRequest = match serde_json::from_str(&event) {
            Ok(payload) => payload,
            Err(e) => {
                // The position only: serde's message may quote event values (headers).
                tracing::error!(
                    target: "local_gateway",
                    "lambda_http rejected the event ({:?} error at line {} column {})",
                    e.classify(),
                    e.line(),
                    e.column()
                );
                return internal_error();
            }
        };
        let mut context = lambda_http::Context::default();
        context.request_id = lambda_request_id();
        context.invoked_function_arn = format!(
            "arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{}",
            target.binary
        );
        // As Lambda's: the function's Timeout from now. The request's
        // gateway calls end by it, with time kept to store their outcome.
        context.deadline = u64::try_from(
            (now.unix_timestamp_nanos() / 1_000_000)
                .saturating_add(i128::try_from(target.timeout.as_millis()).unwrap_or(i128::MAX)),
        )
        .unwrap_or(u64::MAX);
        context.xray_trace_id = Some(format!("{trace};Sampled=0"));

        let handler = target.handler.clone();
        let app = self.app.clone();
        let invocation = tokio::spawn(async move {
            let service = service_fn(move |req: lambda_http::Request| {
                let fut = handler(app.clone(), req);
                async move { Ok::<_, Infallible>(fut.await) }
            });
            let mut adapter = Adapter::from(service);
            let Ok(response) = adapter.call(LambdaEvent::new(payload, context)).await;
            serde_json::to_vec(&response)
        });
        let abort = invocation.abort_handle();
        let output = match tokio::time::timeout(target.timeout, invocation).await {
            Ok(Ok(Ok(json))) => json,
            Ok(Ok(Err(e))) => {
                tracing::error!(target: "local_gateway", "{}: response does not serialize ({:?})", target.binary, e.classify());
                return internal_error();
            }
            Ok(Err(e)) => {
                tracing::error!(target: "local_gateway", "{}: invocation failed: {e}", target.binary);
                return internal_error();
            }
            Err(_) => {
                abort.abort();
                tracing::error!(
                    target: "local_gateway",
                    "{}: task timed out after {} s (the function's Timeout)",
                    target.binary,
                    target.timeout.as_secs()
                );
                return internal_error();
            }
        };
        if output.len() > MAX_LAMBDA_PAYLOAD_BYTES {
            tracing::error!(target: "local_gateway", "{}: response over Lambda's 6 MB limit", target.binary);
            return internal_error();
        }
        let rendered = serde_json::from_slice::<Value>(&output)
            .ok()
            .and_then(|v| render(&v));
        rendered.unwrap_or_else(|| {
            tracing::error!(target: "local_gateway", "{}: malformed Lambda response", target.binary);
            internal_error()
        })
    }
}
