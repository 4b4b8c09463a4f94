//! The partner API: a partner reads one payment of its business, with its
//! fees, what it settles and the account it settles into, in the partner
//! envelope `{"message": {"content"}, "code", "request_id", "data"}`.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::App;
use crate::app::partner::{self, PaymentDetail};
use crate::auth::PartnerCaller;
use crate::domain::{Currency, PaymentId, Totals, settlement_account};
use crate::http::{
    ApiError, Endpoint, ErrorFormat, FromRequest, JsonDecimal, json_of, named, path_param,
};

/// The success message partners' clients look for, as the partner API has always sent it.
pub const SUCCESS_CONTENT: &str = "Thực thi API thành công";
/// The success code of the envelope.
pub const SUCCESS_CODE: u32 = 102_000;

#[derive(Serialize, ToSchema)]
pub struct EnvelopeMessage {
    #[schema(example = "Thực thi API thành công")]
    pub content: String,
}

/// A payment of the partner's business.
#[derive(Serialize, ToSchema)]
pub struct PaymentDetailEnvelope {
    pub message: EnvelopeMessage,
    /// 102000 on success.
    #[schema(example = 102000)]
    pub code: u32,
    /// API Gateway's id of this request.
    #[schema(example = "d5f72213-a078-4ab9-bebc-4ffa467c7860")]
    pub request_id: String,
    pub data: PaymentDetailData,
}

/// Every failure: the HTTP status × 1000 as `code`, `data` null.
#[derive(Serialize, ToSchema)]
pub struct PartnerError {
    pub message: EnvelopeMessage,
    /// The HTTP status × 1000: 400000, 401000, 404000, 500000.
    #[schema(example = 401000)]
    pub code: u32,
    #[schema(example = "d5f72213-a078-4ab9-bebc-4ffa467c7860")]
    pub request_id: String,
    #[schema(schema_with = null)]
    pub data: Option<()>,
}

fn null() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Null)
        .build()
}

/// Money in major units of `currency_code`, as exact JSON numbers.
#[derive(Serialize, ToSchema)]
pub struct PaymentDetailData {
    #[schema(example = "0193a0c4-4f1c-7b52-9e1a-4c0f6a1d2e3f")]
    pub id: String,
    #[schema(example = 123456)]
    pub business_id: u64,
    /// The business's settlement account.
    #[schema(example = "a5ab9910-cdc8-4b6b-a5aa-0d3ffd72f34e")]
    pub account_id: String,
    /// The payment's amount.
    #[schema(value_type = f64, example = 5000)]
    pub request_amount: JsonDecimal,
    /// The payable's description.
    #[schema(example = "Payment for services rendered")]
    pub note: String,
    /// Paid less the fee (and so less its refunds too: below 0 when all of
    /// it went back, as the fee stays spent).
    #[schema(value_type = f64, example = 4900)]
    pub total_net_settled_amount: JsonDecimal,
    /// The amount while the payment is pending, else 0.
    #[schema(value_type = f64, example = 0)]
    pub total_collecting_amount: JsonDecimal,
    /// The amount once the payment completed, less its refunds; else 0.
    #[schema(value_type = f64, example = 5000)]
    pub total_paid_amount: JsonDecimal,
    #[schema(value_type = f64, example = 100)]
    pub total_fee_amount: JsonDecimal,
    /// The payment's reference: `PMT` and 12 uppercase letters or digits.
    #[schema(example = "PMT7K2Q9M4X1B8C")]
    pub code: String,
    #[schema(example = "Bank Transfer")]
    pub payment_method: String,
    #[schema(example = "USD")]
    pub currency_code: String,
    pub transaction: SettlementTransaction,
    pub account: SettlementAccount,
}

/// The credit this payment makes to the business's settlement account (its
/// refunds do not change it).
#[derive(Serialize, ToSchema)]
pub struct SettlementTransaction {
    #[schema(example = "8d64c7e3-9273-4a3c-9c8b-3e138979e8ea")]
    pub id: String,
    #[schema(example = "a5ab9910-cdc8-4b6b-a5aa-0d3ffd72f34e")]
    pub account_id: String,
    #[schema(value_type = f64, example = 4900)]
    pub net_amount: JsonDecimal,
    #[schema(value_type = f64, example = 100)]
    pub fee_amount: JsonDecimal,
    #[schema(example = "USD")]
    pub currency_code: String,
    /// Always `Credit`.
    #[schema(example = "Credit")]
    #[serde(rename = "type")]
    pub kind: String,
    /// The payment's transaction number (`""` when it has none).
    #[schema(example = "TXN654321987")]
    pub txn_number: String,
}

/// The totals over every payment of the payment's payable made for the same
/// business.
#[derive(Serialize, ToSchema)]
pub struct SettlementAccount {
    #[schema(example = "a5ab9910-cdc8-4b6b-a5aa-0d3ffd72f34e")]
    pub id: String,
    #[schema(example = 123456)]
    pub business_id: u64,
    #[schema(example = "a5ab9910-cdc8-4b6b-a5aa-0d3ffd72f34e")]
    pub account_id: String,
    /// The payable's amount.
    #[schema(value_type = f64, example = 5000)]
    pub request_amount: JsonDecimal,
    #[schema(example = "Payment for services rendered")]
    pub note: String,
    #[schema(value_type = f64, example = 4900)]
    pub total_net_settled_amount: JsonDecimal,
    #[schema(value_type = f64, example = 0)]
    pub total_collecting_amount: JsonDecimal,
    #[schema(value_type = f64, example = 5000)]
    pub total_paid_amount: JsonDecimal,
    #[schema(value_type = f64, example = 100)]
    pub total_fee_amount: JsonDecimal,
    /// The payable's number (`""` when it has none).
    #[schema(example = "INV-2025-0042")]
    pub code: String,
    #[schema(example = "Bank Transfer")]
    pub payment_method: String,
    #[schema(example = "USD")]
    pub currency_code: String,
}

fn major(minor: i64, currency: Currency) -> JsonDecimal {
    JsonDecimal(Decimal::new(minor, currency.exponent()))
}

impl PaymentDetailData {
    pub fn from(detail: &PaymentDetail) -> Self {
        let PaymentDetail {
            business_id: business,
            payment,
            payable,
            account_payments,
        } = detail;
        let business = *business;
        let currency = payment.amount().currency();
        let account_id = settlement_account(business).to_string();
        let own = Totals::of(payment);
        let credit = Totals::credit(payment);
        let all = Totals::sum(account_payments);
        let note = payable.description().clone().unwrap_or_default();
        Self {
            id: payment.id().to_string(),
            business_id: business.get(),
            account_id: account_id.clone(),
            request_amount: JsonDecimal(payment.amount().to_decimal()),
            note: note.clone(),
            total_net_settled_amount: major(own.net_minor, currency),
            total_collecting_amount: major(own.collecting_minor, currency),
            total_paid_amount: major(own.paid_minor, currency),
            total_fee_amount: major(own.fee_minor, currency),
            code: payment.reference(),
            payment_method: payment.method().as_str().into(),
            currency_code: currency.code().into(),
            transaction: SettlementTransaction {
                id: payment.credit_id().to_string(),
                account_id: account_id.clone(),
                net_amount: major(credit.net_minor, currency),
                fee_amount: major(credit.fee_minor, currency),
                currency_code: currency.code().into(),
                kind: "Credit".into(),
                txn_number: payment.transaction_id().clone().unwrap_or_default(),
            },
            account: SettlementAccount {
                id: account_id.clone(),
                business_id: business.get(),
                account_id,
                request_amount: JsonDecimal(payable.amount().to_decimal()),
                note,
                total_net_settled_amount: major(all.net_minor, currency),
                total_collecting_amount: major(all.collecting_minor, currency),
                total_paid_amount: major(all.paid_minor, currency),
                total_fee_amount: major(all.fee_minor, currency),
                code: payable.number().clone().unwrap_or_default(),
                payment_method: payment.method().as_str().into(),
                currency_code: currency.code().into(),
            },
        }
    }
}

/// The partner envelope around every error.
pub struct PartnerErrors;

impl ErrorFormat for PartnerErrors {
    fn render(&self, error: &ApiError) -> Response<Body> {
        self.render_for(error, "")
    }

    fn render_for(&self, error: &ApiError, request_id: &str) -> Response<Body> {
        // Every invalid field is one 400 here: the envelope has no list of them.
        let (status, content) = match error {
            ApiError::Validation(errors) => (
                400,
                errors
                    .iter()
                    .map(|e| e.msg.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            other => (other.status(), other.message()),
        };
        json_of(
            status,
            &PartnerError {
                message: EnvelopeMessage { content },
                code: u32::from(status) * 1000,
                request_id: request_id.to_owned(),
                data: None,
            },
        )
    }
}

/// Reads in the partner envelope; a signed request is never replayed, so
/// there is no Idempotency-Key to honour.
pub const PARTNER: Endpoint = Endpoint::read(&PartnerErrors);

/// The payment named in the path, and the request's id for the envelope.
pub struct DetailInput {
    id: PaymentId,
    request_id: String,
}

impl FromRequest for DetailInput {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        Ok(Self {
            id: named(PaymentId::parse(&path_param(req, "id")), partner::not_found)?,
            request_id: crate::http::request_id(req),
        })
    }
}

/// Unauthenticated: a missing header, an unknown client, a wrong or reused
/// signature, or a timestamp more than 300 seconds away.
#[derive(utoipa::IntoResponses)]
#[response(status = 401)]
pub struct BadSignature(#[to_schema] pub PartnerError);

/// One payment of the partner's business, with its fees and settlement, over a signed request.
#[utoipa::path(get, path = "/api/v1/payment/detail/{id}", tag = "partner",
    operation_id = "get_partner_payment_detail",
    params(("id" = String, Path, description = "The payment's id")),
    responses(
        (status = 200, description = "The payment, its settlement credit and its payable's account", body = PaymentDetailEnvelope),
        BadSignature,
        (status = 404, description = "No such payment of the partner's business", body = PartnerError)),
    security(("partner_client_id" = [], "partner_timestamp" = [], "partner_signature" = [])))]
pub async fn payment_detail(app: Arc<App>, req: Request) -> Response<Body> {
    PARTNER
        .run(
            app,
            req,
            |app, partner: PartnerCaller, input: DetailInput| async move {
                let detail = partner::payment_detail(&app, &partner, &input.id).await?;
                Ok(json_of(
                    200,
                    &PaymentDetailEnvelope {
                        message: EnvelopeMessage {
                            content: SUCCESS_CONTENT.into(),
                        },
                        code: SUCCESS_CODE,
                        request_id: input.request_id,
                        data: PaymentDetailData::from(&detail),
                    },
                ))
            },
        )
        .await
}
