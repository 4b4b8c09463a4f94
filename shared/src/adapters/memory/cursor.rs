//! Opaque pagination tokens: the list they belong to and the last sort key
//! returned, as JSON sealed with the cursor key.

use serde::{Deserialize, Serialize};

use crate::adapters::cursor_key::CursorKey;
use crate::ports::{Page, PageRequest, StoreError};

#[derive(Serialize, Deserialize)]
struct Token {
    list: String,
    after: String,
}

fn encode(sealer: &CursorKey, list: &str, after: &str) -> String {
    let token = Token {
        list: list.to_owned(),
        after: after.to_owned(),
    };
    // A struct of two strings always serializes.
    sealer.seal(&serde_json::to_vec(&token).unwrap_or_default())
}

/// Accepts only a token for the list being read: a token cannot open another one.
fn decode(sealer: &CursorKey, token: &str, list: &str) -> Result<String, StoreError> {
    let bytes = sealer.open(token)?;
    let token: Token = serde_json::from_slice(&bytes).map_err(|_| StoreError::BadCursor)?;
    if token.list != list {
        return Err(StoreError::BadCursor);
    }
    Ok(token.after)
}

/// The `request`ed page of `items` (any order) newest first by `sort_key`.
pub fn page<T>(
    sealer: &CursorKey,
    mut items: Vec<T>,
    sort_key: impl Fn(&T) -> String,
    list: &str,
    request: &PageRequest,
) -> Result<Page<T>, StoreError> {
    let limit = request.limit;
    let after = request
        .cursor()
        .map(|c| decode(sealer, c, list))
        .transpose()?;
    items.sort_by_key(|item| std::cmp::Reverse(sort_key(item)));
    let mut rest: Vec<T> = items
        .into_iter()
        .filter(|item| after.as_ref().is_none_or(|a| sort_key(item) < *a))
        .collect();
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next = if more {
        rest.last()
            .map(|last| encode(sealer, list, &sort_key(last)))
    } else {
        None
    };
    Ok(Page { items: rest, next })
}
