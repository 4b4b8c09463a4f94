//! Reading a request: the body into its documented wire type, then into
//! domain values, with every field problem reported at once (FastAPI-style
//! clients expect all of them in one answer).
//!
//! A wire request type is a plain `Deserialize + ToSchema` struct whose fields
//! are [`wire_field!`] types: each reads whatever JSON was sent without failing,
//! states in its schema the constraints its check enforces, and is checked when
//! the request becomes domain values. So the schema and the parser are one
//! definition and cannot drift apart.

use lambda_http::{Request, RequestExt};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::{ApiError, FieldError};
use crate::app::AppError;
use crate::domain::RequestKey;

/// The input an endpoint reads from its request.
pub trait FromRequest: Sized + Send {
    fn from_request(req: &Request) -> Result<Self, ApiError>;
}

/// An endpoint that reads nothing from the request.
impl FromRequest for () {
    fn from_request(_req: &Request) -> Result<Self, ApiError> {
        Ok(())
    }
}

/// Two inputs read from one request, such as the body and the Idempotency-Key.
impl<A: FromRequest, B: FromRequest> FromRequest for (A, B) {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        Ok((A::from_request(req)?, B::from_request(req)?))
    }
}

/// The Idempotency-Key the request was sent with (the pipeline has claimed it
/// and checked its length). An endpoint that creates something names it from
/// the key, in the caller's scope, so that no run of the request creates it twice.
pub struct SentIdempotencyKey(Option<String>);

impl SentIdempotencyKey {
    /// The key in `scope`, the caller's (see [`Authenticate::scope`](super::Authenticate::scope)).
    pub fn in_scope(&self, scope: &str) -> Option<RequestKey> {
        self.0.as_deref().map(|key| RequestKey::new(scope, key))
    }
}

impl FromRequest for SentIdempotencyKey {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        Ok(Self(
            // As the pipeline claimed it: blanks around a header's value are not part of it.
            super::header(req, "idempotency-key")
                .map(|key| key.trim_matches([' ', '\t']).to_owned()),
        ))
    }
}

/// Longest text any field takes: bounded so one request cannot fill an item.
pub const MAX_TEXT_CHARS: usize = 1000;

/// One value read from the request, or every problem found with it.
pub type Checked<T> = Result<T, Vec<FieldError>>;

pub fn problem<T>(loc: &[&str], msg: impl Into<String>, kind: &'static str) -> Checked<T> {
    Err(vec![FieldError::new(loc, msg, kind)])
}

/// Several checked values: all of them, or every problem of every one.
pub trait AllChecked: Sized {
    type Values;
    fn checked(self) -> Checked<Self::Values>;

    /// As a request's validation error.
    fn all(self) -> Result<Self::Values, ApiError> {
        self.checked().map_err(ApiError::Validation)
    }
}

macro_rules! all_checked {
    ($($name:ident),+) => {
        impl<$($name),+> AllChecked for ($(Checked<$name>,)+) {
            type Values = ($($name,)+);
            #[allow(non_snake_case)]
            fn checked(self) -> Checked<Self::Values> {
                let ($($name,)+) = self;
                match ($($name,)+) {
                    ($(Ok($name),)+) => Ok(($($name,)+)),
                    ($($name,)+) => {
                        let mut errors = Vec::new();
                        $(if let Err(e) = $name { errors.extend(e); })+
                        Err(errors)
                    }
                }
            }
        }
    };
}

all_checked!(A);
all_checked!(A, B);
all_checked!(A, B, C);
all_checked!(A, B, C, D);
all_checked!(A, B, C, D, E);
all_checked!(A, B, C, D, E, F);
all_checked!(A, B, C, D, E, F, G);
all_checked!(A, B, C, D, E, F, G, H);

/// The JSON object body as its wire type `W`.
pub fn json_body<W: for<'de> Deserialize<'de>>(req: &Request) -> Result<W, ApiError> {
    let bytes: &[u8] = req.body().as_ref();
    let invalid = |msg: &str, kind: &'static str| {
        ApiError::Validation(vec![FieldError::new(&["body"], msg, kind)])
    };
    let not_object = || {
        invalid(
            "Input should be a valid dictionary or object",
            "model_attributes_type",
        )
    };
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Err(invalid("Field required", "missing")),
        // Only an object; serde would also build a struct from an array.
        Some(b'{') => serde_json::from_slice(bytes).map_err(|e| {
            if e.is_data() {
                not_object()
            } else {
                invalid("JSON decode error", "json_invalid")
            }
        }),
        Some(_) => match serde_json::from_slice::<IgnoredAny>(bytes) {
            Ok(_) => Err(not_object()),
            Err(_) => Err(invalid("JSON decode error", "json_invalid")),
        },
    }
}

/// A body field as sent: absent (or `null`), or its JSON text, digits intact.
#[derive(Debug, Default)]
pub enum Sent {
    #[default]
    Absent,
    Json(Box<RawValue>),
}

impl<'de> Deserialize<'de> for Sent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<Box<RawValue>>::deserialize(d)?.map_or(Self::Absent, Self::Json))
    }
}

impl Sent {
    pub fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
    }

    /// The raw JSON text, when sent.
    pub fn raw(&self) -> Option<&str> {
        match self {
            Self::Absent => None,
            Self::Json(raw) => Some(raw.get()),
        }
    }

    /// A non-blank string, if sent.
    pub fn optional_text(&self, loc: &[&str]) -> Checked<Option<String>> {
        let Some(raw) = self.raw() else {
            return Ok(None);
        };
        match serde_json::from_str::<String>(raw) {
            Ok(s) if s.chars().count() > MAX_TEXT_CHARS => problem(
                loc,
                format!("String should have at most {MAX_TEXT_CHARS} characters"),
                "string_too_long",
            ),
            Ok(s) if !s.trim().is_empty() => Ok(Some(s)),
            Ok(_) => problem(
                loc,
                "String should have at least 1 character",
                "string_too_short",
            ),
            Err(_) => problem(loc, "Input should be a valid string", "string_type"),
        }
    }

    /// Any string, blank included, if sent.
    pub fn optional_string(&self, loc: &[&str]) -> Checked<Option<String>> {
        match self.raw().map(serde_json::from_str::<String>) {
            None => Ok(None),
            Some(Ok(s)) if s.chars().count() > MAX_TEXT_CHARS => problem(
                loc,
                format!("String should have at most {MAX_TEXT_CHARS} characters"),
                "string_too_long",
            ),
            Some(Ok(s)) => Ok(Some(s)),
            Some(Err(_)) => problem(loc, "Input should be a valid string", "string_type"),
        }
    }

    /// A non-blank string that must be sent.
    pub fn text(&self, loc: &[&str]) -> Checked<String> {
        self.optional_text(loc)?
            .map_or_else(|| problem(loc, "Field required", "missing"), Ok)
    }

    /// A value of its own shape (an array of line items, say), if sent.
    pub fn optional_json<T: for<'de> Deserialize<'de>>(
        &self,
        loc: &[&str],
        msg: &str,
    ) -> Checked<Option<T>> {
        match self.raw() {
            None => Ok(None),
            Some(raw) => serde_json::from_str(raw)
                .map(Some)
                .or_else(|_| problem(loc, msg, "value_error")),
        }
    }
}

/// A path parameter, as API Gateway matched it.
pub fn path_param(req: &Request, name: &str) -> String {
    req.path_parameters_ref()
        .and_then(|p| p.first(name))
        .unwrap_or_default()
        .to_owned()
}

/// An id read from the path or body as its domain type. One that cannot name
/// anything is answered as the API answers an id naming nothing of the
/// caller's (`names_nothing`), so a malformed id tells no more than an absent one.
pub fn named<T, E>(parsed: Result<T, E>, names_nothing: fn() -> AppError) -> Result<T, ApiError> {
    parsed.map_err(|_| names_nothing().into())
}

/// A query string parameter, if sent.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_owned)
}

/// The `cursor` of a paged list; an empty one is no cursor.
pub fn cursor(req: &Request) -> Option<String> {
    query_param(req, "cursor").filter(|c| !c.is_empty())
}

/// `limit` within 1..=max (default `default`).
pub fn limit(req: &Request, default: usize, max: usize) -> Checked<usize> {
    match query_param(req, "limit") {
        None => Ok(default),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => problem(
                &["query", "limit"],
                format!("limit must be an integer between 1 and {max}"),
                "value_error",
            ),
        },
    }
}

/// Declares a body field type: it reads any JSON (checked later, with every other
/// field) and documents, in `schema`, what its check accepts.
#[macro_export]
macro_rules! wire_field {
    ($(#[$doc:meta])* $name:ident, $schema:expr) => {
        $(#[$doc])*
        #[derive(Debug, Default, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $crate::http::Sent);

        impl std::ops::Deref for $name {
            type Target = $crate::http::Sent;
            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let schema: utoipa::openapi::schema::Schema = ($schema).into();
                schema.into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

/// Schema builders for the common field shapes.
pub mod schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};

    use super::MAX_TEXT_CHARS;

    /// A string with at least one non-blank character.
    pub fn text() -> ObjectBuilder {
        any_text().min_length(Some(1)).pattern(Some(r"\S"))
    }

    /// A string, possibly empty.
    pub fn any_text() -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(MAX_TEXT_CHARS))
    }

    /// A value matching any of `schemas`.
    pub fn any_of<const N: usize>(
        schemas: [utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>; N],
    ) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let mut any = utoipa::openapi::schema::AnyOfBuilder::new();
        for schema in schemas {
            any = any.item(schema);
        }
        utoipa::openapi::schema::Schema::AnyOf(any.build()).into()
    }

    /// A string of exactly these values.
    pub fn one_of(values: &[&str]) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values.iter().copied()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;

    wire_field!(
        /// A test field.
        Name,
        schema::text()
    );

    #[derive(Deserialize)]
    struct Wire {
        #[serde(default)]
        name: Name,
        #[serde(default)]
        other: Name,
    }

    fn request(body: &str) -> Request {
        lambda_http::http::Request::builder()
            .body(Body::Text(body.into()))
            .expect("request")
    }

    fn kinds(e: ApiError) -> Vec<(String, &'static str)> {
        match e {
            ApiError::Validation(errors) => errors.iter().map(|e| (e.field(), e.kind)).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn every_field_problem_is_reported_at_once() {
        let wire: Wire = json_body(&request(r#"{"name": 5, "other": null}"#)).expect("object");
        let checked = (
            wire.name.text(&["body", "name"]),
            wire.other.text(&["body", "other"]),
        );
        let errors = kinds(checked.all().expect_err("both fail"));
        assert_eq!(
            errors,
            vec![("name".into(), "string_type"), ("other".into(), "missing")]
        );
    }

    #[test]
    fn the_body_must_be_a_json_object() {
        for (body, kind) in [
            ("", "missing"),
            ("[1]", "model_attributes_type"),
            ("\"x\"", "model_attributes_type"),
            ("{", "json_invalid"),
            ("nope", "json_invalid"),
        ] {
            let e = json_body::<Wire>(&request(body)).err().expect(body);
            assert_eq!(kinds(e), vec![("body".into(), kind)], "{body}");
        }
    }

    #[test]
    fn text_is_bounded() {
        let long = "é".repeat(MAX_TEXT_CHARS + 1);
        let wire: Wire = json_body(&request(&format!(
            r#"{{"name": "{long}", "other": "{}"}}"#,
            &long[2..]
        )))
        .expect("object");
        let e = wire.name.text(&["body", "name"]).expect_err("too long");
        assert_eq!(e[0].kind, "string_too_long");
        assert_eq!(
            wire.other
                .text(&["body", "other"])
                .expect("at the limit")
                .chars()
                .count(),
            MAX_TEXT_CHARS
        );
        assert!(wire.name.optional_string(&["body", "name"]).is_err());
    }

    #[test]
    fn raw_numbers_keep_their_digits() {
        let wire: Wire = json_body(&request(r#"{"name": 10.0000000000000001}"#)).expect("object");
        assert_eq!(wire.name.raw(), Some("10.0000000000000001"));
        assert!(wire.other.is_absent());
    }
}
