//! Abuse limits on the open endpoints: the demo sign-up (per client address, and a global
//! cap per hour and per day), account reads and WebAuthn challenges (registration and
//! login; each writes a database row) per client address, and requests that fail
//! authentication per client address (before the per-device limits, which only
//! authenticated requests are charged). In memory, per process.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::ApiError;
use super::ratelimit::{RateLimiter, too_many};

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Largest configurable global cap (bounds the memory of the sliding window).
pub const MAX_CAP: u32 = 1_000_000;

/// The configured limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbuseLimits {
    /// Sign-ups per client address per hour.
    pub signups_per_address_per_hour: u32,
    /// Sign-ups per hour, all clients together.
    pub signups_per_hour: u32,
    /// Sign-ups per day, all clients together.
    pub signups_per_day: u32,
    /// Account reads per client address per minute.
    pub reads_per_address_per_minute: u32,
    /// WebAuthn registration and login challenges per client address per minute.
    pub challenges_per_address_per_minute: u32,
    /// Requests to device endpoints (fund, deposits) that fail authentication, per client
    /// address per minute; beyond, the address is refused before its credentials are
    /// looked at.
    pub auth_failures_per_address_per_minute: u32,
}

impl Default for AbuseLimits {
    fn default() -> Self {
        Self {
            signups_per_address_per_hour: 10,
            signups_per_hour: 1_000,
            signups_per_day: 10_000,
            reads_per_address_per_minute: 600,
            challenges_per_address_per_minute: 30,
            auth_failures_per_address_per_minute: 60,
        }
    }
}

/// The limiters behind [`AbuseLimits`].
#[derive(Debug)]
pub struct AbuseGuard {
    signup_per_address: RateLimiter,
    signups: Mutex<SlidingCap>,
    reads_per_address: RateLimiter,
    challenges_per_address: RateLimiter,
    auth_failures_per_address: RateLimiter,
}

impl AbuseGuard {
    /// Limiters for `limits`.
    pub fn new(limits: &AbuseLimits) -> Self {
        Self {
            signup_per_address: RateLimiter::per_period(limits.signups_per_address_per_hour, HOUR),
            signups: Mutex::new(SlidingCap {
                per_hour: limits.signups_per_hour.min(MAX_CAP) as usize,
                per_day: limits.signups_per_day.min(MAX_CAP) as usize,
                times: VecDeque::new(),
            }),
            reads_per_address: RateLimiter::per_period(
                limits.reads_per_address_per_minute,
                Duration::from_secs(60),
            ),
            challenges_per_address: RateLimiter::per_period(
                limits.challenges_per_address_per_minute,
                Duration::from_secs(60),
            ),
            auth_failures_per_address: RateLimiter::per_period(
                limits.auth_failures_per_address_per_minute,
                Duration::from_secs(60),
            ),
        }
    }

    /// Admits one sign-up from `client`, or answers 429 with `Retry-After`.
    pub fn signup(&self, client: &ClientAddr) -> Result<(), ApiError> {
        self.signup_per_address.take(&client.0).map_err(|wait| {
            too_many(
                format!(
                    "too many sign-ups from your address ({}); retry in {wait} s",
                    client.0
                ),
                wait,
            )
        })?;
        let mut cap = self
            .signups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cap.admit(Instant::now()).map_err(|(wait, window)| {
            too_many(
                format!(
                    "the service takes no more demo sign-ups this {window} (global cap); retry in {wait} s"
                ),
                wait,
            )
        })
    }

    /// Admits one account read from `client`, or answers 429 with `Retry-After`.
    pub fn read(&self, client: &ClientAddr) -> Result<(), ApiError> {
        self.reads_per_address.take(&client.0).map_err(|wait| {
            too_many(
                format!(
                    "too many account reads from your address ({}); retry in {wait} s",
                    client.0
                ),
                wait,
            )
        })
    }

    /// Admits one WebAuthn registration or login challenge from `client`, or answers 429
    /// with `Retry-After`.
    pub fn challenge(&self, client: &ClientAddr) -> Result<(), ApiError> {
        self.challenges_per_address.take(&client.0).map_err(|wait| {
            too_many(
                format!(
                    "too many WebAuthn challenges from your address ({}); retry in {wait} s",
                    client.0
                ),
                wait,
            )
        })
    }

    /// Refuses (429 with `Retry-After`) a client address that failed authentication too
    /// often lately, before its credentials are looked at. Takes nothing: only failures
    /// are counted ([`AbuseGuard::auth_failed`]).
    pub fn before_auth(&self, client: &ClientAddr) -> Result<(), ApiError> {
        self.auth_failures_per_address.peek(&client.0).map_err(|wait| {
            too_many(
                format!(
                    "too many requests that failed authentication from your address ({}); check the token you send and retry in {wait} s",
                    client.0
                ),
                wait,
            )
        })
    }

    /// Counts one request from `client` that failed authentication.
    pub fn auth_failed(&self, client: &ClientAddr) {
        let _ = self.auth_failures_per_address.take(&client.0);
    }

    /// Runs `authenticate` for a request on a device endpoint: refused at once if
    /// `client` failed too often lately ([`AbuseGuard::before_auth`]); a refusal by
    /// `authenticate` (a 4xx) is counted against `client`. Charge the per-device limit
    /// (`RateLimiter::check`) only after this succeeded.
    pub async fn authenticated<T>(
        &self,
        client: &ClientAddr,
        authenticate: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        self.before_auth(client)?;
        let outcome = authenticate.await;
        if let Err(e) = &outcome
            && e.is_client_error()
        {
            self.auth_failed(client);
        }
        outcome
    }
}

/// The times of the admitted sign-ups of the last day (at most `per_day` of them).
#[derive(Debug)]
struct SlidingCap {
    per_hour: usize,
    per_day: usize,
    times: VecDeque<Instant>,
}

impl SlidingCap {
    /// Records an admission at `now`, or says how long to wait and which window is full.
    fn admit(&mut self, now: Instant) -> Result<(), (u64, &'static str)> {
        while self
            .times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= DAY)
        {
            self.times.pop_front();
        }
        if self.times.len() >= self.per_day {
            let wait = self.wait_until(self.times.len() - self.per_day, DAY, now);
            return Err((wait, "day"));
        }
        let first_in_hour = self
            .times
            .partition_point(|t| now.duration_since(*t) >= HOUR);
        let in_hour = self.times.len() - first_in_hour;
        if in_hour >= self.per_hour {
            let wait = self.wait_until(first_in_hour + in_hour - self.per_hour, HOUR, now);
            return Err((wait, "hour"));
        }
        self.times.push_back(now);
        Ok(())
    }

    /// Whole seconds until entry `index` leaves a window of `window`.
    fn wait_until(&self, index: usize, window: Duration, now: Instant) -> u64 {
        let leaves = self.times.get(index).map_or(now + window, |t| *t + window);
        leaves.saturating_duration_since(now).as_secs().max(1)
    }
}

/// The client's address as a rate-limit key: the IP of the TCP peer (an IPv6 address by
/// its /64 prefix, the usual allocation to one subscriber). `unknown` when the server was
/// not started with peer addresses (in-process tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddr(pub String);

impl ClientAddr {
    /// The key for peer address `ip`.
    pub fn from_ip(ip: IpAddr) -> Self {
        let ip = match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let s = v6.segments();
                    return Self(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]));
                }
            },
            v4 => v4,
        };
        Self(ip.to_string())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| Self("unknown".into()), |c| Self::from_ip(c.0.ip())))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sliding_cap_per_hour_and_day() {
        let mut cap = SlidingCap {
            per_hour: 2,
            per_day: 3,
            times: VecDeque::new(),
        };
        let t0 = Instant::now();
        assert!(cap.admit(t0).is_ok());
        assert!(cap.admit(t0 + Duration::from_secs(10)).is_ok());
        let (wait, window) = cap.admit(t0 + Duration::from_secs(20)).unwrap_err();
        assert_eq!((wait, window), (3580, "hour"));
        assert!(cap.admit(t0 + HOUR).is_ok());
        let (wait, window) = cap.admit(t0 + HOUR + HOUR).unwrap_err();
        assert_eq!(window, "day");
        assert_eq!(wait, (DAY - HOUR - HOUR).as_secs());
        assert!(cap.admit(t0 + DAY).is_ok());
    }

    #[test]
    fn ipv6_keys_by_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(ClientAddr::from_ip(a), ClientAddr::from_ip(b));
        let m: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(ClientAddr::from_ip(m).0, "127.0.0.1");
    }
}
