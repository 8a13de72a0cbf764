//! The simulator as a process (`clerk-rbac simulator`, or this crate's `simulator` example):
//! its command line, parsed here so that both front ends stay a few lines and the parsing is
//! tested, and its life: start, print the base URL, serve until SIGINT or SIGTERM, save the
//! state.

use std::{
    io::{ErrorKind, Write},
    net::{IpAddr, Ipv4Addr},
    path::{Path, PathBuf},
    time::Duration,
};

use super::{RateLimits, Simulator, SimulatorBuilder, SimulatorError, Snapshot};

/// The simulator process's options, from its command line; see [`ProcessOptions::USAGE`].
///
/// ```
/// use clerk_rbac_simulator::ProcessOptions;
/// let options = ProcessOptions::parse(["--port", "8080", "--no-rate-limit"].map(String::from))?;
/// assert_eq!(options.port, 8080);
/// # Ok::<(), clerk_rbac_simulator::SimulatorError>(())
/// ```
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct ProcessOptions {
    /// `--host`: the address to listen on; loopback (`127.0.0.1`) by default.
    pub host: IpAddr,
    /// `--port`: the port; 0 picks a free one (the default).
    pub port: u16,
    /// `--no-rate-limit`, or `--rate-limit DEV/PROD/SECONDS`: the rate limits per key.
    pub rate_limits: RateLimits,
    /// `--migration-ms`: how long a role set replacement takes.
    pub migration_duration: Duration,
    /// `--no-custom-roles` turns this off: creates then answer 402.
    pub custom_roles: bool,
    /// `--max-custom-roles`: how many custom roles the instance may create.
    pub max_custom_roles: u32,
    /// `--max-role-sets`: how many role sets the instance may hold.
    pub max_role_sets: u32,
    /// `--stale-reads-ms`: reads within this time of a write see the instance before it.
    pub stale_reads: Duration,
    /// `--latency-ms`: a delay added to every answer.
    pub latency: Duration,
    /// `--snapshot FILE`: a snapshot (JSON, from [`Snapshot::to_json`]) to start from.
    pub snapshot: Option<PathBuf>,
    /// `--seed`: reproducible IDs and secret key.
    pub seed: Option<u64>,
    /// `--state FILE`: start from this snapshot file if it exists, and write the instance to
    /// it when stopped (the file the CLI's other commands keep their embedded simulator in).
    pub state: Option<PathBuf>,
    /// `--record-exchanges`: keep request and response bodies in the request log.
    pub record_exchanges: bool,
    /// `--instance-per-key`: one instance per distinct secret key.
    pub instance_per_key: bool,
    /// `--admin-token TOKEN`: what peers other than loopback must present to the admin API.
    pub admin_token: Option<String>,
    /// `--help` or `-h`: print [`ProcessOptions::USAGE`] and exit.
    pub help: bool,
}

/// Shows the options; never the admin token.
impl std::fmt::Debug for ProcessOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("rate_limits", &self.rate_limits)
            .field("migration_duration", &self.migration_duration)
            .field("custom_roles", &self.custom_roles)
            .field("max_custom_roles", &self.max_custom_roles)
            .field("max_role_sets", &self.max_role_sets)
            .field("stale_reads", &self.stale_reads)
            .field("latency", &self.latency)
            .field("snapshot", &self.snapshot)
            .field("seed", &self.seed)
            .field("state", &self.state)
            .field("record_exchanges", &self.record_exchanges)
            .field("instance_per_key", &self.instance_per_key)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .field("help", &self.help)
            .finish()
    }
}

impl Default for ProcessOptions {
    fn default() -> Self {
        ProcessOptions {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            rate_limits: RateLimits::clerk(),
            migration_duration: super::DEFAULT_MIGRATION_DURATION,
            custom_roles: true,
            max_custom_roles: super::DEFAULT_MAX_CUSTOM_ROLES,
            max_role_sets: super::DEFAULT_MAX_ROLE_SETS,
            stale_reads: Duration::ZERO,
            latency: Duration::ZERO,
            snapshot: None,
            seed: None,
            state: None,
            record_exchanges: false,
            instance_per_key: false,
            admin_token: None,
            help: false,
        }
    }
}

impl ProcessOptions {
    /// What the process accepts.
    pub const USAGE: &'static str = "\
Serves a simulated Clerk organization RBAC API until stopped (Ctrl-C or SIGTERM).
The first line of output is the base URL; use it as CLERK_API_URL with any sk_test_... or
sk_live_... key as CLERK_SECRET_KEY (the prefix picks the rate limit). The admin API is
under /_simulator/ (its OpenAPI document: GET /_simulator/openapi.json).

Options:
  --port PORT              port; 0 picks a free one (default 0)
  --host ADDR              address to listen on (default 127.0.0.1)
  --no-rate-limit          no rate limits
  --rate-limit D/P/S       D requests per S seconds for sk_test_ keys, P for sk_live_ keys
                           (default 100/1000/10, as Clerk)
  --migration-ms MS        how long a role set replacement takes (default 3000)
  --no-custom-roles        a plan without custom roles: creates answer 402
  --max-custom-roles N     custom roles the instance may create (default 10, as Clerk)
  --max-role-sets N        role sets the instance may hold (default 10)
  --stale-reads-ms MS      reads within MS of a write see the instance before it (default 0)
  --latency-ms MS          delay added to every answer (default 0)
  --snapshot FILE          start from this snapshot (JSON) instead of a fresh instance
  --seed N                 reproducible IDs and secret key
  --state FILE             start from FILE if it exists; write the instance to it at stop
  --record-exchanges       keep request and response bodies in the request log
  --instance-per-key       one instance per secret key (admin API: X-Simulator-Instance)
  --admin-token TOKEN      token other hosts must send to the admin API (Bearer)
  -h, --help               this text";

    /// Reads the arguments that follow the program name.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Self, SimulatorError> {
        let mut options = ProcessOptions::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .ok_or_else(|| SimulatorError::InvalidArgument(format!("{name} needs a value")))
            };
            match arg.as_str() {
                "-h" | "--help" => options.help = true,
                "--port" => options.port = number(&arg, &value(&arg)?)?,
                "--no-rate-limit" => options.rate_limits = RateLimits::off(),
                "--rate-limit" => options.rate_limits = rate_limits(&value(&arg)?)?,
                "--migration-ms" => {
                    options.migration_duration =
                        Duration::from_millis(number(&arg, &value(&arg)?)?);
                }
                "--no-custom-roles" => options.custom_roles = false,
                "--max-custom-roles" => options.max_custom_roles = number(&arg, &value(&arg)?)?,
                "--max-role-sets" => options.max_role_sets = number(&arg, &value(&arg)?)?,
                "--stale-reads-ms" => {
                    options.stale_reads = Duration::from_millis(number(&arg, &value(&arg)?)?);
                }
                "--latency-ms" => {
                    options.latency = Duration::from_millis(number(&arg, &value(&arg)?)?);
                }
                "--snapshot" => options.snapshot = Some(PathBuf::from(value(&arg)?)),
                "--seed" => options.seed = Some(number(&arg, &value(&arg)?)?),
                "--host" => {
                    let raw = value(&arg)?;
                    options.host = raw.parse().map_err(|_| {
                        SimulatorError::InvalidArgument(format!(
                            "--host takes an IP address such as 127.0.0.1 or 0.0.0.0, got `{raw}`"
                        ))
                    })?;
                }
                "--state" => options.state = Some(PathBuf::from(value(&arg)?)),
                "--record-exchanges" => options.record_exchanges = true,
                "--instance-per-key" => options.instance_per_key = true,
                "--admin-token" => {
                    let token = value(&arg)?;
                    if token.is_empty() {
                        return Err(SimulatorError::InvalidArgument(
                            "--admin-token must not be empty".into(),
                        ));
                    }
                    options.admin_token = Some(token);
                }
                other => {
                    return Err(SimulatorError::InvalidArgument(format!(
                        "unknown argument `{other}` (see --help)"
                    )));
                }
            }
        }
        Ok(options)
    }

    /// A [`SimulatorBuilder`] with these options; reads the snapshot file if one was given,
    /// or the state file if it exists.
    pub fn builder(&self) -> Result<SimulatorBuilder, SimulatorError> {
        if self.state.is_some() && self.snapshot.is_some() {
            return Err(SimulatorError::InvalidArgument(
                "--state and --snapshot both name where to start from: give one".into(),
            ));
        }
        if self.state.is_some() && self.instance_per_key {
            return Err(SimulatorError::InvalidArgument(
                "--state keeps one instance; with --instance-per-key, export each one with GET /_simulator/snapshot".into(),
            ));
        }
        let mut builder = SimulatorBuilder::default()
            .host(self.host)
            .port(self.port)
            .rate_limits(self.rate_limits)
            .migration_duration(self.migration_duration)
            .custom_roles(self.custom_roles)
            .max_custom_roles(self.max_custom_roles)
            .max_role_sets(self.max_role_sets)
            .stale_reads(self.stale_reads)
            .latency(self.latency);
        builder = builder
            .record_exchanges(self.record_exchanges)
            .instance_per_key(self.instance_per_key);
        if let Some(token) = &self.admin_token {
            builder = builder.admin_token(token.clone());
        }
        if let Some(seed) = self.seed {
            builder = builder.seed(seed);
        }
        if let Some(path) = &self.state {
            match std::fs::read_to_string(path) {
                Ok(json) => {
                    let snapshot = Snapshot::from_json(&json).map_err(|e| {
                        SimulatorError::InvalidSnapshot(format!("{}: {e}", path.display()))
                    })?;
                    builder = builder.initial(snapshot);
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(e, "reading state", path)),
            }
        }
        if let Some(path) = &self.snapshot {
            let json = std::fs::read_to_string(path).map_err(|e| {
                SimulatorError::Io(std::io::Error::new(
                    e.kind(),
                    format!("reading snapshot {}: {e}", path.display()),
                ))
            })?;
            builder = builder.initial(Snapshot::from_json(&json)?);
        }
        Ok(builder)
    }
}

fn io_error(e: std::io::Error, doing: &str, path: &Path) -> SimulatorError {
    SimulatorError::Io(std::io::Error::new(
        e.kind(),
        format!("{doing} {}: {e}", path.display()),
    ))
}

impl ProcessOptions {
    /// Runs the process: starts the simulator, prints its base URL as the first line of
    /// stdout, serves until SIGINT or SIGTERM, then writes the instance to the
    /// [`state`](ProcessOptions::state) file, if one was given.
    pub async fn run(&self) -> Result<(), SimulatorError> {
        let sim = self.builder()?.start().await.map_err(|e| {
            SimulatorError::Io(std::io::Error::new(
                e.kind(),
                format!("could not start the simulator: {e}"),
            ))
        })?;
        let mut stdout = std::io::stdout();
        // A closed stdout must not stop the server: the URL is a courtesy then.
        let _ = writeln!(stdout, "{}", sim.base_url()).and_then(|()| stdout.flush());
        eprintln!(
            "Serving until Ctrl-C or SIGTERM. Any sk_test_... or sk_live_... key works (the prefix picks the rate limit); the admin API is under /_simulator/."
        );
        stop_signal().await?;
        if let Some(path) = &self.state {
            save(&sim, path)?;
            eprintln!("Stopped; the instance is in {}.", path.display());
        } else {
            eprintln!("Stopped.");
        }
        Ok(())
    }
}

/// Writes the instance beside `path`, then renames: a stop half-way never leaves half a file.
fn save(sim: &Simulator, path: &Path) -> Result<(), SimulatorError> {
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, sim.snapshot().to_json())
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| io_error(e, "writing state", path))
}

/// Waits for SIGINT or SIGTERM (Ctrl-C elsewhere than Unix).
async fn stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

fn number<T: std::str::FromStr>(name: &str, raw: &str) -> Result<T, SimulatorError> {
    raw.parse()
        .map_err(|_| SimulatorError::InvalidArgument(format!("{name} takes a number, got `{raw}`")))
}

/// `DEV/PROD/SECONDS`.
fn rate_limits(raw: &str) -> Result<RateLimits, SimulatorError> {
    let parts: Vec<&str> = raw.split('/').collect();
    let [dev, prod, seconds] = parts.as_slice() else {
        return Err(SimulatorError::InvalidArgument(format!(
            "--rate-limit takes DEV/PROD/SECONDS, e.g. 100/1000/10; got `{raw}`"
        )));
    };
    Ok(RateLimits::new(
        number("--rate-limit", dev)?,
        number("--rate-limit", prod)?,
        Duration::from_secs(number("--rate-limit", seconds)?),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<ProcessOptions, SimulatorError> {
        ProcessOptions::parse(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn no_arguments_means_clerks_defaults_on_a_free_port() {
        assert_eq!(parse(&[]).unwrap(), ProcessOptions::default());
        assert_eq!(ProcessOptions::default().port, 0);
        assert_eq!(ProcessOptions::default().rate_limits, RateLimits::clerk());
    }

    #[test]
    fn every_option_is_read() {
        let options = parse(&[
            "--port",
            "8123",
            "--rate-limit",
            "5/50/2",
            "--migration-ms",
            "250",
            "--no-custom-roles",
            "--latency-ms",
            "7",
            "--snapshot",
            "state.json",
            "--seed",
            "9",
            "--host",
            "0.0.0.0",
            "--record-exchanges",
            "--instance-per-key",
            "--admin-token",
            "s3cret-token",
            "--max-custom-roles",
            "3",
            "--max-role-sets",
            "2",
            "--stale-reads-ms",
            "40",
        ])
        .unwrap();
        assert_eq!(options.max_custom_roles, 3);
        assert_eq!(options.max_role_sets, 2);
        assert_eq!(options.stale_reads, Duration::from_millis(40));
        assert_eq!(options.host, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert!(options.record_exchanges && options.instance_per_key);
        assert_eq!(options.admin_token.as_deref(), Some("s3cret-token"));
        // The token never shows in Debug.
        assert!(!format!("{options:?}").contains("s3cret-token"));
        assert_eq!(
            parse(&["--state", "sim.json"]).unwrap().state,
            Some(PathBuf::from("sim.json"))
        );
        assert_eq!(options.port, 8123);
        assert_eq!(
            options.rate_limits,
            RateLimits::new(5, 50, Duration::from_secs(2))
        );
        assert_eq!(options.migration_duration, Duration::from_millis(250));
        assert!(!options.custom_roles);
        assert_eq!(options.latency, Duration::from_millis(7));
        assert_eq!(options.snapshot, Some(PathBuf::from("state.json")));
        assert_eq!(options.seed, Some(9));
        assert_eq!(
            parse(&["--no-rate-limit"]).unwrap().rate_limits,
            RateLimits::off()
        );
        assert!(parse(&["-h"]).unwrap().help);
    }

    #[test]
    fn bad_arguments_are_refused_with_a_reason() {
        for (args, says) in [
            (&["--port"][..], "needs a value"),
            (&["--port", "http"], "takes a number"),
            (&["--port", "70000"], "takes a number"),
            (&["--rate-limit", "5/50"], "DEV/PROD/SECONDS"),
            (&["--max-custom-roles", "-1"], "takes a number"),
            (&["--stale-reads-ms"], "needs a value"),
            (&["--bogus"], "unknown argument"),
            (&["--host", "localhost:80"], "takes an IP address"),
            (&["--admin-token", ""], "must not be empty"),
        ] {
            let err = parse(args).unwrap_err();
            assert!(
                matches!(err, SimulatorError::InvalidArgument(_)),
                "{args:?}"
            );
            assert!(err.to_string().contains(says), "{args:?}: {err}");
        }
    }

    #[test]
    fn state_excludes_snapshot_and_instance_per_key_and_may_not_exist_yet() {
        let state = "/nonexistent/clerk-rbac-state.json";
        for (args, says) in [
            (&["--state", state, "--snapshot", "s.json"][..], "give one"),
            (&["--state", state, "--instance-per-key"], "one instance"),
        ] {
            let err = parse(args).unwrap().builder().unwrap_err();
            assert!(err.to_string().contains(says), "{args:?}: {err}");
        }
        // A state file that does not exist yet starts a fresh instance.
        assert!(parse(&["--state", state]).unwrap().builder().is_ok());
    }

    #[test]
    fn a_missing_snapshot_file_is_an_io_error_naming_it() {
        let err = parse(&["--snapshot", "/nonexistent/clerk-rbac-snapshot.json"])
            .unwrap()
            .builder()
            .unwrap_err();
        assert!(matches!(err, SimulatorError::Io(_)));
        assert!(
            err.to_string().contains("clerk-rbac-snapshot.json"),
            "{err}"
        );
    }
}
