use jsonwebtoken::{DecodingKey, Validation, decode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::config::JwtConfig;
use crate::domain::{Email, UserId};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("Not authenticated")]
    Missing,
    #[error("Invalid or expired token")]
    Invalid,
    #[error("Invalid API key")]
    BadApiKey,
    #[error("Missing x-client-id, x-timestamp or x-signature header")]
    UnsignedRequest,
    /// An unknown client and a wrong signature answer alike: which client
    /// ids exist is not the caller's to learn.
    #[error("Invalid client or signature")]
    BadSignature,
    #[error("x-timestamp must be unix seconds within 300 seconds of now")]
    StaleTimestamp,
    #[error("This signature was already used")]
    ReplayedSignature,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Support,
    Staff,
}

impl Role {
    fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "admin" => Some(Self::Admin),
            "support" => Some(Self::Support),
            "staff" => Some(Self::Staff),
            _ => None,
        }
    }
}

/// An authenticated person.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub email: Option<Email>,
    pub roles: Vec<Role>,
}

impl Caller {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_admin(&self) -> bool {
        self.has(Role::Admin)
    }

    /// Admin and Support read everything.
    pub fn reads_all(&self) -> bool {
        self.has(Role::Admin) || self.has(Role::Support)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    roles: Option<OneOrMany>,
    #[serde(default)]
    role: Option<OneOrMany>,
    /// Where ASP.NET identity providers put roles.
    #[serde(
        default,
        rename = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
    )]
    dotnet_role: Option<OneOrMany>,
}

/// Verifies `Authorization: Bearer <jwt>` with the configured algorithm and key.
pub fn verify_bearer(
    header: Option<&str>,
    key: &SecretString,
    config: &JwtConfig,
) -> Result<Caller, AuthError> {
    let header = header.ok_or(AuthError::Missing)?;
    let (scheme, token) = header.trim().split_once(' ').ok_or(AuthError::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Missing);
    }
    super::jwt_crypto::install();
    let secret = key.expose_secret().as_bytes();
    let decoding_key = match config.algorithm {
        jsonwebtoken::Algorithm::HS256 => DecodingKey::from_secret(secret),
        jsonwebtoken::Algorithm::RS256 => {
            DecodingKey::from_rsa_pem(secret).map_err(|_| AuthError::Invalid)?
        }
        _ => DecodingKey::from_ec_pem(secret).map_err(|_| AuthError::Invalid)?,
    };
    let mut validation = Validation::new(config.algorithm);
    // Clocks of issuers and of Lambda drift a little; a minute either way.
    validation.leeway = 60;
    // A token issued for later (a pre-minted link, a clock far ahead) is not
    // good yet.
    validation.validate_nbf = true;
    // A configured issuer or audience is a claim every token must carry: a token
    // that simply leaves it out would otherwise skip the check.
    let mut required = vec!["exp", "sub"];
    required.extend(config.issuer.as_ref().map(|_| "iss"));
    required.extend(config.audience.as_ref().map(|_| "aud"));
    validation.set_required_spec_claims(&required);
    match &config.issuer {
        Some(iss) => validation.set_issuer(&[iss]),
        None => validation.iss = None,
    }
    match &config.audience {
        Some(aud) => validation.set_audience(&[aud]),
        None => validation.validate_aud = false,
    }
    let claims = decode::<Claims>(token.trim(), &decoding_key, &validation)
        .map_err(|_| AuthError::Invalid)?
        .claims;
    let roles = [claims.roles, claims.role, claims.dotnet_role]
        .into_iter()
        .flatten()
        .flat_map(|r| match r {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        })
        .filter_map(|r| Role::parse(&r))
        .collect();
    Ok(Caller {
        user_id: UserId::parse(&claims.sub).map_err(|_| AuthError::Invalid)?,
        email: claims.email.as_deref().and_then(|e| Email::parse(e).ok()),
        roles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER as RUST_CRYPTO;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::json;

    fn config() -> JwtConfig {
        JwtConfig {
            algorithm: Algorithm::HS256,
            issuer: None,
            audience: None,
        }
    }

    fn key() -> SecretString {
        SecretString::from("test-secret".to_owned())
    }

    fn token(alg: Algorithm, secret: &str, claims: serde_json::Value) -> String {
        signed(alg, &EncodingKey::from_secret(secret.as_bytes()), &claims)
    }

    /// A token signed by the crate's RustCrypto backend, called directly:
    /// `verify_bearer` installs the functions' own for the process, and
    /// these tests check that one against another implementation.
    fn signed(alg: Algorithm, key: &EncodingKey, claims: &serde_json::Value) -> String {
        let part = |json: Vec<u8>| URL_SAFE_NO_PAD.encode(json);
        let header = part(serde_json::to_vec(&Header::new(alg)).expect("header"));
        let message = format!("{header}.{}", part(claims.to_string().into_bytes()));
        let signature = (RUST_CRYPTO.signer_factory)(&alg, key)
            .expect("signer")
            .try_sign(message.as_bytes())
            .expect("signs");
        format!("{message}.{}", part(signature))
    }

    /// `token` as a bearer, checked with the test key and configuration.
    fn check(token: &str) -> Result<Caller, AuthError> {
        verify_bearer(Some(&format!("Bearer {token}")), &key(), &config())
    }

    fn exp(offset: i64) -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp() + offset
    }

    #[test]
    fn accepts_a_valid_token_with_roles() {
        let t = token(
            Algorithm::HS256,
            "test-secret",
            json!({"sub": "u1", "email": "u1@example.com", "roles": ["Admin", "nonsense"], "exp": exp(600)}),
        );
        let caller = check(&t).expect("valid");
        assert_eq!(caller.user_id.as_str(), "u1");
        assert_eq!(caller.email.expect("email").as_str(), "u1@example.com");
        assert_eq!(caller.roles, vec![Role::Admin]);
        let t = token(
            Algorithm::HS256,
            "test-secret",
            json!({"sub": "u1", "role": "support", "exp": exp(600)}),
        );
        assert!(
            verify_bearer(Some(&format!("bearer {t}")), &key(), &config())
                .expect("valid")
                .reads_all()
        );
    }

    #[test]
    fn a_token_is_not_good_before_its_nbf_give_or_take_a_minute() {
        let with_nbf = |offset| {
            let t = token(
                Algorithm::HS256,
                "test-secret",
                json!({"sub": "u1", "exp": exp(3_600), "nbf": exp(offset)}),
            );
            check(&t)
        };
        assert_eq!(with_nbf(300).err(), Some(AuthError::Invalid));
        assert_eq!(with_nbf(90).err(), Some(AuthError::Invalid));
        assert!(with_nbf(30).is_ok(), "within the leeway");
        assert!(with_nbf(-60).is_ok());
    }

    #[test]
    fn reads_roles_from_every_claim_an_issuer_may_use() {
        const DOTNET: &str = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role";
        let cases = [
            (json!({"roles": ["Staff"]}), vec![Role::Staff]),
            (json!({"role": "Staff"}), vec![Role::Staff]),
            (
                json!({"role": ["Staff", "Support"]}),
                vec![Role::Staff, Role::Support],
            ),
            (json!({DOTNET: "Admin"}), vec![Role::Admin]),
            (
                json!({DOTNET: ["Support", "Staff"]}),
                vec![Role::Support, Role::Staff],
            ),
            (
                json!({"roles": ["Staff"], "role": "Support", DOTNET: "Admin"}),
                vec![Role::Staff, Role::Support, Role::Admin],
            ),
        ];
        for (role_claims, expected) in cases {
            let mut claims = json!({"sub": "u1", "exp": exp(600)});
            for (k, v) in role_claims.as_object().expect("object") {
                claims[k] = v.clone();
            }
            let t = token(Algorithm::HS256, "test-secret", claims);
            let caller = check(&t).expect("valid");
            assert_eq!(caller.roles, expected, "{role_claims}");
        }
    }

    #[test]
    fn refuses_missing_expired_forged_and_unexpiring_tokens() {
        assert_eq!(
            verify_bearer(None, &key(), &config()).err(),
            Some(AuthError::Missing)
        );
        assert_eq!(
            verify_bearer(Some("Basic abc"), &key(), &config()).err(),
            Some(AuthError::Missing)
        );
        let hs256 = |claims| token(Algorithm::HS256, "test-secret", claims);
        let expired = hs256(json!({"sub": "u1", "exp": exp(-120)}));
        assert_eq!(check(&expired).err(), Some(AuthError::Invalid));
        let within_leeway = hs256(json!({"sub": "u1", "exp": exp(-30)}));
        assert!(check(&within_leeway).is_ok());
        let forged = token(
            Algorithm::HS256,
            "other",
            json!({"sub": "u1", "exp": exp(600)}),
        );
        assert_eq!(check(&forged).err(), Some(AuthError::Invalid));
        let no_exp = hs256(json!({"sub": "u1"}));
        assert_eq!(check(&no_exp).err(), Some(AuthError::Invalid));
        // The algorithm comes from configuration, never from the token.
        let hs384 = token(
            Algorithm::HS384,
            "test-secret",
            json!({"sub": "u1", "exp": exp(600)}),
        );
        assert_eq!(check(&hs384).err(), Some(AuthError::Invalid));
    }

    #[test]
    fn checks_issuer_and_audience_when_configured() {
        let cfg = JwtConfig {
            algorithm: Algorithm::HS256,
            issuer: Some("iss".into()),
            audience: Some("aud".into()),
        };
        let good = token(
            Algorithm::HS256,
            "test-secret",
            json!({"sub": "u1", "iss": "iss", "aud": "aud", "exp": exp(600)}),
        );
        assert!(verify_bearer(Some(&format!("Bearer {good}")), &key(), &cfg).is_ok());
        let bad = token(
            Algorithm::HS256,
            "test-secret",
            json!({"sub": "u1", "iss": "x", "aud": "aud", "exp": exp(600)}),
        );
        assert!(verify_bearer(Some(&format!("Bearer {bad}")), &key(), &cfg).is_err());
        let bad = token(
            Algorithm::HS256,
            "test-secret",
            json!({"sub": "u1", "iss": "iss", "aud": "x", "exp": exp(600)}),
        );
        assert!(verify_bearer(Some(&format!("Bearer {bad}")), &key(), &cfg).is_err());
        for claims in [
            json!({"sub": "u1", "aud": "aud", "exp": exp(600)}),
            json!({"sub": "u1", "iss": "iss", "exp": exp(600)}),
        ] {
            let silent = token(Algorithm::HS256, "test-secret", claims.clone());
            assert_eq!(
                verify_bearer(Some(&format!("Bearer {silent}")), &key(), &cfg).err(),
                Some(AuthError::Invalid),
                "a configured claim is required: {claims}"
            );
        }
    }

    // A throwaway P-256 key pair, made for this test only.
    const EC_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLwsGZujcG8Z6sEbb\nfKEtB3P0U7SZf2LkVvn2yDBwCvehRANCAASpEmcIEQk4A8stSe4H2eboSFFdS5Sd\nNzD4wCNLFmL2yg6qbyUyaPMXV59eWp/IkMo11wNNre8mOpY1WNo3sCzS\n-----END PRIVATE KEY-----";
    const EC_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqRJnCBEJOAPLLUnuB9nm6EhRXUuU\nnTcw+MAjSxZi9soOqm8lMmjzF1efXlqfyJDKNdcDTa3vJjqWNVjaN7As0g==\n-----END PUBLIC KEY-----";

    #[test]
    fn verifies_es256_with_a_pem_public_key_and_refuses_hs256_then() {
        let cfg = JwtConfig {
            algorithm: Algorithm::ES256,
            issuer: None,
            audience: None,
        };
        let public = SecretString::from(EC_PUBLIC.to_owned());
        let claims = json!({"sub": "u1", "exp": exp(600)});
        let signing = EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).expect("private key");
        let es = signed(Algorithm::ES256, &signing, &claims);
        assert_eq!(
            verify_bearer(Some(&format!("Bearer {es}")), &public, &cfg)
                .expect("valid")
                .user_id
                .as_str(),
            "u1"
        );
        // An HS256 token "signed" with the public key must not pass (algorithm confusion).
        let hs = token(Algorithm::HS256, EC_PUBLIC, claims);
        assert_eq!(
            verify_bearer(Some(&format!("Bearer {hs}")), &public, &cfg).err(),
            Some(AuthError::Invalid)
        );
    }

    // A throwaway 2048-bit RSA key pair, made for this test only.
    const RSA_PRIVATE: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIEogIBAAKCAQEApD1T+i/+wKNU9jWktq17e5aH9IRpwyvZqjZDtE+dOjzl9W+f\nhqOKuBrJB5b/2hqNa4XBfCSPQcEYz+RLRslBFENEYTRjCQlReGgNCmGbKZq4nh6S\nHhqf1IaNynxvc1KwnSj3yztSW2+7t0aaaZ2XEaLFa3TNoScEmSudASLPTI6giVzU\nr+mmgnTgpbc4YA1BZDoPqHaR1rA6C2pd3KaDX/ilwc+2S2k/eCnslc1365eZPjdV\nj27rdf9YAcy1cOYr9oMAAOFxR0GePauVb1sXHqFOoX2J+7BnwgbnaN+pkRcOmv+n\nhzymHEpe2y7Mk7vxqpiNWjuWdAIaRB1yzn1JaQIDAQABAoIBAACNn1SKqFhERJM+\nu4MNAws3xtX1Qzjv0yAeZix7jytEzL5+pYIp11wG5RH0OYDl0X+g9/Wf1uaxDJEY\nswM2RtSXZGnSaBn98MsPyKl2CjSB66jGsBXPX6Xy3RPnRuXTy7n/yxPha4XY0sBL\nidYcvIdH7dPOlSm7jKmqarE4CYw3tmKLM41mTXv2PD0Smko5OFzLyk7pKv2jK2u6\nmPYm5JB9UCTpKZAMjSKxKC+pb3utxJvv8xAwhFGTZQDBgKdYSmZeOiTZbHkySZgj\nrWsQ0P6iqlKlCWbEcsvvDxE9/y2QQEluNG7Mvo/i6e6FGQL5ZTDkCulDfjUGKdpA\n3ry1VP0CgYEA3W3sC907sp8084+cM7+iCwDxir5tIlWFM79UaO00ickFfUTUCjwx\nBsBDG18KDxthllxwptUdo2XQLdkNiPa8ck2ZU79yqKFYDBsdzIxs88r2R+9KGTKi\ntIsieQI8pGrAg+TMp9+N+dEyGXeHoXFvoVTKvSpGH0t2I6mIC0TiVsUCgYEAveGl\ncEeviXhN5lnXVgGH0JtZyyG6sPZmZA8uYROQdKcJne+55A8WYHH7QMDqFzaNO8Ib\nVrh8LichcncE3A5ghr1ZkX6HDYKHh8hdAuDrKzXpHhwvVAU9wK/09JM10AY9M9CX\neEG283ZSLRzg036Z0i2GJH0wWm+6NCnWEVcUMlUCgYBI9n6QTj7slc9h7lFfL+ca\nTx5IRIU7igiRS5tp07e7KzUW2QYxtTHGcrXqH//1iGU4oY8xOgpBHDxjzyDJn9vq\noi1CzlPewwN7Qbgo/aCtGJTckTnOYcQBT9N1IkqPNunmzA6vxldHGSqz/5H+nZ1W\nANWpTXO7vibYi3VbmUAnrQKBgAaBJU6sVfoKkfiTGUpL8SAXQkMwG5oWRrmkv3z5\n05f7ZNvxK1gBoE2befTk5t/2sW3bn14gIbjfBElMhHEZWPskn13ZjLzMvOHM3krL\n86JeTWcHpiNlrpDcNjLunAhNPml4+sdW0PKUGgqLk7QLAS/u+Upks3RVoXZJ/JhJ\neFqlAoGAM8cgPsykIlkHEu5lXWzHb5w2RKRrjQWF6IIzFc5NM8wZWctOddR6eNrL\nATTXcGfSEnAvW682WTCLndPwdNwy+O/hrDx7NZeUdwQi784/+hKddIwjmb6Nai+H\nPq9q721fVI7ssZ+EnMaCfxefOiYAJmVm4tRXKu05PLoD3lKI3rI=\n-----END RSA PRIVATE KEY-----";
    const RSA_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEApD1T+i/+wKNU9jWktq17\ne5aH9IRpwyvZqjZDtE+dOjzl9W+fhqOKuBrJB5b/2hqNa4XBfCSPQcEYz+RLRslB\nFENEYTRjCQlReGgNCmGbKZq4nh6SHhqf1IaNynxvc1KwnSj3yztSW2+7t0aaaZ2X\nEaLFa3TNoScEmSudASLPTI6giVzUr+mmgnTgpbc4YA1BZDoPqHaR1rA6C2pd3KaD\nX/ilwc+2S2k/eCnslc1365eZPjdVj27rdf9YAcy1cOYr9oMAAOFxR0GePauVb1sX\nHqFOoX2J+7BnwgbnaN+pkRcOmv+nhzymHEpe2y7Mk7vxqpiNWjuWdAIaRB1yzn1J\naQIDAQAB\n-----END PUBLIC KEY-----";

    #[test]
    fn verifies_rs256_with_a_pem_public_key_and_refuses_a_forged_one() {
        let cfg = JwtConfig {
            algorithm: Algorithm::RS256,
            issuer: None,
            audience: None,
        };
        let public = SecretString::from(RSA_PUBLIC.to_owned());
        let claims = json!({"sub": "u1", "exp": exp(600)});
        let signing = EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).expect("private key");
        let rs = signed(Algorithm::RS256, &signing, &claims);
        assert_eq!(
            verify_bearer(Some(&format!("Bearer {rs}")), &public, &cfg)
                .expect("valid")
                .user_id
                .as_str(),
            "u1"
        );
        let (message, _) = rs.rsplit_once('.').expect("three parts");
        let forged = format!("{message}.{}", URL_SAFE_NO_PAD.encode([7u8; 256]));
        assert_eq!(
            verify_bearer(Some(&format!("Bearer {forged}")), &public, &cfg).err(),
            Some(AuthError::Invalid)
        );
        let hs = token(Algorithm::HS256, RSA_PUBLIC, claims);
        assert_eq!(
            verify_bearer(Some(&format!("Bearer {hs}")), &public, &cfg).err(),
            Some(AuthError::Invalid)
        );
    }
}
