//! The planner: a pure function from (observed instance, desired state, options) to a
//! [`Plan`]: the changes a reviewer reads and the steps apply carries out, in dependency order.
//!
//! It works in three phases:
//! 1. **Matching** (`matching.rs`): every file entry is paired with the object it manages, by
//!    key or by its old key (`renamed_from`); a rename whose old and new keys both exist is
//!    refused.
//! 2. **Diff** (`permissions.rs`, `roles.rs`, `role_sets.rs`, `retirements.rs`,
//!    `pruning.rs`): per object, the change a reviewer reads and the requests that make it,
//!    sending only the fields that differ (one PATCH per changed object; a role's permission
//!    list whole). Each object's own steps are ordered here (a set's add-roles calls before its
//!    PATCH, before its roles leave); what a step needs from other objects is written down in
//!    the planner's facts, not turned into edges.
//! 3. **Ordering** (`order/`): one pass per rule, each adding the edges its rule asks for from
//!    the facts: permissions exist before roles hold them, roles before the sets that name
//!    them, changes to a set wait for migrations into it, a retirement waits for its
//!    destination, a creator role keeps its permissions until its set hands it over, and a
//!    deletion comes after everything that stops using what it deletes.
//!
//! Further rules: a role set is created with at most 10 roles (default and creator role first),
//! the rest go 10 per add-roles call; a role leaves a set only through "replace role", which
//! moves its members (the file must say where); a set is retired only by replacing it with
//! another one; system permissions are never created, changed or deleted (roles may hold them).

mod matching;
mod order;
mod permissions;
mod pruning;
mod retirements;
mod role_sets;
mod roles;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{
    dag::Dag,
    error::SyncError,
    file::DesiredState,
    fingerprint::Fingerprint,
    instance::{Instance, ObservedPermission, ObservedRole, ObservedRoleSet},
    keys::Kind,
    plan::{Action, Change, ChangeAction, FieldChange, Plan, PlanOptions, Step, Unmanaged},
    problem::{Problem, Problems},
    validate::Report,
};

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
        return Err(SyncError::Unplannable(Problems(vec![Problem {
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
        crate::preflight::check(observed, &plan, Some(desired), options.settings.as_ref());
    Ok(plan)
}

/// Steps under construction: the actions, numbered as added, and the graph of what waits for
/// what.
#[derive(Default)]
struct Graph {
    actions: Vec<Action>,
    dag: Dag,
}

impl Graph {
    fn add(&mut self, action: Action, after: impl IntoIterator<Item = usize>) -> usize {
        self.actions.push(action);
        self.dag.add(after)
    }

    fn depend(&mut self, step: usize, on: impl IntoIterator<Item = usize>) {
        self.dag.depend(step, on);
    }

    /// The steps in the graph's order (the order they were added in, as far as dependencies
    /// allow), renumbered; `None` if they wait in a circle.
    fn into_steps(self) -> Option<Vec<Step>> {
        // The passes only add edges from a step to steps of what it needs; a cycle here is a
        // planner bug.
        let order = self.dag.order()?;
        let mut position = vec![0; order.len()];
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
                    action: actions.get_mut(old)?.take()?,
                    after: self
                        .dag
                        .after(old)
                        .map(|b| position[b])
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect(),
                })
            })
            .collect()
    }
}

/// The observed objects by key (role sets whose migration completed left out).
struct Index<'a> {
    permissions: HashMap<&'a str, &'a ObservedPermission>,
    roles: HashMap<&'a str, &'a ObservedRole>,
    sets: HashMap<&'a str, &'a ObservedRoleSet>,
}

/// What matching found: which observed object each file entry manages.
#[derive(Default)]
struct Matches<'a> {
    /// Observed key → key after the plan, for permissions and roles the file matches.
    permission_renames: HashMap<&'a str, &'a str>,
    role_renames: HashMap<&'a str, &'a str>,
    /// File key → the observed object it matches.
    permissions: HashMap<&'a str, &'a ObservedPermission>,
    roles: HashMap<&'a str, &'a ObservedRole>,
    sets: HashMap<&'a str, &'a ObservedRoleSet>,
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

/// A step that names roles: it needs each to exist under that key, and the creator role it
/// names to hold the creator permissions.
struct NamesRoles {
    step: usize,
    roles: Vec<String>,
    creator: Option<String>,
}

/// A retirement, for the passes that order it.
struct Retirement<'a> {
    step: usize,
    /// The set retired, as observed.
    set: &'a ObservedRoleSet,
    /// The key of the set its organizations move to.
    into: &'a str,
}

/// What the diff recorded for the ordering passes: which step does what to which object.
#[derive(Default)]
struct Facts<'a> {
    /// Permission file key → the step creating it.
    permission_created: HashMap<&'a str, usize>,
    /// A role step sending a permission list, and the permission keys in it.
    holds_permissions: Vec<(usize, Vec<String>)>,
    /// Permission key (after the plan) → steps of roles that stop holding it or are deleted.
    permission_released: HashMap<String, Vec<usize>>,
    /// Role file key → its steps.
    role_steps: HashMap<&'a str, RoleSteps>,
    /// Set steps naming roles.
    names_roles: Vec<NamesRoles>,
    /// Role key (after renames) → steps after which no kept set holds it.
    role_released: HashMap<String, Vec<usize>>,
    /// Set file key → all its steps, and the step making a set initial.
    set_steps: HashMap<&'a str, Vec<usize>>,
    initial_step: Option<usize>,
    /// Steps changing an existing set, with that set's ID.
    set_changes: Vec<(usize, &'a str)>,
    /// Set key (after renames) → step that changes its creator role.
    creator_changed: HashMap<String, usize>,
    /// The retirements the plan starts.
    retirements: Vec<Retirement<'a>>,
    /// Deletions of roles, with the observed role.
    role_deletions: Vec<(usize, &'a ObservedRole)>,
    /// Deletions of permissions, with the permission's key.
    permission_deletions: Vec<(usize, &'a str)>,
    /// Observed key of a set being retired → the step waiting for its migration.
    awaits: HashMap<&'a str, usize>,
}

struct Planner<'a> {
    observed: &'a Instance,
    desired: &'a DesiredState,
    options: &'a PlanOptions,
    report: Report<'a>,
    changes: Vec<Change>,
    unmanaged: Unmanaged,
    graph: Graph,
    index: Index<'a>,
    matches: Matches<'a>,
    facts: Facts<'a>,
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
            index: Index {
                permissions: observed
                    .permissions
                    .iter()
                    .map(|p| (p.key.as_str(), p))
                    .collect(),
                roles: observed.roles.iter().map(|r| (r.key.as_str(), r)).collect(),
                sets: observed
                    .role_sets
                    .iter()
                    .filter(|s| s.is_live())
                    .map(|s| (s.key.as_str(), s))
                    .collect(),
            },
            matches: Matches::default(),
            facts: Facts::default(),
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
        order::run_all(self);
    }

    /// A permission key as it is after the plan (renamed ones under their new key).
    fn permission_after(&self, key: &'a str) -> &'a str {
        self.matches
            .permission_renames
            .get(key)
            .copied()
            .unwrap_or(key)
    }

    /// A role key as it is after the plan.
    fn role_after(&self, key: &'a str) -> &'a str {
        self.matches.role_renames.get(key).copied().unwrap_or(key)
    }

    /// Whether the role with this (observed) key is the creator role of a set.
    fn is_creator_of_a_set(&self, role: &str) -> bool {
        self.observed
            .role_sets
            .iter()
            .any(|s| s.creator_role.as_deref() == Some(role) && s.is_live())
    }

    /// The step that waits for the migration of `set` (a set being retired), added once.
    fn await_migration(&mut self, set: &'a ObservedRoleSet) -> usize {
        if let Some(&step) = self.facts.awaits.get(set.key.as_str()) {
            return step;
        }
        let step = self.graph.add(
            Action::AwaitMigration {
                set: set.key.clone(),
            },
            [],
        );
        self.facts.awaits.insert(&set.key, step);
        step
    }

    /// Records that `step` names `roles` (and `creator` as a creator role), for the pass that
    /// orders it after those roles exist.
    fn names_roles(&mut self, step: usize, roles: &[&str], creator: Option<&str>) {
        self.facts.names_roles.push(NamesRoles {
            step,
            roles: roles.iter().map(|r| r.to_string()).collect(),
            creator: creator.map(str::to_owned),
        });
    }

    /// Whether a set of the file manages the observed set with this key (under another key).
    fn is_renamed_away(&self, observed_key: &str) -> bool {
        self.matches.sets.values().any(|s| s.key == observed_key)
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
