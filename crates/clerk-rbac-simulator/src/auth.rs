//! Who may call, and how often: the secret key in `Authorization: Bearer <key>`, and Clerk's
//! rate limits per secret key.

use std::{
    collections::{HashMap, VecDeque},
    time::Duration,
};

use tokio::time::Instant;

use super::wire::Failure;

/// Development and production secret key prefixes (the notes; Clerk's "Clerk environment
/// variables" page).
const DEVELOPMENT_PREFIX: &str = "sk_test_";
const PRODUCTION_PREFIX: &str = "sk_live_";

/// Which kind of instance a secret key belongs to: it decides the rate limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Development,
    Production,
}

/// Checks the `Authorization` header: any `sk_test_...` or `sk_live_...` key is accepted.
/// Returns the key and its kind.
///
/// A missing header or one not of the form `Bearer <key>` is Clerk's
/// `InvalidAuthorizationHeaderFormat` (401 `authorization_header_format_invalid`); a bearer
/// value that is not a secret key is its `InvalidClerkSecretKey` (401 `clerk_key_invalid`).
pub(crate) fn authenticate(header: Option<&[u8]>) -> Result<(String, KeyKind), Failure> {
    let malformed = || {
        Failure::new(
            401,
            "authorization_header_format_invalid",
            "Authorization header malformed",
            "Send the instance's secret key as `Authorization: Bearer <secret key>`.",
        )
    };
    let value = header
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(malformed)?;
    let key = value
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(malformed)?;
    let kind = if let Some(tail) = key.strip_prefix(DEVELOPMENT_PREFIX) {
        (KeyKind::Development, tail)
    } else if let Some(tail) = key.strip_prefix(PRODUCTION_PREFIX) {
        (KeyKind::Production, tail)
    } else {
        return Err(invalid_key());
    };
    if kind.1.is_empty() || !kind.1.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid_key());
    }
    Ok((key.to_owned(), kind.0))
}

fn invalid_key() -> Failure {
    Failure::new(
        401,
        "clerk_key_invalid",
        "secret key invalid",
        "The bearer token is not a Clerk secret key (sk_test_... or sk_live_...).",
    )
}

/// Clerk's Backend API rate limits, per secret key: how many requests a development
/// (`sk_test_`) or production (`sk_live_`) key may make in one window.
///
/// ```
/// use std::time::Duration;
/// use clerk_rbac_simulator::RateLimits;
/// let clerk = RateLimits::clerk(); // 100 and 1,000 per 10 s
/// let tight = RateLimits::new(5, 50, Duration::from_secs(1));
/// let none = RateLimits::off();
/// # let _ = (clerk, tight, none);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    pub(crate) development: u32,
    pub(crate) production: u32,
    pub(crate) window: Duration,
    enabled: bool,
}

impl RateLimits {
    /// Clerk's limits (the notes; Clerk's rate limit docs): 100 requests per 10 seconds for a
    /// development key, 1,000 for a production key, the same figures the client paces itself
    /// by ([`RateLimit::clerk_development`](clerk_rbac::RateLimit::clerk_development) and
    /// [`RateLimit::clerk_production`](clerk_rbac::RateLimit::clerk_production)). The default.
    pub fn clerk() -> Self {
        let development = clerk_rbac::RateLimit::clerk_development();
        let production = clerk_rbac::RateLimit::clerk_production();
        // Both of Clerk's limits count over the same window.
        debug_assert_eq!(development.window, production.window);
        RateLimits::new(
            development.requests,
            production.requests,
            development.window,
        )
    }

    /// No rate limit at all.
    pub fn off() -> Self {
        RateLimits {
            enabled: false,
            ..RateLimits::clerk()
        }
    }

    /// `development` requests per `window` for `sk_test_` keys and `production` for
    /// `sk_live_` keys. A zero window turns limiting off.
    pub fn new(development: u32, production: u32, window: Duration) -> Self {
        RateLimits {
            development,
            production,
            window,
            enabled: !window.is_zero(),
        }
    }

    /// Whether requests are limited at all.
    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    fn limit(&self, kind: KeyKind) -> usize {
        let limit = match kind {
            KeyKind::Development => self.development,
            KeyKind::Production => self.production,
        };
        usize::try_from(limit).unwrap_or(usize::MAX)
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits::clerk()
    }
}

/// Past this many keys, keys idle for a whole window are forgotten.
const MAX_TRACKED_KEYS: usize = 1024;

/// A sliding window per secret key: the times of the requests admitted in the last window.
#[derive(Debug)]
pub(crate) struct Limiter {
    limits: RateLimits,
    admitted: HashMap<String, VecDeque<Instant>>,
}

impl Limiter {
    pub(crate) fn new(limits: RateLimits) -> Self {
        Limiter {
            limits,
            admitted: HashMap::new(),
        }
    }

    /// The limits it applies.
    pub(crate) fn limits(&self) -> RateLimits {
        self.limits
    }

    /// Admits one request for `key`, or refuses it with 429 and `Retry-After`: the whole
    /// seconds until the oldest admitted request leaves the window (Clerk's rate limit docs:
    /// a refused request carries `Retry-After`, in seconds).
    ///
    /// Assumption: the body's code is `too_many_requests` (Clerk's is not published).
    pub(crate) fn admit(&mut self, key: &str, kind: KeyKind, now: Instant) -> Result<(), Failure> {
        if !self.limits.enabled {
            return Ok(());
        }
        let limit = self.limits.limit(kind);
        let window = self.limits.window;
        if self.admitted.len() > MAX_TRACKED_KEYS {
            // Many different keys (a fuzzing client): forget those with no request in the window.
            self.admitted.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < window)
            });
        }
        let times = self.admitted.entry(key.to_owned()).or_default();
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            times.pop_front();
        }
        if times.len() < limit {
            times.push_back(now);
            return Ok(());
        }
        let wait = times.front().map_or(window, |oldest| {
            window.saturating_sub(now.saturating_duration_since(*oldest))
        });
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut failure = Failure::new(
            429,
            "too_many_requests",
            "Too many requests",
            format!(
                "This secret key may make {limit} requests per {} s; wait {} s and try again.",
                window.as_secs_f64(),
                seconds.max(1)
            ),
        );
        failure.retry_after = Some(seconds.max(1));
        Err(failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_from_the_bearer_header() {
        assert_eq!(
            authenticate(Some(b"Bearer sk_test_abc")).unwrap(),
            ("sk_test_abc".to_owned(), KeyKind::Development)
        );
        assert_eq!(
            authenticate(Some(b"Bearer sk_live_x")).unwrap().1,
            KeyKind::Production
        );
        for malformed in [
            None,
            Some(&b""[..]),
            Some(b"sk_test_abc"),
            Some(b"Basic sk_test_a"),
            Some(b"Bearer "),
            Some(b"\xff\xfe"),
        ] {
            assert_eq!(
                authenticate(malformed).unwrap_err().code,
                "authorization_header_format_invalid",
                "{malformed:?}"
            );
        }
        for invalid in [
            &b"Bearer pk_test_abc"[..],
            b"Bearer sk_test_",
            b"Bearer sk_prod_x",
            b"Bearer token",
        ] {
            let err = authenticate(Some(invalid)).unwrap_err();
            assert_eq!((err.status, err.code), (401, "clerk_key_invalid"));
        }
    }

    #[test]
    fn the_window_slides_and_says_how_long_to_wait() {
        let mut limiter = Limiter::new(RateLimits::new(2, 3, Duration::from_secs(10)));
        let t0 = Instant::now();
        let dev = KeyKind::Development;
        assert!(limiter.admit("sk_test_a", dev, t0).is_ok());
        assert!(
            limiter
                .admit("sk_test_a", dev, t0 + Duration::from_secs(4))
                .is_ok()
        );
        let refused = limiter
            .admit("sk_test_a", dev, t0 + Duration::from_millis(5500))
            .unwrap_err();
        assert_eq!((refused.status, refused.retry_after), (429, Some(5)));
        // Another key has its own window; a production key its own limit.
        assert!(limiter.admit("sk_test_b", dev, t0).is_ok());
        for _ in 0..3 {
            assert!(limiter.admit("sk_live_c", KeyKind::Production, t0).is_ok());
        }
        assert!(limiter.admit("sk_live_c", KeyKind::Production, t0).is_err());
        // Once the first request is 10 s old, one more fits.
        assert!(
            limiter
                .admit("sk_test_a", dev, t0 + Duration::from_secs(10))
                .is_ok()
        );
        assert!(
            limiter
                .admit("sk_test_a", dev, t0 + Duration::from_secs(10))
                .is_err()
        );
        // Thousands of one-off keys do not pile up once their window has passed.
        let mut many = Limiter::new(RateLimits::new(1, 1, Duration::from_secs(1)));
        for i in 0..5_000 {
            let _ = many.admit(&format!("sk_test_{i}"), dev, t0 + Duration::from_millis(i));
        }
        assert!(
            many.admitted.len() <= MAX_TRACKED_KEYS + 1_001,
            "{}",
            many.admitted.len()
        );
        let mut off = Limiter::new(RateLimits::off());
        assert!((0..1000).all(|_| off.admit("sk_test_a", dev, t0).is_ok()));
    }
}
