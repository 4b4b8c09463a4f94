//! Surface A's wire shapes, named as seed 000 names them. Requests are read
//! field by field (for FastAPI-style errors); these types document them.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::PaymentIntent;
use crate::surfaces::iso_millis;

#[derive(Serialize, ToSchema)]
pub struct CreatePaymentIntentRequest {
    #[schema(example = "REG-DEMO-1")]
    pub registration_id: String,
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

#[derive(Serialize, ToSchema)]
pub struct RequestOTPRequest {
    #[schema(example = "0193f2a4-7c1e-7b61-9d2a-5e8f3c4b2a10")]
    pub intent_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct RequestOTPSuccessResponse {
    #[schema(example = "OTP sent to your email")]
    pub message: String,
    #[schema(format = DateTime, example = "2025-11-24T07:24:15.496Z")]
    pub expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConfirmPaymentRequest {
    #[schema(example = "0193f2a4-7c1e-7b61-9d2a-5e8f3c4b2a10")]
    pub intent_id: String,
    #[schema(example = "123456", pattern = "^[0-9]{6}$")]
    pub otp_code: String,
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

#[derive(Serialize, ToSchema)]
pub struct CancelPaymentIntentRequest {
    #[schema(example = "0193f2a4-7c1e-7b61-9d2a-5e8f3c4b2a10")]
    pub intent_id: String,
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
            id: i.id.to_string(),
            created_at: iso_millis(i.created_at),
            updated_at: iso_millis(i.updated_at),
            payer_user_id: i.payer.user_id.to_string(),
            payer_email: i.payer.email.to_string(),
            registration_id: i.payable.as_ref().map(|p| p.id.to_string()),
            amount: i.amount.to_string(),
            currency: i.amount.currency().code().to_owned(),
            status: i.status.as_str().to_owned(),
            otp_attempts: i.otp_attempts,
            failure_reason: i.failure_reason.clone(),
            cancellation_reason: i.cancellation_reason.clone(),
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
    pub loc: Vec<serde_json::Value>,
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
