//! A deployment made with the template's defaults: each function's App is
//! built as in Lambda (the configuration read from the environment the
//! template gives every function, the secrets from Secrets Manager on moto),
//! with only what an operator must supply filled in. Such a deployment takes
//! money only through a real gateway: the `test` gateway does not exist
//! there, and bearer tokens must name its issuer and audience.

use std::collections::HashMap;
use std::sync::Arc;

use integration_tests::*;
use jsonwebtoken::{EncodingKey, Header};
use lambda_http::http::Method;
use payment_shared::adapters::dynamo::table;
use payment_shared::app::App;
use payment_shared::config::Config;
use payment_shared::domain::webhook_signature;
use serde_json::{Value, json};
use serde_yaml::Value as Yaml;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

const ISSUER: &str = "https://id.example.com/";
const AUDIENCE: &str = "payment-service";
/// Deployed keys are 32 bytes or more.
const JWT_KEY: &str = "a-deployed-hs256-key-of-32-bytes-or-more";
const DEPLOYED_API_KEY: &str = "a-deployed-service-api-key";
const TEST_WEBHOOK_SECRET: &str = "whsec_a-test-gateway-secret";

fn template() -> Yaml {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("template.yaml");
    serde_yaml::from_str(&text).expect("template parses")
}

/// The environment every function gets: the template's variables, each
/// `!Ref` to a parameter resolved to what the operator `supplied`, or else
/// to its default (a parameter without either stays unset), and the table
/// to `table`.
fn function_env(supplied: &[(&str, &str)], table: &str) -> HashMap<String, String> {
    let template = template();
    let parameters = &template["Parameters"];
    let scalar = |v: &Yaml| match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let variables = template["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .expect("the functions' environment");
    variables
        .iter()
        .filter_map(|(name, value)| {
            let name = name.as_str().expect("a variable name").to_owned();
            let value = match value {
                Yaml::Tagged(tagged) if tagged.tag == "!Ref" => {
                    let target = tagged.value.as_str().expect("a !Ref name");
                    if target == "Table" {
                        Some(table.to_owned())
                    } else {
                        supplied
                            .iter()
                            .find(|(p, _)| *p == target)
                            .map(|(_, v)| (*v).to_owned())
                            .or_else(|| scalar(&parameters[target]["Default"]))
                    }
                }
                other => scalar(other),
            };
            value.map(|v| (name, v))
        })
        .collect()
}

/// One JSON secret as an operator stores it, on moto.
async fn deployed_secret(stripe_key: Option<&str>) -> String {
    let aws = aws().await;
    env("AWS_ENDPOINT_URL_SECRETS_MANAGER");
    let long = "k".repeat(32);
    let mut doc = json!({
        "jwt_key": JWT_KEY,
        "api_key_sha256": [Sha256::digest(DEPLOYED_API_KEY.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()],
        "webhook_secrets": {"test": TEST_WEBHOOK_SECRET, "stripe": TEST_WEBHOOK_SECRET},
        "otp_pepper": long,
        "cursor_key": long,
    });
    if let Some(key) = stripe_key {
        doc["stripe_secret_key"] = json!(key);
    }
    aws_sdk_secretsmanager::Client::new(&aws)
        .create_secret()
        .name(unique("payment-service"))
        .secret_string(doc.to_string())
        .send()
        .await
        .expect("moto stores the secret")
        .arn()
        .expect("an ARN")
        .to_owned()
}

/// What an operator must supply (the parameters without a default), and
/// where Stripe is.
fn operator(secret_arn: &str) -> Vec<(&'static str, String)> {
    // Stripe's API is the local emulator here: tests reach loopback only.
    let stripe = std::env::var("STRIPE_API_BASE").expect("localstripe (make test starts it)");
    vec![
        ("SecretArn", secret_arn.to_owned()),
        ("SenderEmail", "payments@example.com".to_owned()),
        ("JwtIssuer", ISSUER.to_owned()),
        ("JwtAudience", AUDIENCE.to_owned()),
        ("StripeApiBase", stripe),
    ]
}

/// A deployed function's App, built as `main` builds one that reaches the
/// gateways, on a new table.
async fn deployed(stripe_key: Option<&str>) -> Arc<App> {
    let arn = deployed_secret(stripe_key).await;
    let supplied = operator(&arn);
    let supplied: Vec<(&str, &str)> = supplied.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let aws = aws().await;
    let name = unique("deployed");
    table::create_table(&aws_sdk_dynamodb::Client::new(&aws), &name)
        .await
        .expect("a table on DynamoDB Local");
    let env = function_env(&supplied, &name);
    assert!(
        env["STRIPE_API_BASE"].starts_with("http://127.0.0.1:"),
        "tests reach loopback only"
    );
    let config = Config::from_vars(|n| env.get(n).cloned()).expect("a deployed configuration");
    assert!(!config.local, "a deployment is not a developer's machine");
    Arc::new(
        App::storage(config, &aws)
            .await
            .expect("the function starts")
            .with_gateways(),
    )
}

/// A token the deployment's identity provider would issue.
fn deployed_token(sub: &str, claims: Value) -> String {
    let mut all = json!({
        "sub": sub,
        "email": format!("{sub}@example.com"),
        "exp": OffsetDateTime::now_utc().unix_timestamp() + 600,
    });
    for (k, v) in claims.as_object().expect("claims") {
        all[k] = v.clone();
    }
    jsonwebtoken::encode(
        &Header::default(),
        &all,
        &EncodingKey::from_secret(JWT_KEY.as_bytes()),
    )
    .expect("token encodes")
}

fn payer(sub: &str) -> String {
    deployed_token(sub, json!({"iss": ISSUER, "aud": AUDIENCE}))
}

async fn send(app: &Arc<App>, handler: payment_shared::routes::Handler, c: Call) -> Reply {
    Reply::from(handler(app.clone(), c.build()).await)
}

fn handler(binary: &str) -> payment_shared::routes::Handler {
    payment_shared::routes::handler(binary).expect("a function of the template")
}

async fn order(app: &Arc<App>, owner: &str) -> String {
    let id = unique("ORD");
    let r = send(
        app,
        handler("payables-put"),
        call(Method::PUT, &format!("/api/v1/payables/order/{id}"))
            .api_key(DEPLOYED_API_KEY)
            .param("kind", "order")
            .param("id", &id)
            .json(
                json!({"user_id": owner, "email": format!("{owner}@example.com"),
                "amount": "42.00", "currency": "USD"}),
            ),
    )
    .await;
    assert!(r.status == 200 || r.status == 201, "{}", r.body);
    id
}

fn create_intent(token: &str, body: Value) -> Call {
    call(Method::POST, "/api/v1/PaymentIntents")
        .bearer(token)
        .json(body)
}

#[tokio::test]
async fn the_template_gives_functions_no_test_gateway_and_stripe_by_default() {
    let template = template();
    let parameters = &template["Parameters"];
    assert_eq!(parameters["EnableTestGateway"]["Default"], "false");
    assert_eq!(parameters["DefaultGateway"]["Default"], "stripe");
    // No default: an operator must name them, and the functions refuse to start without.
    for required in ["JwtIssuer", "JwtAudience"] {
        assert!(
            parameters[required].get("Default").is_none(),
            "{required} has no default"
        );
        assert_eq!(parameters[required]["MinLength"], 1, "{required}");
    }
    let env = function_env(&[], "payments");
    assert_eq!(env["ENABLE_TEST_GATEWAY"], "false");
    assert_eq!(env["DEFAULT_GATEWAY"], "stripe");
    assert!(!env.contains_key("JWT_ISSUER") && !env.contains_key("JWT_AUDIENCE"));
    assert!(!env.contains_key("SHOP_GATEWAY"), "one default gateway");
    // A deployment is never a local run, whatever it claims.
    let mut claimed = function_env(
        &[
            (
                "SecretArn",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf",
            ),
            ("SenderEmail", "payments@example.com"),
        ],
        "payments",
    );
    claimed.insert("APP_ENV".into(), "local".into());
    let refused = Config::from_vars(|n| claimed.get(n).cloned()).expect_err("no issuer");
    assert!(refused.to_string().contains("JWT_ISSUER"), "{refused}");
}

#[tokio::test]
async fn a_deployment_refuses_the_test_gateway_and_opens_at_stripe() {
    let app = deployed(Some(STRIPE_SECRET_KEY)).await;
    let owner = unique("payer");
    let token = payer(&owner);
    let order_id = order(&app, &owner).await;

    // Named, `test` is refused as a gateway nobody knows is.
    for body in [
        json!({"orderId": order_id, "paymentGatewayId": "test"}),
        json!({"amount": 10.0, "currency": "USD", "paymentGatewayId": "test"}),
    ] {
        let r = send(
            &app,
            handler("payment-intents-create"),
            create_intent(&token, body),
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(
            r.header("content-type"),
            Some("application/problem+json"),
            "the API's error format"
        );
        let text = r.body.to_string();
        assert!(text.contains("paymentGatewayId"), "{text}");
    }
    let unknown = send(
        &app,
        handler("payment-intents-create"),
        create_intent(
            &token,
            json!({"orderId": order_id, "paymentGatewayId": "nope"}),
        ),
    )
    .await;
    let refused = send(
        &app,
        handler("payment-intents-create"),
        create_intent(
            &token,
            json!({"orderId": order_id, "paymentGatewayId": "test"}),
        ),
    )
    .await;
    assert_eq!(unknown.status, refused.status);
    assert_eq!(unknown.body["errors"], refused.body["errors"], "alike");

    // Its webhook route does not exist, however well the event is signed.
    let event = json!({"id": unique("evt"), "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_test_000000000000000000000000", "object": "payment_intent"}}});
    let body = event.to_string();
    let signature = webhook_signature::sign(
        TEST_WEBHOOK_SECRET.as_bytes(),
        OffsetDateTime::now_utc().unix_timestamp(),
        body.as_bytes(),
    );
    let hook = send(
        &app,
        handler("payment-intents-webhook"),
        call(Method::POST, "/api/v1/PaymentIntents/webhook/test")
            .param("gatewayId", "test")
            .header("stripe-signature", &signature)
            .raw(&body),
    )
    .await;
    assert_eq!(hook.status, 404, "{}", hook.body);

    // Nothing was opened by the refusals: the order's intent opens at Stripe.
    let created = send(
        &app,
        handler("payment-intents-create"),
        create_intent(&token, json!({"orderId": order_id})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.body["paymentGatewayId"], "stripe",
        "{}",
        created.body
    );
    let at_stripe = created.body["gatewayIntentId"]
        .as_str()
        .expect("gateway id");
    assert!(
        at_stripe.starts_with("pi_") && !at_stripe.starts_with("pi_test_"),
        "{at_stripe}"
    );

    // So do shop orders.
    let shop_order = order(&app, &owner).await;
    let r = send(
        &app,
        handler("shop-create-intent"),
        call(
            Method::POST,
            &format!("/api/v1/shop/orders/{shop_order}/payment-intent"),
        )
        .bearer(&token)
        .api_key(DEPLOYED_API_KEY)
        .param("orderId", &shop_order),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let at_stripe = r.body["data"]["id"].as_str().expect("the gateway's id");
    assert!(
        at_stripe.starts_with("pi_") && !at_stripe.starts_with("pi_test_"),
        "{at_stripe}"
    );
}

#[tokio::test]
async fn a_default_gateway_that_is_not_configured_answers_503_and_falls_back_to_none() {
    // No Stripe key in the secret: `stripe`, the default, is not configured.
    let app = deployed(None).await;
    let owner = unique("payer");
    let token = payer(&owner);
    let order_id = order(&app, &owner).await;
    let r = send(
        &app,
        handler("payment-intents-create"),
        create_intent(&token, json!({"orderId": order_id})),
    )
    .await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("stripe") && d.contains("not configured")),
        "{}",
        r.body
    );
    let r = send(
        &app,
        handler("shop-create-intent"),
        call(
            Method::POST,
            &format!("/api/v1/shop/orders/{order_id}/payment-intent"),
        )
        .bearer(&token)
        .api_key(DEPLOYED_API_KEY)
        .param("orderId", &order_id),
    )
    .await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(
        r.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("not configured")),
        "{}",
        r.body
    );
    // Nothing was opened: the order is still free for a configured gateway.
    let r = send(
        &app,
        handler("payment-intents-create"),
        create_intent(
            &token,
            json!({"orderId": order_id, "paymentGatewayId": "stripe"}),
        ),
    )
    .await;
    assert_eq!(r.status, 400, "stripe is not offered here: {}", r.body);
}

#[tokio::test]
async fn a_deployment_takes_only_tokens_of_its_issuer_and_audience() {
    let app = deployed(Some(STRIPE_SECRET_KEY)).await;
    let owner = unique("payer");
    let get = |token: &str| {
        call(Method::GET, "/api/v1/PaymentIntents")
            .bearer(token)
            .build()
    };
    let admin = |claims: Value| {
        let mut claims = claims;
        claims["roles"] = json!(["Admin"]);
        deployed_token(&owner, claims)
    };
    let ok = handler("payment-intents-list")(
        app.clone(),
        get(&admin(json!({"iss": ISSUER, "aud": AUDIENCE}))),
    )
    .await;
    assert_eq!(ok.status(), 200);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    for (why, claims) in [
        ("no issuer", json!({"aud": AUDIENCE})),
        ("no audience", json!({"iss": ISSUER})),
        (
            "another issuer",
            json!({"iss": "https://other.example.com/", "aud": AUDIENCE}),
        ),
        (
            "another audience",
            json!({"iss": ISSUER, "aud": "another-app"}),
        ),
        (
            "not yet valid",
            json!({"iss": ISSUER, "aud": AUDIENCE, "nbf": now + 300}),
        ),
    ] {
        let r = handler("payment-intents-list")(app.clone(), get(&admin(claims))).await;
        assert_eq!(r.status(), 401, "{why}");
    }
}
