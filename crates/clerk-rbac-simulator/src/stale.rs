//! The opt-in stale-read window ([`SimulatorBuilder::stale_reads`](super::SimulatorBuilder::stale_reads)).
//!
//! Source: Clerk's CLI documentation warns that a read right after a write may return the
//! previous value. Model (an assumption: Clerk publishes no figure): reads are served by a
//! replica that lags the primary by the window, so a read at time `t` sees the instance as it
//! was at `t - window`: every write made within the window is not visible yet. Writes are
//! always checked against, and applied to, the current instance.

use std::collections::VecDeque;

use super::state::State;

/// The instance as it was before each write still within the window, oldest first.
#[derive(Debug)]
pub(crate) struct StaleReads {
    window_ms: i64,
    /// `(when the write happened, the instance just before it)`.
    before_writes: VecDeque<(i64, State)>,
}

impl StaleReads {
    pub(crate) fn new(window_ms: i64) -> Self {
        StaleReads {
            window_ms,
            before_writes: VecDeque::new(),
        }
    }

    /// Whether the window is on at all.
    pub(crate) fn enabled(&self) -> bool {
        self.window_ms > 0
    }

    /// Drops the versions a read can no longer see.
    fn forget_old(&mut self, now: i64) {
        let horizon = now.saturating_sub(self.window_ms);
        while self
            .before_writes
            .front()
            .is_some_and(|(written_at, _)| *written_at <= horizon)
        {
            self.before_writes.pop_front();
        }
    }

    /// Keeps the instance as it was before a write made at `now`.
    pub(crate) fn record_write(&mut self, now: i64, before: State) {
        if !self.enabled() {
            return;
        }
        self.forget_old(now);
        self.before_writes.push_back((now, before));
    }

    /// The version a read at `now` sees, when it is not the current one: the instance before
    /// the oldest write still within the window.
    pub(crate) fn view(&mut self, now: i64) -> Option<&mut State> {
        self.forget_old(now);
        self.before_writes.front_mut().map(|(_, state)| state)
    }
}
