//! How requests reach Stripe: a form-encoded POST or a GET, answered with a
//! status and a body. The connector decides what to send, what an answer means
//! and how long to wait for it; a transport only carries it (tests wrap the
//! real one to record or to fail). Only opening a connection has a limit of
//! its own here, the shared connector's.

use std::sync::OnceLock;

use crate::adapters::https::HttpConnector;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use secrecy::{ExposeSecret, SecretString};

/// One POST to Stripe's API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeRequest {
    /// Below the API base, e.g. `/v1/payment_intents`.
    pub path: String,
    /// Form fields, in order, before encoding.
    pub form: Vec<(String, String)>,
    /// Stripe acts on a key once: a retry with the same key cannot act twice.
    pub idempotency_key: String,
}

/// Stripe's answer, whatever its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why no answer came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The request never left (connection refused, no route): sending it
    /// again cannot act twice.
    #[error("Stripe not reached: {0}")]
    NotSent(String),
    /// Sent, but the connection broke before the whole answer arrived:
    /// Stripe may have acted on it.
    #[error("no answer from Stripe: {0}")]
    NoAnswer(String),
}

#[async_trait::async_trait]
pub trait StripeTransport: Send + Sync {
    async fn post(&self, request: &StripeRequest) -> Result<StripeResponse, TransportError>;

    /// Reads `path_and_query` (below the API base); a read never acts.
    async fn get(&self, path_and_query: &str) -> Result<StripeResponse, TransportError>;
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Stripe over HTTPS (or plain HTTP, for a local emulator) with the secret key.
pub struct HttpTransport {
    base: String,
    secret_key: SecretString,
    /// Built by the first request: most requests of a function that may
    /// reach Stripe never do.
    client: OnceLock<Result<HttpsClient, String>>,
}

impl HttpTransport {
    /// A client of the API at `base` (`https://api.stripe.com`).
    pub fn new(base: &str, secret_key: SecretString) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            secret_key,
            client: OnceLock::new(),
        }
    }

    /// Fails only if rustls refuses its own defaults.
    fn client(&self) -> Result<&HttpsClient, TransportError> {
        self.client
            .get_or_init(|| {
                let https = crate::adapters::https::connector()?;
                Ok(Client::builder(TokioExecutor::new()).build(https))
            })
            .as_ref()
            .map_err(not_sent)
    }
}

fn not_sent(e: impl std::fmt::Display) -> TransportError {
    TransportError::NotSent(e.to_string())
}

impl HttpTransport {
    fn authorization(&self) -> Result<HeaderValue, TransportError> {
        let mut authorization =
            HeaderValue::try_from(format!("Bearer {}", self.secret_key.expose_secret()))
                .map_err(|_| not_sent("the Stripe secret key is not a valid header value"))?;
        // Kept out of any debug output of the request.
        authorization.set_sensitive(true);
        Ok(authorization)
    }

    async fn send(
        &self,
        request: hyper::Request<Full<Bytes>>,
    ) -> Result<StripeResponse, TransportError> {
        let response = self.client()?.request(request).await.map_err(|e| {
            if e.is_connect() {
                TransportError::NotSent(e.to_string())
            } else {
                TransportError::NoAnswer(e.to_string())
            }
        })?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| TransportError::NoAnswer(e.to_string()))?
            .to_bytes()
            .to_vec();
        Ok(StripeResponse { status, body })
    }
}

#[async_trait::async_trait]
impl StripeTransport for HttpTransport {
    async fn post(&self, request: &StripeRequest) -> Result<StripeResponse, TransportError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&request.form)
            .finish();
        let http_request = hyper::Request::post(format!("{}{}", self.base, request.path))
            .header(AUTHORIZATION, self.authorization()?)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("Idempotency-Key", request.idempotency_key.as_str())
            .body(Full::new(Bytes::from(body)))
            .map_err(not_sent)?;
        self.send(http_request).await
    }

    async fn get(&self, path_and_query: &str) -> Result<StripeResponse, TransportError> {
        let http_request = hyper::Request::get(format!("{}{path_and_query}", self.base))
            .header(AUTHORIZATION, self.authorization()?)
            .body(Full::new(Bytes::new()))
            .map_err(not_sent)?;
        self.send(http_request).await
    }
}
