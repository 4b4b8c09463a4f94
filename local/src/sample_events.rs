//! The credentials in `events/*.json`, so that `cargo lambda invoke
//! --data-file events/<binary>.json` against `make run`'s stack is accepted as
//! the demo user it names: a Bearer token signed with the local development
//! key and the local service API key.
//!
//! The tokens are deterministic (fixed claims, HMAC), so signing the events
//! again changes nothing unless the claims or the key do, and a test can check
//! the committed events are current.

use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

/// `JWT_SECRET` in `.env.example`.
pub const LOCAL_JWT_SECRET: &str = "local-dev-jwt-secret";
/// `SERVICE_API_KEY` in `.env.example`.
pub const LOCAL_API_KEY: &str = "local-dev-api-key";
/// 2100-01-01T00:00:00Z: sample events should not expire.
const EXPIRES: i64 = 4_102_444_800;

/// Which demo user (with which roles) a sample event acts as, by its name,
/// the first prefix that matches: intents are for demo-user-1's registration
/// REG-DEMO-1, payments and shop calls for demo-user-2's order ORD-DEMO-1;
/// the PaymentIntents API's staff reads are demo-admin's (the `-forbidden`
/// one role-less demo-user-2's), its other calls demo-user-2's.
const ACTORS: [(&str, &str, &[&str]); 7] = [
    ("intents-", "demo-user-1", &[]),
    ("payments-", "demo-user-2", &[]),
    ("shop-", "demo-user-2", &[]),
    ("payment-intents-list-forbidden", "demo-user-2", &[]),
    ("payment-intents-list", "demo-admin", &["Admin"]),
    ("payment-intents-get", "demo-admin", &["Admin"]),
    ("payment-intents-", "demo-user-2", &[]),
];

/// Events that carry a broken token on purpose.
fn keeps_its_token(name: &str) -> bool {
    name.ends_with("-invalid-token")
}

pub fn demo_token(sub: &str) -> Result<String, String> {
    demo_token_with_roles(sub, &[])
}

/// As [`demo_token`], the user holding `roles`.
pub fn demo_token_with_roles(sub: &str, roles: &[&str]) -> Result<String, String> {
    let claims = json!({
        "sub": sub,
        "email": format!("{sub}@example.com"),
        "roles": roles,
        "exp": EXPIRES,
    });
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(LOCAL_JWT_SECRET.as_bytes()),
    )
    .map_err(|e| format!("cannot sign a token: {e}"))
}

/// `text` (the event `name`.json) with its credentials replaced, formatting
/// and everything else untouched.
pub fn signed(name: &str, text: &str) -> Result<String, String> {
    let event: Value = serde_json::from_str(text).map_err(|e| format!("{name}.json: {e}"))?;
    let headers = &event["headers"];
    let mut out = text.to_owned();
    if let Some(old) = headers["authorization"].as_str() {
        if !keeps_its_token(name) {
            let (sub, roles) = ACTORS
                .iter()
                .find(|(prefix, _, _)| name.starts_with(prefix))
                .map(|(_, sub, roles)| (*sub, *roles))
                .ok_or_else(|| {
                    format!("{name}.json has an Authorization header but no demo user (see ACTORS)")
                })?;
            let new = format!("Bearer {}", demo_token_with_roles(sub, roles)?);
            out = replace_value(&out, "authorization", old, &new)
                .ok_or_else(|| format!("{name}.json: cannot find its authorization header text"))?;
        }
    }
    if let Some(old) = headers["x-api-key"].as_str() {
        out = replace_value(&out, "x-api-key", old, LOCAL_API_KEY)
            .ok_or_else(|| format!("{name}.json: cannot find its x-api-key header text"))?;
    }
    Ok(out)
}

/// `"key": "old"` → `"key": "new"`, exactly once.
fn replace_value(text: &str, key: &str, old: &str, new: &str) -> Option<String> {
    let from = format!("\"{key}\": \"{old}\"");
    (text.matches(&from).count() == 1)
        .then(|| text.replacen(&from, &format!("\"{key}\": \"{new}\""), 1))
}

/// Signs every `*.json` in `dir`; returns the names of the files it changed.
pub fn sign_all(dir: &std::path::Path) -> Result<Vec<String>, String> {
    let mut changed = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let new = signed(&name, &text)?;
        if new != text {
            std::fs::write(&path, new).map_err(|e| format!("{}: {e}", path.display()))?;
            changed.push(name);
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = "{\n  \"headers\": {\n    \"authorization\": \"Bearer placeholder\",\n    \"x-api-key\": \"old-key\"\n  }\n}\n";

    #[test]
    fn replaces_the_credentials_and_nothing_else() {
        let out = signed("shop-create-intent", EVENT).expect("signed");
        let token = demo_token("demo-user-2").expect("token");
        assert_eq!(
            out,
            EVENT
                .replace("Bearer placeholder", &format!("Bearer {token}"))
                .replace("old-key", LOCAL_API_KEY)
        );
        assert_eq!(signed("shop-create-intent", &out).expect("again"), out);
    }

    #[test]
    fn a_deliberately_invalid_token_stays() {
        let out = signed("intents-get-invalid-token", EVENT).expect("signed");
        assert!(out.contains("Bearer placeholder"));
    }
}
