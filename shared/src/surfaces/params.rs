//! Documented parameters, built from the same constants the parsers check, so
//! a request the document allows is never refused for its shape.

use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Required, Schema};

use super::paging::PageSize;
use crate::domain::{EventType, IntentStatus, PayableId, PayableKind, UserId};
use crate::http::idempotency::{KEY_PATTERN, MAX_KEY_LEN};
use crate::http::schema;

/// One documented parameter: where it goes, whether it must be there, and its schema.
pub(crate) fn parameter(
    name: &str,
    place: ParameterIn,
    required: bool,
    description: &str,
    schema: ObjectBuilder,
) -> Parameter {
    let schema: Schema = schema.into();
    ParameterBuilder::new()
        .name(name)
        .parameter_in(place)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(description))
        .schema(Some(RefOr::T(schema)))
        .build()
}

/// A payable's id as its kind's path segment or field carries it.
fn payable_id() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(PayableId::PATTERN))
        .max_length(Some(PayableId::MAX_LEN))
}

/// The header every changing endpoint honours.
pub struct IdempotencyKey;

impl IntoParams for IdempotencyKey {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![parameter(
            "Idempotency-Key",
            ParameterIn::Header,
            false,
            "Replays the first response for 24 h; the same key with another request is 422.",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(KEY_PATTERN))
                .min_length(Some(1))
                .max_length(Some(MAX_KEY_LEN)),
        )]
    }
}

fn cursor() -> Parameter {
    parameter(
        "cursor",
        ParameterIn::Query,
        false,
        "X-Next-Cursor of the previous page.",
        ObjectBuilder::new().schema_type(Type::String),
    )
}

/// The query of a cursor-paged list: `limit` as the list's [`PageSize`]
/// (`DEFAULT`, `MAX`) allows, and `cursor`.
pub struct CursorPageQuery<const DEFAULT: usize, const MAX: usize>;

impl<const DEFAULT: usize, const MAX: usize> IntoParams for CursorPageQuery<DEFAULT, MAX> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![PageSize::new(DEFAULT, MAX).parameter(), cursor()]
    }
}

/// The query of a cursor-paged list of at most 100, 100 by default.
pub type PageQuery =
    CursorPageQuery<{ super::intents::PAGE.default }, { super::intents::PAGE.max }>;

/// The query of a cursor-paged list of at most 100, 50 by default.
pub type PageQuery50 =
    CursorPageQuery<{ super::payment_intents::PAGE.default }, { super::payment_intents::PAGE.max }>;

/// A user's intents, optionally in one status.
pub struct UserIntentsQuery;

impl IntoParams for UserIntentsQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            parameter(
                "user_id",
                ParameterIn::Path,
                true,
                "The payer.",
                ObjectBuilder::new().schema_type(Type::String),
            ),
            parameter(
                "status",
                ParameterIn::Query,
                false,
                "Only intents in this status.",
                schema::one_of(&IntentStatus::ALL.map(|s| s.as_str())),
            ),
            super::intents::PAGE.parameter(),
            cursor(),
        ]
    }
}

/// An offset page of the caller's payments.
pub struct OffsetQuery;

/// Offsets walk an index; beyond this, callers should narrow the question.
pub const MAX_OFFSET: usize = 10_000;

impl IntoParams for OffsetQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            super::payments::PAGE.parameter(),
            parameter(
                "offset",
                ParameterIn::Query,
                false,
                "How many to skip.",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0))
                    .maximum(Some(MAX_OFFSET)),
            ),
        ]
    }
}

/// A payable by kind and id.
pub struct PayablePathParams;

impl IntoParams for PayablePathParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            parameter(
                "kind",
                ParameterIn::Path,
                true,
                "What is owed.",
                schema::one_of(&PayableKind::ALL.map(|k| k.as_str())),
            ),
            parameter(
                "id",
                ParameterIn::Path,
                true,
                "The payable's id in your system.",
                payable_id(),
            ),
        ]
    }
}

/// A registration named in the path.
pub struct RegistrationPath;

impl IntoParams for RegistrationPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![parameter(
            "registration_id",
            ParameterIn::Path,
            true,
            "The registration.",
            payable_id(),
        )]
    }
}

/// An order named in the path.
pub struct OrderPathParam;

impl IntoParams for OrderPathParam {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![parameter(
            "orderId",
            ParameterIn::Path,
            true,
            "The order.",
            payable_id(),
        )]
    }
}

/// A customer (a payer's user id) named in the path.
pub struct CustomerPath;

impl IntoParams for CustomerPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![parameter(
            "customerId",
            ParameterIn::Path,
            true,
            "The customer: the payer's user id (the token's subject).",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(UserId::PATTERN)),
        )]
    }
}

/// The events API's filters and page.
pub struct EventsQuery;

impl IntoParams for EventsQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            parameter(
                "type",
                ParameterIn::Query,
                false,
                "Only events of this type.",
                schema::one_of(&EventType::ALL.map(|t| t.as_str())),
            ),
            parameter(
                "object_id",
                ParameterIn::Query,
                false,
                "Only events about this object: an intent's or a payment's id, or a payable's `kind/id` (`order/ORD-1001`).",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(super::events::OBJECT_ID_PATTERN)),
            ),
            super::events::PAGE.parameter(),
            super::paging::next_cursor_parameter(),
        ]
    }
}
