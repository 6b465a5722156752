//! Token-bucket rate limits keyed by a string (a device certificate id, a client address),
//! in memory (per process: see docs/API.md on multi-instance deployments).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use super::ApiError;

/// Buckets beyond this many are dropped wholesale (bounded memory under a flood of keys).
const MAX_BUCKETS: usize = 100_000;

/// A token bucket per key.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_second` sustained requests per key with bursts of up to `burst`.
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self::with_rate(f64::from(per_second), burst)
    }

    /// At most `count` requests per key in any `period` (a bucket of `count` tokens
    /// refilled evenly over `period`).
    pub fn per_period(count: u32, period: Duration) -> Self {
        let secs = period.as_secs_f64().max(1.0);
        Self::with_rate(f64::from(count) / secs, count)
    }

    fn with_rate(per_second: f64, burst: u32) -> Self {
        Self {
            per_second,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`, or says how many whole seconds to wait.
    pub fn take(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            buckets.clear();
        }
        let (tokens, last) = buckets.entry(key.to_owned()).or_insert((self.burst, now));
        let refill = now.duration_since(*last).as_secs_f64() * self.per_second;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return Ok(());
        }
        let wait = if self.per_second > 0.0 {
            ((1.0 - *tokens) / self.per_second).ceil().max(1.0)
        } else {
            3600.0
        };
        // Saturating float-to-int conversion; `wait` is positive and finite.
        Err(wait as u64)
    }

    /// Takes one token for device `key`, or answers 429 with `Retry-After`.
    pub fn check(&self, key: &str) -> Result<(), ApiError> {
        self.take(key).map_err(|wait| {
            too_many(
                format!("too many requests for device {key}; retry in {wait} s"),
                wait,
            )
        })
    }
}

/// A `429 rate_limited` error with `Retry-After: wait`.
pub fn too_many(message: String, wait: u64) -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message).retry_after(wait)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refuses() {
        let l = RateLimiter::new(0, 3);
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_err());
        assert!(l.check("b").is_ok(), "per key");
    }

    #[test]
    fn per_period_says_when_to_retry() {
        let l = RateLimiter::per_period(2, Duration::from_secs(3600));
        assert!(l.take("x").is_ok());
        assert!(l.take("x").is_ok());
        let wait = l.take("x").unwrap_err();
        assert!((1_700..=1_800).contains(&wait), "{wait}");
    }
}
