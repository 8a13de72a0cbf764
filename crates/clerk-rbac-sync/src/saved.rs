//! Saved plans: a plan written to a file for review, bound to the instance it was made for
//! ([`Target`]: API host and test or live, never the key), to what it saw (the plan's
//! [`Fingerprint`](crate::Fingerprint)) and to the version that made it, so that applying it
//! later carries out exactly what was reviewed or nothing at all.
//!
//! The format is JSON, versioned by `format_version` ([`SAVED_PLAN_VERSION`]):
//!
//! ```json
//! {
//!   "format": "clerk-rbac-saved-plan",
//!   "format_version": 1,
//!   "tool_version": "0.1.0",
//!   "target": { "api_host": "api.clerk.com", "environment": "live" },
//!   "file": "rbac.toml",
//!   "plan": { "changes": [], "unmanaged": {}, "steps": [], "prune": false, "fingerprint": {} }
//! }
//! ```
//!
//! `plan` is the [`Plan`] as serde writes it (its `steps` are what apply sends, its
//! `fingerprint` one digest per object the plan saw). A plan whose `format_version` differs,
//! or that a version of this crate with another compatibility range made (another major
//! version, or for 0.x another minor one), is refused.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{error::SyncError, plan::Plan};

/// The value of `format` in every saved plan.
pub const SAVED_PLAN_FORMAT: &str = "clerk-rbac-saved-plan";

/// The version of the saved-plan format this crate writes and reads.
pub const SAVED_PLAN_VERSION: u32 = 1;

/// This crate's version, written into saved plans.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Which instance a command works on, as far as can be said without the key: the API host and
/// whether the key is a test (development) or live (production) key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The API's host (and port, when one is given), lowercase: `api.clerk.com`.
    pub api_host: String,
    /// What kind of instance the key is for.
    pub environment: Environment,
}

/// What kind of instance a secret key is for, read from its prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// A development instance (`sk_test_` key).
    Test,
    /// A production instance (`sk_live_` key).
    Live,
    /// A key of neither shape.
    Unknown,
}

impl Target {
    /// The target of a client for `api_url` with `secret_key`; keeps nothing of the key but
    /// its kind.
    pub fn new(api_url: &str, secret_key: &str) -> Self {
        let key = secret_key.trim();
        let environment = if clerk_rbac::rules::is_live_key(key) {
            Environment::Live
        } else if key.starts_with("sk_test_") {
            Environment::Test
        } else {
            Environment::Unknown
        };
        let rest = api_url
            .trim()
            .split_once("://")
            .map_or(api_url.trim(), |(_, rest)| rest);
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        // Userinfo (`user:pass@host`) is never part of the name shown.
        let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
        Target {
            api_host: host.to_ascii_lowercase(),
            environment,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.environment {
            Environment::Test => "test instance",
            Environment::Live => "LIVE instance",
            Environment::Unknown => "instance of unknown kind",
        };
        write!(f, "{} ({kind})", self.api_host)
    }
}

/// A plan as written to a file by `plan -o`: the plan and what binds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// Always [`SAVED_PLAN_FORMAT`].
    pub format: String,
    /// The format's version, [`SAVED_PLAN_VERSION`] when written by this crate.
    pub format_version: u32,
    /// The version of the crate that made the plan.
    pub tool_version: String,
    /// The instance the plan was made for.
    pub target: Target,
    /// The desired-state file that was planned, as it was named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The plan.
    pub plan: Plan,
}

impl SavedPlan {
    /// Binds `plan` to `target`, made from `file`, by this version.
    pub fn new(plan: Plan, target: Target, file: Option<String>) -> Self {
        SavedPlan {
            format: SAVED_PLAN_FORMAT.to_owned(),
            format_version: SAVED_PLAN_VERSION,
            tool_version: TOOL_VERSION.to_owned(),
            target,
            file,
            plan,
        }
    }

    /// The saved plan as pretty JSON, ending with a newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| unreachable!("a saved plan always serializes: {e}"));
        text.push('\n');
        text
    }

    /// Whether `text` looks like a saved plan rather than a desired-state file (a TOML file
    /// cannot start with `{`).
    pub fn looks_like(text: &str) -> bool {
        text.trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('{')
    }

    /// Reads a saved plan, refusing another format, another format version or a plan made by
    /// an incompatible version ([`SyncError::IncompatiblePlan`]).
    pub fn from_json(text: &str) -> Result<Self, SyncError> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| SyncError::IncompatiblePlan(format!("not a saved plan: {e}")))?;
        let format = value.get("format").and_then(|f| f.as_str());
        if format != Some(SAVED_PLAN_FORMAT) {
            return Err(SyncError::IncompatiblePlan(format!(
                "not a saved plan (its `format` is not \"{SAVED_PLAN_FORMAT}\")"
            )));
        }
        let version = value.get("format_version").and_then(|v| v.as_u64());
        if version != Some(u64::from(SAVED_PLAN_VERSION)) {
            return Err(SyncError::IncompatiblePlan(format!(
                "the plan's format version is {}, this clerk-rbac reads version {SAVED_PLAN_VERSION}; plan again with this version",
                version.map_or("missing".to_owned(), |v| v.to_string())
            )));
        }
        let tool = value
            .get("tool_version")
            .and_then(|v| v.as_str())
            .unwrap_or("unknown");
        if !compatible(tool, TOOL_VERSION) {
            return Err(SyncError::IncompatiblePlan(format!(
                "the plan was made by clerk-rbac {tool}, which is not compatible with this version ({TOOL_VERSION}); plan again with this version"
            )));
        }
        serde_json::from_value(value)
            .map_err(|e| SyncError::IncompatiblePlan(format!("the saved plan is damaged: {e}")))
    }

    /// Refuses ([`SyncError::ForeignTarget`]) when `now` is not the target the plan was made
    /// for.
    pub fn check_target(&self, now: &Target) -> Result<(), SyncError> {
        if self.target == *now {
            Ok(())
        } else {
            Err(SyncError::ForeignTarget {
                planned: self.target.clone(),
                now: now.clone(),
            })
        }
    }
}

/// Whether two versions are in the same compatibility range: the same major version, and for
/// 0.x the same minor one too (Cargo's rule).
fn compatible(a: &str, b: &str) -> bool {
    let parts = |v: &str| -> Option<(u64, u64)> {
        let mut numbers = v.split(['.', '-', '+']);
        Some((numbers.next()?.parse().ok()?, numbers.next()?.parse().ok()?))
    };
    match (parts(a), parts(b)) {
        (Some((0, a_minor)), Some((0, b_minor))) => a_minor == b_minor,
        (Some((a_major, _)), Some((b_major, _))) => a_major == b_major,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_keeps_the_host_and_the_kind_of_key_only() {
        let target = Target::new("https://API.clerk.com/v1", "sk_live_secret");
        assert_eq!(target.api_host, "api.clerk.com");
        assert_eq!(target.environment, Environment::Live);
        assert_eq!(target.to_string(), "api.clerk.com (LIVE instance)");
        let local = Target::new("http://u:p@127.0.0.1:8080", "sk_test_x");
        assert_eq!(local.api_host, "127.0.0.1:8080");
        assert_eq!(local.environment, Environment::Test);
        assert_eq!(
            Target::new("api.example.com", "pk_test_x").environment,
            Environment::Unknown
        );
        assert!(!format!("{target:?}{target}").contains("secret"));
    }

    #[test]
    fn versions_are_compatible_by_cargo_rules() {
        assert!(compatible("0.1.0", "0.1.7"));
        assert!(!compatible("0.1.0", "0.2.0"));
        assert!(compatible("1.2.0", "1.9.1"));
        assert!(!compatible("1.0.0", "2.0.0"));
        assert!(!compatible("garbage", "0.1.0"));
    }

    fn saved() -> SavedPlan {
        let plan: Plan = serde_json::from_str(
            r#"{"changes":[],"unmanaged":{"permissions":[],"roles":[],"role_sets":[]},"steps":[],"prune":false,"fingerprint":{"permissions":{},"roles":{},"role_sets":{}}}"#,
        )
        .unwrap();
        SavedPlan::new(
            plan,
            Target::new("https://api.clerk.com", "sk_test_1"),
            Some("rbac.toml".into()),
        )
    }

    #[test]
    fn a_saved_plan_reads_back_as_written() {
        let plan = saved();
        let text = plan.to_json();
        assert!(SavedPlan::looks_like(&text));
        assert_eq!(SavedPlan::from_json(&text).unwrap(), plan);
    }

    #[test]
    fn another_format_version_or_tool_version_is_refused() {
        let mut plan = saved();
        plan.format_version = 2;
        let err = SavedPlan::from_json(&plan.to_json()).unwrap_err();
        assert!(err.to_string().contains("format version is 2"), "{err}");
        let mut plan = saved();
        plan.tool_version = "99.0.0".into();
        let err = SavedPlan::from_json(&plan.to_json()).unwrap_err();
        assert!(err.to_string().contains("clerk-rbac 99.0.0"), "{err}");
        assert!(SavedPlan::from_json("[role]").is_err());
    }

    #[test]
    fn another_target_is_refused_naming_both() {
        let plan = saved();
        assert!(
            plan.check_target(&Target::new("https://api.clerk.com/", "sk_test_2"))
                .is_ok()
        );
        let err = plan
            .check_target(&Target::new("https://api.clerk.com", "sk_live_2"))
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("api.clerk.com (test instance)")
                && text.contains("api.clerk.com (LIVE instance)"),
            "{text}"
        );
    }
}
