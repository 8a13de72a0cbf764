//! An in-process simulator of Clerk's organization RBAC Backend API.
//!
//! [`Simulator`] is a real HTTP/1.1 server on loopback that serves the 19 operations of the
//! vendored fragment at `/v1/...`, with Clerk's JSON shapes and error format, and refuses what
//! Clerk refuses: malformed or duplicate keys, changes to system permissions, deleting a role
//! in use, role sets without their default or creator role, more than 10 roles per call, bad
//! list parameters, missing or malformed secret keys, too many requests per key. A new
//! instance is seeded as Clerk seeds one: the system permissions, `org:admin` and
//! `org:member`, and the initial role set `role_set:default`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use clerk_rbac::CreateRole;
//! use clerk_rbac_simulator::Simulator;
//!
//! let sim = Simulator::start().await?;
//! let clerk = sim.client();
//! let role = clerk.organization_roles().create(CreateRole::new("Auditor", "org:auditor")).await?;
//! assert!(role.id.starts_with("role_"));
//!
//! // Clerk's rule: `org:sys_` keys are reserved.
//! let refused = clerk
//!     .organization_permissions()
//!     .create(clerk_rbac::CreatePermission::new("Sneaky", "org:sys_profile:steal"))
//!     .await
//!     .unwrap_err();
//! assert_eq!(refused.code(), Some("form_param_format_invalid"));
//! # Ok(())
//! # }
//! ```
//!
//! Tests can shape the instance beyond what the API can ([`Simulator::set_members`],
//! [`Simulator::set_invitations`]), compare or reset whole instances ([`Simulator::snapshot`],
//! [`Simulator::restore`]), read every request it answered ([`Simulator::requests`]) and script
//! failures ([`Simulator::inject`] with a [`Fault`]). Time (role set migrations, rate limit
//! windows) follows tokio's clock, so a test with a paused clock can move it forward.
//!
//! The same controls are an HTTP API under `/_simulator/` for tests in any language (reset,
//! snapshots, the request log, faults, members and invitations, settings, finishing
//! migrations), described by its own OpenAPI document, [`ADMIN_OPENAPI`], which the server
//! also serves at `GET /_simulator/openapi.json`. With
//! [`SimulatorBuilder::instance_per_key`] each secret key gets an instance of its own.
//! [`ProcessOptions`] runs the simulator as a process (`clerk-rbac simulator`).
//!
//! Dropping the [`Simulator`] stops the server. It needs a tokio runtime.

mod admin;
mod auth;
mod clock;
mod faults;
mod ids;
mod instance;
mod lists;
mod process;
mod records;
mod routes;
mod server;
mod settings;
mod snapshot;
mod stale;
mod state;
mod table;
mod wire;

use std::{
    collections::HashMap,
    future::Future,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use tokio::{net::TcpListener, task::JoinHandle};

use clerk_rbac::{Clerk, ClerkBuilder};

pub use admin::{ADMIN_OPENAPI, INSTANCE_HEADER};
pub use auth::RateLimits;
pub use faults::Fault;
pub use process::ProcessOptions;
pub use records::{
    MigrationSnapshot, PermissionSnapshot, RoleSetMemberSnapshot, RoleSetSnapshot, RoleSnapshot,
};
pub use settings::{DEFAULT_MAX_CUSTOM_ROLES, DEFAULT_MAX_ROLE_SETS};
pub use snapshot::Snapshot;

use self::{
    ids::Ids,
    instance::{Instance, Shared, Start},
    state::Rules,
};

/// How long a role set replacement takes unless configured: long enough to watch it go
/// through `enqueued` and `in_progress`, short enough for an interactive run.
pub const DEFAULT_MIGRATION_DURATION: Duration = Duration::from_secs(3);

/// What went wrong in a simulator call (never an API answer: those are HTTP responses).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimulatorError {
    /// A snapshot does not describe an instance the API could have produced, or is not a
    /// snapshot at all.
    #[error("invalid snapshot: {0}")]
    InvalidSnapshot(String),
    /// A role set or role named in a call does not exist, or the role is not in the set.
    #[error("{0}")]
    NotInInstance(String),
    /// A command-line argument of the simulator process is not understood.
    #[error("{0}")]
    InvalidArgument(String),
    /// Reading a file (a snapshot to start from) failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// One request the simulator answered (or dropped), as [`Simulator::requests`] lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The path without `/v1`, percent-decoded, e.g. `/role_sets/role_set:default/roles`.
    pub path: String,
    /// The query parameters, decoded, in the order sent.
    pub query: Vec<(String, String)>,
    /// The status of the answer the simulator produced; `None` when a fault dropped the
    /// connection before anything was done.
    pub status: Option<u16>,
    /// Whether the answer reached the client: false when a fault closed the connection
    /// instead (with `status` set if the operation was carried out first).
    pub answered: bool,
    /// Whether an injected [`Fault`] decided or shaped the outcome.
    pub injected: bool,
    /// The request body as text, with [`SimulatorBuilder::record_exchanges`] on.
    pub request_body: Option<String>,
    /// The response body as text, with [`SimulatorBuilder::record_exchanges`] on.
    pub response_body: Option<String>,
}

/// Locks a mutex even if a thread panicked while holding it: the data is still usable for a
/// simulator, and a panic must not take every later request down with it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Options for a [`Simulator`]; from [`Simulator::builder`].
///
/// ```
/// # async fn demo() -> std::io::Result<()> {
/// use std::time::Duration;
/// use clerk_rbac_simulator::{RateLimits, Simulator};
/// let sim = Simulator::builder()
///     .rate_limits(RateLimits::off())
///     .migration_duration(Duration::from_millis(300))
///     .record_exchanges(true)
///     .seed(42)
///     .start()
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[must_use]
pub struct SimulatorBuilder {
    host: IpAddr,
    port: u16,
    rate_limits: RateLimits,
    migration_duration: Duration,
    custom_roles: bool,
    quotas: settings::Quotas,
    stale_reads: Duration,
    latency: Duration,
    record_exchanges: bool,
    initial: Option<Snapshot>,
    seed: Option<u64>,
    instance_per_key: bool,
    admin_token: Option<String>,
}

/// Shows the options; never the admin token.
impl std::fmt::Debug for SimulatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatorBuilder")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("rate_limits", &self.rate_limits)
            .field("migration_duration", &self.migration_duration)
            .field("custom_roles", &self.custom_roles)
            .field("quotas", &self.quotas)
            .field("stale_reads", &self.stale_reads)
            .field("latency", &self.latency)
            .field("record_exchanges", &self.record_exchanges)
            .field("initial", &self.initial.as_ref().map(|_| "<snapshot>"))
            .field("seed", &self.seed)
            .field("instance_per_key", &self.instance_per_key)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Default for SimulatorBuilder {
    fn default() -> Self {
        SimulatorBuilder {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            rate_limits: RateLimits::clerk(),
            migration_duration: DEFAULT_MIGRATION_DURATION,
            custom_roles: true,
            quotas: settings::Quotas::default(),
            stale_reads: Duration::ZERO,
            latency: Duration::ZERO,
            record_exchanges: false,
            initial: None,
            seed: None,
            instance_per_key: false,
            admin_token: None,
        }
    }
}

impl SimulatorBuilder {
    /// The address to listen on: loopback (`127.0.0.1`) by default. Another address (such
    /// as `0.0.0.0` in a container) lets other hosts call the API; the admin API then
    /// answers them only with the [`admin_token`](SimulatorBuilder::admin_token).
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = host;
        self
    }

    /// The port to listen on; 0 (the default) picks a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Rate limits per secret key; [`RateLimits::clerk`] by default.
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// How long a role set replacement takes, from `enqueued` through `in_progress` to
    /// `completed`; [`DEFAULT_MIGRATION_DURATION`] by default. Zero completes it at once.
    pub fn migration_duration(mut self, duration: Duration) -> Self {
        self.migration_duration = duration;
        self
    }

    /// Whether the instance's plan allows custom roles (the default). Without them, creating a
    /// permission, role or role set answers 402, as on a plan without the feature.
    pub fn custom_roles(mut self, allowed: bool) -> Self {
        self.custom_roles = allowed;
        self
    }

    /// How many custom roles the instance may create ([`DEFAULT_MAX_CUSTOM_ROLES`] by
    /// default, Clerk's documented figure). The default roles `org:admin` and `org:member` do
    /// not count; a create beyond the limit answers 422 `organization_role_quota_exceeded`.
    pub fn max_custom_roles(mut self, max: u32) -> Self {
        self.quotas.max_custom_roles = max;
        self
    }

    /// How many role sets the instance may hold, the primary one included
    /// ([`DEFAULT_MAX_ROLE_SETS`] by default); a create beyond the limit answers 422
    /// `role_set_quota_exceeded`.
    pub fn max_role_sets(mut self, max: u32) -> Self {
        self.quotas.max_role_sets = max;
        self
    }

    /// A stale-read window (off, zero, by default): a read within this time of a write sees
    /// the instance as it was before that write, as a read from a lagging replica would.
    /// Writes always act on the current instance.
    pub fn stale_reads(mut self, window: Duration) -> Self {
        self.stale_reads = window;
        self
    }

    /// A delay added to every answer (zero by default).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Keeps request and response bodies in [`Simulator::requests`] (off by default: only
    /// method, path, query and status are kept).
    pub fn record_exchanges(mut self, record: bool) -> Self {
        self.record_exchanges = record;
        self
    }

    /// Starts from this snapshot instead of a freshly seeded instance; checked by
    /// [`start`](SimulatorBuilder::start).
    pub fn initial(mut self, snapshot: Snapshot) -> Self {
        self.initial = Some(snapshot);
        self
    }

    /// Makes IDs, trace IDs and the secret key reproducible, and starts the clock at
    /// 2026-01-01T00:00:00Z. Without a seed, two simulators never share an ID.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Gives each distinct secret key an instance of its own (objects, rate limit windows,
    /// faults, request log, settings), created at its first request from the same start
    /// state; off by default (one instance serves every key). The handle's methods address
    /// the instance of [`Simulator::secret_key`]; the admin API takes the key in the
    /// [`INSTANCE_HEADER`] header.
    pub fn instance_per_key(mut self, on: bool) -> Self {
        self.instance_per_key = on;
        self
    }

    /// The token that peers other than loopback must present to the admin API, as
    /// `Authorization: Bearer <token>`. Without one, only loopback reaches the admin API.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(token.into());
        self
    }

    /// Binds the port and starts serving on the current tokio runtime.
    ///
    /// Fails if the port cannot be bound, or (as `InvalidData`) if the
    /// [`initial`](SimulatorBuilder::initial) snapshot is not consistent.
    pub fn start(self) -> impl Future<Output = std::io::Result<Simulator>> + Send {
        // Boxed here, behind `dyn Future`, so that the server this spawns is compiled in this
        // crate once, not again in every crate that awaits the start.
        let start: Pin<Box<dyn Future<Output = std::io::Result<Simulator>> + Send>> =
            Box::pin(self.start_serving());
        start
    }

    async fn start_serving(self) -> std::io::Result<Simulator> {
        let seed = self.seed.unwrap_or_else(|| fastrand::u64(..));
        let start = Start {
            seed,
            seeded_clock: self.seed.is_some(),
            initial: self.initial,
            rules: Rules {
                custom_roles: self.custom_roles,
                migration_ms: i64::try_from(self.migration_duration.as_millis())
                    .unwrap_or(i64::MAX),
                quotas: self.quotas,
                stale_reads_ms: i64::try_from(self.stale_reads.as_millis()).unwrap_or(i64::MAX),
            },
            rate_limits: self.rate_limits,
            latency: self.latency,
        };
        let mut traces = Ids::new(seed.rotate_left(32) ^ 0x5EED);
        let default = Instance::new(&start, seed).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                SimulatorError::InvalidSnapshot(e),
            )
        })?;
        let default = Arc::new(default);
        let secret_key = format!("sk_test_{}", traces.key_tail());
        let listener = TcpListener::bind((self.host, self.port)).await?;
        let addr = listener.local_addr()?;
        let per_key = self
            .instance_per_key
            .then(|| Mutex::new(HashMap::from([(secret_key.clone(), Arc::clone(&default))])));
        let shared = Arc::new(Shared {
            default,
            default_key: secret_key.clone(),
            per_key,
            start,
            traces: Mutex::new(traces),
            record_exchanges: self.record_exchanges,
            admin_token: self.admin_token,
        });
        let server = tokio::spawn(server::serve(listener, Arc::clone(&shared)));
        Ok(Simulator {
            shared,
            addr,
            base_url: format!("http://{addr}"),
            secret_key,
            server,
        })
    }
}

/// A running simulator; see the [module documentation](self). Dropping it stops the server.
pub struct Simulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    base_url: String,
    secret_key: String,
    server: JoinHandle<()>,
}

/// Shows where the simulator listens; never its secret key or the keys its clients used.
impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("base_url", &self.base_url)
            .field("secret_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        // Aborting the accept task drops the listener and every connection task with it.
        self.server.abort();
    }
}

impl Simulator {
    /// A simulator with the default options, on a free port.
    pub async fn start() -> std::io::Result<Simulator> {
        SimulatorBuilder::default().start().await
    }

    /// Options for a simulator.
    pub fn builder() -> SimulatorBuilder {
        SimulatorBuilder::default()
    }

    /// The API root, `http://127.0.0.1:<port>` (without `/v1`), as
    /// [`ClerkBuilder::base_url`] takes it.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A development secret key (`sk_test_...`) that [`client`](Simulator::client) uses. Any
    /// other `sk_test_...` or `sk_live_...` key is accepted too, with its own rate limit.
    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// A [`Clerk`] client for the simulator, with the default retry policy.
    pub fn client(&self) -> Clerk {
        self.client_builder()
            .build()
            .expect("a loopback base URL and a plain sk_test_ key are a valid configuration")
    }

    /// A [`ClerkBuilder`] with the simulator's base URL and secret key set, to customise.
    pub fn client_builder(&self) -> ClerkBuilder {
        Clerk::builder()
            .base_url(&self.base_url)
            .secret_key(&self.secret_key)
    }

    /// The whole instance as it is now.
    pub fn snapshot(&self) -> Snapshot {
        self.shared.default.snapshot()
    }

    /// Replaces the whole instance by `snapshot`, after checking it is consistent. Requests
    /// already under way finish first; the request log, faults and rate limit windows stay.
    pub fn restore(&self, snapshot: &Snapshot) -> Result<(), SimulatorError> {
        self.shared.default.restore(snapshot)
    }

    /// Puts the instance back in its start state (the seeded instance, or the
    /// [`initial`](SimulatorBuilder::initial) snapshot, with the same IDs), and clears its
    /// request log, faults, rate limit windows and changed settings. With
    /// [`instance_per_key`](SimulatorBuilder::instance_per_key), the other keys' instances
    /// are dropped too.
    pub fn reset(&self) {
        self.shared.reset_all();
    }

    /// Sets how many members hold `role_key` in organizations using the role set
    /// `role_set_key` (a key or ID). Members keep a role from being deleted, move with
    /// role and role set replacements, and show in `members_count`.
    pub fn set_members(
        &self,
        role_set_key: &str,
        role_key: &str,
        count: u64,
    ) -> Result<(), SimulatorError> {
        self.shared
            .default
            .state()
            .set_members(role_set_key, role_key, count)
            .map_err(SimulatorError::NotInInstance)
    }

    /// Sets how many pending invitations offer `role_key`; they keep the role from being
    /// deleted.
    pub fn set_invitations(&self, role_key: &str, count: u64) -> Result<(), SimulatorError> {
        self.shared
            .default
            .state()
            .set_invitations(role_key, count)
            .map_err(SimulatorError::NotInInstance)
    }

    /// Completes every role set migration under way at once (members move, replaced sets
    /// go); returns how many there were.
    pub fn finish_migrations(&self) -> usize {
        self.shared.default.finish_migrations()
    }

    /// Adds a scripted fault; faults are checked in the order injected (see [`Fault`]).
    pub fn inject(&self, fault: Fault) {
        self.shared.default.inject(fault);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.shared.default.clear_faults();
    }

    /// Every request answered or dropped so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.default.requests()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        self.shared.default.clear_requests();
    }
}

/// The examples in this crate's README, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

/// The examples in the simulator's manual (`docs/simulator.md` at the root of the repository),
/// compiled and run as doc tests. Outside the crate's directory, so only doc tests read it: a
/// packaged copy of the crate builds without it.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/simulator.md")]
struct ManualExamples;
