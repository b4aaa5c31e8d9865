//! The API's limits: body size, each token's request rate, and how long a
//! run waits for a worker slot.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits of one API server.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body (default 1 MiB).
    pub body_bytes: usize,
    /// Requests per token per minute (default 600).
    pub requests_per_minute: u32,
    /// How long an invocation waits for a free worker before 503 (default 30 s).
    pub queue_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: 1 << 20,
            requests_per_minute: 600,
            queue_timeout: Duration::from_secs(30),
        }
    }
}

/// A fixed one-minute window per token.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub(crate) fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute: per_minute.max(1),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request of `token`; `Err(wait)` when it is over its limit.
    pub(crate) fn check(&self, token: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let (start, count) = windows.entry(token.to_string()).or_insert((now, 0));
        if now.duration_since(*start) >= Duration::from_secs(60) {
            *start = now;
            *count = 0;
        }
        if *count >= self.per_minute {
            return Err(Duration::from_secs(60).saturating_sub(now.duration_since(*start)));
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_over_its_rate_waits_and_others_do_not() {
        let r = RateLimiter::new(2);
        assert!(r.check("a").is_ok() && r.check("a").is_ok());
        assert!(r.check("a").unwrap_err() <= Duration::from_secs(60));
        assert!(r.check("b").is_ok());
    }
}
