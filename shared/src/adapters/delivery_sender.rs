//! Deliveries over HTTPS (plain HTTP reaches a receiver on a developer's
//! machine): one POST each, to checked addresses only.
//!
//! An endpoint's host is resolved once per connection, every address it
//! names is checked against the ranges deliveries never go to, and the
//! socket is opened to those very addresses: a second lookup (the one a
//! stock connector makes) could answer with another address than the one
//! checked. The request still names the host, and TLS still verifies the
//! certificate against it.

use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::Full;
use hyper::Uri;
use hyper::body::Bytes;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use crate::adapters::https::{self, CONNECT_TIMEOUT};
use crate::domain::NoAnswer;
use crate::domain::delivery::SEND_TIMEOUT;
use crate::domain::network_address::{blocked, ip_literal};
use crate::ports::{DeliveryPost, DeliverySender};

/// Finds the addresses a host name names (the system's resolver in a
/// function; tests answer as they please, and nothing connects to what a
/// check refuses).
#[async_trait::async_trait]
pub trait Resolver: Send + Sync {
    /// Every address `host` names; none or an error when it names nothing.
    async fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>>;
}

/// The machine's own resolver (`getaddrinfo`).
pub struct SystemResolver;

#[async_trait::async_trait]
impl Resolver for SystemResolver {
    async fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, 0))
            .await?
            .map(|a| a.ip())
            .collect())
    }
}

type HttpsClient = Client<HttpsConnector<CheckedConnector>, Full<Bytes>>;

/// Sends each delivery once; redirects are not followed (a 3xx is a failed attempt).
pub struct HttpDeliverySender {
    connector: CheckedConnector,
    /// How long an endpoint has to answer.
    timeout: Duration,
    /// Built by the first delivery.
    client: OnceLock<Option<HttpsClient>>,
}

impl HttpDeliverySender {
    /// `local`: the service runs on a developer's machine, where receivers
    /// listen on loopback addresses; no other blocked range opens there.
    pub fn new(local: bool) -> Self {
        Self::resolving_with(Arc::new(SystemResolver), local)
    }

    /// As [`new`](Self::new), names resolved by `resolver`.
    pub fn resolving_with(resolver: Arc<dyn Resolver>, local: bool) -> Self {
        Self {
            connector: CheckedConnector {
                resolver,
                local,
                connect_timeout: CONNECT_TIMEOUT,
            },
            timeout: SEND_TIMEOUT,
            client: OnceLock::new(),
        }
    }

    /// Gives endpoints `timeout` to answer instead of [`SEND_TIMEOUT`].
    pub fn answering_within(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn client(&self) -> Option<&HttpsClient> {
        self.client
            .get_or_init(|| {
                let connector = https::over(self.connector.clone()).ok()?;
                Some(Client::builder(TokioExecutor::new()).build(connector))
            })
            .as_ref()
    }
}

#[async_trait::async_trait]
impl DeliverySender for HttpDeliverySender {
    async fn post(&self, post: &DeliveryPost) -> Result<u16, NoAnswer> {
        // Every endpoint's URL is one the client takes (the endpoint's own
        // rules say so); one that is not names no host to be found.
        let uri: Uri = post.url.parse().map_err(|_| NoAnswer::DnsFailure)?;
        // An address in the URL is judged before TLS looks at it (TLS
        // refuses most spellings of one as a server name, which would hide
        // why nothing was sent); the connector checks it again.
        let host = uri.host().ok_or(NoAnswer::DnsFailure)?;
        if let Some(ip) = ip_literal(host).map_err(|_| NoAnswer::DnsFailure)? {
            if blocked(ip, self.connector.local).is_some() {
                return Err(NoAnswer::BlockedAddress);
            }
        }
        let request = hyper::Request::post(uri)
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_LENGTH, post.body.len())
            .header(USER_AGENT, "payment-service-webhooks/1")
            .header("Stripe-Signature", post.signature.as_str())
            .body(Full::new(Bytes::from(post.body.clone())))
            .map_err(|_| NoAnswer::DnsFailure)?;
        // Without TLS set up no connection could be secured.
        let client = self.client().ok_or(NoAnswer::TlsError)?;
        match tokio::time::timeout(self.timeout, client.request(request)).await {
            Err(_) => Err(NoAnswer::Timeout),
            Ok(Err(e)) => Err(reason(&e)),
            // The status is the answer; the body is not read.
            Ok(Ok(response)) => Ok(response.status().as_u16()),
        }
    }
}

/// Why a request got no answer, from the client's error.
fn reason(e: &hyper_util::client::legacy::Error) -> NoAnswer {
    let mut cause = e.source();
    while let Some(c) = cause {
        if let Some(Unreached(reason)) = c.downcast_ref::<Unreached>() {
            return *reason;
        }
        cause = c.source();
    }
    if e.is_connect() {
        // The TCP connection was made (else the connector said why it was
        // not): what failed on it is the TLS handshake.
        NoAnswer::TlsError
    } else {
        // Connected, then no HTTP answer: the receiver closed or reset the
        // connection, or spoke something else than HTTP. To the operator
        // that is a receiver refusing the delivery, the closest of the
        // reasons; it took no time, so it was no timeout.
        NoAnswer::ConnectionRefused
    }
}

/// Why the connector made no connection, as the attempt records it.
#[derive(Debug)]
struct Unreached(NoAnswer);

impl std::fmt::Display for Unreached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl StdError for Unreached {}

/// Opens TCP connections to checked addresses only; TLS goes on top.
#[derive(Clone)]
struct CheckedConnector {
    resolver: Arc<dyn Resolver>,
    local: bool,
    connect_timeout: Duration,
}

impl CheckedConnector {
    /// The addresses `host` names, every one of them allowed: a name that
    /// names a single blocked one is blocked (whichever a client picked, the
    /// next lookup could pick another).
    async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, NoAnswer> {
        let addresses = match ip_literal(host) {
            Ok(Some(ip)) => vec![ip],
            Ok(None) => self
                .resolver
                .lookup(host)
                .await
                .map_err(|_| NoAnswer::DnsFailure)?,
            // Ends in a number but is no address: nothing to look up.
            Err(_) => return Err(NoAnswer::DnsFailure),
        };
        if addresses.is_empty() {
            return Err(NoAnswer::DnsFailure);
        }
        if addresses
            .iter()
            .any(|ip| blocked(*ip, self.local).is_some())
        {
            return Err(NoAnswer::BlockedAddress);
        }
        Ok(addresses)
    }

    async fn connect(self, dst: Uri) -> Result<TokioIo<TcpStream>, Unreached> {
        let host = dst.host().ok_or(Unreached(NoAnswer::DnsFailure))?;
        let https = dst.scheme() == Some(&hyper::http::uri::Scheme::HTTPS);
        let port = dst.port_u16().unwrap_or(if https { 443 } else { 80 });
        let addresses: Vec<SocketAddr> = self
            .addresses(host)
            .await
            .map_err(Unreached)?
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect();
        match tokio::time::timeout(self.connect_timeout, TcpStream::connect(&addresses[..])).await {
            Ok(Ok(stream)) => {
                // Deliveries are one small request each: no batching of writes.
                let _ = stream.set_nodelay(true);
                Ok(TokioIo::new(stream))
            }
            Err(_) => Err(Unreached(NoAnswer::Timeout)),
            Ok(Err(e)) if e.kind() == io::ErrorKind::TimedOut => Err(Unreached(NoAnswer::Timeout)),
            // Refused, or no route to the host or its network: nothing took
            // the connection.
            Ok(Err(_)) => Err(Unreached(NoAnswer::ConnectionRefused)),
        }
    }
}

impl tower_service::Service<Uri> for CheckedConnector {
    type Response = TokioIo<TcpStream>;
    type Error = Unreached;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Unreached>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Unreached>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        Box::pin(self.clone().connect(dst))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// Answers each name as the test says; keeps the names asked.
    #[derive(Default)]
    struct Answers {
        names: HashMap<&'static str, Vec<IpAddr>>,
        asked: Mutex<Vec<String>>,
    }

    impl Answers {
        fn with(names: &[(&'static str, &[&str])]) -> Arc<Self> {
            Arc::new(Self {
                names: names
                    .iter()
                    .map(|(name, ips)| {
                        let ips = ips.iter().map(|ip| ip.parse().expect("an address"));
                        (*name, ips.collect())
                    })
                    .collect(),
                asked: Mutex::new(Vec::new()),
            })
        }

        fn asked(&self) -> Vec<String> {
            self.asked.lock().expect("asked").clone()
        }
    }

    #[async_trait::async_trait]
    impl Resolver for Answers {
        async fn lookup(&self, host: &str) -> io::Result<Vec<IpAddr>> {
            self.asked.lock().expect("asked").push(host.to_owned());
            self.names
                .get(host)
                .cloned()
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such name"))
        }
    }

    /// Posts to each of `urls`: none may be answered, each for `reason`.
    async fn all_unanswered(sender: &HttpDeliverySender, urls: &[&str], reason: NoAnswer) {
        for url in urls {
            assert_eq!(sender.post(&post(url)).await, Err(reason), "{url}");
        }
    }

    fn post(url: &str) -> DeliveryPost {
        DeliveryPost {
            url: url.to_owned(),
            signature: "t=1,v1=00".into(),
            body: b"{}".to_vec(),
        }
    }

    /// A receiver on 127.0.0.1: answers every request with `status` (or
    /// never, with `None`), and keeps the Host header of each.
    async fn receiver(status: Option<u16>) -> (u16, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("a port");
        let port = listener.local_addr().expect("address").port();
        let hosts = Arc::new(Mutex::new(Vec::new()));
        let kept = hosts.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&got).to_lowercase();
                    if let Some(host) = head.lines().find_map(|l| l.strip_prefix("host: ")) {
                        kept.lock().expect("hosts").push(host.trim().to_owned());
                    }
                    let Some(status) = status else {
                        // Holds the connection open and says nothing.
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        return;
                    };
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                });
            }
        });
        (port, hosts)
    }

    /// A server on 127.0.0.1 that speaks first, plain HTTP, then hangs up.
    async fn plain_talker() -> u16 {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("a port");
        let port = listener.local_addr().expect("address").port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let _ = stream
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        port
    }

    /// A port on 127.0.0.1 where nothing listens.
    async fn closed_port() -> u16 {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("a port");
        listener.local_addr().expect("address").port()
    }

    #[tokio::test]
    async fn a_name_answering_with_addresses_inside_a_network_is_never_connected_to() {
        let answers = Answers::with(&[
            ("private.example", &["10.0.0.5"]),
            ("metadata.example", &["169.254.169.254"]),
            ("metadata6.example", &["fd00:ec2::254"]),
            ("linklocal6.example", &["fe80::1"]),
            ("cgnat.example", &["100.64.0.7"]),
            ("mapped.example", &["::ffff:10.0.0.1"]),
            ("mixed.example", &["93.184.215.14", "192.168.1.20"]),
            ("mixed6.example", &["2606:4700::1111", "fc00::1"]),
            ("this-machine.example", &["127.0.0.1"]),
        ]);
        for local in [false, true] {
            let sender = HttpDeliverySender::resolving_with(answers.clone(), local);
            for name in [
                "private",
                "metadata",
                "metadata6",
                "linklocal6",
                "cgnat",
                "mapped",
                "mixed",
                "mixed6",
            ] {
                let url = format!("https://{name}.example/hooks");
                assert_eq!(
                    sender.post(&post(&url)).await,
                    Err(NoAnswer::BlockedAddress),
                    "{url}"
                );
            }
        }
        // This machine is blocked outside a developer's machine.
        let deployed = HttpDeliverySender::resolving_with(answers.clone(), false);
        assert_eq!(
            deployed
                .post(&post("https://this-machine.example:9/"))
                .await,
            Err(NoAnswer::BlockedAddress)
        );
    }

    #[tokio::test]
    async fn an_address_in_the_url_is_checked_in_every_spelling_without_a_lookup() {
        let answers = Answers::with(&[]);
        let sender = HttpDeliverySender::resolving_with(answers.clone(), false);
        let urls = [
            "https://10.0.0.5/",
            "https://167772165/",
            "https://0xa9.0xfe.0xa9.0xfe/",
            "https://169.254.43518/",
            "https://[fd00:ec2::254]/",
            "https://[::ffff:a00:1]/",
            "https://2130706433:9/",
            "https://0x7f.1:9/",
            "https://[::1]:9/",
        ];
        all_unanswered(&sender, &urls, NoAnswer::BlockedAddress).await;
        assert!(answers.asked().is_empty(), "{:?}", answers.asked());
    }

    #[tokio::test]
    async fn the_connection_goes_to_the_checked_address_and_names_the_host() {
        let (port, hosts) = receiver(Some(204)).await;
        let answers = Answers::with(&[("receiver.example", &["127.0.0.1"])]);
        let sender = HttpDeliverySender::resolving_with(answers.clone(), true);
        let url = format!("http://receiver.example:{port}/hooks");
        assert_eq!(sender.post(&post(&url)).await, Ok(204));
        assert_eq!(answers.asked(), ["receiver.example"]);
        assert_eq!(
            hosts.lock().expect("hosts").clone(),
            [format!("receiver.example:{port}")]
        );
        // Loopback in any spelling reaches this machine, without a lookup.
        let url = format!("http://0x7f.1:{port}/hooks");
        assert_eq!(sender.post(&post(&url)).await, Ok(204));
        assert_eq!(answers.asked(), ["receiver.example"]);
    }

    #[tokio::test]
    async fn what_went_wrong_is_recorded_as_a_reason() {
        let answers = Answers::with(&[
            ("receiver.example", &["127.0.0.1"]),
            ("nowhere.example", &[]),
        ]);
        let sender = HttpDeliverySender::resolving_with(answers, true)
            .answering_within(Duration::from_millis(300));
        let closed = closed_port().await;
        let (silent, _) = receiver(None).await;
        // A receiver that speaks plain HTTP where TLS is expected.
        let plain = plain_talker().await;
        for (url, reason) in [
            (
                format!("http://receiver.example:{closed}/"),
                NoAnswer::ConnectionRefused,
            ),
            (
                format!("http://127.0.0.1:{closed}/"),
                NoAnswer::ConnectionRefused,
            ),
            (
                format!("http://receiver.example:{silent}/"),
                NoAnswer::Timeout,
            ),
            (
                format!("https://receiver.example:{plain}/"),
                NoAnswer::TlsError,
            ),
        ] {
            assert_eq!(sender.post(&post(&url)).await, Err(reason), "{url}");
        }
        let unknown = [
            "https://unknown.example/",
            "https://nowhere.example/",
            "https://1.2.3.4.5/",
        ];
        all_unanswered(&sender, &unknown, NoAnswer::DnsFailure).await;
    }
}
