//! The simulator's clock: Unix milliseconds for timestamps, driven by tokio's clock so that a
//! test with a paused clock (`#[tokio::test(start_paused = true)]`) moves migrations and rate
//! limit windows forward with `tokio::time::advance`.

use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Where a seeded simulator's clock starts (2026-01-01T00:00:00Z), so that a seeded run with a
/// paused clock produces the same timestamps every time.
const SEEDED_EPOCH_MS: i64 = 1_767_225_600_000;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    /// Unix milliseconds at `started`.
    base_ms: i64,
    started: Instant,
}

impl Clock {
    /// A clock reading the wall clock now, or the fixed seeded epoch.
    pub(crate) fn new(seeded: bool) -> Self {
        let base_ms = if seeded {
            SEEDED_EPOCH_MS
        } else {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(SEEDED_EPOCH_MS, |d| {
                    i64::try_from(d.as_millis()).unwrap_or(SEEDED_EPOCH_MS)
                })
        };
        Clock {
            base_ms,
            started: Instant::now(),
        }
    }

    /// A clock whose first reading is at least `floor_ms`: a restored instance never sees time
    /// go backwards relative to the snapshot it came from.
    pub(crate) fn not_before(self, floor_ms: i64) -> Self {
        let now = self.now_ms();
        if now >= floor_ms {
            return self;
        }
        Clock {
            base_ms: self.base_ms + (floor_ms - now),
            started: self.started,
        }
    }

    /// Now, in Unix milliseconds.
    pub(crate) fn now_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX / 2);
        self.base_ms.saturating_add(elapsed)
    }
}
