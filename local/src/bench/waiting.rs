//! How long a request waited on the services it called, and where the rest
//! (our time) went. Calls may overlap (the 8 shard Queries of a list run in
//! parallel), so waiting is the length of the union of their intervals,
//! not their sum; only what lies inside the request's window counts.

use std::time::{Duration, Instant};

/// One request's window split into waiting and our own time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Waited {
    /// The union of the calls' intervals inside the window.
    pub waiting: Duration,
    /// Our time before the first call started (or the whole window without calls).
    pub before_first: Duration,
    /// Our time after the last call ended.
    pub after_last: Duration,
    /// Our time in the gaps between calls.
    pub between: Duration,
}

impl Waited {
    /// The window less the waiting: what our code (and the runtime) took.
    pub fn ours(&self) -> Duration {
        self.before_first + self.between + self.after_last
    }
}

/// Splits `window` (start, end) by `calls` ((start, end) each, in any order).
pub fn waited(window: (Instant, Instant), calls: &[(Instant, Instant)]) -> Waited {
    let (from, to) = window;
    let mut spans: Vec<(Instant, Instant)> = calls
        .iter()
        .map(|&(s, e)| (s.clamp(from, to), e.clamp(from, to)))
        .filter(|(s, e)| s < e)
        .collect();
    spans.sort();
    let mut merged: Vec<(Instant, Instant)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let (Some(first), Some(last)) = (merged.first(), merged.last()) else {
        return Waited {
            before_first: to.saturating_duration_since(from),
            ..Waited::default()
        };
    };
    let waiting: Duration = merged.iter().map(|(s, e)| *e - *s).sum();
    let before_first = first.0 - from;
    let after_last = to - last.1;
    let between = merged.windows(2).map(|w| w[1].0 - w[0].1).sum();
    Waited {
        waiting,
        before_first,
        after_last,
        between,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    #[test]
    fn overlapping_calls_are_waited_on_once() {
        let t = Instant::now();
        // Two parallel calls 2–6 and 3–8, then one 10–11, in a window 0–12.
        let calls = [
            (at(t, 3), at(t, 8)),
            (at(t, 10), at(t, 11)),
            (at(t, 2), at(t, 6)),
        ];
        let w = waited((t, at(t, 12)), &calls);
        assert_eq!(w.waiting, Duration::from_millis(7));
        assert_eq!(w.before_first, Duration::from_millis(2));
        assert_eq!(w.between, Duration::from_millis(2));
        assert_eq!(w.after_last, Duration::from_millis(1));
        assert_eq!(w.ours(), Duration::from_millis(5));
    }

    #[test]
    fn only_the_window_counts() {
        let t = Instant::now();
        // One call before the window (init's), one across its start, one
        // across its end, one after it.
        let calls = [
            (at(t, 0), at(t, 1)),
            (at(t, 4), at(t, 6)),
            (at(t, 9), at(t, 15)),
            (at(t, 20), at(t, 21)),
        ];
        let w = waited((at(t, 5), at(t, 10)), &calls);
        assert_eq!(w.waiting, Duration::from_millis(2));
        assert_eq!(w.before_first, Duration::ZERO);
        assert_eq!(w.between, Duration::from_millis(3));
        assert_eq!(w.after_last, Duration::ZERO);
    }

    #[test]
    fn touching_calls_merge_and_no_calls_is_all_ours() {
        let t = Instant::now();
        let calls = [(at(t, 1), at(t, 3)), (at(t, 3), at(t, 4))];
        let w = waited((t, at(t, 5)), &calls);
        assert_eq!(w.waiting, Duration::from_millis(3));
        assert_eq!(w.between, Duration::ZERO);
        let none = waited((t, at(t, 5)), &[]);
        assert_eq!(none.waiting, Duration::ZERO);
        assert_eq!(none.ours(), Duration::from_millis(5));
    }
}
