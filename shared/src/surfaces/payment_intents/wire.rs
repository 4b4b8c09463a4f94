//! The PaymentIntents API's wire shapes (camelCase, as its .NET clients know
//! them). The request types are what the parser reads (see `http::input`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};

use crate::domain::money::MAX_MAJOR_UNITS;
use crate::domain::{Currency, IntentStatus, NextAction, PayableId, PayableKind, PaymentIntent};
use crate::http::{JsonDecimal, MAX_TEXT_CHARS};
use crate::surfaces::iso_millis;
use crate::wire_field;

/// The gateways a payer may choose here (the one-time-code gateway belongs to
/// the OTP payment intents API).
pub const GATEWAYS: [&str; 2] = ["test", "stripe"];

/// What a redirect URL must look like: absolute http(s), no blanks.
pub const URL_PATTERN: &str = r"^https?://[^\s/?#]+[^\s]*$";

/// A payment method id as gateways name them (`pm_card_visa`).
pub const PAYMENT_METHOD_PATTERN: &str = "^[A-Za-z0-9_]{1,255}$";

fn nullable(t: Type) -> SchemaType {
    SchemaType::from_iter([t, Type::Null])
}

/// One of `values`, or null.
fn nullable_one_of(values: impl IntoIterator<Item = &'static str>) -> ObjectBuilder {
    let values: Vec<Option<&str>> = values.into_iter().map(Some).chain([None]).collect();
    ObjectBuilder::new()
        .schema_type(nullable(Type::String))
        .enum_values(Some(values))
}

fn payable_id(example: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(nullable(Type::String))
        .pattern(Some(PayableId::PATTERN))
        .max_length(Some(PayableId::MAX_LEN))
        .examples([example])
}

wire_field!(
    /// The invoice paid (a payable of kind `invoice` the caller owns); not with `orderId`.
    InvoiceIdField,
    payable_id("INV-123")
);

wire_field!(
    /// The order paid (a payable of kind `order` the caller owns); not with `invoiceId`.
    OrderIdField,
    payable_id("ORD-123")
);

wire_field!(
    /// Major units, a JSON number read exactly, with at most the currency's decimals.
    /// Required (with `currency`) without a payable; with one, it must be the payable's.
    AmountNumber,
    ObjectBuilder::new()
        .schema_type(nullable(Type::Number))
        .exclusive_minimum(Some(0))
        .maximum(Some(MAX_MAJOR_UNITS))
        .examples([99.99])
);

wire_field!(
    /// ISO 4217 code (lower case is taken too); goes with `amount`.
    CurrencyField,
    nullable_one_of(Currency::all().iter().map(Currency::code)).examples(["EUR"])
);

wire_field!(
    /// The gateway's name; when absent, the deployment's default gateway
    /// (`stripe` unless its operator chose another). `test` approves cards
    /// without moving money and exists only where switched on: naming a
    /// gateway this deployment does not offer is a 400.
    GatewayField,
    nullable_one_of(GATEWAYS).examples(["stripe"])
);

wire_field!(
    /// Where the payer's browser returns after a gateway step: absolute http(s).
    UrlField,
    ObjectBuilder::new()
        .schema_type(nullable(Type::String))
        .pattern(Some(URL_PATTERN))
        .max_length(Some(MAX_TEXT_CHARS))
        .examples(["https://example.com/success"])
);

wire_field!(
    /// Shown to the payer and to staff.
    DescriptionField,
    ObjectBuilder::new()
        .schema_type(nullable(Type::String))
        .max_length(Some(MAX_TEXT_CHARS))
        .examples(["Payment for invoice #123"])
);

/// Request body of `POST /api/v1/PaymentIntents`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatePaymentIntentDto {
    #[serde(default)]
    #[schema(inline)]
    pub invoice_id: InvoiceIdField,
    #[serde(default)]
    #[schema(inline)]
    pub order_id: OrderIdField,
    #[serde(default)]
    #[schema(inline)]
    pub amount: AmountNumber,
    #[serde(default)]
    #[schema(inline)]
    pub currency: CurrencyField,
    #[serde(default)]
    #[schema(inline)]
    pub payment_gateway_id: GatewayField,
    #[serde(default)]
    #[schema(inline)]
    pub return_url: UrlField,
    #[serde(default)]
    #[schema(inline)]
    pub cancel_url: UrlField,
    #[serde(default)]
    #[schema(inline)]
    pub description: DescriptionField,
}

wire_field!(
    /// The payment method, as a JSON string: `"pm_card_visa"`.
    PaymentMethodBody,
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(PAYMENT_METHOD_PATTERN))
        .examples(["pm_card_visa"])
);

/// What the payer must do before the gateway can collect (3-D Secure):
/// present only while the status is `RequiresAction`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NextActionDto {
    /// The gateway's name for the step: `redirect_to_url`, `use_stripe_sdk`.
    #[serde(rename = "type")]
    #[schema(example = "redirect_to_url")]
    pub kind: String,
    /// Where to send the payer's browser, when the step is a redirect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_to_url: Option<RedirectDto>,
}

#[derive(Serialize, ToSchema)]
pub struct RedirectDto {
    #[schema(example = "https://gateway.example/3ds/pi_test_123")]
    pub url: String,
}

impl From<&NextAction> for NextActionDto {
    fn from(a: &NextAction) -> Self {
        Self {
            kind: a.kind.clone(),
            redirect_to_url: a.url.clone().map(|url| RedirectDto { url }),
        }
    }
}

/// A payment intent.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentIntentDto {
    #[schema(example = "0193f2a4-7c1e-7b61-9d2a-5e8f3c4b2a10")]
    pub id: String,
    #[schema(example = "INV-123")]
    pub invoice_id: Option<String>,
    #[schema(example = json!(null))]
    pub order_id: Option<String>,
    /// The payer's user id.
    #[schema(example = "demo-user-1")]
    pub customer_id: String,
    #[schema(value_type = f64, example = 99.99)]
    pub amount: JsonDecimal,
    #[schema(example = "EUR")]
    pub currency: String,
    #[schema(inline, example = "RequiresPaymentMethod")]
    pub status: StatusDto,
    /// The gateway's name.
    #[schema(example = "test")]
    pub payment_gateway_id: String,
    #[schema(example = "pi_test_123456789")]
    pub gateway_intent_id: Option<String>,
    #[schema(example = "pi_test_123456789_secret_abc")]
    pub client_secret: Option<String>,
    #[schema(example = "Payment for invoice #123")]
    pub description: Option<String>,
    #[schema(format = DateTime)]
    pub authorized_at: Option<String>,
    #[schema(format = DateTime)]
    pub captured_at: Option<String>,
    #[schema(format = DateTime)]
    pub failed_at: Option<String>,
    /// Why the last attempt failed (`card_declined`); `""` when none did.
    #[schema(example = "")]
    pub failure_reason: String,
    #[schema(format = DateTime, example = "2025-11-24T07:24:15.505Z")]
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_action: Option<NextActionDto>,
}

/// An intent's status, PascalCase: the domain's statuses, as .NET clients spell them.
pub struct StatusDto(IntentStatus);

impl StatusDto {
    /// `requires_payment_method` → `RequiresPaymentMethod`.
    fn pascal_case(status: IntentStatus) -> String {
        status
            .as_str()
            .split('_')
            .flat_map(|word| {
                let mut letters = word.chars();
                letters
                    .next()
                    .map(|first| first.to_ascii_uppercase())
                    .into_iter()
                    .chain(letters)
            })
            .collect()
    }
}

impl From<IntentStatus> for StatusDto {
    fn from(status: IntentStatus) -> Self {
        Self(status)
    }
}

impl Serialize for StatusDto {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&Self::pascal_case(self.0))
    }
}

impl utoipa::PartialSchema for StatusDto {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("An intent's status, PascalCase."))
            .enum_values(Some(IntentStatus::ALL.map(Self::pascal_case)))
            .into()
    }
}

impl ToSchema for StatusDto {}

impl From<&PaymentIntent> for PaymentIntentDto {
    fn from(i: &PaymentIntent) -> Self {
        let payable = |kind: PayableKind| {
            i.payable()
                .as_ref()
                .filter(|p| p.kind == kind)
                .map(|p| p.id.to_string())
        };
        Self {
            id: i.id().to_string(),
            invoice_id: payable(PayableKind::Invoice),
            order_id: payable(PayableKind::Order),
            customer_id: i.payer().user_id.to_string(),
            amount: JsonDecimal(i.amount().to_decimal()),
            currency: i.amount().currency().code().into(),
            status: i.status().into(),
            payment_gateway_id: i.gateway().as_str().into(),
            gateway_intent_id: i.gateway_intent_id().clone(),
            client_secret: i.client_secret().clone(),
            description: i.description().clone(),
            authorized_at: i.authorized_at().map(iso_millis),
            captured_at: i.captured_at().map(iso_millis),
            failed_at: i.failed_at().map(iso_millis),
            failure_reason: i.failure_reason().clone().unwrap_or_default(),
            created_at: iso_millis(i.created_at()),
            next_action: i
                .next_action()
                .as_ref()
                .filter(|_| i.status() == IntentStatus::RequiresAction)
                .map(NextActionDto::from),
        }
    }
}

/// The answer to a webhook delivery the service accepted.
#[derive(Serialize, ToSchema)]
pub struct WebhookReceived {
    #[schema(example = true)]
    pub received: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_written_as_dotnet_clients_spell_them() {
        let written: Vec<serde_json::Value> = IntentStatus::ALL
            .map(|s| serde_json::to_value(StatusDto::from(s)).expect("json"))
            .into();
        assert_eq!(
            written,
            [
                "RequiresPaymentMethod",
                "RequiresConfirmation",
                "RequiresAction",
                "Processing",
                "Succeeded",
                "Canceled",
                "Failed",
            ]
            .map(serde_json::Value::from)
        );
    }
}
