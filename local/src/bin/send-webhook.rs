//! `send-webhook <type> <gateway-intent-id> [options]`, like `stripe
//! trigger`: signs a payment-intent event with the gateway's webhook secret
//! and posts it to a running service (see `local_gateway::send_webhook`).
//! Run from the repository root, where it finds `.stack/demo.env`, `.env`
//! and `.env.example`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use local_gateway::send_webhook::{self, Command, Delivery, Options, SendError};

fn env(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

async fn run(root: &Path, options: &Options) -> Result<(), String> {
    let (secret, source) =
        send_webhook::secret(options.secret.as_deref(), &options.gateway, env, root)?;
    let base = send_webhook::base_url(options.url.as_deref(), env, root)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let delivery = Delivery::new(options, &base, &secret, now)?;
    if options.print {
        eprintln!(
            "send-webhook: signed with {source}; POST within 5 minutes to {}",
            delivery.url
        );
        print!("{}", delivery.printed());
        return Ok(());
    }
    eprintln!(
        "send-webhook: {} {} for {} to {} (signed with {source})",
        options.event_type.name(),
        delivery.event_id,
        options.gateway_intent_id,
        delivery.url
    );
    match delivery.send().await {
        Ok(reply) => {
            println!("HTTP {}\n{}", reply.status, reply.body);
            Ok(())
        }
        Err(SendError::Refused(reply)) => {
            println!("HTTP {}\n{}", reply.status, reply.body);
            Err(format!("the service answered {}", reply.status))
        }
        Err(e) => Err(e.to_string()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let done = match send_webhook::parse_args(&args) {
        Ok(Command::Help) => {
            println!("{}", send_webhook::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(Command::Send(options)) => run(&root, &options).await,
        Err(e) => Err(format!("{e}\n\n{}", send_webhook::USAGE)),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("send-webhook: error: {e}");
            ExitCode::FAILURE
        }
    }
}
