//! Injected time.
//!
//! The engine never reads a clock (the crate's `clippy.toml` bans `Instant::now`). The driver
//! converts its monotonic clock into a [`Timestamp`] (time since the driver started) and passes
//! it to every `handle_*` call; tests pass a virtual clock. This makes every transition,
//! timeout and metric reproducible.

use std::ops::{Add, Sub};
use std::time::Duration;

/// A point on the driver's monotonic clock, measured from an arbitrary origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(Duration);

impl Timestamp {
    /// The origin of the clock.
    pub const ZERO: Timestamp = Timestamp(Duration::ZERO);

    /// A timestamp `elapsed` after the origin.
    pub const fn from_elapsed(elapsed: Duration) -> Self {
        Timestamp(elapsed)
    }

    /// A timestamp `ms` milliseconds after the origin (convenient for virtual clocks).
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(Duration::from_millis(ms))
    }

    /// Time since the origin.
    pub const fn elapsed(self) -> Duration {
        self.0
    }

    /// `self` plus `duration`, held at the end of time instead of overflowing (a deadline
    /// built from an app's `Duration::MAX` timeout simply never comes).
    pub fn saturating_add(self, duration: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(duration))
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, rhs: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(rhs))
    }
}

impl Sub<Timestamp> for Timestamp {
    type Output = Duration;
    fn sub(self, rhs: Timestamp) -> Duration {
        self.saturating_since(rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        let a = Timestamp::from_millis(100);
        let b = Timestamp::from_millis(250);
        assert_eq!(b - a, Duration::from_millis(150));
        assert_eq!(a - b, Duration::ZERO);
        assert_eq!(a + Duration::from_millis(50), Timestamp::from_millis(150));
        let end = Timestamp::from_elapsed(Duration::MAX);
        assert_eq!(b.saturating_add(Duration::MAX), end);
        assert_eq!(end + Duration::from_secs(1), end);
        assert_eq!(end.saturating_since(Timestamp::ZERO), Duration::MAX);
    }
}
