//! What every storage port shares: its errors, the expected state of a
//! conditional write, and a page of a list.

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
