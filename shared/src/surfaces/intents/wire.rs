//! The OTP payment intents API's wire shapes, named as its clients know them.
//! The request types are what the parser reads (see `http::input`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::ObjectBuilder;

use crate::domain::{OtpCode, PayableId, PaymentIntent};
use crate::http::schema;
use crate::surfaces::iso_millis;
use crate::wire_field;

wire_field!(
    /// A registration's id in the operator's system.
    RegistrationIdField,
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(PayableId::PATTERN))
        .max_length(Some(PayableId::MAX_LEN))
        .examples(["REG-DEMO-1"])
);

wire_field!(
    /// A payment intent's id; an unknown one is 404.
    IntentIdField,
    schema::text().examples(["0193f2a4-7c1e-7b61-9d2a-5e8f3c4b2a10"])
);

wire_field!(
    /// The 6-digit code mailed to the payer.
    OtpCodeField,
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(OtpCode::PATTERN))
        .examples(["123456"])
);

#[derive(Deserialize, ToSchema)]
pub struct CreatePaymentIntentRequest {
    #[serde(default)]
    #[schema(inline, required = true)]
    pub registration_id: RegistrationIdField,
}

#[derive(Serialize, ToSchema)]
pub struct CreatePaymentIntentResponse {
    #[schema(example = "Payment intent created")]
    pub message: String,
    #[schema(example = "0193f2a4-7c1e-7b61-9d2a-5e8f3c4b2a10")]
    pub intent_id: String,
    #[schema(example = "requires_confirmation")]
    pub status: String,
}

#[derive(Deserialize, ToSchema)]
pub struct RequestOTPRequest {
    #[serde(default)]
    #[schema(inline, required = true)]
    pub intent_id: IntentIdField,
}

#[derive(Serialize, ToSchema)]
pub struct RequestOTPSuccessResponse {
    #[schema(example = "OTP sent to your email")]
    pub message: String,
    #[schema(format = DateTime, example = "2025-11-24T07:24:15.496Z")]
    pub expires_at: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ConfirmPaymentRequest {
    #[serde(default)]
    #[schema(inline, required = true)]
    pub intent_id: IntentIdField,
    #[serde(default)]
    #[schema(inline, required = true)]
    pub otp_code: OtpCodeField,
}

#[derive(Serialize, ToSchema)]
pub struct ConfirmPaymentResponse {
    #[schema(example = "Payment confirmed")]
    pub message: String,
    #[schema(example = "0193f2a5-0b3d-7e02-8c11-2f6a9d0e4b77")]
    pub payment_id: String,
    /// Decimal string with the currency's decimals.
    #[schema(example = "112.00")]
    pub amount: String,
}

/// Body of cancel.
#[derive(Deserialize, ToSchema)]
pub struct CancelPaymentIntentRequest {
    #[serde(default)]
    #[schema(inline, required = true)]
    pub intent_id: IntentIdField,
}

wire_field!(
    /// Why; required of an Admin failing an intent the gateway is processing.
    ReasonField,
    schema::text().examples(["gateway_timeout"])
);

/// Body of fail.
#[derive(Deserialize, ToSchema)]
pub struct FailPaymentIntentRequest {
    #[serde(default)]
    #[schema(inline, required = true)]
    pub intent_id: IntentIdField,
    #[serde(default)]
    #[schema(inline)]
    pub reason: ReasonField,
}

/// Answer of cancel and fail.
#[derive(Serialize, ToSchema)]
pub struct PaymentIntentStatusResponse {
    #[schema(example = "Payment intent canceled")]
    pub message: String,
    pub intent_id: String,
    #[schema(example = "canceled")]
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentIntentResponse {
    pub id: String,
    #[schema(format = DateTime, example = "2025-11-24T07:24:15.505Z")]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    #[schema(example = "demo-user-1")]
    pub payer_user_id: String,
    #[schema(example = "demo-user-1@example.com")]
    pub payer_email: String,
    #[schema(example = "REG-DEMO-1")]
    pub registration_id: Option<String>,
    #[schema(example = "112.00")]
    pub amount: String,
    #[schema(example = "USD")]
    pub currency: String,
    /// requires_payment_method, requires_confirmation, requires_action, processing, succeeded, canceled or failed.
    #[schema(example = "requires_action")]
    pub status: String,
    pub otp_attempts: u32,
    pub failure_reason: Option<String>,
    pub cancellation_reason: Option<String>,
}

impl From<&PaymentIntent> for PaymentIntentResponse {
    fn from(i: &PaymentIntent) -> Self {
        Self {
            id: i.id().to_string(),
            created_at: iso_millis(i.created_at()),
            updated_at: iso_millis(i.updated_at()),
            payer_user_id: i.payer().user_id.to_string(),
            payer_email: i.payer().email.to_string(),
            registration_id: i.payable().as_ref().map(|p| p.id.to_string()),
            amount: i.amount().to_string(),
            currency: i.amount().currency().code().to_owned(),
            status: i.status().as_str().to_owned(),
            otp_attempts: i.otp_attempts(),
            failure_reason: i.failure_reason().clone(),
            cancellation_reason: i.cancellation_reason().clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RootResponse {
    #[schema(example = "Payment Service is running")]
    pub message: String,
    #[schema(example = "payment-service")]
    pub service: String,
    #[schema(example = "0.1.0")]
    pub version: String,
}

/// One FastAPI validation error.
#[derive(Serialize, ToSchema)]
pub struct ValidationError {
    /// Where: `["body", "intent_id"]`, `["query", "status"]`.
    #[schema(value_type = Vec<LocItem>)]
    pub loc: Vec<String>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A location segment: a field name or an array index.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum LocItem {
    Name(String),
    Index(u32),
}

#[derive(Serialize, ToSchema)]
pub struct HTTPValidationError {
    pub detail: Vec<ValidationError>,
}

/// Every error but validation.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    #[schema(example = "Payment intent not found")]
    pub detail: String,
}
