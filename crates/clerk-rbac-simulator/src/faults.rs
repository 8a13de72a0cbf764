//! Scripted faults: which requests they hit and what happens to them. Deterministic: the same
//! requests in the same order meet the same faults, random shares included (they draw from a
//! seeded generator).

use std::time::Duration;

/// What a fault does to a request it hits.
#[derive(Clone, Debug, PartialEq)]
enum Action {
    /// Answer with this status and a Clerk error body; nothing is done.
    Status(u16),
    /// Answer a random one of 429, 500, 502 and 503 (the default for a [`Fault::share`]).
    RandomFailure,
    /// Close the connection without answering; nothing is done.
    Drop,
    /// Carry the operation out, then close the connection without answering.
    ActThenDrop,
    /// Wait, then answer normally.
    Delay(Duration),
}

/// A scripted fault for [`Simulator::inject`](super::Simulator::inject): which requests it
/// matches, how many it lets through first, how many it hits, and what happens to them.
///
/// Faults are checked in the order they were injected; the first one that fires decides the
/// request, and the faults after it do not see (or count) that request. A fault that has hit
/// [`times`](Fault::times) requests stays in place but no longer fires.
///
/// ```
/// use std::time::Duration;
/// use clerk_rbac_simulator::Fault;
///
/// // The third role creation gets a 503 with `Retry-After: 1`.
/// let flaky = Fault::on("POST", "/organization_roles").after(2).status(503).retry_after(Duration::from_secs(1));
/// // The next request of any kind is carried out, but its answer never arrives.
/// let ambiguous = Fault::any().act_then_drop();
/// // A tenth of all requests fail with 429 or 5xx, the same ones on every run.
/// let soak = Fault::any().share(0.1).seed(7);
/// # let _ = (flaky, ambiguous, soak);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct Fault {
    method: Option<String>,
    path_prefix: Option<String>,
    after: u64,
    times: Option<u64>,
    action: Option<Action>,
    retry_after: Option<Duration>,
    share: Option<f64>,
    seed: u64,
}

impl Fault {
    /// Matches requests with this method (case-insensitive; `*` for any) whose path, without
    /// `/v1` and percent-decoded, starts with `path_prefix` (e.g. `/organization_roles`).
    pub fn on(method: &str, path_prefix: &str) -> Self {
        let prefix = path_prefix.strip_prefix("/v1").unwrap_or(path_prefix);
        Fault {
            method: (method != "*").then(|| method.to_ascii_uppercase()),
            path_prefix: Some(prefix.to_owned()),
            ..Fault::any()
        }
    }

    /// Matches every request.
    pub fn any() -> Self {
        Fault {
            method: None,
            path_prefix: None,
            after: 0,
            times: None,
            action: None,
            retry_after: None,
            share: None,
            seed: 0,
        }
    }

    /// Lets the first `n` matching requests through untouched.
    pub fn after(mut self, n: u64) -> Self {
        self.after = n;
        self
    }

    /// Hits at most `k` requests: 1 by default, unlimited by default for a
    /// [`share`](Fault::share).
    pub fn times(mut self, k: u64) -> Self {
        self.times = Some(k);
        self
    }

    /// Answers with `status` and a Clerk error body, doing nothing. Statuses outside 400–599
    /// are taken as 500. This is also what a fault without an action does.
    pub fn status(mut self, status: u16) -> Self {
        let status = if (400..=599).contains(&status) {
            status
        } else {
            500
        };
        self.action = Some(Action::Status(status));
        self
    }

    /// Adds `Retry-After` (in whole seconds, rounded up) to the fault's error answers.
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// Closes the connection without answering; the operation is not carried out.
    pub fn drop_connection(mut self) -> Self {
        self.action = Some(Action::Drop);
        self
    }

    /// Carries the operation out, then closes the connection without answering: the
    /// ambiguous failure, where the caller cannot know whether it took effect.
    pub fn act_then_drop(mut self) -> Self {
        self.action = Some(Action::ActThenDrop);
        self
    }

    /// Holds the answer back for `wait`, then answers normally.
    pub fn delay(mut self, wait: Duration) -> Self {
        self.action = Some(Action::Delay(wait));
        self
    }

    /// Hits each matching request with probability `share` (0 to 1), drawn from a generator
    /// seeded with [`seed`](Fault::seed). Without another action the answer is a random
    /// one of 429 (with `Retry-After: 1`), 500, 502 and 503.
    pub fn share(mut self, share: f64) -> Self {
        self.share = Some(if share.is_nan() {
            0.0
        } else {
            share.clamp(0.0, 1.0)
        });
        self
    }

    /// The seed of [`share`](Fault::share)'s random draws (0 unless set).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| path.starts_with(p))
    }
}

/// What the server does with a request a fault hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Answer with this status (and `Retry-After` seconds) without doing anything.
    Fail {
        status: u16,
        retry_after: Option<u64>,
    },
    Drop,
    ActThenDrop,
    Delay(Duration),
}

/// An injected fault and what it has seen so far.
#[derive(Debug)]
struct Armed {
    fault: Fault,
    seen: u64,
    hits: u64,
    rng: fastrand::Rng,
}

/// The injected faults, in order.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    armed: Vec<Armed>,
}

impl Faults {
    pub(crate) fn inject(&mut self, fault: Fault) {
        let rng = fastrand::Rng::with_seed(fault.seed);
        self.armed.push(Armed {
            fault,
            seen: 0,
            hits: 0,
            rng,
        });
    }

    /// How many faults are held (spent ones included).
    pub(crate) fn len(&self) -> usize {
        self.armed.len()
    }

    pub(crate) fn clear(&mut self) {
        self.armed.clear();
    }

    /// The effect of the first fault that fires on this request, if any.
    pub(crate) fn on_request(&mut self, method: &str, path: &str) -> Option<Effect> {
        for armed in &mut self.armed {
            let fault = &armed.fault;
            if !fault.matches(method, path) {
                continue;
            }
            let limit = fault
                .times
                .unwrap_or(if fault.share.is_some() { u64::MAX } else { 1 });
            if armed.hits >= limit {
                continue;
            }
            armed.seen += 1;
            if armed.seen <= fault.after {
                continue;
            }
            if fault.share.is_some_and(|share| armed.rng.f64() >= share) {
                continue;
            }
            armed.hits += 1;
            let retry_after = fault
                .retry_after
                .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0));
            let default = if fault.share.is_some() {
                Action::RandomFailure
            } else {
                Action::Status(500)
            };
            return Some(match fault.action.clone().unwrap_or(default) {
                Action::Status(status) => Effect::Fail {
                    status,
                    retry_after,
                },
                Action::RandomFailure => {
                    let status = [429, 500, 502, 503][armed.rng.usize(..4)];
                    let retry_after = retry_after.or((status == 429).then_some(1));
                    Effect::Fail {
                        status,
                        retry_after,
                    }
                }
                Action::Drop => Effect::Drop,
                Action::ActThenDrop => Effect::ActThenDrop,
                Action::Delay(wait) => Effect::Delay(wait),
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_and_times_count_matching_requests_only() {
        let mut faults = Faults::default();
        faults.inject(
            Fault::on("post", "/v1/organization_roles")
                .after(1)
                .times(2)
                .status(503),
        );
        let roles = |f: &mut Faults| f.on_request("POST", "/organization_roles");
        assert_eq!(faults.on_request("GET", "/organization_roles"), None);
        assert_eq!(faults.on_request("POST", "/role_sets"), None);
        assert_eq!(roles(&mut faults), None);
        let fail = Some(Effect::Fail {
            status: 503,
            retry_after: None,
        });
        assert_eq!(roles(&mut faults), fail);
        assert_eq!(roles(&mut faults), fail);
        assert_eq!(roles(&mut faults), None);
    }

    #[test]
    fn faults_fire_in_injection_order_and_the_first_decides() {
        let mut faults = Faults::default();
        faults.inject(Fault::any().drop_connection());
        faults.inject(Fault::any().act_then_drop());
        assert_eq!(faults.on_request("GET", "/x"), Some(Effect::Drop));
        assert_eq!(faults.on_request("GET", "/x"), Some(Effect::ActThenDrop));
        assert_eq!(faults.on_request("GET", "/x"), None);
    }

    #[test]
    fn shares_are_random_but_reproducible() {
        let run = |seed| {
            let mut faults = Faults::default();
            faults.inject(Fault::any().share(0.3).seed(seed));
            (0..1000)
                .map(|_| faults.on_request("GET", "/x"))
                .collect::<Vec<_>>()
        };
        let first = run(7);
        assert_eq!(first, run(7));
        assert_ne!(first, run(8));
        let hits = first.iter().flatten().count();
        assert!((200..400).contains(&hits), "{hits}");
        assert!(first.iter().flatten().all(|e| matches!(
            e,
            Effect::Fail {
                status: 429 | 500 | 502 | 503,
                ..
            }
        )));
        assert!(first.iter().flatten().any(|e| matches!(
            e,
            Effect::Fail {
                status: 429,
                retry_after: Some(1)
            }
        )));
    }

    #[test]
    fn odd_inputs_are_tamed() {
        assert_eq!(Fault::any().status(200).action, Some(Action::Status(500)));
        assert_eq!(Fault::any().share(f64::NAN).share, Some(0.0));
        assert_eq!(Fault::any().share(7.0).share, Some(1.0));
        let mut faults = Faults::default();
        faults.inject(
            Fault::any()
                .retry_after(Duration::from_millis(1500))
                .status(429),
        );
        assert_eq!(
            faults.on_request("GET", "/"),
            Some(Effect::Fail {
                status: 429,
                retry_after: Some(2)
            })
        );
    }
}
