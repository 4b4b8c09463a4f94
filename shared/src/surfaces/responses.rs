//! Documented answers that several endpoints give alike, each set named
//! once: an endpoint's `responses(...)` names the set, and the OpenAPI
//! document lists every member as if the endpoint had named it.

use super::message::{BadApiKey, BadCredentials, BadRequest, KeyReused, TooLarge};

/// Declares `$name`: the responses of each `$member` (an `IntoResponses`
/// type), for an endpoint's `responses(...)` list.
macro_rules! response_set {
    ($(#[$doc:meta])* $vis:vis $name:ident = $($member:ty),+ $(,)?) => {
        $(#[$doc])*
        $vis struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<
                String,
                utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
            > {
                let mut all = std::collections::BTreeMap::new();
                $(all.extend(<$member as utoipa::IntoResponses>::responses());)+
                all
            }
        }
    };
}

pub(crate) use response_set;

response_set!(
    /// What any endpoint of a trusted backend may answer besides its own
    /// errors: invalid input (400) and a missing or invalid API key (401).
    pub ApiKeyErrors = BadRequest, BadApiKey
);

response_set!(
    /// What a change by a trusted backend may answer besides its own
    /// errors: invalid input (400), a missing or invalid API key (401), a
    /// body over 64 KiB (413) and a reused Idempotency-Key (422).
    pub ApiKeyChangeErrors = BadRequest, BadApiKey, TooLarge, KeyReused
);

response_set!(
    /// What a change by a person's token or a backend's API key may answer
    /// besides its own errors: invalid input (400), missing or invalid
    /// credentials (401), a body over 64 KiB (413) and a reused
    /// Idempotency-Key (422).
    pub CredentialedChangeErrors = BadRequest, BadCredentials, TooLarge, KeyReused
);
