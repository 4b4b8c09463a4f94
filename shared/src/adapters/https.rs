//! The one HTTPS connector of a function, shared by its AWS SDK clients and
//! the Stripe connector: one TLS setup (rustls with ring, the machine's
//! trusted roots), one HTTP/1.1 client implementation.

use std::sync::LazyLock;
use std::time::Duration;

use hyper_rustls::HttpsConnector;
pub use hyper_util::client::legacy::connect::HttpConnector;

/// How long opening a connection may take (the AWS SDK's own default is
/// 3.1 s).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Reading and parsing the machine's root certificates is most of what a
/// TLS client costs to build: it happens once per container, when the first
/// request needs it, never during the cold start.
static CONNECTOR: LazyLock<Result<HttpsConnector<HttpConnector>, String>> = LazyLock::new(|| {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    // The TLS layer above decides which schemes are allowed.
    http.enforce_http(false);
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
        .map_err(|e| format!("no trusted root certificates: {e}"))?
        // Plain HTTP only reaches local emulators (DynamoDB Local, localstripe).
        .https_or_http()
        .enable_http1()
        .wrap_connector(http))
});

/// The shared connector. Fails only when the machine has no trusted root
/// certificates.
pub fn connector() -> Result<HttpsConnector<HttpConnector>, String> {
    CONNECTOR.clone()
}
