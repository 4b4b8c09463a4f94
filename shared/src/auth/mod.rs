//! Who is calling: bearer JWTs for people, API keys for services, signed
//! requests for partners.

mod api_key;
mod jwt;
mod jwt_crypto;
mod partner;

pub use api_key::{ServiceCaller, check_api_key};
pub use jwt::{AuthError, Caller, Role, verify_bearer};
pub use partner::{
    PartnerCaller, SIGNATURE_TOLERANCE, SignedRequest, sign_partner_request, string_to_sign,
    verify_partner,
};

/// Who is asking: a person with a token, or a backend with an API key.
pub enum Actor {
    Person(Caller),
    Service(ServiceCaller),
}
