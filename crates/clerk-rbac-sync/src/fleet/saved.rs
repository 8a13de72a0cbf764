//! Saved fleet plans: every target's plan written to one file for review (`plan --fleet FLEET
//! -o PLAN`), then carried out exactly (`apply --fleet FLEET PLAN`).
//!
//! The file holds, per target name, that target's [`SavedPlan`] (bound to its instance and to
//! a fingerprint of what its plan saw), and the fleet file's name. It never holds a key: each
//! target's binding keeps the API host and whether the key was a test or a live one.
//!
//! ```json
//! {
//!   "format": "clerk-rbac-saved-fleet-plan",
//!   "format_version": 1,
//!   "tool_version": "0.1.0",
//!   "fleet": "fleet.toml",
//!   "targets": { "dev": { "format": "clerk-rbac-saved-plan", "...": "..." } }
//! }
//! ```
//!
//! Applying it goes through the fleet's stages with its parallelism ([`super::apply`]); each
//! target is checked the way one saved plan is: a plan made for another instance is refused
//! for that target before anything is sent, and one whose instance changed since is refused by
//! apply's fingerprint check, again with nothing changed there. The other targets go on.

use std::{collections::BTreeMap, time::Duration};

use serde::{Deserialize, Serialize};

use crate::{SavedPlan, SyncError, TOOL_VERSION};

use super::{
    Fleet, FleetOptions, FleetPlan, TargetError, TargetErrorKind, TargetPlan,
    run::{binding, connect_target},
};

/// The value of `format` in every saved fleet plan.
pub const SAVED_FLEET_PLAN_FORMAT: &str = "clerk-rbac-saved-fleet-plan";

/// The version of the saved-fleet-plan format this crate writes and reads.
pub const SAVED_FLEET_PLAN_VERSION: u32 = 1;

/// A fleet's plans as written to a file by `plan --fleet FLEET -o PLAN`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedFleetPlan {
    /// Always [`SAVED_FLEET_PLAN_FORMAT`].
    pub format: String,
    /// The format's version, [`SAVED_FLEET_PLAN_VERSION`] when written by this crate.
    pub format_version: u32,
    /// The version of the crate that made the plans.
    pub tool_version: String,
    /// The fleet file that was planned, as it was named.
    pub fleet: String,
    /// Each planned target's saved plan, keyed by the target's name.
    pub targets: BTreeMap<String, SavedPlan>,
}

impl SavedFleetPlan {
    /// Saves every target of `plans`. Fails ([`SyncError::IncompatiblePlan`], naming them)
    /// when some target could not be planned: a saved fleet plan holds every picked target or
    /// is not written.
    pub fn new(plans: &FleetPlan) -> Result<Self, SyncError> {
        let mut targets = BTreeMap::new();
        let mut missing = Vec::new();
        for planned in &plans.targets {
            match (&planned.result, &planned.binding) {
                (Ok(plan), Some(target)) => {
                    let file = planned.file.clone();
                    targets.insert(
                        planned.target.clone(),
                        SavedPlan::new(plan.clone(), target.clone(), file),
                    );
                }
                _ => missing.push(planned.target.as_str()),
            }
        }
        if !missing.is_empty() {
            return Err(SyncError::IncompatiblePlan(format!(
                "not saved: target(s) {} could not be planned; fix them or leave them out with --target",
                missing.join(", ")
            )));
        }
        Ok(SavedFleetPlan {
            format: SAVED_FLEET_PLAN_FORMAT.to_owned(),
            format_version: SAVED_FLEET_PLAN_VERSION,
            tool_version: TOOL_VERSION.to_owned(),
            fleet: plans.fleet.clone(),
            targets,
        })
    }

    /// The saved fleet plan as pretty JSON, ending with a newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| unreachable!("a saved fleet plan always serializes: {e}"));
        text.push('\n');
        text
    }

    /// Reads a saved fleet plan, refusing another format or format version, and any target's
    /// plan that [`SavedPlan::from_json`] would refuse ([`SyncError::IncompatiblePlan`]).
    pub fn from_json(text: &str) -> Result<Self, SyncError> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| SyncError::IncompatiblePlan(format!("not a saved fleet plan: {e}")))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(SAVED_FLEET_PLAN_FORMAT) {
            return Err(SyncError::IncompatiblePlan(format!(
                "not a saved fleet plan (its `format` is not \"{SAVED_FLEET_PLAN_FORMAT}\"); a plan saved without --fleet is applied without --fleet"
            )));
        }
        let version = value.get("format_version").and_then(|v| v.as_u64());
        if version != Some(u64::from(SAVED_FLEET_PLAN_VERSION)) {
            return Err(SyncError::IncompatiblePlan(format!(
                "the fleet plan's format version is {}, this clerk-rbac reads version {SAVED_FLEET_PLAN_VERSION}; plan again with this version",
                version.map_or("missing".to_owned(), |v| v.to_string())
            )));
        }
        let fleet = value
            .get("fleet")
            .and_then(|f| f.as_str())
            .ok_or_else(|| {
                SyncError::IncompatiblePlan("the saved fleet plan names no fleet file".to_owned())
            })?
            .to_owned();
        let Some(entries) = value.get("targets").and_then(|t| t.as_object()) else {
            return Err(SyncError::IncompatiblePlan(
                "the saved fleet plan has no `targets` table".to_owned(),
            ));
        };
        let mut targets = BTreeMap::new();
        for (name, entry) in entries {
            let plan = SavedPlan::from_json(&entry.to_string()).map_err(|e| match e {
                SyncError::IncompatiblePlan(why) => {
                    SyncError::IncompatiblePlan(format!("target `{name}`: {why}"))
                }
                other => other,
            })?;
            targets.insert(name.clone(), plan);
        }
        let tool_version = value
            .get("tool_version")
            .and_then(|v| v.as_str())
            .unwrap_or("unknown")
            .to_owned();
        Ok(SavedFleetPlan {
            format: SAVED_FLEET_PLAN_FORMAT.to_owned(),
            format_version: SAVED_FLEET_PLAN_VERSION,
            tool_version,
            fleet,
            targets,
        })
    }

    /// Turns the saved plans of the targets named in `names` (every saved target when empty)
    /// into a [`FleetPlan`] for [`super::apply`], in `fleet`'s stage order and with its
    /// parallelism. Reads nothing from any instance.
    ///
    /// Fails as a whole when `fleet` is not the fleet file the plan was made from (by file
    /// name) or when a name is not a target of the saved plan. Each target is otherwise judged
    /// on its own: one the fleet file no longer has, whose key is missing, or whose instance is
    /// not the one its plan was made for gets its error in its entry (nothing is sent to it);
    /// the others keep their plans. Apply then refuses, per target, any whose instance changed
    /// since it was planned.
    pub fn to_fleet_plan(
        &self,
        fleet: &Fleet,
        names: &[String],
        options: &FleetOptions,
    ) -> Result<FleetPlan, SyncError> {
        if base_name(&self.fleet) != base_name(&fleet.path) {
            return Err(SyncError::IncompatiblePlan(format!(
                "this plan was made from fleet file {}, not {}",
                self.fleet, fleet.path
            )));
        }
        let unknown: Vec<&str> = names
            .iter()
            .filter(|n| !self.targets.contains_key(*n))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(SyncError::IncompatiblePlan(format!(
                "the saved fleet plan has no target named {}; it has {}",
                unknown.join(", "),
                self.targets.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        let picked = self
            .targets
            .iter()
            .filter(|(name, _)| names.is_empty() || names.contains(name));
        let mut targets: Vec<TargetPlan> = picked
            .map(|(name, saved)| target_plan(fleet, name, saved, options))
            .collect();
        targets.sort_by(|a, b| (a.stage_index, &a.target).cmp(&(b.stage_index, &b.target)));
        Ok(FleetPlan {
            fleet: fleet.path.clone(),
            stages: fleet.stages.clone(),
            parallelism: options.parallelism.unwrap_or(fleet.parallelism).max(1),
            targets,
        })
    }
}

/// One saved target made ready to apply, or why it cannot be.
fn target_plan(fleet: &Fleet, name: &str, saved: &SavedPlan, options: &FleetOptions) -> TargetPlan {
    let mut planned = TargetPlan {
        target: name.to_owned(),
        // A target the fleet file lost runs (or rather fails) with the last stage.
        stage: fleet.stages.last().cloned().unwrap_or_default(),
        stage_index: fleet.stages.len().saturating_sub(1),
        host: saved.target.api_host.clone(),
        key: None,
        rate_limit: None,
        result: Err(TargetError::new(
            TargetErrorKind::Configuration,
            format!(
                "target `{name}` is in the saved plan but no longer in the fleet file {}; plan again",
                fleet.path
            ),
        )),
        elapsed: Duration::ZERO,
        file: saved.file.clone(),
        binding: None,
        client: None,
    };
    let Some(target) = fleet.targets.get(name) else {
        return planned;
    };
    planned.stage = target.stage.clone();
    planned.stage_index = target.stage_index;
    planned.host = target.host();
    match connect_target(target, &options.env) {
        Err(e) => planned.result = Err(e),
        Ok((clerk, kind, limit)) => {
            planned.key = Some(kind);
            planned.rate_limit = Some(limit);
            planned.binding = binding(target, &options.env);
            let checked = match &planned.binding {
                Some(now) => saved.check_target(now),
                None => Ok(()),
            };
            planned.result = match checked {
                Ok(()) => {
                    planned.client = Some(clerk);
                    Ok(saved.plan.clone())
                }
                Err(e) => Err(TargetError::from_sync(&e)),
            };
        }
    }
    planned
}

/// The last part of a path, `/` or `\` separated.
fn base_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}
