//! The instance's organization settings, as far as they bound organization RBAC: the quotas on
//! custom roles and role sets (checked on every create), and the answer to
//! `GET /instance/organization_settings` (spec: GetInstanceOrganizationSettings, schema
//! `OrganizationSettings`).
//!
//! Sources and assumptions, rule by rule:
//! - Custom-role quota: Clerk's roles-and-permissions guide lets an instance create up to 10
//!   custom roles (more through support). The count is of roles the instance created: the two
//!   default roles `org:admin` and `org:member` are not counted (as we read "create up to 10").
//!   Assumption: the two default roles are known by their keys.
//! - Role-set quota: the spec reports `max_role_sets_allowed` but Clerk publishes no default.
//!   Assumption: 10, counting every role set the instance holds, the primary one and sets still
//!   being replaced included.
//! - Assumption: a create over a quota is refused with 422 and the codes
//!   `organization_role_quota_exceeded` / `role_set_quota_exceeded`, `meta.max_allowed` giving
//!   the limit (Clerk's codes for this are not published).
//! - The creator role and the domain default role reported are those of the initial role set
//!   (the one new organizations get); deleting either is refused by the role rules (a role that
//!   is a set's creator or default role cannot be deleted).
//! - On a plan without custom roles the settings report no room: `max_allowed_roles` 0 and
//!   `max_role_sets_allowed` 1 (assumption: how Clerk reports a plan without the feature is not
//!   published).

use serde_json::{Value, json};

use super::{state::State, wire::Failure};

/// How many custom roles an instance may create unless configured: Clerk's documented default.
pub const DEFAULT_MAX_CUSTOM_ROLES: u32 = 10;

/// How many role sets an instance may hold unless configured. Assumption: Clerk documents no
/// default; we take 10.
pub const DEFAULT_MAX_ROLE_SETS: u32 = 10;

/// The roles every instance starts with; they do not count against the custom-role quota.
const DEFAULT_ROLE_KEYS: [&str; 2] = ["org:admin", "org:member"];

/// The quotas an instance enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quotas {
    /// Custom roles the instance may create.
    pub max_custom_roles: u32,
    /// Role sets the instance may hold.
    pub max_role_sets: u32,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            max_custom_roles: DEFAULT_MAX_CUSTOM_ROLES,
            max_role_sets: DEFAULT_MAX_ROLE_SETS,
        }
    }
}

impl State {
    /// Roles that count against the custom-role quota.
    pub(crate) fn custom_role_count(&self) -> usize {
        self.roles
            .values()
            .filter(|r| !DEFAULT_ROLE_KEYS.contains(&r.key.as_str()))
            .count()
    }

    /// Refuses a role create that would exceed the custom-role quota.
    pub(crate) fn check_custom_role_quota(&self) -> Result<(), Failure> {
        let max = self.rules.quotas.max_custom_roles;
        if self.custom_role_count() < max as usize {
            return Ok(());
        }
        Err(Failure::new(
            422,
            "organization_role_quota_exceeded",
            "too many roles",
            format!(
                "This instance may create at most {max} custom roles and holds {}; delete one or ask Clerk support for a higher limit.",
                self.custom_role_count()
            ),
        )
        .meta("max_allowed", json!(max)))
    }

    /// Refuses a role set create that would exceed the role-set quota.
    pub(crate) fn check_role_set_quota(&self) -> Result<(), Failure> {
        let max = self.rules.quotas.max_role_sets;
        if self.sets.values().count() < max as usize {
            return Ok(());
        }
        Err(Failure::new(
            422,
            "role_set_quota_exceeded",
            "too many role sets",
            format!(
                "This instance may hold at most {max} role sets and holds {}; retire one or ask Clerk support for a higher limit.",
                self.sets.values().count()
            ),
        )
        .meta("max_allowed", json!(max)))
    }

    /// `GET /instance/organization_settings`: the spec's `OrganizationSettings` object.
    /// Fields the simulator does not model (memberships, domains) carry fixed values.
    pub(crate) fn organization_settings(&self) -> Result<Value, Failure> {
        let initial = self.sets.values().find(|s| s.initial);
        let (max_roles, max_sets) = if self.rules.custom_roles {
            (
                self.rules.quotas.max_custom_roles,
                self.rules.quotas.max_role_sets,
            )
        } else {
            (0, 1)
        };
        Ok(json!({
            "object": "organization_settings",
            "enabled": true,
            "max_allowed_memberships": 0,
            "max_allowed_roles": max_roles,
            "max_role_sets_allowed": max_sets,
            "max_allowed_domains": 0,
            "creator_role": initial.map(|s| s.creator_role.clone()).unwrap_or_default(),
            "admin_delete_enabled": true,
            "domains_enabled": false,
            "slug_disabled": false,
            "domains_enrollment_modes": [],
            "domains_default_role": initial.map(|s| s.default_role.clone()).unwrap_or_default(),
            "initial_role_set_key": initial.map(|s| s.key.clone()),
        }))
    }
}
