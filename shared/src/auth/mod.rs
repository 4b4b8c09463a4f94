//! Who is calling: bearer JWTs for people, API keys for services.

mod api_key;
mod jwt;

pub use api_key::{ServiceCaller, check_api_key};
pub use jwt::{AuthError, Caller, Role, verify_bearer};
