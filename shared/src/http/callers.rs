//! Who may call an endpoint: each caller type authenticates itself from the
//! request and names the scope its Idempotency-Keys live in.

use lambda_http::{Request, RequestExt};

use super::{ApiError, header};
use crate::app::{App, AppError};
use crate::auth::Actor;
use crate::auth::{
    AuthError, Caller, PartnerCaller, SIGNATURE_TOLERANCE, ServiceCaller, SignedRequest,
    check_api_key, verify_bearer, verify_partner,
};
use crate::ports::Secrets;

#[async_trait::async_trait]
pub trait Authenticate: Sized + Send {
    async fn authenticate(app: &App, req: &Request) -> Result<Self, ApiError>;

    /// Whose Idempotency-Keys these are: keys never collide between callers.
    fn scope(&self) -> String;
}

/// The secrets credentials are checked against; a failure to load them is
/// the service's, not the caller's.
async fn secrets(app: &App) -> Result<&Secrets, ApiError> {
    Ok(app.secrets().await.map_err(AppError::from)?)
}

/// No credentials asked for.
pub struct Anonymous;

#[async_trait::async_trait]
impl Authenticate for Anonymous {
    async fn authenticate(_app: &App, _req: &Request) -> Result<Self, ApiError> {
        Ok(Self)
    }

    fn scope(&self) -> String {
        "anonymous".into()
    }
}

/// The person behind `Authorization: Bearer …`.
#[async_trait::async_trait]
impl Authenticate for Caller {
    async fn authenticate(app: &App, req: &Request) -> Result<Self, ApiError> {
        let key = &secrets(app).await?.jwt_key;
        let bearer = header(req, "authorization");
        Ok(verify_bearer(bearer, key, &app.config.jwt)?)
    }

    fn scope(&self) -> String {
        format!("user:{}", self.user_id)
    }
}

/// The operator's backend behind `X-API-Key`.
#[async_trait::async_trait]
impl Authenticate for ServiceCaller {
    async fn authenticate(app: &App, req: &Request) -> Result<Self, ApiError> {
        let hashes = &secrets(app).await?.api_key_hashes;
        Ok(check_api_key(header(req, "x-api-key"), hashes)?)
    }

    fn scope(&self) -> String {
        format!("service:{}", self.key_id)
    }
}

/// A shop's customer: the shop's `X-API-Key` and the customer's bearer token, both required.
pub struct ShopCustomer(pub Caller);

#[async_trait::async_trait]
impl Authenticate for ShopCustomer {
    async fn authenticate(app: &App, req: &Request) -> Result<Self, ApiError> {
        ServiceCaller::authenticate(app, req).await?;
        Ok(Self(Caller::authenticate(app, req).await?))
    }

    fn scope(&self) -> String {
        self.0.scope()
    }
}

/// An API key when one is presented, else the bearer token.
#[async_trait::async_trait]
impl Authenticate for Actor {
    async fn authenticate(app: &App, req: &Request) -> Result<Self, ApiError> {
        if header(req, "x-api-key").is_some() {
            Ok(Self::Service(ServiceCaller::authenticate(app, req).await?))
        } else {
            Ok(Self::Person(Caller::authenticate(app, req).await?))
        }
    }

    fn scope(&self) -> String {
        match self {
            Self::Person(c) => c.scope(),
            Self::Service(s) => s.scope(),
        }
    }
}

/// A partner whose request is signed with its client secret. Each signature
/// works once: remembered for twice the timestamp tolerance, longer than any
/// copy of it could still pass the timestamp check.
#[async_trait::async_trait]
impl Authenticate for PartnerCaller {
    async fn authenticate(app: &App, req: &Request) -> Result<Self, ApiError> {
        let secrets = secrets(app).await?;
        // The path as the partner sent it: API Gateway's raw path, else the URI's.
        let raw = req.raw_http_path();
        let path = if raw.is_empty() {
            req.uri().path()
        } else {
            raw
        };
        let path = match req.uri().query() {
            Some(query) if !query.is_empty() => format!("{path}?{query}"),
            _ => path.to_owned(),
        };
        let signed = SignedRequest {
            client_id: header(req, "x-client-id"),
            timestamp: header(req, "x-timestamp"),
            signature: header(req, "x-signature"),
            method: req.method().as_str(),
            path: &path,
            body: req.body().as_ref(),
        };
        let now = app.clock.now();
        let partner = verify_partner(&signed, &secrets.partner_clients, now)?;
        let first = app
            .replay
            .first_use(
                &partner.scope(),
                &partner.signature,
                now,
                SIGNATURE_TOLERANCE * 2,
            )
            .await?;
        if !first {
            return Err(AuthError::ReplayedSignature.into());
        }
        Ok(partner)
    }

    fn scope(&self) -> String {
        format!("partner:{}", self.client_id)
    }
}
