//! Timing reverse proxies between a cold-started function and the services
//! it calls (DynamoDB Local, the SES emulator, a gateway's API): each
//! request's interval, from its head reaching the proxy to the proxy holding
//! the service's whole answer, is what the function waited on. The function
//! is pointed at them by the same variables that point it at the services
//! (`AWS_ENDPOINT_URL_DYNAMODB`, …), so no code of its own changes.
//!
//! Each connection the function opens gets one connection to the service,
//! so keep-alive and parallel calls look to the service as they would
//! without the proxy. What the proxy adds, one more loopback hop (opened by
//! a connection's first request) and a buffered body, is inside the
//! waiting, not in our time.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::server::conn::http1;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

use super::calls::{self, Call, CallKind};

/// The services the functions call, each with the variables that name its
/// base URL (the first one set is the service's address; all of them are
/// pointed at its proxy).
pub const SERVICES: &[(&str, &[&str])] = &[
    (
        "DynamoDB",
        &[
            "AWS_ENDPOINT_URL_DYNAMODB",
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
        ],
    ),
    ("SES", &["AWS_ENDPOINT_URL_SES", "AWS_ENDPOINT_URL_SESV2"]),
    ("Secrets Manager", &["AWS_ENDPOINT_URL_SECRETS_MANAGER"]),
    ("Stripe", &["STRIPE_API_BASE"]),
];

type Log = Arc<Mutex<Vec<Call>>>;

/// The running proxies and what they saw.
pub struct Proxies {
    log: Log,
    env: Vec<(String, String)>,
    servers: Vec<tokio::task::JoinHandle<()>>,
}

impl Proxies {
    /// One proxy per service of [`SERVICES`] whose variable names a local
    /// port something listens at (a service the bench's stack does not run,
    /// such as localstripe, is left as it is).
    pub async fn start() -> Result<Self, String> {
        let log: Log = Arc::default();
        let mut env = Vec::new();
        let mut servers = Vec::new();
        for (service, vars) in SERVICES {
            let Some(upstream) = vars
                .iter()
                .find_map(|v| std::env::var(v).ok().as_deref().and_then(local_port))
            else {
                continue;
            };
            if TcpStream::connect(("127.0.0.1", upstream)).await.is_err() {
                continue;
            }
            let listener = TcpListener::bind(("127.0.0.1", 0))
                .await
                .map_err(|e| format!("{service} proxy: {e}"))?;
            let port = listener
                .local_addr()
                .map_err(|e| format!("{service} proxy: {e}"))?
                .port();
            for var in *vars {
                env.push((var.to_string(), format!("http://127.0.0.1:{port}")));
            }
            servers.push(tokio::spawn(accept(
                listener,
                service,
                upstream,
                log.clone(),
            )));
        }
        Ok(Self { log, env, servers })
    }

    /// The variables pointing a function at the proxies.
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// The calls seen since the last take.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Drop for Proxies {
    fn drop(&mut self) {
        for server in &self.servers {
            server.abort();
        }
    }
}

/// The port of `http://127.0.0.1:<port>` or `http://localhost:<port>`.
fn local_port(url: &str) -> Option<u16> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split('/').next()?;
    let (host, port) = authority.rsplit_once(':')?;
    matches!(host, "127.0.0.1" | "localhost")
        .then(|| port.parse().ok())
        .flatten()
}

async fn accept(listener: TcpListener, service: &'static str, port: u16, log: Log) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let log = log.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            // The connection to the service is opened by the first request,
            // inside its timed interval: the proxy's own set-up is waiting,
            // never our time.
            let upstream: Upstream = Arc::default();
            let service_fn = hyper::service::service_fn(move |req| {
                let (upstream, log) = (upstream.clone(), log.clone());
                async move { Ok::<_, Infallible>(forward(service, port, &upstream, &log, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn)
                .await;
        });
    }
}

/// The connection to the service of one connection from the function. One
/// request at a time on an HTTP/1 connection: the lock is never contended,
/// it only lends the sender to each request.
type Upstream = Arc<tokio::sync::Mutex<Option<SendRequest<Full<Bytes>>>>>;

async fn connect(port: u16) -> Result<SendRequest<Full<Bytes>>, String> {
    let to = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let _ = to.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(to))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    Ok(sender)
}

fn kind(service: &str, req: &hyper::http::request::Parts, body: &[u8]) -> CallKind {
    let path = req.uri.path();
    match service {
        "DynamoDB" => calls::dynamodb_kind(
            req.headers
                .get("x-amz-target")
                .and_then(|t| t.to_str().ok()),
            body,
        ),
        "SES" => calls::ses_kind(req.method.as_str(), path, body),
        _ => calls::http_kind(service, req.method.as_str(), path),
    }
}

async fn forward(
    service: &'static str,
    port: u16,
    upstream: &Upstream,
    log: &Log,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let start = Instant::now();
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let kind = kind(service, &parts, &body);
    let mut request = Request::from_parts(parts, Full::new(body));
    request.headers_mut().remove("transfer-encoding");
    let answer = {
        let mut sender = upstream.lock().await;
        if sender.as_ref().is_none_or(SendRequest::is_closed) {
            *sender = connect(port).await.ok();
        }
        match sender.as_mut() {
            Some(sender) => match sender.ready().await {
                Ok(()) => sender
                    .send_request(request)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            },
            None => Err(format!("{service} does not answer on port {port}")),
        }
    };
    let response = match answer {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            // The length of the buffered body is hyper's to set.
            parts.headers.remove("transfer-encoding");
            parts.headers.remove("content-length");
            Response::from_parts(parts, Full::new(body))
        }
        Err(e) => {
            let mut response = Response::new(Full::new(Bytes::from(format!("bench proxy: {e}"))));
            *response.status_mut() = hyper::StatusCode::BAD_GATEWAY;
            response
        }
    };
    log.lock().unwrap_or_else(|p| p.into_inner()).push(Call {
        kind,
        start,
        end: Instant::now(),
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_http_urls_are_proxied() {
        assert_eq!(local_port("http://127.0.0.1:8000"), Some(8000));
        assert_eq!(local_port("http://localhost:8005/"), Some(8005));
        assert_eq!(local_port("https://api.stripe.com"), None);
        assert_eq!(local_port("http://example.com:80"), None);
    }
}
