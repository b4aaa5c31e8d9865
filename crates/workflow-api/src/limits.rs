//! The API's limits: body size, each token's request rate, failed
//! authentications per client address, connections and their timeouts, and
//! how long a run waits for a worker slot.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
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
    /// Failed authentications per client address per minute before that
    /// address is answered 429 without a token check (default 30).
    pub failed_auth_per_minute: u32,
    /// Connections served at once (default 512); never more than half of
    /// the process's descriptor limit leaves.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers (default 10 s).
    pub header_read_timeout: Duration,
    /// How long a client may take to send a request's body (default 30 s).
    pub body_read_timeout: Duration,
    /// How long a connection may wait between requests (default 60 s).
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: 1 << 20,
            requests_per_minute: 600,
            queue_timeout: Duration::from_secs(30),
            failed_auth_per_minute: 30,
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
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

/// Failed authentications per client address, in a fixed one-minute window.
/// Its memory is bounded by the number of addresses seen in a minute (and
/// cleared beyond a cap), never by the number of requests; tokens that were
/// once accepted are remembered so that their callers are not refused with
/// the rest of their address.
#[derive(Debug)]
pub(crate) struct FailedAuth {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    accepted: Mutex<HashSet<String>>,
}

/// Addresses tracked at once before the expired ones are dropped.
const ADDRESSES: usize = 10_000;

impl FailedAuth {
    pub(crate) fn new(per_minute: u32) -> Self {
        FailedAuth {
            per_minute: per_minute.max(1),
            windows: Mutex::new(HashMap::new()),
            accepted: Mutex::new(HashSet::new()),
        }
    }

    /// `Some(wait)` when `address` failed too often this minute and `presented`
    /// is not a token accepted before: the request is refused unchecked.
    pub(crate) fn refuses(&self, address: IpAddr, presented: &str) -> Option<Duration> {
        let windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let (start, count) = windows.get(&address)?;
        let elapsed = start.elapsed();
        if elapsed >= Duration::from_secs(60) || *count < self.per_minute {
            return None;
        }
        drop(windows);
        if self
            .accepted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(presented)
        {
            return None;
        }
        Some(Duration::from_secs(60).saturating_sub(elapsed))
    }

    pub(crate) fn failed(&self, address: IpAddr) {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= ADDRESSES && !windows.contains_key(&address) {
            windows.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
            if windows.len() >= ADDRESSES {
                windows.clear();
            }
        }
        let (start, count) = windows.entry(address).or_insert((now, 0));
        if now.duration_since(*start) >= Duration::from_secs(60) {
            *start = now;
            *count = 0;
        }
        *count = count.saturating_add(1);
    }

    /// Remembers a token the engine accepted (bounded by the tokens that exist).
    pub(crate) fn accepted(&self, token: &str) {
        let mut accepted = self.accepted.lock().unwrap_or_else(|p| p.into_inner());
        if accepted.len() >= ADDRESSES {
            accepted.clear();
        }
        accepted.insert(token.to_string());
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

    #[test]
    fn an_address_that_fails_too_often_is_refused_but_known_tokens_and_other_addresses_are_not() {
        let f = FailedAuth::new(3);
        let (noisy, quiet): (IpAddr, IpAddr) = ("127.0.0.2".parse().unwrap(), "127.0.0.1".parse().unwrap());
        f.accepted("pvo_good");
        for _ in 0..2 {
            f.failed(noisy);
        }
        assert_eq!(f.refuses(noisy, "pvo_bad"), None, "below the limit");
        f.failed(noisy);
        assert!(f.refuses(noisy, "pvo_bad").unwrap() <= Duration::from_secs(60));
        assert_eq!(f.refuses(noisy, "pvo_good"), None);
        assert_eq!(f.refuses(quiet, "pvo_bad"), None);
    }
}
