//! When a failed request is sent again: the [`RetryPolicy`] a client is configured with, and
//! [`decide`], the pure function the `exec` hook asks after every attempt.
//!
//! What may be retried depends on whether repeating the request could do something twice:
//!
//! | outcome | GET, PATCH, DELETE | POST |
//! | --- | --- | --- |
//! | 429 Too Many Requests | retried | retried (Clerk did not act) |
//! | 408, 502, 503, 504 | retried | not retried (Clerk may have acted) |
//! | connection could not be made | retried | retried (nothing was sent) |
//! | timeout, waiting for the answer or reading its body | retried | not retried |
//! | connection closed or reset before or during the answer | retried | not retried |
//! | a body that breaks off after its status (any status but 429) | retried | not retried |
//! | a request that cannot be built, anything else | not retried | not retried |
//!
//! A `Retry-After` longer than the policy's [`RetryPolicy::max_delay`] ends the call at once
//! ([`GaveUp::RetryAfterTooLong`]); one that would end past the [`RetryPolicy::budget`] does
//! too ([`GaveUp::TimeBudget`]).
//!
//! PATCH is not idempotent in general, but every PATCH of this API sets fields to the values
//! sent, so sending it twice leaves the same state as sending it once.

use std::time::Duration;

use reqwest::{
    Method, StatusCode,
    header::{HeaderMap, RETRY_AFTER},
};

/// How a client retries requests that failed for a reason that may pass.
///
/// The default makes at most 3 attempts, waits between them with exponential back-off and full
/// jitter (a random wait up to 500 ms, then up to 1 s, 2 s, ... never more than 10 s), honours
/// `Retry-After` up to that same 10 s cap, and starts no new attempt once 60 s have passed since
/// the first one began.
///
/// # What is retried
/// 429 always; 408, 502, 503, 504 and timeouts only for GET, PATCH and DELETE; a connection
/// that could not be established always (the request never left). A POST (create, assign,
/// add roles, replace) is never repeated once Clerk may have acted on it.
///
/// ```
/// use std::time::Duration;
/// use clerk_rbac::{Clerk, RetryPolicy};
///
/// let patient = RetryPolicy::default()
///     .max_attempts(5)
///     .max_delay(Duration::from_secs(20))
///     .budget(Duration::from_secs(120));
/// let clerk = Clerk::builder().secret_key("sk_test_example").retry(patient).build()?;
///
/// // Or handle every failure yourself:
/// let once = Clerk::builder().secret_key("sk_test_example").retry(RetryPolicy::none()).build()?;
/// # Ok::<(), clerk_rbac::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// How many times a request may be sent in all, the first time included (at least 1).
    pub max_attempts: u32,
    /// The back-off scale: the wait before the second attempt is random up to this, and the
    /// bound doubles with each further attempt.
    pub base_delay: Duration,
    /// No wait is longer than this, whether from back-off or from `Retry-After`.
    pub max_delay: Duration,
    /// No attempt starts later than this after the first one began; a wait that would end
    /// past it ends the call instead. An attempt already running still gets its full timeout.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
            budget: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Sends every request exactly once: failures come straight back to the caller.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Sets how many times a request may be sent in all; 0 is taken as 1.
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the back-off scale (the bound on the first wait).
    #[must_use]
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// Sets the longest single wait.
    #[must_use]
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Sets the time after the first attempt's start past which no attempt starts.
    #[must_use]
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// The wait before attempt `made + 1` when the server gave no `Retry-After`: uniformly
    /// random (by `jitter`, in `[0, 1)`) up to `base_delay * 2^(made - 1)`, capped.
    fn backoff(&self, made: u32, jitter: f64) -> Duration {
        let doublings = made.saturating_sub(1).min(31);
        let bound = self
            .base_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        bound.mul_f64(jitter)
    }
}

/// How many times a call was sent, and whether the client stopped retrying a failure that
/// could have passed. Read it with [`Error::attempts`](crate::Error::attempts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempts {
    /// Requests sent (or tried to send) for the call; 0 when it failed before sending.
    pub made: u32,
    /// Set when the last failure was retryable but the policy allowed no further attempt.
    pub gave_up: Option<GaveUp>,
}

/// Why a client stopped retrying a failure that may have passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GaveUp {
    /// [`RetryPolicy::max_attempts`] requests were sent.
    MaxAttempts,
    /// The next wait would have ended past [`RetryPolicy::budget`].
    TimeBudget,
    /// The server's `Retry-After` asked for a longer wait than [`RetryPolicy::max_delay`]
    /// allows. The client stops at once rather than ask again early and be refused again;
    /// [`Error::retry_after`](crate::Error::retry_after) says how long the server asked for.
    RetryAfterTooLong,
}

/// What one attempt came to, as far as retrying is concerned. Responses carry their status and
/// the wait their `Retry-After` asked for, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A whole response arrived (the body was read but is not looked at).
    Response(StatusCode, Option<Duration>),
    /// The head arrived with this status, then reading the body failed (cut short, reset,
    /// malformed, or too slow). The server may have acted.
    BodyFailed(StatusCode, Option<Duration>),
    /// No connection could be made: the request never left this process.
    ConnectFailed,
    /// The request was sent (or may have been) but no response came in time.
    TimedOut,
    /// The connection closed or reset before any response: the server may have acted (or the
    /// pooled connection was already dead).
    Failed,
    /// The request could not even be built or sent as it stands (a builder or redirect error):
    /// sending it again would fail the same way.
    Deterministic,
}

impl Outcome {
    /// Classifies a send that produced no response.
    pub(crate) fn of_error(error: &reqwest::Error) -> Self {
        // Checked first: a connect timeout is both, and nothing was sent.
        if error.is_connect() {
            Outcome::ConnectFailed
        } else if error.is_timeout() {
            Outcome::TimedOut
        } else if error.is_builder() || error.is_redirect() {
            Outcome::Deterministic
        } else {
            Outcome::Failed
        }
    }
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Send the request again after this wait.
    Retry(Duration),
    /// Hand this outcome to the caller; `Some` when it was retryable but the policy ran out.
    Stop(Option<GaveUp>),
}

/// Whether to send again after attempt number `made` (1 for the first) ended in `outcome`,
/// `elapsed` after the first attempt began. `jitter` is a number in `[0, 1)` that scales the
/// back-off; it is a parameter so that this function stays pure.
pub(crate) fn decide(
    policy: &RetryPolicy,
    method: &Method,
    outcome: Outcome,
    made: u32,
    elapsed: Duration,
    jitter: f64,
) -> Decision {
    if !retryable(method, outcome) || policy.max_attempts <= 1 {
        return Decision::Stop(None);
    }
    if made >= policy.max_attempts {
        return Decision::Stop(Some(GaveUp::MaxAttempts));
    }
    let asked = match outcome {
        Outcome::Response(_, asked) | Outcome::BodyFailed(_, asked) => asked,
        _ => None,
    };
    let wait = match asked {
        // Asking again before the server's time is up would only be refused again.
        Some(wait) if wait > policy.max_delay => {
            return Decision::Stop(Some(GaveUp::RetryAfterTooLong));
        }
        Some(wait) => wait,
        None => policy.backoff(made, jitter),
    };
    if elapsed.saturating_add(wait) > policy.budget {
        return Decision::Stop(Some(GaveUp::TimeBudget));
    }
    Decision::Retry(wait)
}

/// Whether the outcome may pass on a second try and repeating `method` is safe.
fn retryable(method: &Method, outcome: Outcome) -> bool {
    let repeatable = matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::PATCH | Method::DELETE | Method::OPTIONS
    );
    match outcome {
        // The server refused before acting, or nothing reached it.
        Outcome::Response(StatusCode::TOO_MANY_REQUESTS, _)
        | Outcome::BodyFailed(StatusCode::TOO_MANY_REQUESTS, _)
        | Outcome::ConnectFailed => true,
        Outcome::Response(status, _) => {
            repeatable
                && matches!(
                    status,
                    StatusCode::REQUEST_TIMEOUT
                        | StatusCode::BAD_GATEWAY
                        | StatusCode::SERVICE_UNAVAILABLE
                        | StatusCode::GATEWAY_TIMEOUT
                )
        }
        // Whatever the status, the answer did not arrive whole: worth asking again only when
        // asking twice cannot do anything twice.
        Outcome::BodyFailed(..) | Outcome::TimedOut | Outcome::Failed => repeatable,
        Outcome::Deterministic => false,
    }
}

/// `Retry-After` as a wait: delta-seconds or an HTTP date (a date in the past means now).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    const SEC: Duration = Duration::from_secs(1);

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    fn first_attempt(method: &Method, outcome: Outcome) -> Decision {
        decide(
            &RetryPolicy::default(),
            method,
            outcome,
            1,
            Duration::ZERO,
            0.5,
        )
    }

    #[test]
    fn statuses_and_methods_follow_the_idempotency_table() {
        let (get, patch, delete, post) = (Method::GET, Method::PATCH, Method::DELETE, Method::POST);
        // (status, retried for GET/PATCH/DELETE, retried for POST)
        let table = [
            (429, true, true),
            (408, true, false),
            (502, true, false),
            (503, true, false),
            (504, true, false),
            (500, false, false),
            (501, false, false),
            (200, false, false),
            (201, false, false),
            (301, false, false),
            (400, false, false),
            (401, false, false),
            (404, false, false),
            (409, false, false),
            (422, false, false),
        ];
        for (code, idempotent, for_post) in table {
            let outcome = Outcome::Response(status(code), None);
            for method in [&get, &patch, &delete] {
                let retried = matches!(first_attempt(method, outcome), Decision::Retry(_));
                assert_eq!(retried, idempotent, "{method} {code}");
            }
            let retried = matches!(first_attempt(&post, outcome), Decision::Retry(_));
            assert_eq!(retried, for_post, "POST {code}");
        }
    }

    #[test]
    fn transport_failures_are_retried_only_when_safe() {
        for (method, idempotent) in [
            (Method::GET, true),
            (Method::PATCH, true),
            (Method::DELETE, true),
            (Method::POST, false),
        ] {
            let retried = |o| matches!(first_attempt(&method, o), Decision::Retry(_));
            assert!(retried(Outcome::ConnectFailed), "{method} connect");
            assert_eq!(retried(Outcome::TimedOut), idempotent, "{method} timeout");
            // A reset or closed connection (a stale pooled one, say) before any answer.
            assert_eq!(retried(Outcome::Failed), idempotent, "{method} reset");
            // The status arrived, then the body broke off: Clerk may have acted.
            for status in [
                StatusCode::OK,
                StatusCode::NOT_FOUND,
                StatusCode::BAD_GATEWAY,
            ] {
                let outcome = Outcome::BodyFailed(status, None);
                assert_eq!(retried(outcome), idempotent, "{method} {status} body");
            }
            // A 429 refused before acting, whatever happened to its body.
            let refused = Outcome::BodyFailed(StatusCode::TOO_MANY_REQUESTS, None);
            assert!(retried(refused), "{method} 429 body");
            // A request that cannot be built fails the same way every time.
            assert!(!retried(Outcome::Deterministic), "{method} deterministic");
        }
    }

    #[test]
    fn attempts_are_capped_and_the_cap_is_reported() {
        let policy = RetryPolicy::default().max_attempts(4);
        let mut decisions = Vec::new();
        for made in 1..=4 {
            decisions.push(decide(
                &policy,
                &Method::GET,
                Outcome::TimedOut,
                made,
                Duration::ZERO,
                0.0,
            ));
        }
        assert!(matches!(decisions[0], Decision::Retry(_)));
        assert!(matches!(decisions[2], Decision::Retry(_)));
        assert_eq!(decisions[3], Decision::Stop(Some(GaveUp::MaxAttempts)));
        // A failure that is not retryable stops without claiming the policy ran out.
        let outcome = Outcome::Response(status(500), None);
        assert_eq!(
            decide(&policy, &Method::GET, outcome, 4, Duration::ZERO, 0.0),
            Decision::Stop(None)
        );
    }

    #[test]
    fn no_retries_means_one_attempt_and_nothing_to_report() {
        let policy = RetryPolicy::none();
        assert_eq!(policy.max_attempts, 1);
        assert_eq!(
            decide(
                &policy,
                &Method::GET,
                Outcome::ConnectFailed,
                1,
                Duration::ZERO,
                0.0
            ),
            Decision::Stop(None)
        );
        assert_eq!(RetryPolicy::default().max_attempts(0).max_attempts, 1);
    }

    #[test]
    fn backoff_doubles_with_full_jitter_under_the_cap() {
        let policy = RetryPolicy::default()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(700))
            .max_attempts(u32::MAX)
            .budget(Duration::from_secs(3600));
        let wait = |made, jitter| match decide(
            &policy,
            &Method::GET,
            Outcome::TimedOut,
            made,
            Duration::ZERO,
            jitter,
        ) {
            Decision::Retry(wait) => wait,
            other => panic!("expected a retry, got {other:?}"),
        };
        // The bound is reached as jitter approaches 1; it doubles per attempt, then stays capped.
        assert_eq!(wait(1, 1.0), Duration::from_millis(100));
        assert_eq!(wait(2, 1.0), Duration::from_millis(200));
        assert_eq!(wait(3, 1.0), Duration::from_millis(400));
        assert_eq!(wait(4, 1.0), Duration::from_millis(700));
        assert_eq!(wait(9, 1.0), Duration::from_millis(700));
        // Full jitter: anywhere from zero to the bound.
        assert_eq!(wait(3, 0.0), Duration::ZERO);
        assert_eq!(wait(3, 0.25), Duration::from_millis(100));
        // Out-of-range jitter is clamped rather than trusted.
        assert_eq!(wait(2, f64::NAN), Duration::ZERO);
        assert_eq!(wait(2, 7.0), Duration::from_millis(200));
        // Huge attempt numbers neither overflow nor panic.
        assert_eq!(wait(u32::MAX - 1, 1.0), Duration::from_millis(700));
    }

    #[test]
    fn retry_after_is_honoured_and_a_longer_one_than_allowed_stops_at_once() {
        let policy = RetryPolicy::default().max_delay(10 * SEC);
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("3"));
        let outcome = Outcome::Response(StatusCode::TOO_MANY_REQUESTS, retry_after(&headers));
        // Jitter does not apply to a wait the server asked for.
        for jitter in [0.0, 0.9] {
            assert_eq!(
                decide(&policy, &Method::POST, outcome, 1, Duration::ZERO, jitter),
                Decision::Retry(3 * SEC)
            );
        }

        // Exactly the cap is still waited for.
        headers.insert("retry-after", HeaderValue::from_static("10"));
        let outcome = Outcome::Response(StatusCode::TOO_MANY_REQUESTS, retry_after(&headers));
        assert_eq!(
            decide(&policy, &Method::GET, outcome, 1, Duration::ZERO, 0.0),
            Decision::Retry(10 * SEC)
        );

        // Longer than the cap: no shortened wait and early retry, the call ends now.
        for status in [
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::TOO_MANY_REQUESTS,
        ] {
            headers.insert("retry-after", HeaderValue::from_static("86400"));
            let outcome = Outcome::Response(status, retry_after(&headers));
            assert_eq!(
                decide(&policy, &Method::GET, outcome, 1, Duration::ZERO, 0.0),
                Decision::Stop(Some(GaveUp::RetryAfterTooLong))
            );
        }
        let date = httpdate::fmt_http_date(std::time::SystemTime::now() + 120 * SEC);
        headers.insert("retry-after", HeaderValue::from_str(&date).unwrap());
        let outcome = Outcome::Response(StatusCode::TOO_MANY_REQUESTS, retry_after(&headers));
        assert_eq!(
            decide(&policy, &Method::GET, outcome, 1, Duration::ZERO, 0.0),
            Decision::Stop(Some(GaveUp::RetryAfterTooLong))
        );

        headers.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        let outcome = Outcome::Response(StatusCode::TOO_MANY_REQUESTS, retry_after(&headers));
        assert_eq!(
            decide(&policy, &Method::GET, outcome, 1, Duration::ZERO, 0.9),
            Decision::Retry(Duration::ZERO)
        );

        // Unparseable: back-off applies instead.
        headers.insert("retry-after", HeaderValue::from_static("later"));
        let outcome = Outcome::Response(StatusCode::TOO_MANY_REQUESTS, retry_after(&headers));
        assert_eq!(
            decide(&policy, &Method::GET, outcome, 1, Duration::ZERO, 1.0),
            Decision::Retry(policy.base_delay)
        );
    }

    #[test]
    fn the_time_budget_stops_a_wait_that_would_overrun_it() {
        let policy = RetryPolicy::default().budget(20 * SEC).max_attempts(10);
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("5"));
        let outcome = Outcome::Response(StatusCode::TOO_MANY_REQUESTS, retry_after(&headers));
        assert_eq!(
            decide(&policy, &Method::GET, outcome, 2, 15 * SEC, 0.0),
            Decision::Retry(5 * SEC)
        );
        assert_eq!(
            decide(&policy, &Method::GET, outcome, 2, 16 * SEC, 0.0),
            Decision::Stop(Some(GaveUp::TimeBudget))
        );
        // Already past the budget: even a zero wait is refused.
        assert_eq!(
            decide(&policy, &Method::GET, Outcome::TimedOut, 2, 21 * SEC, 0.0),
            Decision::Stop(Some(GaveUp::TimeBudget))
        );
    }

    #[test]
    fn the_default_policy_is_the_documented_one() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.max_attempts, 3);
        assert_eq!(policy.base_delay, Duration::from_millis(500));
        assert_eq!(policy.max_delay, 10 * SEC);
        assert_eq!(policy.budget, 60 * SEC);
    }
}
