//! The credentials in events/*.json are the local ones, so `cargo lambda
//! invoke --data-file` works against `make run`'s stack. When this fails after
//! an edit to the events or the demo users, sign them again:
//! `cargo run -p local-gateway --bin local-setup -- --sign-events`.

use std::path::{Path, PathBuf};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use local_gateway::sample_events::{self, LOCAL_API_KEY, LOCAL_JWT_SECRET};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn events() -> Vec<(String, String)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("events"))
        .expect("events/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_stem().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("readable"))
        })
        .collect()
}

#[test]
fn the_committed_events_are_signed() {
    for (name, text) in events() {
        let signed = sample_events::signed(&name, &text).expect("signs");
        assert!(
            signed == text,
            "events/{name}.json is not signed: cargo run -p local-gateway --bin local-setup -- --sign-events"
        );
    }
}

#[test]
fn event_tokens_are_the_demo_users_under_the_local_key() {
    let key = DecodingKey::from_secret(LOCAL_JWT_SECRET.as_bytes());
    let mut seen = 0;
    for (name, text) in events() {
        let event: Value = serde_json::from_str(&text).expect("JSON");
        if let Some(key_header) = event["headers"]["x-api-key"].as_str() {
            assert_eq!(key_header, LOCAL_API_KEY, "{name}.json");
        }
        let Some(auth) = event["headers"]["authorization"].as_str() else {
            continue;
        };
        let token = auth.strip_prefix("Bearer ").expect("a Bearer header");
        if name.ends_with("-invalid-token") {
            continue;
        }
        let claims = jsonwebtoken::decode::<Value>(token, &key, &Validation::new(Algorithm::HS256))
            .unwrap_or_else(|e| panic!("{name}.json: {e}"))
            .claims;
        // The PaymentIntents API's staff reads are an Admin's; its `-forbidden` read is not.
        let staff_read = ["payment-intents-list", "payment-intents-get"]
            .iter()
            .any(|p| name.starts_with(p))
            && !name.ends_with("-forbidden");
        let expected = if name.starts_with("intents-") {
            "demo-user-1"
        } else if staff_read {
            "demo-admin"
        } else {
            "demo-user-2"
        };
        let roles = if staff_read { vec!["Admin"] } else { vec![] };
        assert_eq!(claims["roles"], serde_json::json!(roles), "{name}.json");
        assert_eq!(claims["sub"], expected, "{name}.json");
        assert_eq!(
            claims["email"],
            format!("{expected}@example.com"),
            "{name}.json"
        );
        seen += 1;
    }
    assert!(seen > 0);
}

#[test]
fn the_local_key_and_api_key_are_the_env_example_ones() {
    let pairs: Vec<(String, String)> = dotenvy::from_path_iter(repo().join(".env.example"))
        .expect(".env.example")
        .map(|item| item.expect("a KEY=VALUE line"))
        .collect();
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(value("JWT_SECRET"), Some(LOCAL_JWT_SECRET));
    assert_eq!(value("SERVICE_API_KEY"), Some(LOCAL_API_KEY));
}
