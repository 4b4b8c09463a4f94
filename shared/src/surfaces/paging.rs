//! What the paged lists share: how many items a page holds, the `limit` and
//! `cursor` query parameters that choose a page, and the two ways a page is
//! sent: a JSON array with the next cursor in `X-Next-Cursor`, or the
//! `{data, has_more, next_cursor}` envelope.

use lambda_http::{Body, Request, Response};
use serde::Serialize;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};

use super::params::parameter;
use crate::http::{Checked, cursor, json_page, limit};
use crate::ports::{Page, PageRequest};

/// How many items a page holds when the caller sends no `limit`, and the
/// most it may ask for. Each API keeps its own.
#[derive(Debug, Clone, Copy)]
pub struct PageSize {
    pub default: usize,
    pub max: usize,
}

impl PageSize {
    pub const fn new(default: usize, max: usize) -> Self {
        Self { default, max }
    }

    /// The `limit` the caller sent, or the default; 400 outside `1..=max`.
    pub fn of(self, req: &Request) -> Checked<usize> {
        limit(req, self.default, self.max)
    }

    /// The page the caller asks for: its `limit` (400 outside `1..=max`)
    /// and the `cursor` it starts after.
    pub fn paging(self, req: &Request) -> Checked<PageRequest> {
        Ok(PageRequest {
            limit: self.of(req)?,
            cursor: cursor(req),
        })
    }

    /// The documented `limit` query parameter.
    pub fn parameter(self) -> Parameter {
        parameter(
            "limit",
            ParameterIn::Query,
            false,
            &format!(
                "How many, newest first: 1-{}, default {}.",
                self.max, self.default
            ),
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(self.max)),
        )
    }
}

/// A store's page as a JSON array of `V`s, the next page's cursor (if any)
/// in `X-Next-Cursor`.
pub fn json_array<V, T>(page: Page<T>) -> Response<Body>
where
    V: Serialize + for<'a> From<&'a T>,
{
    let items: Vec<V> = page.items.iter().map(V::from).collect();
    json_page(&items, page.next)
}

/// The documented `cursor` query parameter of a list that answers with
/// `next_cursor` in its body.
pub fn next_cursor_parameter() -> Parameter {
    parameter(
        "cursor",
        ParameterIn::Query,
        false,
        "`next_cursor` of the previous page.",
        ObjectBuilder::new().schema_type(Type::String),
    )
}

/// Declares a cursor-paged list of `$item`s, `{data, has_more, next_cursor}`,
/// and how a store's page becomes one.
#[macro_export]
macro_rules! cursor_list {
    ($(#[$doc:meta])* $name:ident of $item:ty) => {
        $(#[$doc])*
        #[derive(serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub data: Vec<$item>,
            /// Whether another page follows.
            pub has_more: bool,
            /// The next page's `cursor`; null on the last page.
            pub next_cursor: Option<String>,
        }

        impl $name {
            /// The store's page, each item as the list shows it.
            pub fn of<T>(page: $crate::ports::Page<T>) -> Self
            where
                $item: for<'a> From<&'a T>,
            {
                Self {
                    data: page.items.iter().map(<$item>::from).collect(),
                    has_more: page.next.is_some(),
                    next_cursor: page.next,
                }
            }
        }
    };
}
