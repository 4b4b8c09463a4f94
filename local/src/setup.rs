//! Prepares the local stack for the API, with the configuration the gateway
//! reads (`TABLE_NAME`, `AWS_ENDPOINT_URL_DYNAMODB`, `JWT_SECRET`, ...):
//!
//! 1. creates the table as `template.yaml` declares it (an existing one is
//!    kept, unless a fresh start is asked for);
//! 2. upserts the demo payables: registration `REG-DEMO-1` (112.00 USD) of
//!    `demo-user-1`, order `ORD-DEMO-1` (two line items) of `demo-user-2`;
//! 3. signs demo bearer tokens (HS256, 12 h) for them and an Admin.
//!
//! Progress goes to stderr.

use jsonwebtoken::{EncodingKey, Header};
use payment_shared::adapters::dynamo::table;
use payment_shared::app::App;
use payment_shared::app::{AppError, payables};
use payment_shared::domain::{
    BusinessId, Currency, Email, LineItem, Money, NewPayable, Payable, PayableId, PayableKind,
    PayableRef, Payer, UserId,
};
use secrecy::ExposeSecret;
use serde_json::json;

const TOKEN_LIFETIME_SECS: i64 = 12 * 3600;

/// The business of the local partner client (`PARTNER_CLIENTS` in `.env.example`).
const DEMO_BUSINESS: u64 = 123_456;

fn say(message: &str) {
    eprintln!("setup: {message}");
}

struct Demo {
    kind: &'static str,
    id: &'static str,
    user: &'static str,
    amount: &'static str,
    description: &'static str,
    /// (name, unit amount in minor units, quantity)
    items: &'static [(&'static str, i64, u32)],
}

const DEMOS: [Demo; 2] = [
    Demo {
        kind: "registration",
        id: "REG-DEMO-1",
        user: "demo-user-1",
        amount: "112.00",
        description: "Summer camp 2025 registration",
        items: &[],
    },
    Demo {
        kind: "order",
        id: "ORD-DEMO-1",
        user: "demo-user-2",
        amount: "42.00",
        description: "Camp shop order",
        items: &[("Camp T-shirt", 1500, 2), ("Water bottle", 1200, 1)],
    },
];

fn demo_payable(demo: &Demo, app: &App) -> Result<Payable, String> {
    let usd = Currency::parse("USD").map_err(|e| e.to_string())?;
    let items = demo
        .items
        .iter()
        .map(|(name, minor, quantity)| {
            let unit = Money::from_minor(*minor, usd).map_err(|e| e.to_string())?;
            LineItem::new(name, unit, *quantity, None).map_err(|e| e.0)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let now = app.clock.now();
    Ok(Payable::new(
        NewPayable {
            payable: PayableRef {
                kind: PayableKind::parse(demo.kind).map_err(|e| e.0)?,
                id: PayableId::parse(demo.id).map_err(|e| e.0)?,
            },
            owner: Payer {
                user_id: UserId::parse(demo.user).map_err(|e| e.0)?,
                email: Email::parse(&format!("{}@example.com", demo.user)).map_err(|e| e.0)?,
            },
            amount: Money::parse(demo.amount, usd).map_err(|e| e.to_string())?,
            number: Some(demo.id.to_owned()),
            description: Some(demo.description.to_owned()),
            line_items: items,
            // The local partner client's business, so that partners can read the demo's payments.
            business_id: Some(BusinessId::new(DEMO_BUSINESS)),
        },
        now,
    ))
}

async fn create_table(app: &App, fresh: bool) -> Result<(), String> {
    let aws = payment_shared::runtime::aws_sdk_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&aws);
    let name = &app.config.table_name;
    if fresh {
        match dynamo.delete_table().table_name(name).send().await {
            Ok(_) => say(&format!("dropped table {name}")),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) => {}
            Err(e) => {
                return Err(format!(
                    "cannot drop table {name}: {}",
                    aws_sdk_dynamodb::Error::from(e)
                ));
            }
        }
    }
    match table::create_table(&dynamo, name).await {
        Ok(()) => say(&format!("created table {name}")),
        Err(aws_sdk_dynamodb::Error::ResourceInUseException(_)) => {
            say(&format!("table {name} already exists"));
        }
        Err(e) => return Err(format!("cannot create table {name}: {e}")),
    }
    Ok(())
}

async fn seed(app: &App) -> Result<(), String> {
    for demo in &DEMOS {
        let payable = demo_payable(demo, app)?;
        match payables::upsert(app, payable).await {
            Ok((_, created)) => say(&format!(
                "{} {}/{} ({} USD, owner {})",
                if created { "seeded" } else { "refreshed" },
                demo.kind,
                demo.id,
                demo.amount,
                demo.user
            )),
            // Paid, or an intent is open: it is there already; leave it be.
            Err(AppError::PayableLocked(why)) => say(&format!("kept {}: {why}", demo.id)),
            Err(e) => return Err(format!("cannot seed {}: {e}", demo.id)),
        }
    }
    Ok(())
}

/// `(variable, token)`: `TOKEN_USER1`, `TOKEN_USER2`, `TOKEN_ADMIN`; none
/// unless the tokens are HS256.
async fn tokens(app: &App) -> Result<Vec<(&'static str, String)>, String> {
    if app.config.jwt.algorithm != jsonwebtoken::Algorithm::HS256 {
        say("JWT_ALGORITHM is not HS256: no demo tokens (sign your own)");
        return Ok(Vec::new());
    }
    let secrets = app
        .secrets()
        .await
        .map_err(|e| format!("secrets: {e} (see .env.example)"))?;
    let key = EncodingKey::from_secret(secrets.jwt_key.expose_secret().as_bytes());
    let exp = app.clock.now().unix_timestamp() + TOKEN_LIFETIME_SECS;
    let mut tokens = Vec::new();
    for (var, sub, email, roles) in [
        (
            "TOKEN_USER1",
            "demo-user-1",
            "demo-user-1@example.com",
            vec![],
        ),
        (
            "TOKEN_USER2",
            "demo-user-2",
            "demo-user-2@example.com",
            vec![],
        ),
        (
            "TOKEN_ADMIN",
            "demo-admin",
            "admin@example.com",
            vec!["Admin"],
        ),
    ] {
        let mut claims = json!({ "sub": sub, "email": email, "roles": roles, "exp": exp });
        if let Some(iss) = &app.config.jwt.issuer {
            claims["iss"] = json!(iss);
        }
        if let Some(aud) = &app.config.jwt.audience {
            claims["aud"] = json!(aud);
        }
        let token = jsonwebtoken::encode(&Header::default(), &claims, &key)
            .map_err(|e| format!("cannot sign a token: {e}"))?;
        tokens.push((var, token));
    }
    Ok(tokens)
}

/// Table, demo payables, demo tokens. `fresh` drops the table first: a clean
/// slate, as a new `make run` has.
pub async fn prepare(app: &App, fresh: bool) -> Result<Vec<(&'static str, String)>, String> {
    create_table(app, fresh).await?;
    seed(app).await?;
    tokens(app).await
}

/// The tokens as shell lines; `TOKEN` is demo-user-1's.
pub fn exports(tokens: &[(&str, String)]) -> String {
    let mut text = String::new();
    for (var, token) in tokens {
        text.push_str(&format!("export {var}='{token}'\n"));
    }
    if !tokens.is_empty() {
        text.push_str("export TOKEN=\"$TOKEN_USER1\"\n");
    }
    text
}
