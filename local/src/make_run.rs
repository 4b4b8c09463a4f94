//! `make run`: the whole API on http://127.0.0.1:$PORT (default 3000), as API
//! Gateway serves it, in front of DynamoDB Local (8000), the SES emulator
//! (8005) and localstripe (8420), all owned by this one process: Ctrl-C or
//! SIGTERM stops the gateway, then the emulators. The deliveries' dispatch
//! reads the table's stream and the retry pass runs every second; a
//! receiver on 4242 prints what the demo endpoint is sent.

use std::path::Path;
use std::sync::Arc;

use payment_shared::app::App;

use crate::stack::{self, DYNAMODB, LOCALSTRIPE, PortChoice, SES, Service, Stack, StartError};
use crate::stop::Stop;
use crate::{deliveries, env_file, receiver, setup, template};

/// Fixed, because the README, `.stack/lambda.env` and people's habits name them.
pub const DYNAMODB_PORT: u16 = 8000;
pub const SES_PORT: u16 = 8005;
pub const LOCALSTRIPE_PORT: u16 = 8420;
const DEFAULT_PORT: u16 = 3000;
/// The Stripe webhook secret when neither `.env` nor the shell sets one.
pub const DEFAULT_STRIPE_WEBHOOK_SECRET: &str = "local-dev-stripe-webhook-secret";

fn services() -> [(&'static Service, PortChoice); 3] {
    [
        (&DYNAMODB, PortChoice::Fixed(DYNAMODB_PORT)),
        (&SES, PortChoice::Fixed(SES_PORT)),
        (&LOCALSTRIPE, PortChoice::Fixed(LOCALSTRIPE_PORT)),
    ]
}

/// Where localstripe delivers its events: this gateway's Stripe webhook route.
pub fn stripe_webhook_url(port: u16) -> String {
    format!("{}/api/v1/PaymentIntents/webhook/stripe", url(port))
}

fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// The first step, while the process has one thread: the configuration files
/// into the environment, then the variables that point the functions at this
/// stack (these win: the stack runs where they say). Returns the functions'
/// configuration, which `run` hands to `cargo lambda watch` as an env file.
pub fn configure(root: &Path) -> Result<Vec<(String, String)>, String> {
    let keys = env_file::load(root)?;
    let stack_env =
        stack::env_for(
            services()
                .into_iter()
                .filter_map(|(service, choice)| match choice {
                    PortChoice::Fixed(port) => Some((service, url(port))),
                    PortChoice::Free => None,
                }),
        );
    let mut set = stack_env.clone();
    // Secrets come from the variables above, not from Secrets Manager.
    set.push(("SECRET_ARN".into(), String::new()));
    for (key, value) in stack::default_credentials() {
        if std::env::var_os(key).is_none() {
            set.push((key.into(), value.into()));
        }
    }
    env_file::set(&set)?;

    let mut functions: Vec<(String, String)> = keys
        .into_iter()
        .filter_map(|k| std::env::var(&k).ok().map(|v| (k, v)))
        .filter(|(k, _)| !stack_env.iter().any(|(s, _)| s == k))
        .collect();
    functions.extend(stack_env);
    // Never your real credentials in a file: the emulators take any.
    functions.extend(
        stack::default_credentials()
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Ok(functions)
}

/// The functions' configuration as an env file.
pub fn env_file_text(functions: &[(String, String)]) -> Result<String, String> {
    let mut text = String::from(
        "# Written by `make run`: the configuration its functions get, for\n# `cargo lambda watch` (see [workspace.metadata.lambda.watch] in Cargo.toml).\n",
    );
    for (key, value) in functions {
        text.push_str(&env_file::line(key, value)?);
    }
    Ok(text)
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Starts the stack, prepares the table, serves the API until a signal.
/// `functions` is what `configure` returned. Must run on the main thread (see
/// `stack::command`).
pub async fn run(root: &Path, functions: &[(String, String)]) -> Result<(), String> {
    let port = crate::port_from_env(DEFAULT_PORT)?;
    if stack::port::is_busy(port) {
        return Err(format!(
            "port {port}, needed for the local gateway, is already in use. Another `make run`? (PORT=... picks another)"
        ));
    }
    let stop = Stop::listen()?;
    let dir = root.join(".stack");
    let stack = match Stack::start(root, &dir, &services(), &|| stop.requested()) {
        Ok(stack) => stack,
        Err(StartError::Interrupted(signal)) => {
            eprintln!("run: {signal}: stopped");
            return Ok(());
        }
        Err(e) => return Err(e.to_string()),
    };
    write(&dir.join("lambda.env"), &env_file_text(functions)?)?;
    let webhook_secret = std::env::var("WEBHOOK_SECRET_STRIPE")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_STRIPE_WEBHOOK_SECRET.to_owned());
    stack::localstripe_webhook(
        LOCALSTRIPE_PORT,
        "payment-service",
        &stripe_webhook_url(port),
        &webhook_secret,
    )?;

    let app = Arc::new(
        App::from_env()
            .await
            .map_err(|e| format!("configuration: {e}"))?,
    );
    let tokens = tokio::select! {
        tokens = setup::prepare(&app, false) => tokens?,
        signal = stop.clone().wait() => {
            eprintln!("run: {signal}: stopped");
            return Ok(());
        }
    };
    let demo_env = dir.join("demo.env");
    let api = url(port);
    let inbox = format!("{}/", url(SES_PORT));
    let api_key = std::env::var("SERVICE_API_KEY")
        .unwrap_or_default()
        .split(',')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    write(
        &demo_env,
        &format!(
            "# written by `make run`; in another shell: . .stack/demo.env\nexport API='{api}'\nexport API_KEY='{api_key}'\nexport INBOX='{inbox}'\n{}",
            setup::exports(&tokens)
        ),
    )?;
    let receiving = start_receiver(&app).await;
    let delivering = tokio::spawn(deliveries::run(app.clone()));
    let refunding = tokio::spawn(crate::refund_pass::run(app.clone()));
    print_banner(&api, &inbox, &api_key, &app, &tokens);

    let served = crate::serve_template(&template::default_path(), app, port, async move {
        let signal = stop.wait().await;
        eprintln!(
            "run: {signal}: stopping the gateway, the webhook dispatcher and receiver, DynamoDB Local, the SES emulator and localstripe"
        );
    })
    .await;
    delivering.abort();
    refunding.abort();
    if let Some(receiving) = receiving {
        receiving.abort();
    }
    let _ = std::fs::remove_file(&demo_env);
    drop(stack);
    served
}

/// The receiver on 4242 and the demo endpoint that points at it (every
/// event type); without the port, deliveries still go wherever endpoints say.
async fn start_receiver(app: &Arc<App>) -> Option<tokio::task::JoinHandle<()>> {
    let (listener, _) = match receiver::bind(receiver::RECEIVER_PORT).await {
        Ok(bound) => bound,
        Err(e) => {
            eprintln!("run: {e}; the demo webhook endpoint is not registered");
            return None;
        }
    };
    let registered = async {
        let id = payment_shared::domain::EndpointId::parse(receiver::DEMO_ENDPOINT)
            .map_err(|e| e.to_string())?;
        let url = payment_shared::domain::EndpointUrl::parse(
            &receiver::url(receiver::RECEIVER_PORT, receiver::DEMO_ENDPOINT),
            true,
        )
        .map_err(|e| e.to_string())?;
        payment_shared::app::webhook_endpoints::put(
            app,
            id,
            url,
            payment_shared::domain::EnabledEvents::All,
        )
        .await
        .map_err(|e| e.to_string())
    };
    if let Err(e) = registered.await {
        eprintln!("run: the demo webhook endpoint is not registered: {e}");
    }
    Some(tokio::spawn(receiver::serve(listener, app.clone())))
}

/// Which card gateways this run offers, as a deployment with the same
/// settings would: `test` only while switched on.
fn card_gateways(app: &App) -> String {
    use payment_shared::domain::GatewayId;
    let offered: Vec<&str> = [GatewayId::Stripe, GatewayId::Test]
        .into_iter()
        .filter(|g| app.gateways.get(*g).is_some())
        .map(|g| g.as_str())
        .collect();
    let default = app.config.default_gateway.as_str();
    match offered.is_empty() {
        true => format!("none (default {default}: not configured, its requests answer 503)"),
        false if app.config.enable_test_gateway => format!(
            "{} (default {default}; ENABLE_TEST_GATEWAY=false runs without test, as deployed)",
            offered.join(", ")
        ),
        false => format!(
            "{} (default {default}; test is off: ENABLE_TEST_GATEWAY=true offers it)",
            offered.join(", ")
        ),
    }
}

fn print_banner(api: &str, inbox: &str, api_key: &str, app: &App, tokens: &[(&str, String)]) {
    let table = &app.config.table_name;
    let gateways = card_gateways(app);
    let token = |var: &str| {
        tokens
            .iter()
            .find(|(v, _)| *v == var)
            .map(|(_, t)| t.as_str())
            .unwrap_or("(none: JWT_ALGORITHM is not HS256)")
    };
    println!(
        r#"
  payment-service on {api}  (table {table}; DynamoDB Local :{DYNAMODB_PORT}, SES emulator :{SES_PORT}, localstripe :{LOCALSTRIPE_PORT})
  Card gateways: {gateways}

  Demo tokens (HS256, valid 12 h), also in .stack/demo.env:
    demo-user-1 (owns registration REG-DEMO-1, 112.00 USD)
      {user1}
    demo-user-2 (owns order ORD-DEMO-1, 2 line items)
      {user2}
    demo-admin (Admin)
      {admin}
  X-API-Key: {api_key}

  OTP emails: {inbox}   (JSON: {inbox}store)

  Try it from another terminal:
    . .stack/demo.env
    curl -s -X POST $API/payment/intents -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{{"registration_id":"REG-DEMO-1"}}'
    curl -s -X POST $API/payment/intents/request-otp -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{{"intent_id":"<intent_id>"}}'
    curl -s -X POST $API/payment/intents/confirm -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{{"intent_id":"<intent_id>","otp_code":"<code from {inbox}>"}}'
    curl -s $API/payment/intents/user/demo-user-1 -H "Authorization: Bearer $TOKEN"

  One function at a time: cargo lambda watch (reads .stack/lambda.env), then
    cargo lambda invoke intents-create --data-file events/intents-create.json

  Stripe (localstripe; its webhooks arrive at {api}/api/v1/PaymentIntents/webhook/stripe): see docs/local-development.md.
  Partner API (client demo-client, secret local-dev-partner-secret, business 123456): see docs/partner.md for signing.
  Webhooks: every event is POSTed to the demo endpoint {receiver_url}, printed here as it arrives:
    curl -s $API/api/v1/webhook-endpoints/demo-receiver/deliveries -H "X-API-Key: $API_KEY"

  Ctrl-C stops the gateway, the webhook dispatcher and receiver, DynamoDB Local, the SES emulator and localstripe.
"#,
        user1 = token("TOKEN_USER1"),
        user2 = token("TOKEN_USER2"),
        admin = token("TOKEN_ADMIN"),
        receiver_url = receiver::url(receiver::RECEIVER_PORT, receiver::DEMO_ENDPOINT),
    );
}
