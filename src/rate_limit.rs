//! A client-side rate limit: [`RateLimit`] says how many requests a window may hold, and
//! [`Limiter`] makes every attempt wait for a free slot.
//!
//! Clerk counts requests per secret key in a window (100 per 10 s for development instances,
//! 1,000 for production) and answers 429 past it. A client that knows the limit can pace itself
//! and never meet a 429. The limiter is exact from the server's point of view however long
//! requests take: a slot is taken when a request is sent and is only given back one window
//! after its response has ended. The server counted the request somewhere between those two
//! instants, so no window the server looks at can hold more than `requests` of ours.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use crate::rules;
use tokio::{sync::Notify, time::Instant};

/// How many requests a client may send in any window of time; see
/// [`ClerkBuilder::rate_limit`](crate::ClerkBuilder::rate_limit).
///
/// ```
/// use std::time::Duration;
/// use clerk_rbac::RateLimit;
///
/// assert_eq!(RateLimit::for_secret_key("sk_test_abc"), RateLimit::clerk_development());
/// assert_eq!(RateLimit::for_secret_key("sk_live_abc"), RateLimit::clerk_production());
/// let gentle = RateLimit::new(20, Duration::from_secs(1));
/// assert_eq!(gentle.requests, 20);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RateLimit {
    /// The most requests (attempts, retries included) that any window may hold; at least 1.
    pub requests: u32,
    /// The length of the window.
    pub window: Duration,
}

impl RateLimit {
    /// At most `requests` requests in any `window`; `0` is taken as `1`.
    pub fn new(requests: u32, window: Duration) -> Self {
        RateLimit {
            requests: requests.max(1),
            window,
        }
    }

    /// Clerk's limit for development instances (`sk_test_` keys): 100 requests per 10 s.
    pub fn clerk_development() -> Self {
        RateLimit::new(
            rules::DEVELOPMENT_REQUESTS_PER_WINDOW,
            rules::RATE_LIMIT_WINDOW,
        )
    }

    /// Clerk's limit for production instances (`sk_live_` keys): 1,000 requests per 10 s.
    pub fn clerk_production() -> Self {
        RateLimit::new(
            rules::PRODUCTION_REQUESTS_PER_WINDOW,
            rules::RATE_LIMIT_WINDOW,
        )
    }

    /// Clerk's limit for the instance a secret key belongs to: production for `sk_live_` keys,
    /// development (the stricter one) for anything else.
    pub fn for_secret_key(secret_key: &str) -> Self {
        if rules::is_live_key(secret_key) {
            RateLimit::clerk_production()
        } else {
            RateLimit::clerk_development()
        }
    }
}

/// The slots of one client (shared by its clones).
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: RateLimit,
    state: Mutex<Slots>,
    /// Woken whenever a request ends, so that waiters can see when its slot frees.
    ended: Notify,
}

#[derive(Debug, Default)]
struct Slots {
    /// Requests sent whose response has not ended yet.
    in_flight: u32,
    /// When recent requests ended, oldest first; each holds its slot until one window later.
    ended_at: VecDeque<Instant>,
}

/// A slot held by one attempt; dropping it (when the attempt has ended, its body read) starts
/// its window.
#[derive(Debug)]
pub(crate) struct Slot {
    limiter: Arc<Limiter>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Limiter {
            limit,
            state: Mutex::new(Slots::default()),
            ended: Notify::new(),
        }
    }

    /// The limit it keeps.
    #[cfg(test)]
    pub(crate) fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Waits until a request may be sent and takes a slot for it.
    pub(crate) async fn acquire(self: &Arc<Self>) -> Slot {
        loop {
            // Registered before looking, so that an end between the look and the wait is seen.
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            let wait = {
                let mut slots = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                let now = Instant::now();
                while slots
                    .ended_at
                    .front()
                    .is_some_and(|&end| end + self.limit.window <= now)
                {
                    slots.ended_at.pop_front();
                }
                let used = u64::from(slots.in_flight) + slots.ended_at.len() as u64;
                if used < u64::from(self.limit.requests) {
                    slots.in_flight += 1;
                    return Slot {
                        limiter: Arc::clone(self),
                    };
                }
                // Full: the oldest ended request frees its slot first; with every slot in
                // flight, only an end can tell when.
                slots
                    .ended_at
                    .front()
                    .map(|&end| end + self.limit.window - now)
            };
            match wait {
                // Either way, look again.
                Some(wait) => drop(tokio::time::timeout(wait, ended).await),
                None => ended.await,
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let limiter = &self.limiter;
        {
            let mut slots = limiter.state.lock().unwrap_or_else(PoisonError::into_inner);
            slots.in_flight = slots.in_flight.saturating_sub(1);
            slots.ended_at.push_back(Instant::now());
        }
        limiter.ended.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn keys_pick_clerk_limits() {
        assert_eq!(
            RateLimit::for_secret_key("sk_live_x"),
            RateLimit::new(1_000, 10 * SEC)
        );
        for key in ["sk_test_x", "", "live", "pk_live_x"] {
            assert_eq!(
                RateLimit::for_secret_key(key),
                RateLimit::new(100, 10 * SEC)
            );
        }
        assert_eq!(RateLimit::new(0, SEC).requests, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_window_waits_one_window_after_the_oldest_end() {
        let limiter = Arc::new(Limiter::new(RateLimit::new(3, 10 * SEC)));
        let start = Instant::now();
        for _ in 0..3 {
            drop(limiter.acquire().await);
            tokio::time::advance(SEC).await;
        }
        // Three requests ended at t=0, 1, 2: the fourth may go at t=10.
        drop(limiter.acquire().await);
        assert_eq!(start.elapsed(), 10 * SEC);
        // The fifth at t=11, one window after the second ended.
        drop(limiter.acquire().await);
        assert_eq!(start.elapsed(), 11 * SEC);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_is_held_while_its_request_is_in_flight() {
        let limiter = Arc::new(Limiter::new(RateLimit::new(1, SEC)));
        let held = limiter.acquire().await;
        let waiter = {
            let limiter = Arc::clone(&limiter);
            tokio::spawn(async move {
                let start = Instant::now();
                drop(limiter.acquire().await);
                start.elapsed()
            })
        };
        // However long the first request takes, the second waits for it, then one window.
        tokio::time::sleep(30 * SEC).await;
        drop(held);
        assert_eq!(waiter.await.unwrap(), 31 * SEC);
    }

    #[tokio::test(start_paused = true)]
    async fn no_window_holds_more_than_the_limit() {
        let limiter = Arc::new(Limiter::new(RateLimit::new(5, 2 * SEC)));
        let start = Instant::now();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let tasks: Vec<_> = (0..23)
            .map(|i| {
                let (limiter, sent) = (Arc::clone(&limiter), Arc::clone(&sent));
                tokio::spawn(async move {
                    let slot = limiter.acquire().await;
                    let at = Instant::now();
                    // Requests of different lengths, as on a real network.
                    tokio::time::sleep(Duration::from_millis(37 * (i % 4))).await;
                    sent.lock().unwrap().push((at, Instant::now()));
                    drop(slot);
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        // Five per window and a little for the requests themselves: not slower than needed.
        assert!(start.elapsed() < 10 * SEC, "{:?}", start.elapsed());
        let sent = sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 23);
        // The server counts a request at some instant between its send and its end; whichever
        // it is, no window of the server's holds more than the limit.
        let pick: [fn(Instant, Instant) -> Instant; 3] =
            [|at, _| at, |_, end| end, |at, end| at + (end - at) / 2];
        for arrival in pick {
            let mut arrivals: Vec<Instant> =
                sent.iter().map(|&(at, end)| arrival(at, end)).collect();
            arrivals.sort();
            for (i, &first) in arrivals.iter().enumerate() {
                let in_window = arrivals[i..]
                    .iter()
                    .filter(|&&a| a < first + 2 * SEC)
                    .count();
                assert!(
                    in_window <= 5,
                    "{in_window} requests in the window from {i}"
                );
            }
        }
    }
}
