//! Webhook endpoints as operators manage them, and the deliveries they can read.

use super::AppError;
use crate::app::App;
use crate::domain::webhook_endpoint::new_signing_secret;
use crate::domain::{
    Delivery, EnabledEvents, EndpointId, EndpointUrl, OldSecretLifetime, SecretRotation,
    WebhookEndpoint,
};
use crate::ports::{EndpointWrite, Page, PageRequest};

/// Creates the endpoint with a new signing secret, or replaces its URL and
/// event types (the stored secret stays: the operator's receiver holds it).
pub async fn put(
    app: &App,
    id: EndpointId,
    url: EndpointUrl,
    enabled_events: EnabledEvents,
) -> Result<EndpointWrite, AppError> {
    let now = app.clock.now();
    let endpoint = WebhookEndpoint::new(id, url, enabled_events, new_signing_secret(), now);
    Ok(app.webhooks.endpoints.put_endpoint(&endpoint).await?)
}

pub async fn get(app: &App, id: &EndpointId) -> Result<WebhookEndpoint, AppError> {
    app.webhooks
        .endpoints
        .get_endpoint(id)
        .await?
        .ok_or_else(not_found)
}

/// Gives the endpoint a new signing secret. The one it replaces keeps
/// signing beside it for `old_lives` (deliveries then carry both
/// signatures), so that the operator's receivers can take the new one
/// without refusing a delivery.
pub async fn rotate_secret(
    app: &App,
    id: &EndpointId,
    old_lives: OldSecretLifetime,
) -> Result<WebhookEndpoint, AppError> {
    let rotation = SecretRotation::new(new_signing_secret(), old_lives, app.clock.now());
    app.webhooks
        .endpoints
        .rotate_secret(id, &rotation)
        .await?
        .ok_or_else(not_found)
}

/// Nothing is sent to an endpoint once it is deleted: the retry pass reads
/// only the due lists of endpoints that exist, so its pending deliveries
/// stay as they are, read by nobody, until storage lets them go with their
/// retention (and a dispatch or retry pass that had one in hand gives it up).
pub async fn delete(app: &App, id: &EndpointId) -> Result<(), AppError> {
    if app.webhooks.endpoints.delete_endpoint(id).await? {
        Ok(())
    } else {
        Err(not_found())
    }
}

/// The endpoint's deliveries, newest first; an endpoint that does not exist
/// has none to show, one made again under a deleted one's id does not show
/// the old one's, and none is shown past its retention (storage deletes it
/// late).
pub async fn deliveries(
    app: &App,
    id: &EndpointId,
    page: &PageRequest,
) -> Result<Page<Delivery>, AppError> {
    let endpoint = get(app, id).await?;
    let mut found = app.webhooks.deliveries.list_deliveries(id, page).await?;
    let now = app.clock.now();
    found
        .items
        .retain(|d| d.belongs_to_endpoint_created(endpoint.created()) && !d.expired(now));
    Ok(found)
}

fn not_found() -> AppError {
    AppError::NotFound("Webhook endpoint".into())
}
