//! Webhook endpoints on DynamoDB: one partition holds them all, so that the
//! deliveries' dispatch reads every endpoint in one consistent query (an operator has
//! a handful). Its own key, so that only the endpoint functions may write it.

use aws_sdk_dynamodb::types::ReturnValue;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::DynamoStore;
use super::codec::{Item, corrupt, names, parse_opt_ts, parse_ts, s, ts, unavailable, values};
use super::request::{Wanted, key, read_pages, unless_refused};
use super::table::{PK, SK};
use crate::domain::{
    EnabledEvents, EndpointId, EndpointParts, EndpointUrl, RetiringSecret, SecretRotation,
    WebhookEndpoint,
};
use crate::ports::{EndpointWrite, StoreError, WebhookEndpointStore};

/// The partition key of every endpoint.
pub const ENDPOINTS_PK: &str = "WEBHOOK_ENDPOINTS";
const ENDPOINT_PREFIX: &str = "ENDPOINT#";

fn endpoint_sk(id: &EndpointId) -> String {
    format!("{ENDPOINT_PREFIX}{id}")
}

#[derive(Serialize, Deserialize)]
struct EndpointItem {
    pk: String,
    sk: String,
    id: String,
    url: String,
    enabled_events: Vec<String>,
    secret: String,
    /// The secret the last rotation replaced, and from when it no longer
    /// signs; both absent when there is none.
    #[serde(default)]
    previous_secret: Option<String>,
    #[serde(default)]
    previous_secret_expires: Option<String>,
    created: String,
    updated: String,
}

fn endpoint_from_item(item: Item) -> Result<WebhookEndpoint, StoreError> {
    let item: EndpointItem =
        serde_dynamo::from_item(item).map_err(|e| corrupt("webhook endpoint", e))?;
    Ok(WebhookEndpoint::restore(EndpointParts {
        id: EndpointId::parse(&item.id).map_err(|e| corrupt("endpoint id", e))?,
        // Stored only after it was accepted: whatever the run's rules (or
        // the addresses refused since), it stays readable.
        url: EndpointUrl::stored(&item.url).map_err(|e| corrupt("endpoint url", e))?,
        enabled_events: EnabledEvents::parse(&item.enabled_events)
            .map_err(|e| corrupt("enabled events", e))?,
        secret: SecretString::from(item.secret),
        previous_secret: match (
            item.previous_secret,
            parse_opt_ts(&item.previous_secret_expires)?,
        ) {
            (Some(secret), Some(expires)) => Some(RetiringSecret {
                secret: SecretString::from(secret),
                expires,
            }),
            _ => None,
        },
        created: parse_ts(&item.created)?,
        updated: parse_ts(&item.updated)?,
    }))
}

#[async_trait::async_trait]
impl WebhookEndpointStore for DynamoStore {
    #[tracing::instrument(skip_all, fields(endpoint = %endpoint.id()), err)]
    async fn put_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<EndpointWrite, StoreError> {
        let events = serde_dynamo::to_attribute_value(endpoint.enabled_events().to_list())
            .map_err(|e| corrupt("enabled events", e))?;
        // One write either way: the secret and the creation time are set only
        // when the item is new, and the old item says which it was.
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                ENDPOINTS_PK.to_owned(),
                &endpoint_sk(endpoint.id()),
            )))
            .update_expression(
                "SET id = :id, #url = :url, enabled_events = :events, updated = :now, \
                 secret = if_not_exists(secret, :secret), created = if_not_exists(created, :now)",
            )
            .set_expression_attribute_names(Some(names(&[("#url", "url")])))
            .set_expression_attribute_values(Some(values(vec![
                (":id", s(endpoint.id().as_str())),
                (":url", s(endpoint.url().as_str())),
                (":events", events),
                (":now", s(ts(endpoint.updated()))),
                (":secret", s(endpoint.secret().expose_secret())),
            ])))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        match out.attributes.filter(|old| old.contains_key(PK)) {
            None => Ok(EndpointWrite {
                endpoint: endpoint.clone(),
                created: true,
            }),
            Some(old) => {
                let old = endpoint_from_item(old)?;
                Ok(EndpointWrite {
                    endpoint: endpoint.clone().replacing(&old),
                    created: false,
                })
            }
        }
    }

    #[tracing::instrument(skip_all, fields(endpoint = %id), err)]
    async fn get_endpoint(&self, id: &EndpointId) -> Result<Option<WebhookEndpoint>, StoreError> {
        let item = self
            .get_consistent(key(ENDPOINTS_PK.to_owned(), &endpoint_sk(id)))
            .await?;
        item.map(endpoint_from_item).transpose()
    }

    #[tracing::instrument(skip_all, fields(endpoint = %id), err)]
    async fn rotate_secret(
        &self,
        id: &EndpointId,
        rotation: &SecretRotation,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        let mut values_of = vec![
            (":new", s(rotation.new_secret.expose_secret())),
            (":now", s(ts(rotation.at))),
        ];
        // The retiring secret is the one the item holds when this write
        // applies, not one read before it: of two rotations at once, the
        // later one retires the earlier one's secret, and no secret that
        // was handed out is lost unnoticed.
        let update = match rotation.old_expires {
            Some(expires) => {
                values_of.push((":expires", s(ts(expires))));
                "SET previous_secret = secret, previous_secret_expires = :expires, \
                 secret = :new, updated = :now"
            }
            // An old secret that ends now is not kept at all.
            None => {
                "SET secret = :new, updated = :now \
                 REMOVE previous_secret, previous_secret_expires"
            }
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(ENDPOINTS_PK.to_owned(), &endpoint_sk(id))))
            .update_expression(update)
            // Only an endpoint that exists: a rotation never creates one.
            .condition_expression("attribute_exists(#pk)")
            .set_expression_attribute_names(Some(names(&[("#pk", PK)])))
            .set_expression_attribute_values(Some(values(values_of)))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let written = unless_refused(result)?.and_then(|out| out.attributes);
        written.map(endpoint_from_item).transpose()
    }

    #[tracing::instrument(skip_all, fields(endpoint = %id), err)]
    async fn delete_endpoint(&self, id: &EndpointId) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(ENDPOINTS_PK.to_owned(), &endpoint_sk(id))))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.attributes.is_some_and(|old| !old.is_empty()))
    }

    #[tracing::instrument(skip_all, err)]
    async fn list_endpoints(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let query = self
            .query()
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .set_expression_attribute_names(Some(names(&[("#pk", PK), ("#sk", SK)])))
            .set_expression_attribute_values(Some(values(vec![
                (":pk", s(ENDPOINTS_PK)),
                (":prefix", s(ENDPOINT_PREFIX)),
            ])))
            .consistent_read(true);
        let items = read_pages(query, Wanted::All).await?;
        items.into_iter().map(endpoint_from_item).collect()
    }
}
