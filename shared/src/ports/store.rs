//! What every storage port shares: its errors, the expected state of a
//! conditional write, and a page of a list with the request that chose it.

use crate::domain::{IntentStatus, PaymentIntent};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost: someone changed the item first.
    #[error("the item changed concurrently")]
    Conflict,
    #[error("invalid pagination cursor")]
    BadCursor,
    #[error("stored item is corrupt: {0}")]
    Corrupt(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// The state a write expects to replace: both must still hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub status: IntentStatus,
    pub version: u64,
}

impl Expected {
    pub fn of(intent: &PaymentIntent) -> Self {
        Self {
            status: intent.status(),
            version: intent.version(),
        }
    }
}

/// Which page of a list to read: every list is read newest first, so the
/// first page holds the newest items and a page's `next` asks for the ones
/// older than it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// How many items, at most.
    pub limit: usize,
    /// Where the previous page ended (its `next`); none for the first page.
    pub cursor: Option<String>,
}

impl PageRequest {
    /// The newest `limit` items.
    pub fn first(limit: usize) -> Self {
        Self {
            limit,
            cursor: None,
        }
    }

    /// `limit` items after where a previous page ended.
    pub fn after(limit: usize, cursor: impl Into<String>) -> Self {
        Self {
            limit,
            cursor: Some(cursor.into()),
        }
    }

    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque; pass back to get the next page.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// The same page, each item turned into another; the first that cannot
    /// be is the answer.
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_, _>>()?,
            next: self.next,
        })
    }
}
