//! Instances: what one secret key's clients see (state, rate limit windows, faults, request
//! log, latency), and the start state every instance begins from and a reset returns to.
//! Normally one instance serves every key; with one instance per key
//! ([`SimulatorBuilder::instance_per_key`](super::SimulatorBuilder::instance_per_key)) each
//! distinct key gets its own, created at its first request (or admin call).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use super::{
    RateLimits, RecordedRequest, SimulatorError, Snapshot,
    auth::Limiter,
    clock::Clock,
    faults::{Fault, Faults},
    ids::Ids,
    lock,
    stale::StaleReads,
    state::{Rules, State},
    wire::Failure,
};

/// The most instances one process keeps with one instance per key; past it a new key is
/// refused (503) rather than let a client exhaust memory with made-up keys.
pub(crate) const MAX_INSTANCES: usize = 1024;

/// Where every instance starts, and where a reset takes it back.
#[derive(Debug)]
pub(crate) struct Start {
    /// The seed of the default instance's IDs; other instances derive theirs from it and
    /// their key.
    pub seed: u64,
    /// Whether the clock starts at the fixed seeded epoch.
    pub seeded_clock: bool,
    /// A snapshot to start from instead of a freshly seeded instance.
    pub initial: Option<Snapshot>,
    pub rules: Rules,
    pub rate_limits: RateLimits,
    pub latency: Duration,
}

impl Start {
    /// A new instance's state, with IDs from `seed`.
    fn state(&self, seed: u64) -> Result<State, String> {
        let clock = Clock::new(self.seeded_clock);
        match &self.initial {
            None => Ok(State::seeded(Ids::new(seed), self.rules, clock)),
            Some(snapshot) => State::restore(snapshot, Ids::new(seed), self.rules, clock),
        }
    }
}

/// One simulated instance.
#[derive(Debug)]
pub(crate) struct Instance {
    seed: u64,
    state: Mutex<State>,
    limiter: Mutex<Limiter>,
    faults: Mutex<Faults>,
    log: Mutex<Vec<RecordedRequest>>,
    latency: Mutex<Duration>,
    stale: Mutex<StaleReads>,
}

impl Instance {
    /// A new instance as `start` describes, with IDs from `seed`.
    pub(crate) fn new(start: &Start, seed: u64) -> Result<Instance, String> {
        Ok(Instance {
            seed,
            state: Mutex::new(start.state(seed)?),
            limiter: Mutex::new(Limiter::new(start.rate_limits)),
            faults: Mutex::new(Faults::default()),
            log: Mutex::new(Vec::new()),
            latency: Mutex::new(start.latency),
            stale: Mutex::new(StaleReads::new(start.rules.stale_reads_ms)),
        })
    }

    /// The state, with migrations whose time has come completed.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        let mut state = lock(&self.state);
        let now = state.clock.now_ms();
        state.settle(now);
        state
    }

    /// The versions a read within the stale-read window sees.
    pub(crate) fn stale(&self) -> MutexGuard<'_, StaleReads> {
        lock(&self.stale)
    }

    pub(crate) fn limiter(&self) -> MutexGuard<'_, Limiter> {
        lock(&self.limiter)
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    pub(crate) fn log(&self, record: RecordedRequest) {
        lock(&self.log).push(record);
    }

    /// Back to the start state: objects, settings, faults, request log, rate limit windows.
    pub(crate) fn reset(&self, start: &Start) {
        // The start state was built once already, so it builds again.
        if let Ok(state) = start.state(self.seed) {
            *lock(&self.state) = state;
        }
        *self.limiter() = Limiter::new(start.rate_limits);
        self.faults().clear();
        lock(&self.log).clear();
        *lock(&self.latency) = start.latency;
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let state = self.state();
        state.snapshot(state.clock.now_ms())
    }

    /// Replaces the objects by `snapshot`'s, after checking it is consistent.
    pub(crate) fn restore(&self, snapshot: &Snapshot) -> Result<(), SimulatorError> {
        let mut state = lock(&self.state);
        let ids = state.ids.fork();
        let restored = State::restore(snapshot, ids, state.rules, state.clock)
            .map_err(SimulatorError::InvalidSnapshot)?;
        *state = restored;
        Ok(())
    }

    /// Adds a fault; returns how many the instance holds.
    pub(crate) fn inject(&self, fault: Fault) -> usize {
        let mut faults = self.faults();
        faults.inject(fault);
        faults.len()
    }

    /// Removes every fault; returns how many there were.
    pub(crate) fn clear_faults(&self) -> usize {
        let mut faults = self.faults();
        let count = faults.len();
        faults.clear();
        count
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).clone()
    }

    /// Empties the request log; returns how many entries it held.
    pub(crate) fn clear_requests(&self) -> usize {
        std::mem::take(&mut *lock(&self.log)).len()
    }

    /// Completes every migration under way; returns how many.
    pub(crate) fn finish_migrations(&self) -> usize {
        let mut state = self.state();
        let now = state.clock.now_ms();
        state.finish_migrations(now)
    }

    pub(crate) fn latency(&self) -> Duration {
        *lock(&self.latency)
    }

    pub(crate) fn set_latency(&self, latency: Duration) {
        *lock(&self.latency) = latency;
    }

    pub(crate) fn rate_limits(&self) -> RateLimits {
        self.limiter().limits()
    }

    /// New limits; the windows start afresh.
    pub(crate) fn set_rate_limits(&self, limits: RateLimits) {
        *self.limiter() = Limiter::new(limits);
    }
}

/// Everything the server's tasks share with the [`Simulator`](super::Simulator) handle.
pub(crate) struct Shared {
    /// The instance of the handle's own secret key (the only one, unless one per key).
    pub default: Arc<Instance>,
    pub default_key: String,
    /// With one instance per key: the instances by secret key (the default one included).
    pub per_key: Option<Mutex<HashMap<String, Arc<Instance>>>>,
    pub start: Start,
    pub traces: Mutex<Ids>,
    pub record_exchanges: bool,
    pub admin_token: Option<String>,
}

/// Shows the shape; never a secret key (the default one, or those naming instances) nor the
/// admin token.
impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let instances = self.per_key.as_ref().map(|m| lock(m).len());
        f.debug_struct("Shared")
            .field("default", &self.default)
            .field("instances_per_key", &instances)
            .field("start", &self.start)
            .field("record_exchanges", &self.record_exchanges)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn trace_id(&self) -> String {
        lock(&self.traces).trace_id()
    }

    /// The instance serving `key`: the default one unless there is one per key and `key` is
    /// a secret key (checked by the caller).
    pub(crate) fn instance_for(&self, key: Option<&str>) -> Result<Arc<Instance>, Failure> {
        let (Some(per_key), Some(key)) = (&self.per_key, key) else {
            return Ok(Arc::clone(&self.default));
        };
        let mut instances = lock(per_key);
        if let Some(instance) = instances.get(key) {
            return Ok(Arc::clone(instance));
        }
        if instances.len() >= MAX_INSTANCES {
            return Err(Failure::new(
                503,
                "too_many_instances",
                "too many instances",
                format!(
                    "This simulator already keeps {MAX_INSTANCES} instances, one per secret key; reset it to start over."
                ),
            ));
        }
        let instance = Instance::new(&self.start, self.start.seed ^ fingerprint(key))
            .map(Arc::new)
            .map_err(|_| Failure::internal())?;
        instances.insert(key.to_owned(), Arc::clone(&instance));
        Ok(instance)
    }

    /// The instance an admin call without an instance header addresses: the default one, or
    /// none with one instance per key (the call must name one).
    pub(crate) fn default_instance_for_admin(&self) -> Option<Arc<Instance>> {
        self.per_key.is_none().then(|| Arc::clone(&self.default))
    }

    /// Every instance back to the start: the default one reset, the others dropped (each
    /// starts afresh at its next request).
    pub(crate) fn reset_all(&self) {
        self.default.reset(&self.start);
        if let Some(per_key) = &self.per_key {
            let mut instances = lock(per_key);
            instances.clear();
            instances.insert(self.default_key.clone(), Arc::clone(&self.default));
        }
    }
}

/// A stable 64-bit fingerprint of a key (FNV-1a), so that each key's instance draws its own
/// IDs, the same ones after every reset.
fn fingerprint(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secret_key_nor_admin_token() {
        let start = Start {
            seed: 1,
            seeded_clock: true,
            initial: None,
            rules: Rules {
                custom_roles: true,
                migration_ms: 0,
                quotas: crate::settings::Quotas::default(),
                stale_reads_ms: 0,
            },
            rate_limits: RateLimits::off(),
            latency: Duration::ZERO,
        };
        let default = Arc::new(Instance::new(&start, 1).unwrap());
        let key = "sk_test_debugMustNotShowThis";
        let shared = Shared {
            default: Arc::clone(&default),
            default_key: key.to_owned(),
            per_key: Some(Mutex::new(HashMap::from([(key.to_owned(), default)]))),
            start,
            traces: Mutex::new(Ids::new(2)),
            record_exchanges: false,
            admin_token: Some("t0ken-must-not-show".into()),
        };
        let shown = format!("{shared:?}");
        assert!(!shown.contains("debugMustNotShowThis"), "{shown}");
        assert!(!shown.contains("t0ken-must-not-show"), "{shown}");
        assert!(shown.contains("instances_per_key: Some(1)"), "{shown}");
    }
}
