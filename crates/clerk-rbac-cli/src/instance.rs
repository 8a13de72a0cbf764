//! Where a command's instance is: the one CLERK_SECRET_KEY (and CLERK_API_URL) name, or an
//! embedded simulator whose state may live in a file between runs.

use std::{
    io::ErrorKind,
    path::{Path, PathBuf},
};

use clerk_rbac::Clerk;
use clerk_rbac_simulator::{Simulator, Snapshot};
use clerk_rbac_sync::{Environment, Target};

use crate::CliError;

/// The host name a plan made on the embedded simulator is bound to (its port changes every run).
const EMBEDDED_HOST: &str = "embedded-simulator";

/// A connected instance; [`Instance::finish`] saves an embedded simulator's state.
pub struct Instance {
    /// A client for it, paced to its rate limit.
    pub clerk: Clerk,
    /// Which instance it is (never any part of the key).
    pub target: Target,
    simulator: Option<(Simulator, Option<StateFile>)>,
}

/// The lock files this process holds, for [`release_locks`] on a hard exit (which runs no
/// destructor).
static LOCKS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Removes every lock file this process holds: for exits that skip destructors.
pub fn release_locks() {
    let locks = LOCKS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for lock in locks.iter() {
        let _ = std::fs::remove_file(lock);
    }
}

/// A `--state` file, held exclusively while this run uses it: a lock file beside it, made with
/// `create_new`, so that a second run on the same file is refused instead of overwriting the
/// first one's work.
struct StateFile {
    path: PathBuf,
    lock: PathBuf,
}

impl StateFile {
    fn acquire(path: &Path) -> Result<Self, CliError> {
        let mut lock = path.as_os_str().to_owned();
        lock.push(".lock");
        let lock = PathBuf::from(lock);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(mut file) => {
                use std::io::Write as _;
                let _ = writeln!(file, "{}", std::process::id());
                LOCKS
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(lock.clone());
                Ok(StateFile {
                    path: path.to_path_buf(),
                    lock,
                })
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let holder = std::fs::read_to_string(&lock).unwrap_or_default();
                Err(CliError::new(format!(
                    "{} is in use by another clerk-rbac run (process {}); nothing was done. If no other run is going, delete {}",
                    path.display(),
                    holder.trim(),
                    lock.display()
                )))
            }
            Err(e) => Err(CliError::new(format!("{}: {e}", lock.display()))),
        }
    }
}

impl Drop for StateFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.lock);
        LOCKS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|held| *held != self.lock);
    }
}

impl Instance {
    /// The instance of CLERK_SECRET_KEY / CLERK_API_URL, paced to its rate limit.
    pub fn from_env() -> Result<Self, CliError> {
        if std::env::var_os("CLERK_SECRET_KEY").is_none() {
            return Err(CliError::new(
                "CLERK_SECRET_KEY is not set: export the instance's secret key, or run with --simulator",
            ));
        }
        let key = std::env::var("CLERK_SECRET_KEY").unwrap_or_default();
        if key.trim_start().starts_with("pk_") {
            return Err(CliError::new(
                "CLERK_SECRET_KEY holds a publishable key (pk_...); the Backend API needs the instance's secret key (sk_test_... or sk_live_..., under API keys in the Clerk dashboard)",
            ));
        }
        // The facade's configuration errors never quote the key; the one about plain http
        // names a Rust method, so say what a CLI user can do instead.
        let clerk = clerk_rbac_sync::client_from_env().map_err(|e| {
            let message = e.to_string();
            if message.contains("allow_insecure_http") {
                CliError::new(
                    "CLERK_API_URL uses plain http, which would send the secret key in cleartext: use an https URL (plain http is accepted only for loopback addresses, such as a local simulator)",
                )
            } else {
                CliError::new(message)
            }
        })?;
        let url = std::env::var("CLERK_API_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| clerk_rbac::DEFAULT_BASE_URL.to_owned());
        Ok(Instance {
            clerk,
            target: Target::new(&url, &key),
            simulator: None,
        })
    }

    /// An embedded simulator, started from the snapshot in `state` when that file exists.
    pub async fn simulator(state: Option<&Path>) -> Result<Self, CliError> {
        let state = state.map(StateFile::acquire).transpose()?;
        let mut builder = Simulator::builder();
        if let Some(StateFile { path, .. }) = &state {
            match std::fs::read_to_string(path) {
                Ok(json) => {
                    let snapshot = Snapshot::from_json(&json)
                        .map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
                    builder = builder.initial(snapshot);
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(CliError::new(format!("{}: {e}", path.display()))),
            }
        }
        let sim = builder
            .start()
            .await
            .map_err(|e| CliError::new(format!("could not start the embedded simulator: {e}")))?;
        let clerk = sim
            .client_builder()
            .clerk_rate_limit()
            .build()
            .map_err(|e| CliError::new(e.to_string()))?;
        Ok(Instance {
            clerk,
            target: Target {
                api_host: EMBEDDED_HOST.to_owned(),
                environment: Environment::Test,
            },
            simulator: Some((sim, state)),
        })
    }

    /// Saves the embedded simulator's instance to its state file, if it has one.
    pub fn finish(self) -> Result<(), CliError> {
        let Some((sim, Some(state))) = self.simulator else {
            return Ok(());
        };
        let path = &state.path;
        // Write beside it, then rename: a run stopped half-way never leaves half a file.
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, sim.snapshot().to_json())
            .and_then(|()| std::fs::rename(&temporary, path))
            .map_err(|e| {
                CliError::new(format!(
                    "{}: could not save the simulator state: {e}",
                    path.display()
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    /// The tool pins `idna_adapter` to 1.1, the unicode-rs back end, instead of ICU4X (see its
    /// Cargo.toml): host names in Unicode still map to their ASCII form, as `CLERK_API_URL`
    /// needs. The 1.0 series, a stub, would refuse them.
    #[test]
    fn international_host_names_still_map_to_ascii() {
        let url = clerk_rbac::reqwest::Url::parse("https://bücher.example/v1").unwrap();
        assert_eq!(url.host_str(), Some("xn--bcher-kva.example"));
        let upper = clerk_rbac::reqwest::Url::parse("https://BÜCHER.example").unwrap();
        assert_eq!(upper.host_str(), Some("xn--bcher-kva.example"));
    }
}
