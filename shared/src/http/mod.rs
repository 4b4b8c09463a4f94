//! HTTP plumbing shared by every API: the request pipeline, callers, input
//! reading, idempotency, errors and replies.

mod callers;
mod error;
pub mod idempotency;
mod input;
mod pipeline;
mod response;

pub use callers::{Anonymous, Authenticate, ShopCustomer};
pub use error::{ApiError, Cause, ErrorFormat, FieldError};
pub use input::{
    AllChecked, Checked, FromRequest, MAX_TEXT_CHARS, Sent, SentIdempotencyKey, cursor, json_body,
    limit, named, path_param, problem, query_param, schema,
};
pub use pipeline::{Endpoint, MAX_BODY_BYTES, request_id};
pub use response::{JsonDecimal, json, json_of, json_page, replayed};

/// A request header's value, when it is valid text.
pub fn header<'a>(req: &'a lambda_http::Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}
