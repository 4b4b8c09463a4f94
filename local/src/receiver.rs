//! A webhook receiver for `make run`: `POST /webhooks/<endpoint id>` on
//! 127.0.0.1:4242 checks the delivery's `Stripe-Signature` with that
//! endpoint's secret (read from the table, as the operator's receiver would
//! hold it) and prints one line per delivery. `make run` registers the
//! endpoint `demo-receiver` pointing here, for every event type.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use payment_shared::app::App;
use payment_shared::domain::{EndpointId, webhook_signature};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

/// Fixed, so that the demo endpoint's URL stays the same across runs.
pub const RECEIVER_PORT: u16 = 4242;
/// The endpoint `make run` registers for the receiver.
pub const DEMO_ENDPOINT: &str = "demo-receiver";

/// The receiver's URL for endpoint `id`.
pub fn url(port: u16, id: &str) -> String {
    format!("http://127.0.0.1:{port}/webhooks/{id}")
}

/// Serves on `listener` until its task is aborted.
pub async fn serve(listener: TcpListener, app: Arc<App>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |req| {
            let app = app.clone();
            async move { Ok::<_, Infallible>(receive(&app, req).await) }
        });
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Binds 127.0.0.1:`port`.
pub async fn bind(port: u16) -> Result<(TcpListener, SocketAddr), String> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("the webhook receiver cannot listen on 127.0.0.1:{port}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("receiver address: {e}"))?;
    Ok((listener, addr))
}

fn answer(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() = status;
    response
}

async fn receive(app: &App, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let Some(id) = path
        .strip_prefix("/webhooks/")
        .and_then(|id| EndpointId::parse(id).ok())
    else {
        return answer(StatusCode::NOT_FOUND, "POST /webhooks/<endpoint id>\n");
    };
    let signature = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Ok(body) = req.into_body().collect().await.map(|b| b.to_bytes()) else {
        return answer(StatusCode::BAD_REQUEST, "unreadable body\n");
    };
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let what = format!(
        "{} {} (object {})",
        event["id"].as_str().unwrap_or("?"),
        event["type"].as_str().unwrap_or("?"),
        event["data"]["object"]["id"].as_str().unwrap_or("?"),
    );
    let endpoint = match app.webhooks.endpoints.get_endpoint(&id).await {
        Ok(Some(endpoint)) => endpoint,
        Ok(None) => {
            println!("receiver: {id}: {what}: no such endpoint, its secret is unknown");
            return answer(StatusCode::NOT_FOUND, "unknown endpoint\n");
        }
        Err(e) => return answer(StatusCode::SERVICE_UNAVAILABLE, &format!("{e}\n")),
    };
    let checked = webhook_signature::verify(
        endpoint.secret().expose_secret().as_bytes(),
        signature.as_deref(),
        &body,
        time::OffsetDateTime::now_utc(),
    );
    match checked {
        Ok(()) => {
            println!("receiver: {id}: {what}: signature ok");
            answer(StatusCode::OK, "{\"received\":true}\n")
        }
        Err(e) => {
            println!("receiver: {id}: {what}: {e}");
            answer(StatusCode::BAD_REQUEST, &format!("{e}\n"))
        }
    }
}
