//! `send-webhook`, like `stripe trigger`: builds a payment-intent event in
//! Stripe's shape for one gateway intent, signs it with the gateway's webhook
//! secret as the gateway would (`Stripe-Signature: t=…,v1=…` over the exact
//! bytes), and posts it to a running service's webhook route. Re-sending with
//! the same `--event-id` shows that an event is acted on once.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use payment_shared::adapters::test_gateway::CARD_DECLINED;
use payment_shared::domain::ids::random_token;
use payment_shared::domain::webhook_signature;
use serde::Serialize;

use crate::env_file;

pub const USAGE: &str = "\
usage: send-webhook <type> <gateway-intent-id> [options]

  <type>                 succeeded | processing | payment_failed | canceled | requires_action
                         (or the full name, e.g. payment_intent.succeeded)
  <gateway-intent-id>    the gateway's id of the intent, e.g. pi_test_…

options:
  --gateway <id>         the gateway whose webhook route and secret to use (default: test)
  --url <base>           the service (default: $API, from the environment or .stack/demo.env,
                         else http://127.0.0.1:3000)
  --amount <minor>       amount in minor units (default: omitted; the service ignores an
                         event whose amount differs from the intent's)
  --currency <code>      currency, e.g. usd (default: omitted)
  --failure-code <code>  payment_failed only: last_payment_error.code (default: card_declined)
  --event-id <evt_…>     the event id (default: evt_ + 24 random letters and digits);
                         send the same id twice to see a duplicate acknowledged
  --secret <secret>      the webhook secret (default: WEBHOOK_SECRET_<GATEWAY> from the
                         environment, else .stack/demo.env, .env, .env.example)
  --print                print the Stripe-Signature header and the body instead of sending
                         (the signature is good for 5 minutes)
  -h, --help             this text";

/// The service's webhook route; the gateway id is its last segment.
const WEBHOOK_PATH: &str = "/api/v1/PaymentIntents/webhook";

/// Where `make run` serves the API unless `PORT` says otherwise.
pub const DEFAULT_URL: &str = "http://127.0.0.1:3000";

/// Where the secret and the service's address are looked up after the
/// environment: what `make run` wrote, then the usual configuration files.
pub const FILES: [&str; 3] = [".stack/demo.env", env_file::FILES[0], env_file::FILES[1]];

/// A local service answers at once; this only keeps a wedged one from
/// hanging the command.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The payment-intent events the service acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Succeeded,
    Processing,
    PaymentFailed,
    Canceled,
    RequiresAction,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::Succeeded,
        EventType::Processing,
        EventType::PaymentFailed,
        EventType::Canceled,
        EventType::RequiresAction,
    ];

    /// `succeeded` or `payment_intent.succeeded`, and so on.
    pub fn parse(name: &str) -> Result<Self, String> {
        let short = name.strip_prefix("payment_intent.").unwrap_or(name);
        Self::ALL
            .into_iter()
            .find(|t| t.short_name() == short)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|t| t.short_name()).collect();
                format!(
                    "unknown event type '{name}': use one of {} (or payment_intent.<type>)",
                    known.join(", ")
                )
            })
    }

    pub fn short_name(self) -> &'static str {
        match self {
            EventType::Succeeded => "succeeded",
            EventType::Processing => "processing",
            EventType::PaymentFailed => "payment_failed",
            EventType::Canceled => "canceled",
            EventType::RequiresAction => "requires_action",
        }
    }

    /// The event's `type`, as Stripe names it.
    pub fn name(self) -> String {
        format!("payment_intent.{}", self.short_name())
    }

    /// The intent's status the gateway reports with the event. A failed
    /// payment leaves the intent waiting for another payment method, as on
    /// Stripe.
    pub fn status(self) -> &'static str {
        match self {
            EventType::Succeeded => "succeeded",
            EventType::Processing => "processing",
            EventType::PaymentFailed => "requires_payment_method",
            EventType::Canceled => "canceled",
            EventType::RequiresAction => "requires_action",
        }
    }
}

/// What to send, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub event_type: EventType,
    pub gateway_intent_id: String,
    pub gateway: String,
    /// The service's base URL; `None`: look it up (`base_url`).
    pub url: Option<String>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    /// `None` on a failed payment means `card_declined`.
    pub failure_code: Option<String>,
    /// `None`: a random one.
    pub event_id: Option<String>,
    /// `None`: look it up (`secret`).
    pub secret: Option<String>,
    pub print: bool,
}

impl Options {
    pub fn new(event_type: EventType, gateway_intent_id: &str) -> Self {
        Self {
            event_type,
            gateway_intent_id: gateway_intent_id.to_owned(),
            gateway: "test".to_owned(),
            url: None,
            amount: None,
            currency: None,
            failure_code: None,
            event_id: None,
            secret: None,
            print: false,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Send(Box<Options>),
}

/// Reads the arguments after the program name; flags take `--flag value`
/// or `--flag=value`.
pub fn parse_args(args: &[String]) -> Result<Command, String> {
    let mut positional = Vec::new();
    let mut flags: Vec<(String, String)> = Vec::new();
    let mut print = false;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--print" => print = true,
            flag if flag.starts_with("--") => {
                let (name, value) = match flag.split_once('=') {
                    Some((name, value)) => (name.to_owned(), value.to_owned()),
                    None => {
                        let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?;
                        (flag.to_owned(), value.clone())
                    }
                };
                flags.push((name, value));
            }
            _ => positional.push(arg.as_str()),
        }
    }
    let [event_type, intent] = positional.as_slice() else {
        return Err(format!(
            "expected an event type and a gateway intent id, got {} argument(s)",
            positional.len()
        ));
    };
    let event_type = EventType::parse(event_type)?;
    let intent = intent.trim();
    if intent.is_empty() {
        return Err("the gateway intent id is empty".into());
    }
    let mut options = Options::new(event_type, intent);
    options.print = print;
    for (name, value) in flags {
        let value = value.trim().to_owned();
        if value.is_empty() {
            return Err(format!("{name} needs a value"));
        }
        match name.as_str() {
            "--gateway" => {
                if !value
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                {
                    return Err(format!(
                        "--gateway '{value}': a gateway id is lowercase letters, digits and _ (test, stripe)"
                    ));
                }
                options.gateway = value;
            }
            "--url" => options.url = Some(value),
            "--amount" => {
                let amount = value.parse::<i64>().ok().filter(|a| *a >= 0).ok_or_else(|| {
                    format!(
                        "--amount '{value}': a whole number of minor units (112.00 USD is 11200)"
                    )
                })?;
                options.amount = Some(amount);
            }
            "--currency" => {
                if value.len() != 3 || !value.chars().all(|c| c.is_ascii_alphabetic()) {
                    return Err(format!(
                        "--currency '{value}': a three-letter ISO 4217 code such as usd"
                    ));
                }
                // Stripe sends currencies in lowercase.
                options.currency = Some(value.to_ascii_lowercase());
            }
            "--failure-code" => options.failure_code = Some(value),
            "--event-id" => options.event_id = Some(value),
            "--secret" => options.secret = Some(value),
            other => return Err(format!("unknown option {other}")),
        }
    }
    if options.failure_code.is_some() && event_type != EventType::PaymentFailed {
        return Err(format!(
            "--failure-code goes with payment_failed, not {}",
            event_type.short_name()
        ));
    }
    Ok(Command::Send(Box::new(options)))
}

/// A fresh event id, shaped like Stripe's.
pub fn random_event_id() -> String {
    format!("evt_{}", random_token(24))
}

#[derive(Serialize)]
struct Event<'a> {
    id: &'a str,
    object: &'static str,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    object: Intent<'a>,
}

#[derive(Serialize)]
struct Intent<'a> {
    id: &'a str,
    object: &'static str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<&'a str>,
    last_payment_error: Option<PaymentError<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_action: Option<NextAction>,
    metadata: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
struct PaymentError<'a> {
    code: &'a str,
    message: String,
}

#[derive(Serialize)]
struct NextAction {
    #[serde(rename = "type")]
    kind: &'static str,
    redirect_to_url: Redirect,
}

#[derive(Serialize)]
struct Redirect {
    url: String,
}

/// The event's JSON, created at `created` (unix seconds), with id `event_id`.
pub fn event_body(options: &Options, event_id: &str, created: i64) -> Result<Vec<u8>, String> {
    let event_type = options.event_type;
    let intent_id = options.gateway_intent_id.as_str();
    let last_payment_error = (event_type == EventType::PaymentFailed).then(|| {
        let code = options.failure_code.as_deref().unwrap_or(CARD_DECLINED);
        PaymentError {
            code,
            message: if code == CARD_DECLINED {
                "Your card was declined.".to_owned()
            } else {
                format!("The payment failed ({code}).")
            },
        }
    });
    let next_action = (event_type == EventType::RequiresAction).then(|| NextAction {
        kind: "redirect_to_url",
        redirect_to_url: Redirect {
            url: format!("https://gateway.test/authenticate/{intent_id}"),
        },
    });
    let event = Event {
        id: event_id,
        object: "event",
        kind: event_type.name(),
        created,
        data: Data {
            object: Intent {
                id: intent_id,
                object: "payment_intent",
                status: event_type.status(),
                amount: options.amount,
                currency: options.currency.as_deref(),
                last_payment_error,
                next_action,
                metadata: serde_json::Map::new(),
            },
        },
    };
    serde_json::to_vec(&event).map_err(|e| format!("cannot write the event: {e}"))
}

/// Where a secret came from, to say so without showing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Flag,
    Environment(String),
    File { var: String, file: String },
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Flag => write!(f, "--secret"),
            SecretSource::Environment(var) => write!(f, "{var} from the environment"),
            SecretSource::File { var, file } => write!(f, "{var} from {file}"),
        }
    }
}

/// `WEBHOOK_SECRET_TEST` for gateway `test`: the name the service reads.
pub fn secret_var(gateway: &str) -> String {
    format!("WEBHOOK_SECRET_{}", gateway.to_ascii_uppercase())
}

/// The gateway's webhook secret: `flag`, else `WEBHOOK_SECRET_<GATEWAY>`
/// from `env`, else from the first of `FILES` under `root` that sets it.
pub fn secret(
    flag: Option<&str>,
    gateway: &str,
    env: impl Fn(&str) -> Option<String>,
    root: &Path,
) -> Result<(String, SecretSource), String> {
    if let Some(secret) = flag {
        return Ok((secret.to_owned(), SecretSource::Flag));
    }
    let var = secret_var(gateway);
    if let Some(secret) = env(&var).filter(|s| !s.trim().is_empty()) {
        return Ok((secret, SecretSource::Environment(var)));
    }
    for file in FILES {
        if let Some(secret) = env_file::find(root, &[file], &var)? {
            return Ok((
                secret,
                SecretSource::File {
                    var,
                    file: file.to_owned(),
                },
            ));
        }
    }
    Err(format!(
        "no webhook secret for gateway '{gateway}': pass --secret, or set {var} (in the environment, .env or .env.example)"
    ))
}

/// The service's base URL: `flag`, else `API` from `env` or
/// `.stack/demo.env` (where `make run` wrote the address it serves on),
/// else `DEFAULT_URL`.
pub fn base_url(
    flag: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
    root: &Path,
) -> Result<String, String> {
    if let Some(url) = flag {
        return Ok(url.to_owned());
    }
    if let Some(url) = env("API").filter(|u| !u.trim().is_empty()) {
        return Ok(url);
    }
    Ok(env_file::find(root, &FILES[..1], "API")?.unwrap_or_else(|| DEFAULT_URL.to_owned()))
}

/// `base` + the webhook route of `gateway`.
pub fn webhook_url(base: &str, gateway: &str) -> String {
    format!("{}{WEBHOOK_PATH}/{gateway}", base.trim_end_matches('/'))
}

/// One signed event, ready to post or print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub url: String,
    pub event_id: String,
    pub body: Vec<u8>,
    /// The `Stripe-Signature` header value.
    pub signature: String,
}

impl Delivery {
    /// Builds and signs the event of `options` at `now` (unix seconds) for
    /// the service at `base_url`.
    pub fn new(options: &Options, base_url: &str, secret: &str, now: i64) -> Result<Self, String> {
        let event_id = options.event_id.clone().unwrap_or_else(random_event_id);
        let body = event_body(options, &event_id, now)?;
        let signature = webhook_signature::sign(secret.as_bytes(), now, &body);
        Ok(Self {
            url: webhook_url(base_url, &options.gateway),
            event_id,
            body,
            signature,
        })
    }

    /// `Stripe-Signature: …` and the body, one line each (for curl).
    pub fn printed(&self) -> String {
        format!(
            "Stripe-Signature: {}\n{}\n",
            self.signature,
            String::from_utf8_lossy(&self.body)
        )
    }

    /// Posts the signed bytes; a 2xx answer is `Ok`.
    pub async fn send(&self) -> Result<Reply, SendError> {
        let reply = tokio::time::timeout(TIMEOUT, post(&self.url, &self.body, &self.signature))
            .await
            .map_err(|_| {
                SendError::Unreachable(format!(
                    "{}: no answer within {} s",
                    self.url,
                    TIMEOUT.as_secs()
                ))
            })??;
        if (200..300).contains(&reply.status) {
            Ok(reply)
        } else {
            Err(SendError::Refused(reply))
        }
    }
}

/// The service's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Nothing answered HTTP at the address.
    Unreachable(String),
    /// The service answered, but not with 2xx.
    Refused(Reply),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Unreachable(why) => {
                write!(f, "cannot reach the service (is `make run` up?): {why}")
            }
            SendError::Refused(reply) => write!(f, "the service answered {}", reply.status),
        }
    }
}

impl std::error::Error for SendError {}

/// One POST of `body` on a fresh HTTP/1.1 connection.
async fn post(url: &str, body: &[u8], signature: &str) -> Result<Reply, SendError> {
    let unreachable = |e: &dyn fmt::Display| SendError::Unreachable(format!("{url}: {e}"));
    let uri: hyper::Uri = url.parse().map_err(|e| unreachable(&e))?;
    if uri.scheme_str() != Some("http") {
        return Err(unreachable(
            &"only http:// addresses: this sends to a local service",
        ));
    }
    let (Some(host), Some(authority)) = (uri.host(), uri.authority()) else {
        return Err(unreachable(&"no host in the address"));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| unreachable(&e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| unreachable(&e))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(target: "send_webhook", "connection: {e}");
        }
    });
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = hyper::Request::post(path)
        .header(HOST, authority.as_str())
        .header(CONTENT_TYPE, "application/json")
        .header("Stripe-Signature", signature)
        .body(Full::new(Bytes::copy_from_slice(body)))
        .map_err(|e| unreachable(&e))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| unreachable(&e))?;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| unreachable(&e))?
        .to_bytes();
    Ok(Reply {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    fn options(line: &str) -> Options {
        match parse_args(&args(line)).expect("parses") {
            Command::Send(options) => *options,
            Command::Help => panic!("help"),
        }
    }

    #[test]
    fn types_are_named_short_or_in_full() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.short_name()), Ok(t));
            assert_eq!(EventType::parse(&t.name()), Ok(t));
        }
        assert_eq!(
            EventType::parse("payment_failed"),
            Ok(EventType::PaymentFailed)
        );
        assert_eq!(
            EventType::parse("payment_intent.requires_action"),
            Ok(EventType::RequiresAction)
        );
    }

    #[test]
    fn an_unknown_type_is_refused_naming_the_known_ones() {
        for name in [
            "charge.refunded",
            "payment_intent.created",
            "success",
            "",
            "payment_intent.",
        ] {
            let e = EventType::parse(name).expect_err(name);
            assert!(e.contains(&format!("'{name}'")), "{e}");
            assert!(
                e.contains("succeeded, processing, payment_failed, canceled, requires_action"),
                "{e}"
            );
        }
        assert!(parse_args(&args("refunded pi_test_1")).is_err());
    }

    #[test]
    fn status_follows_the_type() {
        let statuses: Vec<&str> = EventType::ALL.iter().map(|t| t.status()).collect();
        assert_eq!(
            statuses,
            [
                "succeeded",
                "processing",
                "requires_payment_method",
                "canceled",
                "requires_action"
            ]
        );
    }

    #[test]
    fn arguments_and_defaults() {
        let o = options("succeeded pi_test_1");
        assert_eq!(o, Options::new(EventType::Succeeded, "pi_test_1"));
        assert_eq!(o.gateway, "test");

        let o = options(
            "payment_intent.payment_failed pi_1 --gateway stripe --url http://127.0.0.1:9 \
             --amount 11200 --currency USD --failure-code expired_card --event-id evt_1 \
             --secret s3 --print",
        );
        assert_eq!(o.event_type, EventType::PaymentFailed);
        assert_eq!(o.gateway, "stripe");
        assert_eq!(o.url.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(o.amount, Some(11200));
        assert_eq!(o.currency.as_deref(), Some("usd"));
        assert_eq!(o.failure_code.as_deref(), Some("expired_card"));
        assert_eq!(o.event_id.as_deref(), Some("evt_1"));
        assert_eq!(o.secret.as_deref(), Some("s3"));
        assert!(o.print);

        assert_eq!(
            options("canceled pi_1 --amount=500").amount,
            Some(500),
            "--flag=value"
        );
        assert_eq!(parse_args(&args("--help")), Ok(Command::Help));
    }

    #[test]
    fn bad_arguments_are_refused() {
        for line in [
            "",
            "succeeded",
            "succeeded pi_1 extra",
            "succeeded pi_1 --amount 112.00",
            "succeeded pi_1 --amount -1",
            "succeeded pi_1 --currency dollars",
            "succeeded pi_1 --gateway Test/x",
            "succeeded pi_1 --failure-code card_declined",
            "succeeded pi_1 --colour blue",
            "succeeded pi_1 --secret",
        ] {
            assert!(parse_args(&args(line)).is_err(), "{line}");
        }
    }

    #[test]
    fn random_event_ids_look_like_stripes() {
        let id = random_event_id();
        let suffix = id.strip_prefix("evt_").expect("evt_");
        assert_eq!(suffix.len(), 24);
        assert!(suffix.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(id, random_event_id());
    }

    #[test]
    fn amount_and_currency_are_sent_only_when_given() {
        let o = Options::new(EventType::Succeeded, "pi_1");
        let body: serde_json::Value =
            serde_json::from_slice(&event_body(&o, "evt_1", 7).expect("body")).expect("json");
        let object = &body["data"]["object"];
        assert!(object.get("amount").is_none() && object.get("currency").is_none());
        assert_eq!(object["last_payment_error"], serde_json::Value::Null);
        assert!(object.get("next_action").is_none());
        assert_eq!(body["created"], 7);
    }

    #[test]
    fn requires_action_names_where_to_authenticate() {
        let o = Options::new(EventType::RequiresAction, "pi_test_9");
        let body: serde_json::Value =
            serde_json::from_slice(&event_body(&o, "evt_1", 7).expect("body")).expect("json");
        assert_eq!(
            body["data"]["object"]["next_action"],
            serde_json::json!({"type":"redirect_to_url","redirect_to_url":{"url":"https://gateway.test/authenticate/pi_test_9"}})
        );
    }

    /// A directory of its own under the system's temporary directory.
    struct Dir(PathBuf);

    impl Dir {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!("send-webhook-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(dir.join(".stack")).expect("temp dir");
            Self(dir)
        }

        fn write(&self, file: &str, text: &str) {
            std::fs::write(self.0.join(file), text).expect("written");
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn the_secret_is_the_flag_then_the_environment_then_the_files_in_order() {
        let dir = Dir::new();
        let no_env = |_: &str| None;
        let env = |var: &str| (var == "WEBHOOK_SECRET_TEST").then(|| "from-env".to_owned());

        assert!(secret(None, "test", no_env, &dir.0).is_err());

        dir.write(".env.example", "WEBHOOK_SECRET_TEST=from-example\n");
        assert_eq!(
            secret(None, "test", no_env, &dir.0),
            Ok((
                "from-example".to_owned(),
                SecretSource::File {
                    var: "WEBHOOK_SECRET_TEST".into(),
                    file: ".env.example".into()
                }
            ))
        );
        dir.write(".env", "WEBHOOK_SECRET_TEST=from-dotenv\n");
        assert_eq!(
            secret(None, "test", no_env, &dir.0).map(|s| s.0),
            Ok("from-dotenv".to_owned())
        );
        // `make run` writes shell exports there.
        dir.write(
            ".stack/demo.env",
            "export WEBHOOK_SECRET_TEST='from-demo'\n",
        );
        assert_eq!(
            secret(None, "test", no_env, &dir.0).map(|s| s.0),
            Ok("from-demo".to_owned())
        );
        assert_eq!(
            secret(None, "test", env, &dir.0),
            Ok((
                "from-env".to_owned(),
                SecretSource::Environment("WEBHOOK_SECRET_TEST".into())
            ))
        );
        assert_eq!(
            secret(Some("from-flag"), "test", env, &dir.0),
            Ok(("from-flag".to_owned(), SecretSource::Flag))
        );
        // Each gateway has its own secret.
        assert!(secret(None, "stripe", env, &dir.0).is_err());
    }

    #[test]
    fn the_address_is_the_flag_then_api_then_the_default() {
        let dir = Dir::new();
        let no_env = |_: &str| None;
        assert_eq!(base_url(None, no_env, &dir.0), Ok(DEFAULT_URL.to_owned()));
        dir.write(".stack/demo.env", "export API='http://127.0.0.1:3100'\n");
        assert_eq!(
            base_url(None, no_env, &dir.0),
            Ok("http://127.0.0.1:3100".to_owned())
        );
        let env = |var: &str| (var == "API").then(|| "http://127.0.0.1:3200".to_owned());
        assert_eq!(
            base_url(None, env, &dir.0),
            Ok("http://127.0.0.1:3200".to_owned())
        );
        assert_eq!(
            base_url(Some("http://h:1"), env, &dir.0),
            Ok("http://h:1".to_owned())
        );
        assert_eq!(
            webhook_url("http://127.0.0.1:3000/", "test"),
            "http://127.0.0.1:3000/api/v1/PaymentIntents/webhook/test"
        );
    }
}
