//! The plan's model: what a reviewer reads ([`Change`]s, [`Unmanaged`] objects) and what apply
//! carries out ([`Step`]s, each an [`Action`] and the steps it waits for). Plain data with no
//! behaviour beyond counting; the planner (`planner/`) builds it, `render.rs` prints it and
//! `apply.rs` runs it. Made with [`planner::plan`](crate::planner::plan) or
//! [`plan()`](crate::plan()).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{fingerprint::Fingerprint, keys::Kind};

/// How to plan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlanOptions {
    /// Delete the custom permissions and roles the file does not name (they are otherwise left
    /// alone and listed as unmanaged). Role sets are never pruned: a set goes away only when the
    /// file retires it and says where its organizations go.
    pub prune: bool,
    /// The instance's organization settings, for the preflight; [`plan()`](crate::plan())
    /// reads them when this is `None`, the pure [`planner::plan`](crate::planner::plan) then
    /// checks without them.
    pub settings: Option<crate::InstanceSettings>,
}

impl PlanOptions {
    /// Leaves unmanaged objects alone.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`prune`](Self::prune).
    pub fn prune(mut self, prune: bool) -> Self {
        self.prune = prune;
        self
    }

    /// Sets [`settings`](Self::settings).
    pub fn settings(mut self, settings: crate::InstanceSettings) -> Self {
        self.settings = Some(settings);
        self
    }
}

/// What apply would do to bring an instance to a desired state, and the observations it rests on.
///
/// Serializes to the JSON shape that `plan --json` prints (see [`Plan::to_json`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The changes, per object, in display order: permissions, roles, role sets, each sorted by key.
    pub changes: Vec<Change>,
    /// Objects on the instance that the file does not name and that the plan leaves alone.
    pub unmanaged: Unmanaged,
    /// The requests apply sends, in an order that respects [`Step::after`].
    pub steps: Vec<Step>,
    /// Whether the plan deletes unmanaged permissions and roles.
    pub prune: bool,
    /// What the plan saw, to refuse applying it to an instance that changed since.
    pub fingerprint: Fingerprint,
    /// What the preflight found (see [`crate::preflight`]): errors (apply sends nothing),
    /// warnings and notes such as members moving.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<crate::Finding>,
}

/// One object the plan creates, changes, deletes or retires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// What kind of object.
    pub kind: Kind,
    /// Its key once the plan is applied.
    pub key: String,
    /// What happens to it.
    pub action: ChangeAction,
    /// Its key before, when it is renamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// The fields that change (for a creation: every field it is created with).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// Where members go, for roles leaving a set or the roles of a retired set: role → role.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub moves: BTreeMap<String, String>,
    /// For a retirement: the set that takes the retired set's organizations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub into: Option<String>,
}

/// What happens to an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChangeAction {
    /// It is created.
    Create,
    /// Some of its fields change (a rename included).
    Update,
    /// It is deleted (only with prune).
    Delete,
    /// A role set is replaced by another one and goes away.
    Retire,
}

/// One field of a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldChange {
    // A list first: reading JSON back, `Value` (whose fields may be absent) would match a list.
    /// A list of keys (a role's `permissions`, a set's `roles`): what joins and what leaves.
    List {
        /// The field, as named in the file.
        field: String,
        /// Keys that join, sorted.
        added: Vec<String>,
        /// Keys that leave, sorted.
        removed: Vec<String>,
    },
    /// A single value: `old` → `new` (`None` is "no value").
    Value {
        /// The field, as named in the file (`name`, `description`, `type`, `default_role`, ...).
        field: String,
        /// Its value now.
        old: Option<String>,
        /// Its value after apply.
        new: Option<String>,
    },
}

/// Objects the plan leaves alone because the file does not name them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmanaged {
    /// Custom permission keys (system permissions are never listed).
    pub permissions: Vec<String>,
    /// Role keys.
    pub roles: Vec<String>,
    /// Role-set keys (sets being retired are not listed).
    pub role_sets: Vec<String>,
}

impl Unmanaged {
    /// Whether nothing is unmanaged.
    pub fn is_empty(&self) -> bool {
        self.permissions.is_empty() && self.roles.is_empty() && self.role_sets.is_empty()
    }
}

/// One request of a plan (or, for migrations, one wait), and the steps it waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Its position in [`Plan::steps`].
    pub id: usize,
    /// What it does (in JSON, its `op` and fields sit beside `id` and `after`).
    #[serde(flatten)]
    pub action: Action,
    /// The steps that must succeed first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<usize>,
}

/// What one step does. Objects are named by their key at the time the step runs (apply finds
/// the IDs); an empty `description` clears it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// `POST /organization_permissions`.
    CreatePermission {
        /// The new permission's key.
        key: String,
        /// Its name.
        name: String,
        /// Its description, if any.
        description: Option<String>,
    },
    /// `PATCH /organization_permissions/{id}` with the fields that change.
    UpdatePermission {
        /// The permission's key now.
        key: String,
        /// Its new key, when renamed.
        new_key: Option<String>,
        /// Its new name, when it changes.
        name: Option<String>,
        /// Its new description, when it changes (empty: none).
        description: Option<String>,
    },
    /// `DELETE /organization_permissions/{id}`.
    DeletePermission {
        /// The permission's key.
        key: String,
    },
    /// `POST /organization_roles` with all its permissions.
    CreateRole {
        /// The new role's key.
        key: String,
        /// Its name.
        name: String,
        /// Its description, if any.
        description: Option<String>,
        /// The keys of every permission it holds, sorted.
        permissions: Vec<String>,
    },
    /// `PATCH /organization_roles/{id}` with the fields that change (the permission list whole).
    UpdateRole {
        /// The role's key now.
        key: String,
        /// Its new key, when renamed.
        new_key: Option<String>,
        /// Its new name, when it changes.
        name: Option<String>,
        /// Its new description, when it changes (empty: none).
        description: Option<String>,
        /// The keys of every permission it holds afterwards, when that changes.
        permissions: Option<Vec<String>>,
    },
    /// `DELETE /organization_roles/{id}`.
    DeleteRole {
        /// The role's key.
        key: String,
    },
    /// `POST /role_sets` with at most 10 roles.
    CreateRoleSet {
        /// The new set's key.
        key: String,
        /// Its name.
        name: String,
        /// Its description, if any.
        description: Option<String>,
        /// Whether it is created as the initial set.
        initial: bool,
        /// The key of its default role (one of `roles`).
        default_role: String,
        /// The key of its creator role (one of `roles`).
        creator_role: String,
        /// The keys of the roles it is created with: default and creator first, 10 at most.
        roles: Vec<String>,
    },
    /// `POST /role_sets/{key}/roles` with at most 10 roles.
    AddRoles {
        /// The set's key now.
        set: String,
        /// The keys of the roles joining, 10 at most.
        roles: Vec<String>,
        /// The key of the role that becomes the default, when that changes in the same call.
        default_role: Option<String>,
        /// The key of the role that becomes the creator role, when that changes in the same call.
        creator_role: Option<String>,
    },
    /// `PATCH /role_sets/{key}` with the fields that change.
    UpdateRoleSet {
        /// The set's key now.
        set: String,
        /// Its new key, when renamed.
        new_key: Option<String>,
        /// Its new name, when it changes.
        name: Option<String>,
        /// Its new description, when it changes (empty: none).
        description: Option<String>,
        /// Whether it becomes the initial set (the previous one turns custom).
        make_initial: bool,
        /// The key of its new default role, when that changes.
        default_role: Option<String>,
        /// The key of its new creator role, when that changes.
        creator_role: Option<String>,
    },
    /// `POST /role_sets/{key}/roles/replace`: the role leaves, its members move.
    RemoveRole {
        /// The set's key.
        set: String,
        /// The key of the role leaving.
        role: String,
        /// The key of the role of the set its members get.
        members_to: String,
    },
    /// `POST /role_sets/{key}/replace`, then wait for the migration to finish.
    RetireRoleSet {
        /// The key of the set retired.
        set: String,
        /// The key of the set its organizations move to.
        into: String,
        /// Role of the retired set → role of `into` its members get, for the roles `into` lacks.
        move_members: BTreeMap<String, String>,
    },
    /// Wait for a migration that was already running when the plan was made.
    AwaitMigration {
        /// The key of the set being retired.
        set: String,
    },
}

impl Action {
    /// The kind and key of the object the step is about.
    pub fn subject(&self) -> (Kind, &str) {
        match self {
            Action::CreatePermission { key, .. }
            | Action::UpdatePermission { key, .. }
            | Action::DeletePermission { key } => (Kind::Permission, key),
            Action::CreateRole { key, .. }
            | Action::UpdateRole { key, .. }
            | Action::DeleteRole { key } => (Kind::Role, key),
            Action::CreateRoleSet { key, .. } => (Kind::RoleSet, key),
            Action::AddRoles { set, .. }
            | Action::UpdateRoleSet { set, .. }
            | Action::RemoveRole { set, .. }
            | Action::RetireRoleSet { set, .. }
            | Action::AwaitMigration { set } => (Kind::RoleSet, set),
        }
    }

    /// Whether the step changes the instance (everything but waiting for a migration).
    pub fn is_mutation(&self) -> bool {
        !matches!(self, Action::AwaitMigration { .. })
    }
}

/// Counts of a plan, for its summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Objects created.
    pub create: usize,
    /// Objects changed.
    pub update: usize,
    /// Objects deleted.
    pub delete: usize,
    /// Role sets retired.
    pub retire: usize,
    /// Requests that change something (migration polling not counted).
    pub requests: usize,
}

impl Plan {
    /// The findings that keep the plan from being applied.
    pub fn errors(&self) -> Vec<&crate::Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == crate::Severity::Error)
            .collect()
    }

    /// Whether the instance already matches the file (for what the file manages).
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.steps.is_empty()
    }

    /// Counts per action, and the number of changing requests.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for change in &self.changes {
            match change.action {
                ChangeAction::Create => summary.create += 1,
                ChangeAction::Update => summary.update += 1,
                ChangeAction::Delete => summary.delete += 1,
                ChangeAction::Retire => summary.retire += 1,
            }
        }
        summary.requests = self.steps.iter().filter(|s| s.action.is_mutation()).count();
        summary
    }
}
