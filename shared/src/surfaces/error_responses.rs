//! What the APIs' documented error responses have in common, whatever their
//! dialect: a response is a status and the body it answers with, and a 400
//! or 422 body is either every invalid field or a single reason.

use std::marker::PhantomData;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

/// Declares a dialect's documented error responses, all in `content_type`:
/// each with its doc comment (the response's description), its name, its
/// status and its body.
macro_rules! error_responses {
    (content_type = $content_type:tt; $($(#[$doc:meta])* $name:ident($status:tt, $body:ty);)+) => {
        $(
            $(#[$doc])*
            #[derive(utoipa::IntoResponses)]
            #[response(status = $status, content_type = $content_type)]
            pub struct $name(#[to_schema] pub $body);
        )+
    };
}
pub(crate) use error_responses;

/// A body that lists every invalid field (`Fields`) or gives one reason
/// (`Reason`): a malformed Idempotency-Key, a cursor the API did not issue.
/// Either shape may match a validation body, which has the reason's field
/// too, so the document offers any of them.
pub struct FieldsOrReason<Fields, Reason>(PhantomData<(Fields, Reason)>);

impl<Fields: PartialSchema, Reason: PartialSchema> PartialSchema
    for FieldsOrReason<Fields, Reason>
{
    fn schema() -> RefOr<Schema> {
        crate::http::schema::any_of([Fields::schema(), Reason::schema()])
    }
}

impl<Fields: ToSchema, Reason: ToSchema> ToSchema for FieldsOrReason<Fields, Reason> {}
