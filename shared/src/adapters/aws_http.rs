//! How the AWS SDK's clients reach AWS: their configuration read from the
//! environment Lambda sets, and their requests sent through the function's
//! shared HTTPS connector.
//!
//! The SDK's own loader (`aws_config::load`) and HTTP client would bring the
//! whole credential chain (profiles, SSO, STS, instance metadata), an HTTP/2
//! stack and a second TLS setup into every function, and parse the trust
//! store once per client at start. A function runs with the credentials and
//! region Lambda puts in its environment, over HTTP/1.1, and needs none of it.

use std::sync::OnceLock;

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_types::SdkConfig;
use aws_types::region::Region;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::https;

/// The SDK configuration of a function: region from `AWS_REGION` (or
/// `AWS_DEFAULT_REGION`), credentials from `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (read at each use, as
/// the SDK's chain does), endpoints from `AWS_ENDPOINT_URL_<SERVICE>` or
/// `AWS_ENDPOINT_URL` when set.
pub fn sdk_config() -> SdkConfig {
    let region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .ok()
        .map(Region::new);
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region)
        .credentials_provider(SharedCredentialsProvider::new(CredentialsFromEnv))
        .http_client(https_client())
        .service_config(EndpointsFrom(env_var));
    builder.set_sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep());
    builder.build()
}

/// The SDK's HTTP client over the shared connector, connecting on first use.
pub fn https_client() -> SharedHttpClient {
    SharedHttpClient::new(OneConnector::new(hyper_connector))
}

fn hyper_connector() -> SharedHttpConnector {
    match https::connector() {
        Ok(connector) => SharedHttpConnector::new(Hyper(
            Client::builder(TokioExecutor::new()).build(connector),
        )),
        Err(reason) => SharedHttpConnector::new(Unavailable(reason)),
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The role's credentials Lambda puts in the environment, read at each use
/// (the SDK caches them until they expire).
#[derive(Debug)]
struct CredentialsFromEnv;

impl ProvideCredentials for CredentialsFromEnv {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(credentials_from(env_var))
    }
}

fn credentials_from(env: impl Fn(&str) -> Option<String>) -> Result<Credentials, CredentialsError> {
    let required = |name: &str| {
        env(name).ok_or_else(|| CredentialsError::not_loaded(format!("{name} is not set")))
    };
    Ok(Credentials::new(
        required("AWS_ACCESS_KEY_ID")?,
        required("AWS_SECRET_ACCESS_KEY")?,
        env("AWS_SESSION_TOKEN"),
        None,
        "environment",
    ))
}

/// `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`, …: the
/// standard variable names, as the SDK's own loader reads them.
struct EndpointsFrom<F>(F);

impl<F> std::fmt::Debug for EndpointsFrom<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EndpointsFrom")
    }
}

impl<F> LoadServiceConfig for EndpointsFrom<F>
where
    F: Fn(&str) -> Option<String> + Send + Sync,
{
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let service = key.service_id().to_uppercase().replace([' ', '-'], "_");
        let named = |name: &str| (self.0)(name).filter(|v| !v.is_empty());
        named(&format!("{}_{service}", key.env())).or_else(|| named(key.env()))
    }
}

/// Builds its connector when the first request asks for one, then reuses it.
struct OneConnector {
    connector: OnceLock<SharedHttpConnector>,
    build: fn() -> SharedHttpConnector,
}

impl OneConnector {
    fn new(build: fn() -> SharedHttpConnector) -> Self {
        Self {
            connector: OnceLock::new(),
            build,
        }
    }
}

impl std::fmt::Debug for OneConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneConnector")
    }
}

impl HttpClient for OneConnector {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.connector.get_or_init(self.build).clone()
    }
    // `validate_base_client_config` keeps its default (nothing to check):
    // nothing is built while the SDK's clients are.
}

type HyperClient = Client<hyper_rustls::HttpsConnector<https::HttpConnector>, SdkBody>;

#[derive(Debug, Clone)]
struct Hyper(HyperClient);

impl HttpConnector for Hyper {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.0.clone();
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::user(e.into()))?;
            let response = client.request(request).await.map_err(connector_error)?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// The SDK retries I/O errors (the request never left, or the connection
/// broke); our DynamoDB writes are conditional, so a retried write that had
/// been applied fails its condition instead of applying twice.
fn connector_error(e: hyper_util::client::legacy::Error) -> ConnectorError {
    let io = e.is_connect() || {
        let mut source = std::error::Error::source(&e);
        let mut found = false;
        while let Some(s) = source {
            if s.is::<std::io::Error>()
                || s.downcast_ref::<hyper::Error>()
                    .is_some_and(|h| h.is_closed() || h.is_canceled() || h.is_incomplete_message())
            {
                found = true;
                break;
            }
            source = s.source();
        }
        found
    };
    if io {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}

#[derive(Debug)]
struct Unavailable(String);

impl HttpConnector for Unavailable {
    fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
        HttpConnectorFuture::ready(Err(ConnectorError::other(self.0.clone().into(), None)))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_sdk_dynamodb::config::{Credentials, Region};

    use super::*;

    static BUILT: AtomicUsize = AtomicUsize::new(0);

    /// Counts its builds; never reaches a network.
    fn offline() -> SharedHttpConnector {
        BUILT.fetch_add(1, Ordering::SeqCst);
        SharedHttpConnector::new(Unavailable("offline".into()))
    }

    #[tokio::test]
    async fn the_connector_is_built_by_the_first_request_not_by_the_clients() {
        let http = SharedHttpClient::new(OneConnector::new(offline));
        let clients: Vec<_> = (0..3)
            .map(|_| {
                let config = aws_sdk_dynamodb::Config::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .region(Region::new("eu-west-1"))
                    .credentials_provider(Credentials::new("id", "secret", None, None, "test"))
                    .http_client(http.clone())
                    .build();
                aws_sdk_dynamodb::Client::from_conf(config)
            })
            .collect();
        assert_eq!(BUILT.load(Ordering::SeqCst), 0);
        for client in &clients {
            assert!(client.list_tables().send().await.is_err(), "offline");
        }
        assert_eq!(BUILT.load(Ordering::SeqCst), 1, "one connector, shared");
    }

    #[test]
    fn credentials_come_from_the_variables_lambda_sets() {
        let env = HashMap::from([
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
        ]);
        let from = |env: &HashMap<&str, &str>| {
            let env = env.clone();
            credentials_from(move |name: &str| env.get(name).map(|v| (*v).to_owned()))
        };
        let credentials = from(&env).expect("credentials");
        assert_eq!(credentials.access_key_id(), "AKID");
        assert_eq!(credentials.secret_access_key(), "secret");
        assert_eq!(credentials.session_token(), Some("token"));

        let mut without_token = env.clone();
        without_token.remove("AWS_SESSION_TOKEN");
        assert_eq!(
            from(&without_token).expect("credentials").session_token(),
            None
        );
        let mut without_secret = env;
        without_secret.remove("AWS_SECRET_ACCESS_KEY");
        let error = from(&without_secret).expect_err("no secret");
        assert!(format!("{:?}", error).contains("AWS_SECRET_ACCESS_KEY"));
    }

    #[test]
    fn endpoints_come_from_the_standard_variables_service_first() {
        let env: HashMap<&str, &str> = HashMap::from([
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:5000"),
            ("AWS_ENDPOINT_URL_SES", ""),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        ]);
        let lookup = |name: &str| env.get(name).map(|v| (*v).to_owned());
        let endpoints = EndpointsFrom(lookup);
        let endpoint = |service: &str| {
            let key = ServiceConfigKey::builder()
                .service_id(service)
                .profile("endpoint_url")
                .env("AWS_ENDPOINT_URL")
                .build()
                .expect("a key");
            endpoints.load_config(key)
        };
        assert_eq!(
            endpoint("DynamoDB").as_deref(),
            Some("http://127.0.0.1:8000")
        );
        assert_eq!(
            endpoint("Secrets Manager").as_deref(),
            Some("http://127.0.0.1:5000")
        );
        // Empty means unset, as for the SDK's own loader.
        assert_eq!(endpoint("SES").as_deref(), Some("http://127.0.0.1:4566"));
    }
}
