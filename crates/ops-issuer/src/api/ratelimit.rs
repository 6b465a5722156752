//! Token-bucket rate limits keyed by a string (a device certificate id, a client address),
//! in memory (per process: see docs/API.md on multi-instance deployments).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use super::ApiError;

/// Most buckets held at once (bounded memory under a flood of keys). A limiter that holds
/// this many evicts idle buckets (full again: forgetting them changes nothing), then the
/// least recently used, down to three quarters; it never resets everyone.
pub const MAX_BUCKETS: usize = 100_000;

/// One key's bucket: tokens left at `last`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// A token bucket per key.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    capacity: usize,
    buckets: Mutex<HashMap<String, Bucket>>,
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
            capacity: MAX_BUCKETS,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The same limiter holding at most `capacity` buckets (at least 4).
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(4);
        self
    }

    /// How many keys hold a bucket now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no key holds a bucket.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bucket>> {
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Tokens of `bucket` at `now` (refilled, at most `burst`).
    fn tokens_at(&self, bucket: &Bucket, now: Instant) -> f64 {
        let refill = now.duration_since(bucket.last).as_secs_f64() * self.per_second;
        (bucket.tokens + refill).min(self.burst)
    }

    /// Whole seconds until a bucket with `tokens` holds one token again.
    fn wait(&self, tokens: f64) -> u64 {
        let wait = if self.per_second > 0.0 {
            ((1.0 - tokens) / self.per_second).ceil().max(1.0)
        } else {
            3600.0
        };
        // Saturating float-to-int conversion; `wait` is positive and finite.
        wait as u64
    }

    /// Makes room in a full map: drops the buckets that are full again (idle: a new
    /// bucket would start full too), then, if that freed less than a quarter, the least
    /// recently used ones down to three quarters of the capacity. Amortised O(1) per new
    /// key: after an eviction at least a quarter of the capacity is free.
    fn evict(&self, buckets: &mut HashMap<String, Bucket>, now: Instant) {
        buckets.retain(|_, b| self.tokens_at(b, now) < self.burst);
        let keep = self.capacity / 4 * 3;
        if buckets.len() <= keep {
            return;
        }
        let mut by_age: Vec<(Instant, String)> =
            buckets.iter().map(|(k, b)| (b.last, k.clone())).collect();
        let drop = by_age.len() - keep;
        by_age.select_nth_unstable_by_key(drop - 1, |(last, _)| *last);
        for (_, key) in by_age.into_iter().take(drop) {
            buckets.remove(&key);
        }
    }

    /// Takes one token for `key`, or says how many whole seconds to wait.
    pub fn take(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self.lock();
        if buckets.len() >= self.capacity && !buckets.contains_key(key) {
            self.evict(&mut buckets, now);
        }
        let burst = self.burst;
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let tokens = self.tokens_at(bucket, now);
        bucket.last = now;
        if tokens >= 1.0 {
            bucket.tokens = tokens - 1.0;
            return Ok(());
        }
        bucket.tokens = tokens;
        Err(self.wait(tokens))
    }

    /// Whether `key` holds a token now, without taking it: `Err(wait)` when its bucket
    /// is empty (how many whole seconds until it holds one).
    pub fn peek(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        match self.lock().get(key) {
            Some(b) => {
                let tokens = self.tokens_at(b, now);
                if tokens >= 1.0 {
                    Ok(())
                } else {
                    Err(self.wait(tokens))
                }
            }
            None => Ok(()),
        }
    }

    /// Takes one token for device `key`, or answers 429 with `Retry-After`. Call it only
    /// once the request has proven it acts for the device (after authentication): device
    /// ids are public, so charging the bucket earlier lets anyone lock a device out.
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
    #[test]
    fn an_active_bucket_survives_a_flood_of_new_keys() {
        // Rate 0: a drained bucket never refills, so only eviction could reset it.
        let l = RateLimiter::new(0, 3).with_capacity(100);
        for _ in 0..3 {
            assert!(l.take("victim").is_ok());
        }
        assert!(l.take("victim").is_err(), "drained");
        for i in 0..10_000 {
            let _ = l.take(&format!("flood-{i}"));
            if i % 20 == 0 {
                // The victim keeps asking: an active bucket, never forgotten nor refilled.
                assert!(l.take("victim").is_err(), "reset after {i} new keys");
            }
            assert!(l.len() <= 100, "bounded: {}", l.len());
        }
        assert!(l.take("victim").is_err());
    }

    #[test]
    fn idle_buckets_are_evicted_before_used_ones() {
        // One token a second, bursts of two.
        let l = RateLimiter::new(1, 2).with_capacity(8);
        // The least recently used key, drained: it needs two seconds to be full again.
        assert!(l.take("victim").is_ok());
        assert!(l.take("victim").is_ok());
        for i in 0..7 {
            assert!(l.take(&format!("k{i}")).is_ok());
        }
        // After 1.2 s the others are full again (idle), the victim is not.
        std::thread::sleep(Duration::from_millis(1_200));
        assert!(l.take("new").is_ok());
        assert_eq!(l.len(), 2, "the idle buckets went, the victim's stayed");
        // The victim kept its state (1.2 tokens): one request, not a fresh burst of two.
        assert!(l.take("victim").is_ok());
        assert!(l.take("victim").is_err());
    }

    #[test]
    fn peek_does_not_take() {
        let l = RateLimiter::new(0, 1);
        assert!(l.peek("a").is_ok());
        assert!(l.peek("a").is_ok());
        assert!(l.take("a").is_ok());
        assert!(l.peek("a").is_err());
    }
}
