//! One module per API, each in its own dialect: wire types, error bodies and
//! the endpoints that map between them and the use cases.

pub mod deliveries;
pub mod docs;
mod error_responses;
pub mod events;
pub mod intents;
#[cfg(test)]
mod malformed_ids;
pub mod message;
pub mod paging;
pub mod params;
pub mod partner;
pub mod payables;
pub mod payment_intents;
pub mod payments;
pub mod refund_pass;
pub mod refunds;
mod responses;
pub mod shop;
pub mod webhook_endpoints;

use time::OffsetDateTime;

/// `2025-11-24T07:24:15.496Z`, as the APIs' clients show times.
pub fn iso_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .unwrap_or_default()
}

pub use params::{IdempotencyKey, PageQuery};
