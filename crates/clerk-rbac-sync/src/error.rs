//! What can go wrong in the sync engine, said so that a person can act on it.

use super::{fingerprint::Drift, problem::Problems, saved::Target};

/// Everything the sync verbs can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The desired-state file is not valid; nothing was sent.
    #[error("the desired-state file is not valid:\n{0}")]
    InvalidFile(Problems),

    /// The file is valid, but what it asks cannot be done on this instance (or would need a
    /// decision the file does not make); nothing was sent.
    #[error("cannot plan this file against the instance:\n{0}")]
    Unplannable(Problems),

    /// Reading the instance failed.
    #[error("could not read the instance: {0}")]
    Read(#[source] clerk_rbac::Error),

    /// The instance changed after the plan was computed; nothing was changed.
    #[error(
        "the instance changed since the plan was computed, so it was not applied; plan again:\n{0}"
    )]
    Stale(Drift),

    /// A saved plan was made for another instance; nothing was sent.
    #[error(
        "this plan was made for {planned}, but the target is {now}; nothing was applied (plan again against this target)"
    )]
    ForeignTarget {
        /// The target the plan was made for.
        planned: Target,
        /// The target of this run.
        now: Target,
    },

    /// A saved plan cannot be read by this version (another format, format version or an
    /// incompatible tool version), or is not a saved plan; nothing was sent.
    #[error("cannot apply this saved plan: {0}")]
    IncompatiblePlan(String),

    /// The preflight found what Clerk would refuse (a quota, the plan gate, a delete Clerk
    /// refuses); nothing was sent.
    #[error("not applied, since Clerk would refuse part of this plan; nothing was sent:\n{0}")]
    Refused(crate::Findings),

    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}
