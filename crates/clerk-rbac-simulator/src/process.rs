//! The simulator as a process (`cargo run -p clerk-rbac-simulator --example simulator`): its
//! command line, parsed here so that the example stays a few lines and the parsing is tested.

use std::{path::PathBuf, time::Duration};

use super::{RateLimits, SimulatorBuilder, SimulatorError, Snapshot};

/// The simulator process's options, from its command line; see [`ProcessOptions::USAGE`].
///
/// ```
/// use clerk_rbac_simulator::ProcessOptions;
/// let options = ProcessOptions::parse(["--port", "8080", "--no-rate-limit"].map(String::from))?;
/// assert_eq!(options.port, 8080);
/// # Ok::<(), clerk_rbac_simulator::SimulatorError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ProcessOptions {
    /// `--port`: the loopback port; 0 picks a free one (the default).
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
    /// `--help` or `-h`: print [`ProcessOptions::USAGE`] and exit.
    pub help: bool,
}

impl Default for ProcessOptions {
    fn default() -> Self {
        ProcessOptions {
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
            help: false,
        }
    }
}

impl ProcessOptions {
    /// What the process accepts.
    pub const USAGE: &'static str = "\
Serves a simulated Clerk organization RBAC API on loopback until stopped (Ctrl-C).
The first line of output is the base URL; use it as CLERK_API_URL with any sk_test_... or
sk_live_... key as CLERK_SECRET_KEY (the prefix picks the rate limit).

Options:
  --port PORT              loopback port; 0 picks a free one (default 0)
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
                other => {
                    return Err(SimulatorError::InvalidArgument(format!(
                        "unknown argument `{other}` (see --help)"
                    )));
                }
            }
        }
        Ok(options)
    }

    /// A [`SimulatorBuilder`] with these options; reads the snapshot file if one was given.
    pub fn builder(&self) -> Result<SimulatorBuilder, SimulatorError> {
        let mut builder = SimulatorBuilder::default()
            .port(self.port)
            .rate_limits(self.rate_limits)
            .migration_duration(self.migration_duration)
            .custom_roles(self.custom_roles)
            .max_custom_roles(self.max_custom_roles)
            .max_role_sets(self.max_role_sets)
            .stale_reads(self.stale_reads)
            .latency(self.latency);
        if let Some(seed) = self.seed {
            builder = builder.seed(seed);
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
