//! The one HTTPS connector of a function, shared by its AWS SDK clients and
//! the Stripe connector: one TLS setup (rustls with ring), one HTTP/1.1
//! client implementation. Webhook deliveries put the same TLS setup over
//! connections of their own (to checked addresses only).
//!
//! The trusted roots are Mozilla's, compiled in (`webpki-roots`), not read
//! from the machine: parsing the system bundle (about 140 PEM certificates)
//! cost every container several milliseconds before its first request, and
//! a function only talks to AWS and Stripe, whose roots Mozilla's list
//! holds. New roots arrive with a dependency update.

use std::sync::LazyLock;
use std::time::Duration;

use hyper_rustls::HttpsConnector;
pub use hyper_util::client::legacy::connect::HttpConnector;

/// How long opening a connection may take (the AWS SDK's own default is
/// 3.1 s).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Built once per container, by its first request.
static CONNECTOR: LazyLock<Result<HttpsConnector<HttpConnector>, String>> = LazyLock::new(|| {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    // The TLS layer above decides which schemes are allowed.
    http.enforce_http(false);
    over(http)
});

/// The TLS setup over connections that `tcp` opens. Plain HTTP passes only
/// to what the URLs allow: local emulators (DynamoDB Local, localstripe)
/// and webhook receivers on a developer's machine.
pub fn over<T>(tcp: T) -> Result<HttpsConnector<T>, String> {
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
        .map_err(|e| format!("no TLS with ring's defaults: {e}"))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp))
}

/// The shared connector.
pub fn connector() -> Result<HttpsConnector<HttpConnector>, String> {
    CONNECTOR.clone()
}
