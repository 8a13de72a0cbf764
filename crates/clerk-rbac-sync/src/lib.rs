//! RBAC as code: keep an instance's organization permissions, roles and role sets in step with
//! a TOML file.
//!
//! The four verbs, each on a [`Clerk`] client:
//! - [`export`]: read the instance and describe it as a [`DesiredState`] (write it with
//!   [`DesiredState::to_toml`]);
//! - [`plan()`]: read the instance and diff it against a desired state, giving a [`Plan`];
//! - [`apply`]: carry a plan out, after checking the instance did not change since it was made;
//! - [`check`]: plan, and say whether there is anything to do.
//!
//! The pure parts work without a server: [`DesiredState::from_toml`] reads and checks a file,
//! [`planner::plan`] diffs an [`Instance`] against a desired state, and a [`Plan`] renders as text
//! ([`Plan::render`]) or JSON ([`Plan::to_json`]).
//!
//! Inside, the modules depend on each other one way only, from the bottom up: the file's text
//! and problems (`problem`, `source`, `keys`), the file (`file`, `validate`, `parse`), the
//! instance (`instance`, `fingerprint`, `error`), the plan's model ([`mod@plan`]), the graph of
//! steps (`dag`, shared by planning and apply), the [`planner`] (matching, a diff per kind, then
//! one ordering pass per rule, each adding edges), and apply (which walks the same graph).
//!
//! ```no_run
//! use clerk_rbac_sync::{self as sync, DesiredState, PlanOptions};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let clerk = sync::client_from_env()?; // paced to the instance's rate limit
//! let desired = DesiredState::load("rbac.toml")?;
//! let plan = sync::plan(&clerk, &desired, &PlanOptions::new()).await?;
//! print!("{}", plan.render(false));
//! # Ok(())
//! # }
//! ```

mod apply;
mod dag;
mod error;
mod file;
mod fingerprint;
pub mod fleet;
mod instance;
mod keys;
mod parse;
pub mod plan;
pub mod planner;
pub mod preflight;
mod problem;
mod render;
mod report;
mod saved;
#[cfg(feature = "schema")]
mod schema;
mod settings;
mod source;
mod stale;
mod validate;
mod verify;

pub use apply::{ApplyOptions, Progress, ProgressFn, apply};
pub use dag::Interrupt;
pub use error::SyncError;
pub use file::{DesiredState, PermissionSpec, RetiredRoleSet, RoleSetKind, RoleSetSpec, RoleSpec};
pub use fingerprint::{Drift, DriftChange, DriftItem, Fingerprint};
pub use instance::{
    Instance, MigrationStatus, ObservedPermission, ObservedRole, ObservedRoleSet, read,
};
pub use keys::{Kind, SYSTEM_PERMISSION_PREFIX};
pub use plan::{
    Action, Change, ChangeAction, FieldChange, Plan, PlanOptions, Step, Summary, Unmanaged,
};
pub use preflight::{
    DOCUMENTED_MAX_CUSTOM_ROLES, Finding, FindingCode, FindingLocation, Findings, InstanceSettings,
    Severity,
};
pub use problem::{Location, Problem, Problems};
pub use render::PLAN_JSON_VERSION;
pub use report::{ApplyReport, StepOutcome, StepReport, describe};
pub use saved::{
    Environment, SAVED_PLAN_FORMAT, SAVED_PLAN_VERSION, SavedPlan, TOOL_VERSION, Target,
};
pub use settings::read_settings;
pub use stale::DEFAULT_READ_BACK_WINDOW;

use clerk_rbac::Clerk;
use futures::FutureExt;

/// The example desired-state file shipped with this crate (`examples/rbac.toml`): an invoicing
/// app's permissions, roles and role sets, what `clerk-rbac demo` plans and applies.
pub const EXAMPLE_FILE: &str = include_str!("../examples/rbac.toml");

/// Reads the instance and describes everything it holds (system permissions and role sets
/// being retired left out) as a desired state; planning it against the same instance finds
/// nothing to do.
pub fn export<'a>(
    clerk: &'a Clerk,
) -> impl Future<Output = Result<DesiredState, SyncError>> + Send + 'a {
    async move { Ok(read(clerk).await.map_err(SyncError::Read)?.to_desired()) }.boxed()
}

/// Reads the instance and plans `desired` against it; sends nothing that changes anything.
pub fn plan<'a>(
    clerk: &'a Clerk,
    desired: &'a DesiredState,
    options: &'a PlanOptions,
) -> impl Future<Output = Result<Plan, SyncError>> + Send + 'a {
    async move {
        let observed = read(clerk).await.map_err(SyncError::Read)?;
        if options.settings.is_some() {
            return planner::plan(&observed, desired, options);
        }
        let settings = read_settings(clerk).await;
        planner::plan(
            &observed,
            desired,
            &PlanOptions {
                settings,
                ..options.clone()
            },
        )
    }
    .boxed()
}

/// What [`check`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
// Made once per check and matched at once: boxing the plan would only change the public API.
#[allow(clippy::large_enum_variant)]
pub enum CheckOutcome {
    /// The instance matches the file (for what the file manages).
    InSync,
    /// The instance differs; the plan says how.
    Drift(Plan),
}

impl CheckOutcome {
    /// The exit status the `check` command uses: 0 in sync, 2 drift (1 is for errors).
    pub fn exit_code(&self) -> u8 {
        match self {
            CheckOutcome::InSync => 0,
            CheckOutcome::Drift(_) => 2,
        }
    }
}

/// Reads the instance and says whether it matches `desired`: [`plan()`] for CI, where only
/// in sync / drift / error matters.
pub fn check<'a>(
    clerk: &'a Clerk,
    desired: &'a DesiredState,
    options: &'a PlanOptions,
) -> impl Future<Output = Result<CheckOutcome, SyncError>> + Send + 'a {
    async move {
        let plan = plan(clerk, desired, options).await?;
        Ok(if plan.is_empty() {
            CheckOutcome::InSync
        } else {
            CheckOutcome::Drift(plan)
        })
    }
    .boxed()
}

/// A client from `CLERK_SECRET_KEY` (and `CLERK_API_URL`) paced to the instance's rate limit
/// ([`RateLimit::for_secret_key`](clerk_rbac::RateLimit::for_secret_key)): what the sync verbs
/// should run on, so that a large apply never meets a 429.
pub fn client_from_env() -> clerk_rbac::Result<Clerk> {
    Clerk::builder_from_env()?.clerk_rate_limit().build()
}

/// The examples in this crate's README, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

/// The examples in the RBAC-as-code manual (`docs/rbac-as-code.md` at the root of the
/// repository), compiled and run as doc tests. Outside the crate's directory, so only doc tests
/// read it: a packaged copy of the crate builds without it.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/rbac-as-code.md")]
struct ManualExamples;

/// The CI manual (`docs/ci.md`), read as doc tests like the other manuals, so that a code block
/// there that is not labelled as a shell or YAML block fails the tests instead of rotting.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/ci.md")]
struct CiManual;
