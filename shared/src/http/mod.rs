//! HTTP plumbing shared by every surface: errors, request parsing, idempotency.

mod error;
mod idempotency;
mod request;
mod response;

pub use error::{ApiError, ErrorFormat, FieldError, Loc};
pub use idempotency::idempotent;
pub use request::{JsonBody, header, path_param, query_param};
pub use response::{JsonDecimal, json, json_of, json_page, replayed};
