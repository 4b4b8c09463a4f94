//! The Secrets Manager provider against moto_server.

use aws_sdk_secretsmanager::Client;
use integration_tests::env;
use payment_shared::adapters::secrets_manager::SecretsManagerSecrets;
use payment_shared::ports::{SecretError, SecretsProvider};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

async fn client() -> Client {
    env("AWS_ENDPOINT_URL_SECRETS_MANAGER");
    Client::new(&payment_shared::runtime::aws_sdk_config().await)
}

async fn secret(client: &Client, value: &str) -> String {
    let out = client
        .create_secret()
        .name(integration_tests::unique("payment-service"))
        .secret_string(value)
        .send()
        .await
        .expect("moto creates the secret");
    out.arn().expect("arn").to_owned()
}

#[tokio::test]
async fn loads_every_secret_from_one_json_document() {
    let client = client().await;
    let digest = hex_digest("svc-key");
    let arn = secret(
        &client,
        &format!(
            r#"{{"jwt_key": "jwt", "api_key_sha256": ["{digest}"], "partner_clients": {{"demo": {{"secret": "p-secret", "business_id": 123456}}}},
                "webhook_secrets": {{"test": "w-secret"}}, "otp_pepper": "pepper"}}"#
        ),
    )
    .await;
    let secrets = SecretsManagerSecrets::new(client, arn)
        .load()
        .await
        .expect("loads");
    assert_eq!(secrets.jwt_key.expose_secret(), "jwt");
    assert_eq!(secrets.otp_pepper.expose_secret(), "pepper");
    assert_eq!(
        secrets.api_key_hashes,
        vec![<[u8; 32]>::from(Sha256::digest(b"svc-key"))]
    );
    assert_eq!(
        secrets.partner_clients["demo"].secret.expose_secret(),
        "p-secret"
    );
    assert_eq!(secrets.partner_clients["demo"].business_id.get(), 123456);
    assert_eq!(secrets.webhook_secrets["test"].expose_secret(), "w-secret");
    assert!(
        !format!("{secrets:?}").contains("pepper"),
        "Debug hides values"
    );
}

fn hex_digest(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn malformed_documents_are_refused_without_echoing_them() {
    let client = client().await;
    let arn = secret(&client, r#"{"jwt_key": "super-secret-value"}"#).await;
    let err = SecretsManagerSecrets::new(client.clone(), arn)
        .load()
        .await
        .expect_err("no pepper");
    assert!(matches!(err, SecretError::Malformed(_)));
    assert!(!err.to_string().contains("super-secret-value"));
    let arn = secret(
        &client,
        r#"{"jwt_key": "j", "otp_pepper": "p", "api_key_sha256": ["zz"]}"#,
    )
    .await;
    assert!(matches!(
        SecretsManagerSecrets::new(client.clone(), arn).load().await,
        Err(SecretError::Malformed(_))
    ));
    let missing = SecretsManagerSecrets::new(
        client,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:none-AbCdEf",
    )
    .load()
    .await;
    assert!(matches!(missing, Err(SecretError::Unavailable(_))));
}
