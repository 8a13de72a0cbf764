//! Instances built by hand for the planner's tests, and desired states from TOML text.

#![allow(dead_code)]

use clerk_rbac_sync::{
    Action, DesiredState, Instance, ObservedPermission, ObservedRole, ObservedRoleSet, Plan,
    PlanOptions, SyncError,
};

/// The system permissions every instance has in these tests; the first three make a role
/// creator-eligible.
pub const SYSTEM: [&str; 5] = [
    "org:sys_memberships:manage",
    "org:sys_memberships:read",
    "org:sys_profile:delete",
    "org:sys_profile:manage",
    "org:sys_domains:read",
];

/// The creator permissions, to give a role.
pub const CREATOR: [&str; 3] = [
    "org:sys_memberships:manage",
    "org:sys_memberships:read",
    "org:sys_profile:delete",
];

/// An instance with the system permissions only.
pub fn bare() -> Instance {
    let mut instance = Instance::default();
    for (i, key) in SYSTEM.iter().enumerate() {
        instance.permissions.push(ObservedPermission {
            id: format!("perm_sys{i}"),
            key: (*key).into(),
            name: format!("System {key}"),
            description: String::new(),
            system: true,
        });
    }
    instance
}

/// Like a fresh Clerk instance: system permissions, `org:admin` (creator-eligible) and
/// `org:member`, and the initial set `role_set:default` holding both.
pub fn seeded() -> Instance {
    let mut instance = bare();
    add_role(&mut instance, "org:admin", "Admin", &CREATOR);
    add_role(
        &mut instance,
        "org:member",
        "Member",
        &["org:sys_memberships:read"],
    );
    add_set(
        &mut instance,
        "role_set:default",
        "Default",
        true,
        "org:member",
        "org:admin",
        &["org:admin", "org:member"],
    );
    instance
}

pub fn add_permission(instance: &mut Instance, key: &str, name: &str) {
    instance.permissions.push(ObservedPermission {
        id: format!("perm_{}", key.replace(':', "_")),
        key: key.into(),
        name: name.into(),
        description: String::new(),
        system: false,
    });
    instance.permissions.sort_by(|a, b| a.key.cmp(&b.key));
}

pub fn add_role(instance: &mut Instance, key: &str, name: &str, permissions: &[&str]) {
    let mut held: Vec<String> = permissions.iter().map(|p| p.to_string()).collect();
    held.sort();
    instance.roles.push(ObservedRole {
        id: format!("role_{}", key.replace(':', "_")),
        key: key.into(),
        name: name.into(),
        description: None,
        permissions: held,
    });
    instance.roles.sort_by(|a, b| a.key.cmp(&b.key));
}

pub fn add_set(
    instance: &mut Instance,
    key: &str,
    name: &str,
    initial: bool,
    default_role: &str,
    creator_role: &str,
    roles: &[&str],
) {
    instance.role_sets.push(ObservedRoleSet {
        id: format!("rs_{}", key.replace(':', "_")),
        key: key.into(),
        name: name.into(),
        description: None,
        initial,
        default_role: Some(default_role.into()),
        creator_role: Some(creator_role.into()),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        members: Default::default(),
        migration: None,
        migrating_into: None,
    });
    instance.role_sets.sort_by(|a, b| a.key.cmp(&b.key));
}

/// Reads a desired state from TOML, panicking with the problems if it is invalid.
pub fn desired(text: &str) -> DesiredState {
    DesiredState::from_toml(text, "rbac.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// The seeded instance's own description, as TOML, to extend in tests.
pub const SEEDED_FILE: &str = r#"
[roles."org:admin"]
name = "Admin"
permissions = ["org:sys_memberships:manage", "org:sys_memberships:read", "org:sys_profile:delete"]

[roles."org:member"]
name = "Member"
permissions = ["org:sys_memberships:read"]

[role_sets."role_set:default"]
name = "Default"
type = "initial"
default_role = "org:member"
creator_role = "org:admin"
roles = ["org:admin", "org:member"]
"#;

pub fn plan(instance: &Instance, text: &str) -> Plan {
    clerk_rbac_sync::planner::plan(instance, &desired(text), &PlanOptions::new())
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn plan_pruning(instance: &Instance, text: &str) -> Plan {
    clerk_rbac_sync::planner::plan(instance, &desired(text), &PlanOptions::new().prune(true))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The problems of a plan that must fail, as `(line, key, message)`.
pub fn refusal(instance: &Instance, text: &str, prune: bool) -> Vec<(usize, String, String)> {
    match clerk_rbac_sync::planner::plan(instance, &desired(text), &PlanOptions::new().prune(prune))
    {
        Ok(plan) => panic!("expected a refusal, got:\n{}", plan.render(false)),
        Err(SyncError::Unplannable(problems)) => problems
            .0
            .into_iter()
            .map(|p| (p.location.map_or(0, |l| l.line), p.key, p.message))
            .collect(),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

/// The actions of a plan, in step order.
pub fn actions(plan: &Plan) -> Vec<&Action> {
    plan.steps.iter().map(|s| &s.action).collect()
}

/// The position of the first step matching `matches`.
pub fn position(plan: &Plan, matches: impl Fn(&Action) -> bool) -> usize {
    plan.steps
        .iter()
        .position(|s| matches(&s.action))
        .unwrap_or_else(|| panic!("no such step in {:#?}", plan.steps))
}

/// Asserts that step `later` waits (directly or not) for step `earlier`.
pub fn assert_waits_for(plan: &Plan, later: usize, earlier: usize) {
    let mut stack = vec![later];
    let mut seen = std::collections::HashSet::new();
    while let Some(step) = stack.pop() {
        if step == earlier && step != later {
            return;
        }
        if seen.insert(step) {
            stack.extend(plan.steps[step].after.iter().copied());
        }
    }
    panic!(
        "step {later} ({:?}) does not wait for step {earlier} ({:?})",
        plan.steps[later].action, plan.steps[earlier].action
    );
}

/// Every step comes after the steps it waits for.
pub fn assert_ordered(plan: &Plan) {
    for step in &plan.steps {
        assert!(
            step.after.iter().all(|&b| b < step.id),
            "{step:?} waits for a later step"
        );
    }
    for (i, step) in plan.steps.iter().enumerate() {
        assert_eq!(step.id, i);
    }
}
