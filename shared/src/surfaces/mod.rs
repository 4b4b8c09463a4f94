//! One module per API dialect (SPEC §1): wire types and error bodies only.

pub mod docs;
pub mod message;
pub mod payables;
pub mod payment_service;
pub mod payments;
pub mod shop;

use lambda_http::Request;
use time::OffsetDateTime;

use crate::auth::{Caller, ServiceCaller, check_api_key, verify_bearer};
use crate::http::{ApiError, header};
use crate::runtime::App;

/// The person behind `Authorization: Bearer …`.
pub async fn bearer_caller(app: &App, req: &Request) -> Result<Caller, ApiError> {
    let secrets = app.secrets().await.map_err(crate::app::AppError::from)?;
    Ok(verify_bearer(
        header(req, "authorization"),
        &secrets.jwt_key,
        &app.config.jwt,
    )?)
}

/// The backend behind `X-API-Key`.
pub async fn service_caller(app: &App, req: &Request) -> Result<ServiceCaller, ApiError> {
    let secrets = app.secrets().await.map_err(crate::app::AppError::from)?;
    Ok(check_api_key(
        header(req, "x-api-key"),
        &secrets.api_key_hashes,
    )?)
}

/// `2025-11-24T07:24:15.496Z`, as the seeds show times.
pub fn iso_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .unwrap_or_default()
}

/// `limit` within 1..=max (default `default`); anything else is a field error.
pub fn parse_limit(raw: Option<String>, default: usize, max: usize) -> Result<usize, String> {
    match raw {
        None => Ok(default),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(format!("limit must be an integer between 1 and {max}")),
        },
    }
}
