//! The HTTPS client every AWS SDK client of a function shares.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// The SDK's own hyper client on rustls with ring, connecting on first use.
///
/// The SDK builds a connector for every client it constructs, so that root
/// certificates are read and parsed before the first request; a function
/// builds three clients, and each build parses the whole trust store again.
/// That was most of a cold start. Here the one connector is built (and the
/// store parsed once) when the first request needs it.
pub fn https_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    let inner = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    connect_on_first_use(inner)
}

fn connect_on_first_use(inner: SharedHttpClient) -> SharedHttpClient {
    SharedHttpClient::new(ConnectOnFirstUse(inner))
}

#[derive(Debug)]
struct ConnectOnFirstUse(SharedHttpClient);

impl HttpClient for ConnectOnFirstUse {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        // The inner client caches its connector per settings.
        self.0.http_connector(settings, components)
    }

    // `validate_base_client_config` keeps its default (nothing to check),
    // which is the point: the inner client's builds a connector there.

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_sdk_dynamodb::config::ConfigBag;
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorFuture};
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;

    use super::*;

    /// Counts what the SDK asks of an HTTP client; never reaches a network.
    #[derive(Debug, Default)]
    struct Counts {
        eager_builds: AtomicUsize,
        connectors: AtomicUsize,
    }

    #[derive(Debug, Clone)]
    struct Counting(Arc<Counts>);

    impl HttpClient for Counting {
        fn http_connector(
            &self,
            _: &HttpConnectorSettings,
            _: &RuntimeComponents,
        ) -> SharedHttpConnector {
            self.0.connectors.fetch_add(1, Ordering::SeqCst);
            SharedHttpConnector::new(Offline)
        }

        fn validate_base_client_config(
            &self,
            _: &RuntimeComponentsBuilder,
            _: &ConfigBag,
        ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
            // Where the SDK's own client builds its connector.
            self.0.eager_builds.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[derive(Debug)]
    struct Offline;

    impl HttpConnector for Offline {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            HttpConnectorFuture::ready(Err(ConnectorError::io("offline".into())))
        }
    }

    fn dynamodb(http: SharedHttpClient) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("id", "secret", None, None, "test"))
            .http_client(http)
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    #[tokio::test]
    async fn building_a_client_builds_no_connector_until_a_request_needs_one() {
        let counts = Arc::new(Counts::default());
        let client = dynamodb(connect_on_first_use(SharedHttpClient::new(Counting(
            counts.clone(),
        ))));
        assert_eq!(counts.eager_builds.load(Ordering::SeqCst), 0);
        assert_eq!(counts.connectors.load(Ordering::SeqCst), 0);

        let sent = client.list_tables().send().await;
        assert!(sent.is_err(), "the connector is offline");
        assert!(counts.connectors.load(Ordering::SeqCst) >= 1);
        assert_eq!(counts.eager_builds.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn the_sdk_alone_would_build_one_as_each_client_is_built() {
        let counts = Arc::new(Counts::default());
        let _client = dynamodb(SharedHttpClient::new(Counting(counts.clone())));
        assert!(counts.eager_builds.load(Ordering::SeqCst) >= 1);
    }
}
