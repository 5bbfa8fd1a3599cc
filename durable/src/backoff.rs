//! Exponential retry delays.

use std::time::Duration;

/// Doubling delays between retries, from `min` up to `max`; [`Backoff::reset`]
/// after a success starts again at `min`.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Starts at `min` and never waits longer than `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        let max = max.max(min);
        Backoff {
            min,
            max,
            next: min,
        }
    }

    /// The delay to wait now; the next one is twice as long, up to `max`.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }

    /// The delay [`Backoff::next_delay`] would give, without moving on.
    pub fn peek(&self) -> Duration {
        self.next
    }

    /// After a success: the next failure waits `min` again.
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(5), Duration::from_millis(30));
        let delays: Vec<u128> = (0..5).map(|_| backoff.next_delay().as_millis()).collect();
        assert_eq!(delays, [5, 10, 20, 30, 30]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(5));
        // A cap below the start is raised to it.
        let mut odd = Backoff::new(Duration::from_secs(2), Duration::from_secs(1));
        assert_eq!(odd.next_delay(), Duration::from_secs(2));
        assert_eq!(odd.next_delay(), Duration::from_secs(2));
    }
}
