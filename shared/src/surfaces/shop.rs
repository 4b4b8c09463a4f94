//! The shop orders API: the order's card payment intent, and the payment
//! system's call that marks an order paid.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::IdempotencyKey;
use super::message::{
    BadApiKey, BadCredentials, BadRequest, CHANGE, GatewayDown, GatewayNotConfigured,
    GatewayTimedOut, KeyReused, MessageError,
};
use super::params::OrderPathParam;
use super::responses::response_set;
use crate::app::App;
use crate::app::payments;
use crate::app::shop::{self, PaidWith, Settled};
use crate::auth::ServiceCaller;
use crate::domain::{LineItem, Money, PayableRef, PaymentIntent, PaymentMethod, StatedAmount};
use crate::http::{
    ApiError, FieldError, FromRequest, MAX_TEXT_CHARS, ShopCustomer, json_body, json_of, path_param,
};

response_set!(
    /// What asking the gateway may answer: unreachable or refusing (502),
    /// or too slow (504).
    GatewayErrors = GatewayDown, GatewayTimedOut
);

/// The order named in the path.
pub struct OrderPath(PayableRef);

impl FromRequest for OrderPath {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        Ok(Self(payments::order_ref(&path_param(req, "orderId"))?))
    }
}

/// What the payment system may state about the money (every field optional;
/// without a body the payment is recorded as a card payment).
#[derive(Deserialize, ToSchema, Default)]
pub struct MarkPaidRequest {
    /// Its reference for the money, stored as the payment's transaction id.
    #[schema(
        example = "pi_3R8f5yQ9LjHruSyq1ofjdVY5",
        max_length = 1000,
        pattern = r"\S"
    )]
    pub gateway_reference: Option<String>,
    /// Must be the order's total (a string or a number, in major units).
    #[schema(value_type = Option<String>, example = "112.00", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub amount: Option<serde_json::Value>,
    /// Card (default), Cash, Bank Transfer, Bkash, Nagad or Rocket.
    #[schema(
        example = "Card",
        pattern = "^(Card|Cash|Bank Transfer|Bkash|Nagad|Rocket)$"
    )]
    pub payment_method: Option<String>,
}

/// The order in the path and what the optional body states.
pub struct MarkPaidInput {
    order: PayableRef,
    paid: PaidWith,
}

fn invalid(field: &str, msg: impl Into<String>) -> ApiError {
    ApiError::Validation(vec![FieldError::new(&["body", field], msg, "value_error")])
}

impl FromRequest for MarkPaidInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        let OrderPath(order) = OrderPath::from_request(req)?;
        let bytes: &[u8] = req.body().as_ref();
        // No body, or JSON's null, states nothing: the defaults apply. Anything
        // else must be the JSON object.
        let body: MarkPaidRequest = if bytes.is_empty() || bytes.trim_ascii() == b"null" {
            MarkPaidRequest::default()
        } else {
            json_body(req)?
        };
        let stated = match body.amount {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            Some(_) => return Err(invalid("amount", "amount must be a number")),
        };
        let amount = stated
            .map(|s| StatedAmount::parse(&s))
            .transpose()
            .map_err(|e| invalid("amount", e.to_string()))?;
        let method = match body.payment_method.as_deref() {
            None => None,
            Some(m) => Some(
                PaymentMethod::parse(m).map_err(|e| invalid("payment_method", e.to_string()))?,
            ),
        };
        let reference = match body.gateway_reference {
            Some(r) if r.trim().is_empty() || r.chars().count() > MAX_TEXT_CHARS => {
                return Err(invalid(
                    "gateway_reference",
                    format!("gateway_reference must be 1 to {MAX_TEXT_CHARS} characters"),
                ));
            }
            other => other,
        };
        Ok(Self {
            order,
            paid: PaidWith {
                reference,
                amount,
                method,
            },
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct ShopLineItem {
    #[schema(example = "Main product 2")]
    pub name: String,
    /// Unit price in minor units.
    #[schema(example = 5600)]
    pub amount: i64,
    #[schema(example = "usd")]
    pub currency: String,
    #[schema(example = 2)]
    pub quantity: u32,
    #[schema(example = "")]
    pub description: String,
}

#[derive(Serialize, ToSchema)]
pub struct ShopPaymentIntent {
    /// The gateway's intent id (Stripe's `pi_…`), by which the browser and
    /// the gateway's webhooks name it; the order's id after a mark-paid
    /// that no intent collected.
    #[schema(example = "pi_3MtwBwLkdIwHu7ix28a3tqPa")]
    pub id: String,
    /// The gateway's `{id}_secret_{random}`: what the browser (Stripe.js)
    /// confirms the intent with.
    #[schema(example = "pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH")]
    pub client_secret: Option<String>,
    #[schema(example = "112.00")]
    pub amount: String,
    #[schema(example = "usd")]
    pub currency: String,
    #[schema(example = "requires_payment_method")]
    pub status: String,
    pub line_items: Vec<ShopLineItem>,
    /// After mark-paid: the order's status, `paid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "paid")]
    pub order_status: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ShopPaymentIntentResponse {
    #[schema(example = "Payment intent created successfully")]
    pub message: String,
    pub data: ShopPaymentIntent,
}

fn line_items(items: &[LineItem]) -> Vec<ShopLineItem> {
    items
        .iter()
        .map(|l| ShopLineItem {
            name: l.name.clone(),
            amount: l.amount.minor(),
            currency: l.amount.currency().code().to_ascii_lowercase(),
            quantity: l.quantity,
            description: l.description.clone().unwrap_or_default(),
        })
        .collect()
}

fn intent_view(i: &PaymentIntent, order_status: Option<String>) -> ShopPaymentIntent {
    ShopPaymentIntent {
        id: i
            .gateway_intent_id()
            .clone()
            .unwrap_or_else(|| i.id().to_string()),
        client_secret: i.client_secret().clone(),
        amount: i.amount().to_string(),
        currency: i.amount().currency().code().to_ascii_lowercase(),
        status: i.status().as_str().into(),
        line_items: line_items(i.line_items()),
        order_status,
    }
}

fn amount_view(amount: &Money) -> (String, String) {
    (
        amount.to_string(),
        amount.currency().code().to_ascii_lowercase(),
    )
}

/// Creates the order's payment intent, or returns the open one (Bearer for the
/// order's owner, and the shop's X-API-Key).
#[utoipa::path(post, path = "/api/v1/shop/orders/{orderId}/payment-intent", tag = "shop",
    operation_id = "create_order_payment_intent",
    params(OrderPathParam, IdempotencyKey),
    responses(
        (status = 200, description = "The new or already open intent", body = ShopPaymentIntentResponse),
        BadRequest,
        BadCredentials,
        (status = 404, description = "No such order of the caller's", body = MessageError),
        (status = 409, description = "Order paid, canceled, or being paid by recorded payments; or this Idempotency-Key's first request is still running", body = MessageError),
        KeyReused,
        GatewayErrors,
        GatewayNotConfigured),
    security(("bearer" = [], "api_key" = [])))]
pub async fn create_intent(app: Arc<App>, req: Request) -> Response<Body> {
    CHANGE
        .run(
            app,
            req,
            |app, ShopCustomer(caller), OrderPath(order)| async move {
                let (intent, created) = shop::shop_intent(&app, &caller, &order).await?;
                let message = if created {
                    "Payment intent created successfully"
                } else {
                    "Payment intent already exists"
                };
                Ok(json_of(
                    200,
                    &ShopPaymentIntentResponse {
                        message: message.into(),
                        data: intent_view(&intent, None),
                    },
                ))
            },
        )
        .await
}

/// Marks the order paid (X-API-Key; called by the payment system): completes its
/// PENDING payments, or records one COMPLETED payment for what is left, with
/// the reference, amount and method the optional body states. An open card
/// intent is canceled at its gateway first (409 when the gateway has
/// collected, or is collecting, that payment: its webhook records it).
/// Calling it again changes nothing.
#[utoipa::path(post, path = "/api/v1/shop/orders/{orderId}/payment", tag = "shop",
    operation_id = "mark_order_paid",
    request_body(content = Option<MarkPaidRequest>, description = "Optional: what the payment system knows about the money"),
    params(OrderPathParam, IdempotencyKey),
    responses(
        (status = 200, description = "The order is paid", body = ShopPaymentIntentResponse),
        BadRequest,
        BadApiKey,
        (status = 404, description = "No such order", body = MessageError),
        (status = 409, description = "Order canceled; its card payment already collected or being collected by the gateway (its webhook records it); or this Idempotency-Key's first request is still running", body = MessageError),
        KeyReused,
        GatewayErrors),
    security(("api_key" = [])))]
pub async fn mark_paid(app: Arc<App>, req: Request) -> Response<Body> {
    CHANGE
        .run(
            app,
            req,
            |app, _: ServiceCaller, MarkPaidInput { order, paid }| async move {
                let Settled { order, intent } = shop::mark_paid(&app, &order, &paid).await?;
                let order_status = Some(order.status().as_str().to_owned());
                let data = match &intent {
                    Some(i) => intent_view(i, order_status),
                    None => {
                        let (amount, currency) = amount_view(&order.amount());
                        ShopPaymentIntent {
                            id: order.payable().id.to_string(),
                            client_secret: None,
                            amount,
                            currency,
                            status: "succeeded".into(),
                            line_items: line_items(order.line_items()),
                            order_status,
                        }
                    }
                };
                Ok(json_of(
                    200,
                    &ShopPaymentIntentResponse {
                        message: "Order marked as paid".into(),
                        data,
                    },
                ))
            },
        )
        .await
}
