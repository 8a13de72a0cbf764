//! The planner: a pure function from (observed instance, desired state, options) to a [`Plan`]:
//! the changes a reviewer reads and the steps apply carries out, in dependency order.
//!
//! Rules it follows (each one is why a step exists or is ordered as it is):
//! - Objects are matched by key; `renamed_from` matches an object under its old key and renames
//!   it in place. A rename whose old and new keys both exist is refused.
//! - Only fields that differ are sent; one PATCH per changed object carries all its changes (a
//!   role's permission list is sent whole, as permission IDs).
//! - Permissions come before the roles that hold them, roles before the role sets that name them;
//!   removals come after everything that stops using what they remove.
//! - A role set is created with at most 10 roles (default and creator role first); the rest, and
//!   roles added to an existing set, go 10 per add-roles call.
//! - A role leaves a set only through "replace role", which moves its members: the file must say
//!   where (`move_members`). A set is retired only by replacing it with another one.
//! - System permissions are never created, changed or deleted; roles may hold them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::{
    error::{Problems, SyncError},
    file::{DesiredState, RoleSetKind},
    instance::{Fingerprint, Instance, ObservedPermission, ObservedRole, ObservedRoleSet},
    keys::Kind,
    parse::{index_path, key_path},
    validate::Report,
};

/// The most roles Clerk takes in one create-role-set or add-roles call.
use clerk_rbac::MAX_ROLES_PER_CALL;

use clerk_rbac::rules::CREATOR_PERMISSIONS;

/// How to plan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlanOptions {
    /// Delete the custom permissions and roles the file does not name (they are otherwise left
    /// alone and listed as unmanaged). Role sets are never pruned: a set goes away only when the
    /// file retires it and says where its organizations go.
    pub prune: bool,
    /// The instance's organization settings, for the preflight; [`plan()`](crate::plan())
    /// reads them when this is `None`, the pure [`plan`] then checks without them.
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
    /// Whether the instance already matches the file (for what the file manages).
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.steps.is_empty()
    }

    /// The findings that keep the plan from being applied.
    pub fn errors(&self) -> Vec<&crate::Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == crate::Severity::Error)
            .collect()
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

/// Plans `desired` against an instance already read: the pure heart of `plan`, `check` and
/// `apply`. Sends nothing.
///
/// Fails with [`SyncError::Unplannable`] listing every problem when the file asks what cannot
/// be done on this instance or needs a decision it does not make: a rename whose old and new
/// keys both exist, an unknown system permission, a role leaving a set with no `move_members`
/// entry, a creator role without the creator permissions, making the initial set custom with no
/// other set becoming initial, pruning a role an unmanaged role set still holds, ...
pub fn plan(
    observed: &Instance,
    desired: &DesiredState,
    options: &PlanOptions,
) -> Result<Plan, SyncError> {
    let mut planner = Planner::new(observed, desired, options);
    planner.run();
    if !planner.report.problems.is_empty() {
        return Err(SyncError::Unplannable(
            Problems(planner.report.problems).sorted(),
        ));
    }
    let Some(steps) = planner.graph.into_steps() else {
        return Err(SyncError::Unplannable(Problems(vec![super::error::Problem {
            location: None,
            key: String::new(),
            message: "the steps of this plan depend on each other in a circle (a clerk-rbac bug; please report it with the file)".into(),
            help: None,
        }])));
    };
    let mut changes = planner.changes;
    changes.sort_by(|a, b| (a.kind, &a.key).cmp(&(b.kind, &b.key)));
    let mut plan = Plan {
        changes,
        unmanaged: planner.unmanaged,
        steps,
        prune: options.prune,
        fingerprint: Fingerprint::of(observed),
        findings: Vec::new(),
    };
    plan.findings =
        super::preflight::check(observed, &plan, Some(desired), options.settings.as_ref());
    Ok(plan)
}

/// Steps under construction: actions, their dependencies, and what each object's steps are.
#[derive(Default)]
struct Graph {
    actions: Vec<Action>,
    after: Vec<BTreeSet<usize>>,
}

impl Graph {
    fn add(&mut self, action: Action, after: impl IntoIterator<Item = usize>) -> usize {
        self.actions.push(action);
        self.after.push(after.into_iter().collect());
        self.actions.len() - 1
    }

    fn depend(&mut self, step: usize, on: impl IntoIterator<Item = usize>) {
        self.after[step].extend(on.into_iter().filter(|&other| other != step));
    }

    /// The steps in an order where every step comes after those it waits for (the order they
    /// were added in, as far as dependencies allow), renumbered; `None` if they wait in a circle.
    fn into_steps(self) -> Option<Vec<Step>> {
        let n = self.actions.len();
        let mut waiting: Vec<usize> = self.after.iter().map(BTreeSet::len).collect();
        let mut dependents = vec![Vec::new(); n];
        for (step, after) in self.after.iter().enumerate() {
            for &before in after {
                dependents[before].push(step);
            }
        }
        let mut ready: BTreeSet<usize> = (0..n).filter(|&s| waiting[s] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(step) = ready.pop_first() {
            order.push(step);
            for &next in &dependents[step] {
                waiting[next] -= 1;
                if waiting[next] == 0 {
                    ready.insert(next);
                }
            }
        }
        // The planner only adds edges from later concerns to earlier ones, plus the creator
        // hand-over edges, which cannot form a cycle; a cycle here is a planner bug.
        if order.len() != n {
            return None;
        }
        let mut position = vec![0; n];
        for (new, &old) in order.iter().enumerate() {
            position[old] = new;
        }
        let mut actions: Vec<Option<Action>> = self.actions.into_iter().map(Some).collect();
        order
            .iter()
            .enumerate()
            .map(|(new, &old)| {
                Some(Step {
                    id: new,
                    action: actions[old].take()?,
                    after: self.after[old]
                        .iter()
                        .map(|&b| position[b])
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect(),
                })
            })
            .collect()
    }
}

/// What the plan does to one role, for the steps that depend on it.
#[derive(Default, Clone)]
struct RoleSteps {
    /// The step that creates the role, or renames it (it exists under its file key after it).
    exists: Option<usize>,
    /// The step that changes its permissions (it may gain the creator permissions there).
    permissions: Option<usize>,
    /// Whether it loses a creator permission.
    loses_creator_permission: bool,
}

struct Planner<'a> {
    observed: &'a Instance,
    desired: &'a DesiredState,
    options: &'a PlanOptions,
    report: Report<'a>,
    changes: Vec<Change>,
    unmanaged: Unmanaged,
    graph: Graph,

    permissions_by_key: HashMap<&'a str, &'a ObservedPermission>,
    roles_by_key: HashMap<&'a str, &'a ObservedRole>,
    sets_by_key: HashMap<&'a str, &'a ObservedRoleSet>,

    /// Observed key → key after the plan, for permissions, roles and sets the file matches.
    permission_renames: HashMap<&'a str, &'a str>,
    role_renames: HashMap<&'a str, &'a str>,
    /// File key → the observed object it matches.
    matched_permissions: HashMap<&'a str, &'a ObservedPermission>,
    matched_roles: HashMap<&'a str, &'a ObservedRole>,
    matched_sets: HashMap<&'a str, &'a ObservedRoleSet>,

    /// Permission file key → the step creating it.
    permission_created: HashMap<&'a str, usize>,
    /// Permission key (after the plan) → steps of roles that stop holding it or are deleted.
    permission_released: HashMap<String, Vec<usize>>,
    /// Role file key → its steps.
    role_steps: HashMap<&'a str, RoleSteps>,
    /// Role key (after renames) → steps after which no kept set holds it.
    role_released: HashMap<String, Vec<usize>>,
    /// Set file key → all its steps, and the step making it initial.
    set_steps: HashMap<&'a str, Vec<usize>>,
    initial_step: Option<usize>,
    /// Set key (after renames) → step that changes its creator role.
    creator_changed: HashMap<String, usize>,
    /// Observed key of a set being retired → the step waiting for its migration.
    awaits: HashMap<&'a str, usize>,
    /// Key of a set the file retires → the step retiring it.
    retire_steps: HashMap<&'a str, usize>,
}

impl<'a> Planner<'a> {
    fn new(observed: &'a Instance, desired: &'a DesiredState, options: &'a PlanOptions) -> Self {
        Planner {
            observed,
            desired,
            options,
            report: Report::new(desired),
            changes: Vec::new(),
            unmanaged: Unmanaged::default(),
            graph: Graph::default(),
            permissions_by_key: observed
                .permissions
                .iter()
                .map(|p| (p.key.as_str(), p))
                .collect(),
            roles_by_key: observed.roles.iter().map(|r| (r.key.as_str(), r)).collect(),
            sets_by_key: observed
                .role_sets
                .iter()
                .filter(|s| s.migration.as_deref() != Some("completed"))
                .map(|s| (s.key.as_str(), s))
                .collect(),
            permission_renames: HashMap::new(),
            role_renames: HashMap::new(),
            matched_permissions: HashMap::new(),
            matched_roles: HashMap::new(),
            matched_sets: HashMap::new(),
            permission_created: HashMap::new(),
            permission_released: HashMap::new(),
            role_steps: HashMap::new(),
            role_released: HashMap::new(),
            set_steps: HashMap::new(),
            initial_step: None,
            creator_changed: HashMap::new(),
            awaits: HashMap::new(),
            retire_steps: HashMap::new(),
        }
    }

    fn run(&mut self) {
        self.match_objects();
        if !self.report.problems.is_empty() {
            return;
        }
        self.plan_permissions();
        self.plan_roles();
        self.plan_role_sets();
        self.plan_retirements();
        self.check_creator_roles();
        self.plan_pruning();
    }

    /// Pairs every file entry with the object it manages (by key, or by its old key when
    /// renamed), refusing renames whose old and new keys both exist.
    fn match_objects(&mut self) {
        let desired = self.desired;
        for (key, spec) in &desired.permissions {
            let found = self.pair(
                Kind::Permission,
                "permissions",
                key,
                spec.renamed_from.as_deref(),
                |p, k| p.permissions_by_key.get(k).copied(),
            );
            if let Some(observed) = found {
                if observed.system {
                    self.report.key(
                        key_path(&["permissions", key]),
                        format!(
                            "`{}` is a system permission on this instance; it cannot be managed",
                            observed.key
                        ),
                        None,
                    );
                    continue;
                }
                self.permission_renames.insert(&observed.key, key);
                self.matched_permissions.insert(key, observed);
            }
        }
        for (key, spec) in &desired.roles {
            if let Some(observed) = self.pair(
                Kind::Role,
                "roles",
                key,
                spec.renamed_from.as_deref(),
                |p, k| p.roles_by_key.get(k).copied(),
            ) {
                self.role_renames.insert(&observed.key, key);
                self.matched_roles.insert(key, observed);
            }
        }
        for (key, spec) in &desired.role_sets {
            if let Some(observed) = self.pair(
                Kind::RoleSet,
                "role_sets",
                key,
                spec.renamed_from.as_deref(),
                |p, k| p.sets_by_key.get(k).copied(),
            ) {
                if observed.is_retiring() {
                    self.report.key(
                        key_path(&["role_sets", key]),
                        format!(
                            "role set `{}` is being retired (its migration is {}); it cannot be managed",
                            observed.key,
                            observed.migration.as_deref().unwrap_or("running")
                        ),
                        Some("wait for the migration to finish, then plan again".into()),
                    );
                    continue;
                }
                self.matched_sets.insert(key, observed);
            }
        }
    }

    fn pair<T>(
        &mut self,
        kind: Kind,
        table: &str,
        key: &'a str,
        renamed_from: Option<&'a str>,
        find: impl Fn(&Self, &str) -> Option<T>,
    ) -> Option<T> {
        let current = find(self, key);
        let Some(old) = renamed_from else {
            return current;
        };
        match (current, find(self, old)) {
            (Some(_), Some(_)) => {
                self.report.value(
                    key_path(&[table, key, "renamed_from"]),
                    format!(
                        "both `{old}` and `{key}` exist on the instance, so the {} cannot be renamed",
                        kind.noun()
                    ),
                    Some(format!("remove `renamed_from` to manage `{key}` and leave `{old}` alone")),
                );
                None
            }
            (Some(current), None) => Some(current),
            (None, old) => old,
        }
    }

    /// A permission key as it is after the plan (renamed ones under their new key).
    fn permission_after(&self, key: &'a str) -> &'a str {
        self.permission_renames.get(key).copied().unwrap_or(key)
    }

    fn role_after(&self, key: &'a str) -> &'a str {
        self.role_renames.get(key).copied().unwrap_or(key)
    }

    fn plan_permissions(&mut self) {
        let desired = self.desired;
        for (key, spec) in &desired.permissions {
            let description = spec.description.clone().unwrap_or_default();
            match self.matched_permissions.get(key.as_str()).copied() {
                None => {
                    let step = self.graph.add(
                        Action::CreatePermission {
                            key: key.clone(),
                            name: spec.name.clone(),
                            description: spec.description.clone().filter(|d| !d.is_empty()),
                        },
                        [],
                    );
                    self.permission_created.insert(key, step);
                    self.changes.push(Change {
                        kind: Kind::Permission,
                        key: key.clone(),
                        action: ChangeAction::Create,
                        renamed_from: None,
                        fields: created([
                            ("name", Some(&spec.name)),
                            ("description", spec.description.as_ref()),
                        ]),
                        moves: BTreeMap::new(),
                        into: None,
                    });
                }
                Some(observed) => {
                    let mut fields = Vec::new();
                    let new_key = (observed.key != *key).then(|| key.clone());
                    let name = differs(&mut fields, "name", &observed.name, &spec.name);
                    let description = differs(
                        &mut fields,
                        "description",
                        &observed.description,
                        &description,
                    );
                    if new_key.is_none() && fields.is_empty() {
                        continue;
                    }
                    self.graph.add(
                        Action::UpdatePermission {
                            key: observed.key.clone(),
                            new_key,
                            name,
                            description,
                        },
                        [],
                    );
                    self.changes.push(Change {
                        kind: Kind::Permission,
                        key: key.clone(),
                        action: ChangeAction::Update,
                        renamed_from: (observed.key != *key).then(|| observed.key.clone()),
                        fields,
                        moves: BTreeMap::new(),
                        into: None,
                    });
                }
            }
        }
        let matched: BTreeSet<&str> = self
            .matched_permissions
            .values()
            .map(|p| p.key.as_str())
            .collect();
        for p in &self.observed.permissions {
            if !p.system && !matched.contains(p.key.as_str()) && !self.options.prune {
                self.unmanaged.permissions.push(p.key.clone());
            }
        }
    }

    fn plan_roles(&mut self) {
        let desired = self.desired;
        let system: HashMap<&str, &ObservedPermission> = self
            .observed
            .permissions
            .iter()
            .filter(|p| p.system)
            .map(|p| (p.key.as_str(), p))
            .collect();
        for (key, spec) in &desired.roles {
            // The permissions the role must hold, and the steps creating the new ones.
            let mut wanted = BTreeSet::new();
            let mut needs = Vec::new();
            for (i, permission) in spec.permissions.iter().enumerate() {
                if desired.permissions.contains_key(permission) {
                    needs.extend(self.permission_created.get(permission.as_str()).copied());
                } else if !system.contains_key(permission.as_str()) {
                    self.report.value(
                        index_path(&key_path(&["roles", key, "permissions"]), i),
                        format!("`{permission}` is not a system permission of this instance"),
                        None,
                    );
                }
                wanted.insert(permission.clone());
            }
            let description = spec.description.clone().unwrap_or_default();
            match self.matched_roles.get(key.as_str()).copied() {
                None => {
                    let step = self.graph.add(
                        Action::CreateRole {
                            key: key.clone(),
                            name: spec.name.clone(),
                            description: spec.description.clone().filter(|d| !d.is_empty()),
                            permissions: wanted.iter().cloned().collect(),
                        },
                        needs,
                    );
                    self.role_steps.insert(
                        key,
                        RoleSteps {
                            exists: Some(step),
                            permissions: Some(step),
                            loses_creator_permission: false,
                        },
                    );
                    let mut fields = created([
                        ("name", Some(&spec.name)),
                        ("description", spec.description.as_ref()),
                    ]);
                    if !wanted.is_empty() {
                        fields.push(FieldChange::List {
                            field: "permissions".into(),
                            added: wanted.iter().cloned().collect(),
                            removed: Vec::new(),
                        });
                    }
                    self.changes.push(Change {
                        kind: Kind::Role,
                        key: key.clone(),
                        action: ChangeAction::Create,
                        renamed_from: None,
                        fields,
                        moves: BTreeMap::new(),
                        into: None,
                    });
                }
                Some(observed) => {
                    let held: BTreeSet<String> = observed
                        .permissions
                        .iter()
                        .map(|k| self.permission_after(k).to_owned())
                        .collect();
                    let mut fields = Vec::new();
                    let new_key = (observed.key != *key).then(|| key.clone());
                    let name = differs(&mut fields, "name", &observed.name, &spec.name);
                    let old_description = observed.description.clone().unwrap_or_default();
                    let description =
                        differs(&mut fields, "description", &old_description, &description);
                    let added: Vec<String> = wanted.difference(&held).cloned().collect();
                    let removed: Vec<String> = held.difference(&wanted).cloned().collect();
                    let permissions = (!added.is_empty() || !removed.is_empty())
                        .then(|| wanted.iter().cloned().collect());
                    if permissions.is_some() {
                        fields.push(FieldChange::List {
                            field: "permissions".into(),
                            added,
                            removed: removed.clone(),
                        });
                    }
                    if new_key.is_none() && fields.is_empty() {
                        continue;
                    }
                    let renamed = new_key.is_some();
                    let changes_permissions = permissions.is_some();
                    let loses_creator_permission = removed
                        .iter()
                        .any(|p| CREATOR_PERMISSIONS.contains(&p.as_str()));
                    // A set's creator role loses a creator permission only after the set hands
                    // the creator role over (or, for a set being retired, after the migration),
                    // while those steps may need the role under its new key: then the rename
                    // goes first, as its own request.
                    let split = renamed
                        && loses_creator_permission
                        && self.is_creator_of_a_set(&observed.key);
                    let (exists, step) = if split {
                        let rename = self.graph.add(
                            Action::UpdateRole {
                                key: observed.key.clone(),
                                new_key: new_key.clone(),
                                name,
                                description,
                                permissions: None,
                            },
                            Vec::new(),
                        );
                        let mut needs = needs;
                        needs.push(rename);
                        let update = self.graph.add(
                            Action::UpdateRole {
                                key: key.clone(),
                                new_key: None,
                                name: None,
                                description: None,
                                permissions,
                            },
                            needs,
                        );
                        (Some(rename), update)
                    } else {
                        let step = self.graph.add(
                            Action::UpdateRole {
                                key: observed.key.clone(),
                                new_key,
                                name,
                                description,
                                permissions,
                            },
                            if changes_permissions {
                                needs
                            } else {
                                Vec::new()
                            },
                        );
                        (renamed.then_some(step), step)
                    };
                    for permission in removed.iter() {
                        self.permission_released
                            .entry(permission.clone())
                            .or_default()
                            .push(step);
                    }
                    self.role_steps.insert(
                        key,
                        RoleSteps {
                            exists,
                            permissions: changes_permissions.then_some(step),
                            loses_creator_permission,
                        },
                    );
                    self.changes.push(Change {
                        kind: Kind::Role,
                        key: key.clone(),
                        action: ChangeAction::Update,
                        renamed_from: renamed.then(|| observed.key.clone()),
                        fields,
                        moves: BTreeMap::new(),
                        into: None,
                    });
                }
            }
        }
        let matched: BTreeSet<&str> = self
            .matched_roles
            .values()
            .map(|r| r.key.as_str())
            .collect();
        for r in &self.observed.roles {
            if !matched.contains(r.key.as_str()) && !self.options.prune {
                self.unmanaged.roles.push(r.key.clone());
            }
        }
    }

    /// Steps a set step waits for: the creation or rename of every role it names (so the role
    /// exists under that key), and for its creator role, a change of permissions (which may be
    /// what makes it creator-eligible).
    fn role_needs(&self, roles: &[&str], creator: Option<&str>) -> Vec<usize> {
        let mut needs: Vec<usize> = roles
            .iter()
            .filter_map(|r| self.role_steps.get(*r).and_then(|s| s.exists))
            .collect();
        if let Some(creator) = creator {
            needs.extend(self.role_steps.get(creator).and_then(|s| s.permissions));
        }
        needs
    }

    fn plan_role_sets(&mut self) {
        let desired = self.desired;
        for (key, spec) in &desired.role_sets {
            let mut steps = Vec::new();
            match self.matched_sets.get(key.as_str()).copied() {
                None => {
                    // Default and creator role first, so that the create call holds them.
                    let mut order: Vec<&str> = vec![&spec.default_role];
                    if spec.creator_role != spec.default_role {
                        order.push(&spec.creator_role);
                    }
                    order.extend(
                        spec.roles
                            .iter()
                            .map(String::as_str)
                            .filter(|r| *r != spec.default_role && *r != spec.creator_role),
                    );
                    let mut chunks = order.chunks(MAX_ROLES_PER_CALL);
                    let first = chunks.next().unwrap_or_default();
                    let create = self.graph.add(
                        Action::CreateRoleSet {
                            key: key.clone(),
                            name: spec.name.clone(),
                            description: spec.description.clone().filter(|d| !d.is_empty()),
                            initial: spec.type_ == RoleSetKind::Initial,
                            default_role: spec.default_role.clone(),
                            creator_role: spec.creator_role.clone(),
                            roles: first.iter().map(|r| r.to_string()).collect(),
                        },
                        self.role_needs(first, Some(spec.creator_role.as_str())),
                    );
                    steps.push(create);
                    if spec.type_ == RoleSetKind::Initial {
                        self.initial_step = Some(create);
                    }
                    for chunk in chunks {
                        let mut needs = self.role_needs(chunk, None);
                        needs.push(create);
                        steps.push(self.graph.add(
                            Action::AddRoles {
                                set: key.clone(),
                                roles: chunk.iter().map(|r| r.to_string()).collect(),
                                default_role: None,
                                creator_role: None,
                            },
                            needs,
                        ));
                    }
                    let mut fields = created([
                        ("name", Some(&spec.name)),
                        ("description", spec.description.as_ref()),
                    ]);
                    fields.push(value("type", None, Some(spec.type_.as_str())));
                    fields.push(value(
                        "default_role",
                        None,
                        Some(spec.default_role.as_str()),
                    ));
                    fields.push(value(
                        "creator_role",
                        None,
                        Some(spec.creator_role.as_str()),
                    ));
                    let mut added: Vec<String> = spec.roles.clone();
                    added.sort();
                    fields.push(FieldChange::List {
                        field: "roles".into(),
                        added,
                        removed: Vec::new(),
                    });
                    self.changes.push(Change {
                        kind: Kind::RoleSet,
                        key: key.clone(),
                        action: ChangeAction::Create,
                        renamed_from: None,
                        fields,
                        moves: BTreeMap::new(),
                        into: None,
                    });
                }
                Some(observed) => {
                    self.update_role_set(key, observed, &mut steps);
                    // Clerk refuses changes to a set that organizations are moving into.
                    if !steps.is_empty() {
                        let waits = self.awaits_into(&observed.id);
                        for &step in &steps {
                            self.graph.depend(step, waits.iter().copied());
                        }
                    }
                }
            }
            self.set_steps.insert(key, steps);
        }
        let managed: BTreeSet<&str> = self.matched_sets.values().map(|s| s.key.as_str()).collect();
        for s in &self.observed.role_sets {
            let retired = desired.retired_role_sets.contains_key(&s.key);
            if !s.is_retiring() && !managed.contains(s.key.as_str()) && !retired {
                self.unmanaged.role_sets.push(s.key.clone());
            }
        }
        self.check_initial();
    }

    fn update_role_set(
        &mut self,
        key: &'a String,
        observed: &'a ObservedRoleSet,
        steps: &mut Vec<usize>,
    ) {
        let desired = self.desired;
        let spec = &desired.role_sets[key];
        let current_roles: Vec<&'a str> =
            observed.roles.iter().map(|r| self.role_after(r)).collect();
        let current: BTreeSet<&str> = current_roles.iter().copied().collect();
        let wanted: BTreeSet<&str> = spec.roles.iter().map(String::as_str).collect();
        let mut fields = Vec::new();

        let new_key = (observed.key != *key).then(|| key.clone());
        let renamed = new_key.is_some();
        let name = differs(&mut fields, "name", &observed.name, &spec.name);
        let description = differs(
            &mut fields,
            "description",
            observed.description.as_deref().unwrap_or(""),
            spec.description.as_deref().unwrap_or(""),
        );
        let make_initial = spec.type_ == RoleSetKind::Initial && !observed.initial;
        if spec.type_ == RoleSetKind::Initial && !observed.initial
            || spec.type_ == RoleSetKind::Custom && observed.initial
        {
            fields.push(value(
                "type",
                Some(if observed.initial {
                    "initial"
                } else {
                    "custom"
                }),
                Some(spec.type_.as_str()),
            ));
        }
        let old_default = observed.default_role.as_deref().map(|r| self.role_after(r));
        let old_creator = observed.creator_role.as_deref().map(|r| self.role_after(r));
        let default_role =
            (old_default != Some(spec.default_role.as_str())).then(|| spec.default_role.clone());
        let creator_role =
            (old_creator != Some(spec.creator_role.as_str())).then(|| spec.creator_role.clone());
        if default_role.is_some() {
            fields.push(value(
                "default_role",
                old_default,
                Some(spec.default_role.as_str()),
            ));
        }
        if creator_role.is_some() {
            fields.push(value(
                "creator_role",
                old_creator,
                Some(spec.creator_role.as_str()),
            ));
        }

        // Roles that join: new default and creator roles first, so that they can be named in
        // the first add-roles call.
        let mut joining: Vec<&str> = spec
            .roles
            .iter()
            .map(String::as_str)
            .filter(|r| !current.contains(r))
            .collect();
        joining.sort_by_key(|r| (*r != spec.default_role && *r != spec.creator_role, *r));
        let leaving: Vec<&str> = current_roles
            .iter()
            .copied()
            .filter(|r| !wanted.contains(r))
            .collect();
        // Clerk makes the role that takes over a leaving default role's members the set's
        // default (Clerk's role-set guide says so): when that is the wanted default, the
        // replace-role call sets it and nothing else needs to.
        let default_role = default_role.filter(|_| {
            !old_default.is_some_and(|old| {
                leaving.contains(&old) && spec.move_members.get(old) == Some(&spec.default_role)
            })
        });
        if !joining.is_empty() || !leaving.is_empty() {
            let mut added: Vec<String> = joining.iter().map(|r| r.to_string()).collect();
            added.sort();
            let mut removed: Vec<String> = leaving.iter().map(|r| r.to_string()).collect();
            removed.sort();
            fields.push(FieldChange::List {
                field: "roles".into(),
                added,
                removed,
            });
        }

        // Fields that a PATCH must carry; default and creator ride on the first add-roles call
        // when there is one and nothing else needs a PATCH.
        let patch_needed =
            new_key.is_some() || name.is_some() || description.is_some() || make_initial;
        let fold_into_add = !patch_needed && !joining.is_empty();
        let mut add_steps = Vec::new();
        for (i, chunk) in joining.chunks(MAX_ROLES_PER_CALL).enumerate() {
            let carry = fold_into_add && i == 0;
            let creator = if carry { creator_role.as_deref() } else { None };
            let mut needs = self.role_needs(chunk, creator);
            if carry {
                // The default and creator roles it names must exist under those keys.
                let named: Vec<&str> = default_role
                    .iter()
                    .chain(creator_role.iter())
                    .map(String::as_str)
                    .collect();
                needs.extend(self.role_needs(&named, None));
            }
            let step = self.graph.add(
                Action::AddRoles {
                    set: observed.key.clone(),
                    roles: chunk.iter().map(|r| r.to_string()).collect(),
                    default_role: if carry { default_role.clone() } else { None },
                    creator_role: if carry { creator_role.clone() } else { None },
                },
                needs,
            );
            if carry && creator_role.is_some() {
                self.creator_changed.insert(key.clone(), step);
            }
            add_steps.push(step);
        }
        steps.extend(&add_steps);
        let mut last = add_steps.clone();
        if patch_needed || (!fold_into_add && (default_role.is_some() || creator_role.is_some())) {
            let named: Vec<&str> = default_role
                .iter()
                .chain(creator_role.iter())
                .map(String::as_str)
                .collect();
            let mut needs = self.role_needs(&named, creator_role.as_deref());
            needs.extend(&add_steps);
            let changes_creator = creator_role.is_some();
            let step = self.graph.add(
                Action::UpdateRoleSet {
                    set: observed.key.clone(),
                    new_key,
                    name,
                    description,
                    make_initial,
                    default_role,
                    creator_role,
                },
                needs,
            );
            if make_initial {
                self.initial_step = Some(step);
            }
            if changes_creator {
                self.creator_changed.insert(key.clone(), step);
            }
            steps.push(step);
            last = vec![step];
        }

        let mut moves = BTreeMap::new();
        for role in leaving {
            let Some(to) = spec.move_members.get(role) else {
                self.report.key(
                    key_path(&["role_sets", key, "roles"]),
                    format!("role `{role}` leaves role set `{key}`, but the file does not say where its members go"),
                    Some(format!(
                        "add `\"{role}\" = \"<a role of the set>\"` under [role_sets.\"{key}\".move_members]"
                    )),
                );
                continue;
            };
            let mut needs = last.clone();
            needs.extend(self.role_needs(&[role, to], None));
            let step = self.graph.add(
                Action::RemoveRole {
                    set: key.clone(),
                    role: role.to_owned(),
                    members_to: to.clone(),
                },
                needs,
            );
            self.role_released
                .entry(role.to_owned())
                .or_default()
                .push(step);
            moves.insert(role.to_owned(), to.clone());
            steps.push(step);
        }
        if fields.is_empty() && !renamed {
            return;
        }
        self.changes.push(Change {
            kind: Kind::RoleSet,
            key: key.clone(),
            action: ChangeAction::Update,
            renamed_from: (observed.key != *key).then(|| observed.key.clone()),
            fields,
            moves,
            into: None,
        });
    }

    /// A set that is initial now becomes custom only when another set of the file becomes
    /// initial (Clerk has no other way).
    fn check_initial(&mut self) {
        let desired = self.desired;
        let becomes_initial = desired
            .role_sets
            .values()
            .any(|s| s.type_ == RoleSetKind::Initial);
        for (key, spec) in &desired.role_sets {
            let Some(observed) = self.matched_sets.get(key.as_str()) else {
                continue;
            };
            if observed.initial && spec.type_ == RoleSetKind::Custom && !becomes_initial {
                self.report.value(
                    key_path(&["role_sets", key, "type"]),
                    format!("`{key}` is the initial role set; Clerk makes it custom only when another set becomes initial"),
                    Some("mark another role set `type = \"initial\"`, or keep this one initial".into()),
                );
            }
        }
    }

    fn plan_retirements(&mut self) {
        let desired = self.desired;
        for (key, retired) in &desired.retired_role_sets {
            let Some(observed) = self.sets_by_key.get(key.as_str()).copied() else {
                continue; // already gone: nothing to do
            };
            let set_roles: Vec<&'a str> =
                observed.roles.iter().map(|r| self.role_after(r)).collect();
            if observed.is_retiring() {
                let step = self.await_migration(observed);
                for role in &set_roles {
                    self.role_released
                        .entry(role.to_string())
                        .or_default()
                        .push(step);
                }
                self.changes.push(Change {
                    kind: Kind::RoleSet,
                    key: key.clone(),
                    action: ChangeAction::Retire,
                    renamed_from: None,
                    fields: vec![value(
                        "migration",
                        observed.migration.as_deref(),
                        Some("completed"),
                    )],
                    moves: BTreeMap::new(),
                    into: Some(retired.into.clone()),
                });
                continue;
            }
            let path = key_path(&["retired_role_sets", key, "into"]);
            // The destination's roles once the plan is applied.
            let destination: Option<Vec<&str>> = match desired.role_sets.get(&retired.into) {
                Some(spec) => Some(spec.roles.iter().map(String::as_str).collect()),
                None => match self.sets_by_key.get(retired.into.as_str()) {
                    Some(set) if !set.is_retiring() && !self.is_renamed_away(&set.key) => {
                        Some(set.roles.iter().map(|r| self.role_after(r)).collect())
                    }
                    _ => None,
                },
            };
            let Some(destination) = destination else {
                self.report.value(
                    path,
                    format!(
                        "role set `{}` does not exist on the instance and is not in `role_sets`",
                        retired.into
                    ),
                    None,
                );
                continue;
            };
            let mut moves = BTreeMap::new();
            let mut missing = false;
            for role in &set_roles {
                if destination.contains(role) {
                    continue;
                }
                match retired.move_members.get(*role) {
                    Some(to) => {
                        moves.insert(role.to_string(), to.clone());
                    }
                    None => {
                        missing = true;
                        self.report.key(
                            key_path(&["retired_role_sets", key]),
                            format!("`{}` has no role `{role}`, and the file does not say where its members go", retired.into),
                            Some(format!("add `\"{role}\" = \"<a role of {}>\"` under [retired_role_sets.\"{key}\".move_members]", retired.into)),
                        );
                    }
                }
            }
            for (from, to) in &retired.move_members {
                if !destination.contains(&to.as_str()) {
                    self.report.value(
                        key_path(&["retired_role_sets", key, "move_members", from]),
                        format!("`{}` has no role `{to}` to move members to", retired.into),
                        None,
                    );
                    missing = true;
                }
            }
            if observed.initial && self.initial_step.is_none() {
                self.report.key(
                    key_path(&["retired_role_sets", key]),
                    format!("`{key}` is the initial role set; make another set initial before retiring it"),
                    Some("mark a set of `role_sets` with `type = \"initial\"`".into()),
                );
                continue;
            }
            if missing {
                continue;
            }
            let mut needs: Vec<usize> = self
                .set_steps
                .get(retired.into.as_str())
                .cloned()
                .unwrap_or_default();
            needs.extend(self.initial_step.filter(|_| observed.initial));
            let named: Vec<&str> = set_roles
                .iter()
                .copied()
                .chain(moves.values().map(String::as_str))
                .collect();
            needs.extend(self.role_needs(&named, None));
            if let Some(destination) = self.sets_by_key.get(retired.into.as_str()).copied() {
                needs.extend(self.awaits_into(&destination.id));
            }
            let step = self.graph.add(
                Action::RetireRoleSet {
                    set: key.clone(),
                    into: retired.into.clone(),
                    move_members: moves.clone(),
                },
                needs,
            );
            self.retire_steps.insert(key, step);
            for role in &set_roles {
                self.role_released
                    .entry(role.to_string())
                    .or_default()
                    .push(step);
            }
            self.changes.push(Change {
                kind: Kind::RoleSet,
                key: key.clone(),
                action: ChangeAction::Retire,
                renamed_from: None,
                fields: Vec::new(),
                moves,
                into: Some(retired.into.clone()),
            });
        }
    }

    /// Whether the role with this (observed) key is the creator role of a set.
    fn is_creator_of_a_set(&self, role: &str) -> bool {
        self.observed.role_sets.iter().any(|s| {
            s.creator_role.as_deref() == Some(role) && s.migration.as_deref() != Some("completed")
        })
    }

    /// The step that waits for the migration of `set` (a set being retired), added once.
    fn await_migration(&mut self, set: &'a ObservedRoleSet) -> usize {
        if let Some(&step) = self.awaits.get(set.key.as_str()) {
            return step;
        }
        let step = self.graph.add(
            Action::AwaitMigration {
                set: set.key.clone(),
            },
            [],
        );
        self.awaits.insert(&set.key, step);
        step
    }

    /// Waits for the migrations moving organizations into the set with this ID: Clerk refuses
    /// changes to a set while it is a migration's destination.
    fn awaits_into(&mut self, set_id: &str) -> Vec<usize> {
        let observed = self.observed;
        observed
            .role_sets
            .iter()
            .filter(|s| s.migration.as_deref() != Some("completed"))
            .filter(|s| s.migrating_into.as_deref() == Some(set_id))
            .map(|s| self.await_migration(s))
            .collect()
    }

    fn is_renamed_away(&self, observed_key: &str) -> bool {
        self.matched_sets.values().any(|s| s.key == observed_key)
    }

    /// Every role set that stays must have a creator role holding the creator permissions once
    /// the plan is applied (for those of them the instance has); a role that stops holding one
    /// while it is a set's creator role waits for that set to hand the creator role over.
    fn check_creator_roles(&mut self) {
        let desired = self.desired;
        let required: Vec<&str> = CREATOR_PERMISSIONS
            .iter()
            .copied()
            .filter(|p| self.permissions_by_key.get(p).is_some_and(|o| o.system))
            .collect();
        let holds_all =
            |permissions: &[String]| required.iter().all(|p| permissions.iter().any(|h| h == p));
        for (key, spec) in &desired.role_sets {
            let Some(role) = desired.roles.get(&spec.creator_role) else {
                continue;
            };
            if !holds_all(&role.permissions) {
                let missing: Vec<&str> = required
                    .iter()
                    .copied()
                    .filter(|p| !role.permissions.iter().any(|h| h == p))
                    .collect();
                self.report.value(
                    key_path(&["role_sets", key, "creator_role"]),
                    format!(
                        "`{}` cannot be the creator role: it lacks {}",
                        spec.creator_role,
                        missing
                            .iter()
                            .map(|p| format!("`{p}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Some(format!(
                        "add them to [roles.\"{}\"] permissions",
                        spec.creator_role
                    )),
                );
            }
        }
        // Sets the file does not manage keep their creator role: it must stay eligible.
        let managed: BTreeSet<&str> = self.matched_sets.values().map(|s| s.key.as_str()).collect();
        let retiring: BTreeSet<&str> = desired
            .retired_role_sets
            .keys()
            .map(String::as_str)
            .collect();
        let observed = self.observed;
        for set in observed
            .role_sets
            .iter()
            .filter(|s| s.migration.as_deref() != Some("completed"))
        {
            let Some(creator) = set.creator_role.as_deref().map(|r| self.role_after(r)) else {
                continue;
            };
            // Clerk keeps a retiring set's creator role to the rules until the migration ends:
            // a creator role losing a creator permission waits for that.
            let losing = self
                .role_steps
                .get(creator)
                .filter(|s| s.loses_creator_permission)
                .and_then(|s| s.permissions);
            if set.is_retiring() {
                if let Some(step) = losing {
                    let wait = self.await_migration(set);
                    self.graph.depend(step, [wait]);
                }
                continue;
            }
            if let Some(&retire) = self.retire_steps.get(set.key.as_str()) {
                if let Some(step) = losing {
                    self.graph.depend(step, [retire]);
                }
                continue;
            }
            if managed.contains(set.key.as_str()) {
                // The set hands its creator role over in this plan, or keeps it (checked above).
                if let Some(steps) = self
                    .role_steps
                    .get(creator)
                    .filter(|s| s.loses_creator_permission)
                {
                    let final_key = self
                        .matched_sets
                        .iter()
                        .find(|(_, s)| s.key == set.key)
                        .map(|(k, _)| *k);
                    if let (Some(step), Some(change)) = (
                        steps.permissions,
                        final_key.and_then(|k| self.creator_changed.get(k)),
                    ) {
                        self.graph.depend(step, [*change]);
                    }
                }
                continue;
            }
            if retiring.contains(set.key.as_str()) {
                continue; // refused above, with its reason
            }
            if let Some(role) = desired.roles.get(creator)
                && !holds_all(&role.permissions)
            {
                self.report.key(
                    key_path(&["roles", creator, "permissions"]),
                    format!(
                        "`{creator}` is the creator role of role set `{}`, which this file does not manage, so it must keep the creator permissions",
                        set.key
                    ),
                    None,
                );
            }
        }
    }

    /// With prune: deletes the custom permissions and roles the file does not name, after
    /// everything that stops using them.
    fn plan_pruning(&mut self) {
        if !self.options.prune {
            return;
        }
        let matched_roles: BTreeSet<&str> = self
            .matched_roles
            .values()
            .map(|r| r.key.as_str())
            .collect();
        let managed_sets: BTreeSet<&str> =
            self.matched_sets.values().map(|s| s.key.as_str()).collect();
        let retired: BTreeSet<&str> = self
            .desired
            .retired_role_sets
            .keys()
            .map(String::as_str)
            .collect();

        for role in self
            .observed
            .roles
            .iter()
            .filter(|r| !matched_roles.contains(r.key.as_str()))
        {
            // A set the file does not manage (and does not retire) keeps its roles.
            let holders: Vec<&str> = self
                .observed
                .role_sets
                .iter()
                .filter(|s| {
                    !s.is_retiring()
                        && !managed_sets.contains(s.key.as_str())
                        && !retired.contains(s.key.as_str())
                })
                .filter(|s| s.roles.contains(&role.key))
                .map(|s| s.key.as_str())
                .collect();
            if !holders.is_empty() {
                self.report.problems.push(super::error::Problem {
                    location: None,
                    key: String::new(),
                    message: format!(
                        "--prune would delete role `{}`, but role set{} {} still hold{} it and the file does not manage {}",
                        role.key,
                        if holders.len() > 1 { "s" } else { "" },
                        holders.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "),
                        if holders.len() > 1 { "" } else { "s" },
                        if holders.len() > 1 { "them" } else { "it" },
                    ),
                    help: Some("add the role to the file, or manage the set (saying where members of the role go)".into()),
                });
                continue;
            }
            let mut needs = self
                .role_released
                .get(&role.key)
                .cloned()
                .unwrap_or_default();
            // A set being retired still names its roles until its migration completes.
            let observed = self.observed;
            for set in observed.role_sets.iter().filter(|s| {
                s.is_retiring()
                    && s.migration.as_deref() != Some("completed")
                    && s.roles.contains(&role.key)
            }) {
                needs.push(self.await_migration(set));
            }
            let step = self.graph.add(
                Action::DeleteRole {
                    key: role.key.clone(),
                },
                needs,
            );
            for permission in &role.permissions {
                self.permission_released
                    .entry(self.permission_after(permission).to_owned())
                    .or_default()
                    .push(step);
            }

            self.changes.push(deletion(Kind::Role, &role.key));
        }
        let matched: BTreeSet<&str> = self
            .matched_permissions
            .values()
            .map(|p| p.key.as_str())
            .collect();
        for permission in self
            .observed
            .permissions
            .iter()
            .filter(|p| !p.system && !matched.contains(p.key.as_str()))
        {
            let needs = self
                .permission_released
                .get(&permission.key)
                .cloned()
                .unwrap_or_default();
            self.graph.add(
                Action::DeletePermission {
                    key: permission.key.clone(),
                },
                needs,
            );
            self.changes
                .push(deletion(Kind::Permission, &permission.key));
        }
    }
}

fn deletion(kind: Kind, key: &str) -> Change {
    Change {
        kind,
        key: key.to_owned(),
        action: ChangeAction::Delete,
        renamed_from: None,
        fields: Vec::new(),
        moves: BTreeMap::new(),
        into: None,
    }
}

fn value(field: &str, old: Option<&str>, new: Option<&str>) -> FieldChange {
    FieldChange::Value {
        field: field.to_owned(),
        old: old.map(str::to_owned),
        new: new.map(str::to_owned),
    }
}

/// The fields of an object being created, leaving out empty optional ones.
fn created<'s>(
    fields: impl IntoIterator<Item = (&'s str, Option<&'s String>)>,
) -> Vec<FieldChange> {
    fields
        .into_iter()
        .filter_map(|(field, new)| {
            new.filter(|v| !v.is_empty())
                .map(|new| value(field, None, Some(new)))
        })
        .collect()
}

/// Records `field` when `old` and `new` differ (empty counts as "none"), and returns the value
/// to send.
fn differs(fields: &mut Vec<FieldChange>, field: &str, old: &str, new: &str) -> Option<String> {
    if old == new {
        return None;
    }
    fields.push(value(
        field,
        Some(old).filter(|o| !o.is_empty()),
        Some(new).filter(|n| !n.is_empty()),
    ));
    Some(new.to_owned())
}
