//! Optimistic writes. Each attempt reads what it changes, decides on it and
//! writes conditionally on what it read; an attempt that lost a race (someone
//! wrote first) is decided again on what they stored. A write that keeps
//! losing answers `Conflict` (409: the caller may send it again).
//!
//! Every such loop counts its attempts here:
//!
//! ```ignore
//! let mut attempts = Attempts::new();
//! loop {
//!     attempts.next()?; // `Conflict` once they are spent
//!     // read, decide, write; `continue` on a lost race
//! }
//! ```

use super::AppError;
use crate::ports::StoreError;

/// Lost races are retried this often before answering 409.
const MAX_RETRIES: u32 = 5;

/// The attempts of one optimistic write.
#[derive(Debug)]
pub(crate) struct Attempts {
    made: u32,
    limit: u32,
}

impl Attempts {
    pub(crate) fn new() -> Self {
        Self::with_extra(0)
    }

    /// `extra` more, for a caller that also waits between attempts on the
    /// outcome of others' (a lost race it does not count as one).
    pub(crate) fn with_extra(extra: u32) -> Self {
        Self {
            made: 0,
            limit: MAX_RETRIES + extra,
        }
    }

    /// Starts the next attempt and says which it is (1 for the first); once
    /// every attempt is spent the race is lost: `Conflict`.
    pub(crate) fn next(&mut self) -> Result<u32, AppError> {
        if self.made == self.limit {
            return Err(StoreError::Conflict.into());
        }
        self.made += 1;
        Ok(self.made)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_attempts_then_the_race_is_lost() {
        let mut attempts = Attempts::new();
        for n in 1..=5 {
            assert_eq!(attempts.next().expect("an attempt left"), n);
        }
        assert!(matches!(
            attempts.next(),
            Err(AppError::Store(StoreError::Conflict))
        ));
        let mut more = Attempts::with_extra(2);
        assert_eq!((0..7).filter(|_| more.next().is_ok()).count(), 7);
        assert!(more.next().is_err());
    }
}
