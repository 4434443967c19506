//! When to try again after a lost connection, and when to recycle a healthy one.
//!
//! Policy, written out:
//! - Attempt `n` (1-based) waits `min(max_delay, initial_delay * multiplier^(n-1))`, then
//!   "full jitter" scales it by a factor drawn uniformly from `[1 - jitter, 1]`, so many clients
//!   that lost the same server do not come back in lock-step.
//! - A rate-limit failure with a `Retry-After` never waits less than that.
//! - After `max_attempts` failed attempts in a row the session fails; a successful
//!   connection resets the counter.
//! - A live session is recycled (fresh token, new connection, config and history re-sent)
//!   `recycle_after` after it went live, before the server's maximum session duration
//!   (60 min on OpenAI) cuts it. A recycle waits for the current response to finish, up to
//!   `recycle_grace`.
//!
//! Jitter comes from a small seeded generator, so tests are reproducible and the core needs
//! no source of randomness.

use std::time::Duration;

/// Retry and recycle settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectPolicy {
    /// Whether lost connections are retried at all.
    pub enabled: bool,
    /// Delay before the first retry.
    pub initial_delay: Duration,
    /// Upper bound of any delay.
    pub max_delay: Duration,
    /// Growth factor between attempts.
    pub multiplier: f64,
    /// Fraction of the delay that is randomised (0 = none, 1 = full jitter).
    pub jitter: f64,
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// Recycle the connection this long after it went live (`None` = never).
    pub recycle_after: Option<Duration>,
    /// How long a recycle may wait for an active response to finish.
    pub recycle_grace: Duration,
    /// How long one connection attempt (token, connect, configure) may take.
    pub connect_timeout: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            enabled: true,
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(15),
            multiplier: 2.0,
            jitter: 0.5,
            max_attempts: 8,
            recycle_after: Some(Duration::from_secs(55 * 60)),
            recycle_grace: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(15),
        }
    }
}

impl ReconnectPolicy {
    /// A policy that never retries (failures end the session).
    pub fn disabled() -> Self {
        ReconnectPolicy {
            enabled: false,
            ..ReconnectPolicy::default()
        }
    }

    /// Whether another attempt is allowed after `failed_attempts` consecutive failures.
    pub fn allows_attempt(&self, attempt: u32) -> bool {
        self.enabled && attempt >= 1 && attempt <= self.max_attempts
    }

    /// The delay before attempt `attempt` (1-based) before jitter.
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(63);
        let factor = self
            .multiplier
            .max(1.0)
            .powi(i32::try_from(exponent).unwrap_or(i32::MAX));
        let secs = self.initial_delay.as_secs_f64() * factor;
        let capped = secs.min(self.max_delay.as_secs_f64());
        Duration::try_from_secs_f64(capped).unwrap_or(self.max_delay)
    }

    /// The delay before attempt `attempt`, jittered with `rng` and never below `floor`.
    pub fn delay(&self, attempt: u32, rng: &mut JitterRng, floor: Option<Duration>) -> Duration {
        let base = self.base_delay(attempt);
        let jitter = self.jitter.clamp(0.0, 1.0);
        let scale = 1.0 - jitter * rng.next_unit();
        let jittered = Duration::try_from_secs_f64(base.as_secs_f64() * scale).unwrap_or(base);
        match floor {
            Some(floor) if floor > jittered => floor,
            _ => jittered,
        }
    }
}

/// A small deterministic pseudo-random generator (xorshift64*) for back-off jitter.
#[derive(Debug, Clone)]
pub struct JitterRng(u64);

impl JitterRng {
    /// A generator from `seed` (any value; zero is remapped).
    pub fn new(seed: u64) -> Self {
        JitterRng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// A number in `[0, 1)`.
    pub fn next_unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        let v = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        // 53 significant bits -> [0, 1)
        (v as f64) / ((1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn base_delay_grows_and_caps() {
        let p = ReconnectPolicy {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            multiplier: 2.0,
            ..ReconnectPolicy::default()
        };
        let ms: Vec<u128> = (1..=6).map(|a| p.base_delay(a).as_millis()).collect();
        assert_eq!(ms, vec![100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn attempts_are_bounded() {
        let p = ReconnectPolicy {
            max_attempts: 3,
            ..ReconnectPolicy::default()
        };
        assert!(p.allows_attempt(1));
        assert!(p.allows_attempt(3));
        assert!(!p.allows_attempt(4));
        assert!(!ReconnectPolicy::disabled().allows_attempt(1));
    }

    #[test]
    fn retry_after_is_a_floor() {
        let p = ReconnectPolicy::default();
        let mut rng = JitterRng::new(7);
        let d = p.delay(1, &mut rng, Some(Duration::from_secs(3)));
        assert_eq!(d, Duration::from_secs(3));
    }

    #[test]
    fn same_seed_same_delays() {
        let p = ReconnectPolicy::default();
        let mut a = JitterRng::new(42);
        let mut b = JitterRng::new(42);
        for attempt in 1..6 {
            assert_eq!(
                p.delay(attempt, &mut a, None),
                p.delay(attempt, &mut b, None)
            );
        }
    }

    #[test]
    fn absurd_settings_give_a_bounded_delay_without_panicking() {
        let mut rng = JitterRng::new(1);
        for multiplier in [f64::NAN, f64::INFINITY, -3.0, 0.0, f64::MAX] {
            for jitter in [f64::NAN, f64::INFINITY, -1.0, 2.0] {
                for initial_delay in [Duration::ZERO, Duration::MAX] {
                    let p = ReconnectPolicy {
                        multiplier,
                        jitter,
                        initial_delay,
                        max_delay: Duration::from_secs(10),
                        ..ReconnectPolicy::default()
                    };
                    for attempt in [0, 1, 64, u32::MAX] {
                        let d = p.delay(attempt, &mut rng, None);
                        assert!(d <= Duration::from_secs(10), "{multiplier} {jitter} {d:?}");
                        assert_eq!(
                            p.delay(attempt, &mut rng, Some(Duration::MAX)),
                            Duration::MAX
                        );
                    }
                }
            }
        }
        let unbounded = ReconnectPolicy {
            initial_delay: Duration::MAX,
            max_delay: Duration::MAX,
            multiplier: f64::INFINITY,
            ..ReconnectPolicy::default()
        };
        assert_eq!(unbounded.base_delay(u32::MAX), Duration::MAX);
        assert!(unbounded.allows_attempt(unbounded.max_attempts));
    }

    proptest! {
        #[test]
        fn jittered_delay_stays_within_bounds(seed in any::<u64>(), attempt in 1u32..40, jitter in 0.0f64..=1.0) {
            let p = ReconnectPolicy { jitter, ..ReconnectPolicy::default() };
            let mut rng = JitterRng::new(seed);
            let base = p.base_delay(attempt);
            let d = p.delay(attempt, &mut rng, None);
            prop_assert!(d <= base);
            prop_assert!(d.as_secs_f64() >= base.as_secs_f64() * (1.0 - jitter) - 1e-9);
            prop_assert!(base <= p.max_delay);
        }
    }
}
