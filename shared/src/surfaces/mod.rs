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

/// The query of a cursor-paged list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by the endpoints' inputs; here it documents the query
pub struct PageQuery {
    /// How many, newest first: 1-100, default 100.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `X-Next-Cursor` of the previous page.
    cursor: Option<String>,
}
