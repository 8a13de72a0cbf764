//! Fleets: one description kept in step on many instances (development, staging, production,
//! one production instance per customer), each under its own secret key and rate limit.
//!
//! A fleet file (TOML) names the targets; each target names the environment variable that
//! holds its secret key (a key written in the file is refused), optionally its API root, the
//! desired-state file it follows (shared by many targets, usually), its stage, and an overlay:
//! the few things that differ on that target.
//!
//! ```toml
//! #:schema ../schema/clerk-rbac-fleet.schema.json
//! stages = ["development", "staging", "production"]   # the order apply goes through
//!
//! [targets.dev]
//! stage = "development"
//! secret_key_env = "CLERK_DEV_SECRET_KEY"
//! file = "rbac.toml"
//!
//! [targets.dev.overlay.roles."org:admin"]   # one field differs in development
//! description = "Administrator (development data only)"
//!
//! [targets.acme]
//! stage = "production"
//! secret_key_env = "CLERK_ACME_SECRET_KEY"
//! file = "rbac.toml"
//!
//! [targets.acme.overlay.roles."org:auditor"]   # a role only this customer has
//! name = "Auditor"
//! permissions = ["org:invoices:read"]
//! ```
//!
//! [`Fleet::load`] reads and checks the fleet file and every desired-state file it names, and
//! works out each target's effective description ([`FleetTarget::desired`]). The verbs then run
//! on every target (or the ones picked): [`plan`] (read-only, all targets at once, bounded),
//! [`FleetPlan::drifted`] for `check`, [`apply`] (stage by stage, targets of one stage in
//! parallel, a later stage started only when every target of the earlier ones ended well) and
//! [`compare`] (how one live target differs from another). One target's failure is reported
//! for that target and hides nothing of the others.
//!
//! [`SavedFleetPlan`] keeps every target's plan in one file for review and turns it back into a
//! [`FleetPlan`] for [`apply`], each target bound to its instance and to what its plan saw.

mod compare;
pub(crate) mod overlay;
mod parse;
mod render;
mod run;
mod saved;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
};

#[cfg(feature = "schema")]
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{DesiredState, SyncError};

pub use compare::{Comparison, compare};
pub use run::{
    EnvFn, FleetEvent, FleetEventFn, FleetOptions, FleetPlan, FleetReport, KeyKind, TargetError,
    TargetErrorKind, TargetOutcome, TargetPlan, TargetReport, Totals, apply, estimate, plan,
};
pub use saved::{SAVED_FLEET_PLAN_FORMAT, SAVED_FLEET_PLAN_VERSION, SavedFleetPlan};

/// The published schema of the fleet file.
const PUBLISHED_SCHEMA: &str = include_str!("../schema/clerk-rbac-fleet.schema.json");

/// The stage order a fleet file that names no `stages` gets.
pub const DEFAULT_STAGES: [&str; 3] = ["development", "staging", "production"];

/// How many targets run at once unless the fleet file or the options say otherwise. Targets
/// mostly wait on their own rate limits, so many can wait together cheaply.
pub const DEFAULT_PARALLELISM: usize = 64;

/// The version of the JSON shapes the fleet verbs print (`plan`, `check`, `apply --json` with
/// `--fleet`); it changes only when a field is removed or changes meaning.
pub const FLEET_JSON_VERSION: u32 = 1;

/// A clerk-rbac fleet file: the Clerk instances to keep in step with their desired-state files,
/// and the order in which apply changes them.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", schemars(title = "clerk-rbac fleet"))]
pub(crate) struct FleetFile {
    /// The stages, in the order `apply` goes through them: every target of a stage finishes
    /// before the next stage starts, and a stage starts only when every target of the stages
    /// before it ended well. Defaults to `["development", "staging", "production"]`.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Option<Vec<crate::schema::StageName>>")
    )]
    pub(crate) stages: Option<Vec<String>>,

    /// How many targets `plan` reads and `apply` changes at once (default 64). Each target is
    /// still paced by its own instance's rate limit.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(range(min = 1)))]
    pub(crate) parallelism: Option<usize>,

    /// The instances, keyed by a short name (letters, digits, `_`, `-`, `.`) used on the
    /// command line (`--target NAME`) and in every report.
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::target_map")
    )]
    pub(crate) targets: BTreeMap<String, TargetSpec>,
}

/// One target of the fleet file, as written.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct TargetSpec {
    /// The name of the environment variable holding this instance's secret key
    /// (`sk_test_...` or `sk_live_...`). The key itself never goes in this file.
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^[A-Za-z_][A-Za-z0-9_]*$"))
    )]
    pub(crate) secret_key_env: String,

    /// The API root, when it is not Clerk's (`https://api.clerk.com`): a proxy, or a simulator
    /// such as `http://127.0.0.1:8080`. Plain http is allowed on loopback only.
    #[serde(default)]
    pub(crate) api_url: Option<String>,

    /// The desired-state file this target follows, relative to the fleet file.
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub(crate) file: String,

    /// The stage this target belongs to, one of `stages`. Defaults to the last stage (it then
    /// runs after every other one).
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]*$"))
    )]
    pub(crate) stage: Option<String>,

    /// What differs on this target, on top of `file`: objects only this target has, fields
    /// whose value differs here, permissions or roles added to a shared role or role set, and
    /// objects of `file` this target leaves out.
    #[serde(default)]
    pub(crate) overlay: Option<overlay::Overlay>,
}

/// A fleet file, read and checked, with every target's effective description.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Fleet {
    /// The fleet file as it was named.
    pub path: String,
    /// The stages in apply order.
    pub stages: Vec<String>,
    /// How many targets run at once.
    pub parallelism: usize,
    /// Every target, keyed by name.
    pub targets: BTreeMap<String, FleetTarget>,
}

/// One instance of a fleet and what it should hold.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FleetTarget {
    /// Its name in the fleet file.
    pub name: String,
    /// Its stage.
    pub stage: String,
    /// Where it sits in the stage order (0 first).
    pub stage_index: usize,
    /// The environment variable holding its secret key (the name, never the key).
    pub secret_key_env: String,
    /// Its API root, when not Clerk's.
    pub api_url: Option<String>,
    /// The desired-state file it follows, as found from the fleet file.
    pub file: PathBuf,
    /// Whether an overlay changes what `file` says for this target.
    pub has_overlay: bool,
    /// Its effective description: `file` with the target's overlay on top.
    pub desired: Arc<DesiredState>,
}

impl FleetTarget {
    /// The host requests go to (`api.clerk.com` unless `api_url` says otherwise), for reports;
    /// never a credential or a query the URL may carry.
    pub fn host(&self) -> String {
        let Some(url) = &self.api_url else {
            return "api.clerk.com".to_owned();
        };
        let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
        // Anything before an `@` is a credential: never shown.
        authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host)
            .to_owned()
    }

    /// The effective description as a TOML file (what `show` prints): reading it back gives
    /// the same state.
    pub fn effective_toml(&self) -> String {
        let mut text = format!(
            "# The effective description of fleet target `{}` ({}; from {}{}).\n\n",
            self.name,
            self.stage,
            self.file.display(),
            if self.has_overlay {
                " with the target's overlay"
            } else {
                ""
            }
        );
        text.push_str(&self.desired.to_toml());
        text
    }
}

impl Fleet {
    /// Reads and checks the fleet file at `path` and every desired-state file its targets name
    /// (each read once, however many targets share it), then applies each target's overlay.
    ///
    /// Fails with [`SyncError::InvalidFile`] listing every problem found, each located
    /// (file:line:col) with a suggestion where one helps: TOML syntax, unknown fields, a
    /// secret key written in the file, an unknown stage, an overlay that names a field the
    /// format lacks or leaves a new object incomplete, and the desired-state files' own
    /// problems. Sends nothing.
    pub fn load(path: impl AsRef<Path>) -> Result<Fleet, SyncError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SyncError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
        Self::from_toml(&text, &path.display().to_string(), &base)
    }

    /// Reads a fleet file's text; `path` names it in problems and `base` is the folder its
    /// targets' `file`s are relative to. See [`load`](Self::load).
    pub fn from_toml(text: &str, path: &str, base: &Path) -> Result<Fleet, SyncError> {
        parse::fleet(text, path, base).map_err(SyncError::InvalidFile)
    }

    /// The JSON Schema of the fleet file, as published in `schema/clerk-rbac-fleet.schema.json`
    /// (pretty-printed, with a final newline).
    pub fn json_schema() -> String {
        PUBLISHED_SCHEMA.to_owned()
    }

    /// The JSON Schema generated from the types (the `schema` feature): what
    /// [`json_schema`](Self::json_schema) must equal, as a test checks.
    #[cfg(feature = "schema")]
    pub fn generated_json_schema() -> String {
        crate::schema::generate::<FleetFile>()
    }

    /// The targets named (every target when `names` is empty), in stage order then by name.
    /// An unknown name fails with a suggestion.
    pub fn select(&self, names: &[String]) -> Result<Vec<&FleetTarget>, SyncError> {
        let mut problems = Vec::new();
        for name in names {
            if !self.targets.contains_key(name) {
                let help = super::keys::closest(name, self.targets.keys().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| {
                        Some(format!(
                            "the targets are {}",
                            self.targets
                                .keys()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    });
                problems.push(super::Problem {
                    location: None,
                    key: String::new(),
                    message: format!("{} has no target `{name}`", self.path),
                    help,
                });
            }
        }
        if !problems.is_empty() {
            return Err(SyncError::InvalidFile(super::Problems(problems)));
        }
        let mut picked: Vec<&FleetTarget> = self
            .targets
            .values()
            .filter(|t| names.is_empty() || names.contains(&t.name))
            .collect();
        picked.sort_by(|a, b| (a.stage_index, &a.name).cmp(&(b.stage_index, &b.name)));
        Ok(picked)
    }
}
