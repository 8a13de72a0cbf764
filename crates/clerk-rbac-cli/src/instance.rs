//! Where a command's instance is: the one CLERK_SECRET_KEY (and CLERK_API_URL) name, or an
//! embedded simulator whose state may live in a file between runs.

use std::{
    io::ErrorKind,
    path::{Path, PathBuf},
};

use clerk_rbac::Clerk;
use clerk_rbac_simulator::{Simulator, Snapshot};

use crate::CliError;

/// A connected instance; [`Instance::finish`] saves an embedded simulator's state.
pub struct Instance {
    /// A client for it, paced to its rate limit.
    pub clerk: Clerk,
    simulator: Option<(Simulator, Option<PathBuf>)>,
}

impl Instance {
    /// The instance of CLERK_SECRET_KEY / CLERK_API_URL, paced to its rate limit.
    pub fn from_env() -> Result<Self, CliError> {
        if std::env::var_os("CLERK_SECRET_KEY").is_none() {
            return Err(CliError::new(
                "CLERK_SECRET_KEY is not set: export the instance's secret key, or run with --simulator",
            ));
        }
        // The facade's configuration errors never quote the key.
        let clerk = clerk_rbac_sync::client_from_env().map_err(|e| CliError::new(e.to_string()))?;
        Ok(Instance {
            clerk,
            simulator: None,
        })
    }

    /// An embedded simulator, started from the snapshot in `state` when that file exists.
    pub async fn simulator(state: Option<&Path>) -> Result<Self, CliError> {
        let mut builder = Simulator::builder();
        if let Some(path) = state {
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
            simulator: Some((sim, state.map(Path::to_path_buf))),
        })
    }

    /// Saves the embedded simulator's instance to its state file, if it has one.
    pub fn finish(self) -> Result<(), CliError> {
        let Some((sim, Some(path))) = self.simulator else {
            return Ok(());
        };
        // Write beside it, then rename: a run stopped half-way never leaves half a file.
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, sim.snapshot().to_json())
            .and_then(|()| std::fs::rename(&temporary, &path))
            .map_err(|e| {
                CliError::new(format!(
                    "{}: could not save the simulator state: {e}",
                    path.display()
                ))
            })
    }
}
