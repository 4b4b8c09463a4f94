//! One module per API, each in its own dialect: wire types, error bodies and
//! the endpoints that map between them and the use cases.

pub mod docs;
pub mod intents;
pub mod message;
pub mod payables;
pub mod payments;
pub mod shop;

use time::OffsetDateTime;
use utoipa::IntoParams;

/// `2025-11-24T07:24:15.496Z`, as the APIs' clients show times.
pub fn iso_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .unwrap_or_default()
}

/// The header every changing endpoint honours.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// Replays the first response for 24 h; the same key with another request is 422.
    #[param(rename = "Idempotency-Key", min_length = 1, max_length = 255)]
    #[allow(dead_code)] // read from the request by the pipeline; here it documents the header
    idempotency_key: Option<String>,
}
