//! The webhook endpoints API: operators' backends (`X-API-Key`) register
//! where events are POSTed, and read what became of each delivery.
//! Stripe's field names; errors `{"message"}`, validation 400 with
//! `errors[{field, message}]`; times in unix seconds, as Stripe's.

use super::params::parameter as param;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
use utoipa::{IntoParams, ToSchema};

use super::IdempotencyKey;
use super::message::{CHANGE, KeyReused, MessageError, READ};
use super::paging::{PageSize, next_cursor_parameter};
use super::responses::{ApiKeyChangeErrors, ApiKeyErrors};
use crate::app::App;
use crate::app::webhook_endpoints;
use crate::auth::ServiceCaller;
use crate::domain::webhook_endpoint::{ALL_EVENTS, EVENT_TYPES, MAX_URL_LEN};
use crate::domain::{
    Attempt, Delivery, EnabledEvents, EndpointId, EndpointUrl, Invalid, NoAnswer,
    OldSecretLifetime, WebhookEndpoint,
};
use crate::http::{
    AllChecked, ApiError, Checked, FromRequest, json_body, json_of, path_param, problem,
};
use crate::ports::PageRequest;
use crate::wire_field;

/// The endpoint named is not registered.
#[derive(utoipa::IntoResponses)]
#[response(status = 404, description = "No such endpoint")]
pub struct NoSuchEndpoint(pub MessageError);

/// A change whose Idempotency-Key's first request has not answered yet.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 409,
    description = "This Idempotency-Key's first request is still running"
)]
pub struct KeyStillRunning(pub MessageError);

/// Most entries `enabled_events` takes.
pub const MAX_ENABLED_EVENTS: usize = 50;

wire_field!(
    /// Where deliveries are POSTed: `https://`, or on a developer's machine
    /// (`APP_ENV=local`) also `http://` to 127.0.0.1, localhost or [::1].
    /// No credentials, no fragment. A host that is an IP address, in any
    /// spelling (`10.0.0.5`, `2130706433`, `0x7f.1`, `[::1]`), must be a
    /// public one: loopback (outside local runs), private, link-local,
    /// carrier-grade NAT, multicast, unspecified, broadcast, documentation,
    /// reserved and IPv4-mapped addresses are refused. A name's addresses
    /// are checked at every send (`blocked_address`).
    UrlField,
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(EndpointUrl::pattern()))
        .max_length(Some(MAX_URL_LEN))
        .examples(["https://example.com/hooks/payments"])
);

wire_field!(
    /// The event types to deliver, or `["*"]` for every type.
    EnabledEventsField,
    crate::http::schema::any_of([
        ArrayBuilder::new()
            .items(crate::http::schema::one_of(&EVENT_TYPES))
            .min_items(Some(1))
            .max_items(Some(MAX_ENABLED_EVENTS))
            .into(),
        ArrayBuilder::new()
            .items(crate::http::schema::one_of(&[ALL_EVENTS]))
            .min_items(Some(1))
            .max_items(Some(MAX_ENABLED_EVENTS))
            .into(),
    ])
);

/// Body of `PUT /api/v1/webhook-endpoints/{id}`.
#[derive(Deserialize, ToSchema)]
pub struct WebhookEndpointRequest {
    #[serde(default)]
    #[schema(inline, required = true)]
    pub url: UrlField,
    #[serde(default)]
    #[schema(inline, required = true)]
    pub enabled_events: EnabledEventsField,
}

wire_field!(
    /// How long the replaced secret keeps signing deliveries beside the new
    /// one, in seconds: 0 (the default) ends it at once, 86400 at most.
    ExpiresInSecondsField,
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .maximum(Some(OldSecretLifetime::MAX_SECONDS))
        .examples([3600])
);

/// Body of `POST /api/v1/webhook-endpoints/{id}/rotate-secret`; optional.
#[derive(Deserialize, ToSchema, Default)]
pub struct RotateSecretRequest {
    #[serde(default)]
    #[schema(inline)]
    pub expires_in_seconds: ExpiresInSecondsField,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookEndpointBody {
    #[schema(example = "ops-main")]
    pub id: String,
    /// Always `webhook_endpoint`.
    #[schema(example = "webhook_endpoint")]
    pub object: &'static str,
    #[schema(example = "https://example.com/hooks/payments")]
    pub url: String,
    #[schema(example = json!(["payment_intent.succeeded", "refund.succeeded"]))]
    pub enabled_events: Vec<String>,
    /// Unix seconds.
    #[schema(example = 1760000000)]
    pub created: i64,
    /// Unix seconds of the last replace or secret rotation.
    #[schema(example = 1760000000)]
    pub updated: i64,
    /// The signing secret (`whsec_…`): only in the answers that create the
    /// endpoint or rotate its secret. Every delivery carries
    /// `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>." +
    /// body)>`; while a rotated-out secret still lives, a second `v1` made
    /// with it follows.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "whsec_2kVn8Qx0aT5LmR3pZ7cY1bN6dW4eH9fJ")]
    pub secret: Option<String>,
}

impl WebhookEndpointBody {
    fn of(e: &WebhookEndpoint, with_secret: bool) -> Self {
        Self {
            id: e.id().to_string(),
            object: "webhook_endpoint",
            url: e.url().as_str().to_owned(),
            enabled_events: e.enabled_events().to_list(),
            created: e.created().unix_timestamp(),
            updated: e.updated().unix_timestamp(),
            secret: with_secret.then(|| e.secret().expose_secret().to_owned()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeletedWebhookEndpoint {
    #[schema(example = "ops-main")]
    pub id: String,
    #[schema(example = "webhook_endpoint")]
    pub object: &'static str,
    #[schema(example = true)]
    pub deleted: bool,
}

#[derive(Serialize, ToSchema)]
pub struct AttemptBody {
    /// Unix seconds.
    #[schema(example = 1760000003)]
    pub at: i64,
    /// The endpoint's HTTP status (a 2xx succeeded, anything else failed);
    /// null when no answer came, and `error` says why.
    #[schema(example = 200)]
    pub status_code: Option<u16>,
    #[schema(example = 84)]
    pub latency_ms: u64,
    /// Why no answer came, when none did: `timeout`, `connection_refused`,
    /// `tls_error`, `dns_failure`, `blocked_address` (the host is or names
    /// an address deliveries never go to: nothing was sent) or
    /// `event_unavailable` (the event could not be read: nothing was sent,
    /// it is tried again). Null when `status_code` is set.
    #[schema(schema_with = attempt_error_schema)]
    pub error: Option<&'static str>,
}

fn attempt_error_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(
            NoAnswer::ALL
                .iter()
                .map(|r| Some(r.as_str()))
                .chain([None])
                .collect::<Vec<_>>(),
        ))
}

impl From<&Attempt> for AttemptBody {
    fn from(a: &Attempt) -> Self {
        Self {
            at: a.at.unix_timestamp(),
            status_code: a.status_code(),
            latency_ms: a.latency_ms,
            error: a.error().map(NoAnswer::as_str),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryBody {
    #[schema(example = "whd_6f1c2d9a0b8e4f7a9c3d5e1f2a4b6c8d")]
    pub id: String,
    /// Always `webhook_delivery`.
    #[schema(example = "webhook_delivery")]
    pub object: &'static str,
    #[schema(example = "ops-main")]
    pub endpoint_id: String,
    #[schema(example = "evt_3kTz8Rm2Qp7Lx9Wv4Nc6Hs1B")]
    pub event_id: String,
    #[schema(example = "payment_intent.succeeded")]
    pub event_type: String,
    /// pending (not yet sent, waiting behind an earlier delivery about the
    /// same object, or being retried), succeeded, or failed (given up).
    #[schema(example = "succeeded")]
    pub status: &'static str,
    pub attempts: Vec<AttemptBody>,
    /// Unix seconds; null once the delivery has succeeded or failed.
    #[schema(example = json!(null))]
    pub next_attempt_at: Option<i64>,
    /// Why it failed without a last attempt (the endpoint was deleted, the event expired).
    pub failure_reason: Option<String>,
    /// Unix seconds.
    #[schema(example = 1760000002)]
    pub created: i64,
}

impl From<&Delivery> for DeliveryBody {
    fn from(d: &Delivery) -> Self {
        Self {
            id: d.id.to_string(),
            object: "webhook_delivery",
            endpoint_id: d.endpoint_id.to_string(),
            event_id: d.event.id.clone(),
            event_type: d.event.event_type.clone(),
            status: d.status.as_str(),
            attempts: d.attempts.iter().map(AttemptBody::from).collect(),
            next_attempt_at: d.next_attempt_at.map(|t| t.unix_timestamp()),
            failure_reason: d.failure.clone(),
            created: d.created.unix_timestamp(),
        }
    }
}

crate::cursor_list!(
    /// A page of an endpoint's deliveries, newest first.
    DeliveryList of DeliveryBody
);

/// The endpoint named in the path.
pub struct EndpointPath(EndpointId);

impl FromRequest for EndpointPath {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let (id,) = (endpoint_id(req),).all()?;
        Ok(Self(id))
    }
}

fn endpoint_id(req: &Request) -> Checked<EndpointId> {
    EndpointId::parse(&path_param(req, "id"))
        .or_else(|e| problem(&["path", "id"], e.to_string(), "value_error"))
}

/// An endpoint as the operator states it.
pub struct EndpointInput {
    id: EndpointId,
    /// Checked as on a developer's machine; the work checks what a deployed
    /// service refuses besides (plain HTTP).
    url: EndpointUrl,
    enabled_events: EnabledEvents,
}

impl FromRequest for EndpointInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let id = endpoint_id(req);
        let body: WebhookEndpointRequest = json_body(req)?;
        let url = body.url.text(&["body", "url"]).and_then(|u| url(&u, true));
        let events = enabled_events(&body.enabled_events);
        let (id, url, enabled_events) = (id, url, events).all()?;
        Ok(Self {
            id,
            url,
            enabled_events,
        })
    }
}

fn url(text: &str, local: bool) -> Checked<EndpointUrl> {
    EndpointUrl::parse(text, local)
        .or_else(|e| problem(&["body", "url"], e.to_string(), "value_error"))
}

fn enabled_events(sent: &EnabledEventsField) -> Checked<EnabledEvents> {
    let loc = ["body", "enabled_events"];
    let Some(list) =
        sent.optional_json::<Vec<String>>(&loc, "enabled_events must be an array of event types")?
    else {
        return problem(&loc, "Field required", "missing");
    };
    if list.len() > MAX_ENABLED_EVENTS {
        return problem(
            &loc,
            format!("at most {MAX_ENABLED_EVENTS} entries"),
            "value_error",
        );
    }
    EnabledEvents::parse(&list).or_else(|e| problem(&loc, e.to_string(), "value_error"))
}

/// The endpoint whose secret is rotated, and how long its old one lives.
pub struct RotationInput {
    id: EndpointId,
    old_lives: OldSecretLifetime,
}

impl FromRequest for RotationInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let id = endpoint_id(req);
        let bytes: &[u8] = req.body().as_ref();
        // No body, or JSON's null, asks for the default: the old secret ends now.
        let body: RotateSecretRequest =
            if bytes.trim_ascii().is_empty() || bytes.trim_ascii() == b"null" {
                RotateSecretRequest::default()
            } else {
                json_body(req)?
            };
        let (id, old_lives) = (id, old_secret_lifetime(&body.expires_in_seconds)).all()?;
        Ok(Self { id, old_lives })
    }
}

/// Whole seconds, however JSON writes them (`60`, `60.0`, `6e1`: each is the
/// integer the schema states), within the bounds; absent is 0.
fn old_secret_lifetime(sent: &ExpiresInSecondsField) -> Checked<OldSecretLifetime> {
    use rust_decimal::Decimal;
    use rust_decimal::prelude::ToPrimitive;
    let Some(raw) = sent.raw() else {
        return Ok(OldSecretLifetime::default());
    };
    let loc = ["body", "expires_in_seconds"];
    Decimal::from_str_exact(raw)
        .or_else(|_| Decimal::from_scientific(raw))
        .ok()
        .filter(|d| d.fract().is_zero())
        .and_then(|d| d.to_i64())
        .ok_or_else(|| {
            Invalid::new(format!(
                "expires_in_seconds must be an integer from 0 to {}",
                OldSecretLifetime::MAX_SECONDS
            ))
        })
        .and_then(OldSecretLifetime::parse)
        .or_else(|e| problem(&loc, e.to_string(), "value_error"))
}

/// An endpoint in the path.
pub struct EndpointPathParam;

impl IntoParams for EndpointPathParam {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![param(
            "id",
            ParameterIn::Path,
            true,
            "The endpoint's id, chosen by you.",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(EndpointId::PATTERN))
                .max_length(Some(EndpointId::MAX_LEN)),
        )]
    }
}

/// Deliveries are listed 10 at a time unless `limit` says otherwise (1-100).
pub const DELIVERIES_PAGE: PageSize = PageSize::new(10, 100);

/// The endpoint and the page of its deliveries.
pub struct DeliveriesQuery;

impl IntoParams for DeliveriesQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut params = EndpointPathParam::into_params(|| None);
        params.push(DELIVERIES_PAGE.parameter());
        params.push(next_cursor_parameter());
        params
    }
}

pub struct DeliveriesInput {
    endpoint: EndpointId,
    page: PageRequest,
}

impl FromRequest for DeliveriesInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let (endpoint, page) = (endpoint_id(req), DELIVERIES_PAGE.paging(req)).all()?;
        Ok(Self { endpoint, page })
    }
}

/// Creates an endpoint (201, with its signing secret) or replaces its URL
/// and event types (200; the secret stays and is not shown again).
#[utoipa::path(put, path = "/api/v1/webhook-endpoints/{id}", tag = "webhooks", operation_id = "put_webhook_endpoint",
    request_body = WebhookEndpointRequest,
    params(EndpointPathParam, IdempotencyKey),
    responses(
        (status = 200, description = "Replaced; the secret is not shown again", body = WebhookEndpointBody),
        (status = 201, description = "Created, with its signing secret", body = WebhookEndpointBody),
        ApiKeyChangeErrors,
        KeyStillRunning),
    security(("api_key" = [])))]
pub async fn put(app: Arc<App>, req: Request) -> Response<Body> {
    CHANGE
        .run(
            app,
            req,
            |app, _: ServiceCaller, input: EndpointInput| async move {
                let (url,) = (url(input.url.as_str(), app.config.local),).all()?;
                let written =
                    webhook_endpoints::put(&app, input.id, url, input.enabled_events).await?;
                Ok(json_of(
                    if written.created { 201 } else { 200 },
                    &WebhookEndpointBody::of(&written.endpoint, written.created),
                ))
            },
        )
        .await
}

/// A webhook endpoint: its URL and the event types it receives; never its signing secret.
#[utoipa::path(get, path = "/api/v1/webhook-endpoints/{id}", tag = "webhooks", operation_id = "get_webhook_endpoint",
    params(EndpointPathParam),
    responses(
        (status = 200, description = "The endpoint, without its secret", body = WebhookEndpointBody),
        ApiKeyErrors,
        NoSuchEndpoint),
    security(("api_key" = [])))]
pub async fn get(app: Arc<App>, req: Request) -> Response<Body> {
    READ.run(
        app,
        req,
        |app, _: ServiceCaller, EndpointPath(id)| async move {
            let endpoint = webhook_endpoints::get(&app, &id).await?;
            Ok(json_of(200, &WebhookEndpointBody::of(&endpoint, false)))
        },
    )
    .await
}

/// Gives the endpoint a new signing secret (200, the endpoint with it). The
/// old secret keeps signing for `expires_in_seconds` (0, the default, ends
/// it at once): meanwhile every delivery carries two `v1` signatures, the
/// new secret's first, so that receivers can switch without refusing one.
/// A later rotation retires the secret of the one before it.
#[utoipa::path(post, path = "/api/v1/webhook-endpoints/{id}/rotate-secret", tag = "webhooks", operation_id = "rotate_webhook_endpoint_secret",
    request_body(content = Option<RotateSecretRequest>, description = "Optional: how long the old secret keeps signing (default 0: it ends now)"),
    params(EndpointPathParam, IdempotencyKey),
    responses(
        (status = 200, description = "The endpoint with its new signing secret", body = WebhookEndpointBody),
        ApiKeyChangeErrors,
        NoSuchEndpoint,
        KeyStillRunning),
    security(("api_key" = [])))]
pub async fn rotate_secret(app: Arc<App>, req: Request) -> Response<Body> {
    CHANGE
        .run(
            app,
            req,
            |app, _: ServiceCaller, input: RotationInput| async move {
                let endpoint =
                    webhook_endpoints::rotate_secret(&app, &input.id, input.old_lives).await?;
                Ok(json_of(200, &WebhookEndpointBody::of(&endpoint, true)))
            },
        )
        .await
}

/// Deletes an endpoint: nothing more is sent to it, and its deliveries are no longer shown.
#[utoipa::path(delete, path = "/api/v1/webhook-endpoints/{id}", tag = "webhooks", operation_id = "delete_webhook_endpoint",
    params(EndpointPathParam, IdempotencyKey),
    responses(
        (status = 200, description = "Deleted", body = DeletedWebhookEndpoint),
        ApiKeyErrors,
        NoSuchEndpoint,
        KeyStillRunning,
        KeyReused),
    security(("api_key" = [])))]
pub async fn delete(app: Arc<App>, req: Request) -> Response<Body> {
    CHANGE
        .run(
            app,
            req,
            |app, _: ServiceCaller, EndpointPath(id)| async move {
                webhook_endpoints::delete(&app, &id).await?;
                Ok(json_of(
                    200,
                    &DeletedWebhookEndpoint {
                        id: id.to_string(),
                        object: "webhook_endpoint",
                        deleted: true,
                    },
                ))
            },
        )
        .await
}

/// What was sent to an endpoint, and what came of it, newest first.
#[utoipa::path(get, path = "/api/v1/webhook-endpoints/{id}/deliveries", tag = "webhooks", operation_id = "list_webhook_deliveries",
    params(DeliveriesQuery),
    responses(
        (status = 200, description = "A page of the endpoint's deliveries", body = DeliveryList),
        ApiKeyErrors,
        NoSuchEndpoint),
    security(("api_key" = [])))]
pub async fn deliveries(app: Arc<App>, req: Request) -> Response<Body> {
    READ.run(
        app,
        req,
        |app, _: ServiceCaller, input: DeliveriesInput| async move {
            let page = webhook_endpoints::deliveries(&app, &input.endpoint, &input.page).await?;
            Ok(json_of(200, &DeliveryList::of(page)))
        },
    )
    .await
}
