//! Deliveries over HTTPS (plain HTTP reaches a receiver on a developer's
//! machine): one POST each, through the function's shared connector.

use std::sync::OnceLock;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::adapters::https::{self, HttpConnector};
use crate::domain::delivery::SEND_TIMEOUT;
use crate::ports::{SendError, WebhookPost, WebhookSender};

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Sends each delivery once; redirects are not followed (a 3xx is a failed attempt).
#[derive(Default)]
pub struct HttpWebhookSender {
    /// Built by the first delivery.
    client: OnceLock<Result<HttpsClient, String>>,
}

impl HttpWebhookSender {
    pub fn new() -> Self {
        Self::default()
    }

    fn client(&self) -> Result<&HttpsClient, SendError> {
        self.client
            .get_or_init(|| {
                let connector = https::connector()?;
                Ok(Client::builder(TokioExecutor::new()).build(connector))
            })
            .as_ref()
            .map_err(|e| SendError(e.clone()))
    }
}

#[async_trait::async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn post(&self, post: &WebhookPost) -> Result<u16, SendError> {
        let request = hyper::Request::post(post.url.as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_LENGTH, post.body.len())
            .header(USER_AGENT, "payment-service-webhooks/1")
            .header("Stripe-Signature", post.signature.as_str())
            .body(Full::new(Bytes::from(post.body.clone())))
            .map_err(|e| SendError(format!("not a request: {e}")))?;
        let client = self.client()?;
        match tokio::time::timeout(SEND_TIMEOUT, client.request(request)).await {
            Err(_) => Err(SendError(format!(
                "no answer within {} s",
                SEND_TIMEOUT.as_secs()
            ))),
            Ok(Err(e)) if e.is_connect() => Err(SendError(format!("could not connect: {e}"))),
            Ok(Err(e)) => Err(SendError(format!("no answer: {e}"))),
            // The status is the answer; the body is not read.
            Ok(Ok(response)) => Ok(response.status().as_u16()),
        }
    }
}
