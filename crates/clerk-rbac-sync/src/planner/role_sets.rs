//! The diff of role sets: create what the file adds (10 roles per call, default and creator
//! first), change what differs (roles joining through add-roles, which may carry the new
//! default and creator roles; a PATCH for the rest; roles leaving through "replace role",
//! moving their members), and check the rules about initial sets and creator roles.

use std::collections::{BTreeMap, BTreeSet};

use clerk_rbac::{MAX_ROLES_PER_CALL, rules::CREATOR_PERMISSIONS};

use super::{Planner, created, differs, value};
use crate::{
    file::RoleSetKind,
    instance::ObservedRoleSet,
    keys::Kind,
    plan::{Action, Change, ChangeAction, FieldChange},
    source::key_path,
};

impl<'a> Planner<'a> {
    pub(super) fn plan_role_sets(&mut self) {
        let desired = self.desired;
        for (key, spec) in &desired.role_sets {
            let mut steps = Vec::new();
            match self.matches.sets.get(key.as_str()).copied() {
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
                        [],
                    );
                    self.names_roles(create, first, Some(&spec.creator_role));
                    steps.push(create);
                    if spec.type_ == RoleSetKind::Initial {
                        self.facts.initial_step = Some(create);
                    }
                    for chunk in chunks {
                        let add = self.graph.add(
                            Action::AddRoles {
                                set: key.clone(),
                                roles: chunk.iter().map(|r| r.to_string()).collect(),
                                default_role: None,
                                creator_role: None,
                            },
                            [create],
                        );
                        self.names_roles(add, chunk, None);
                        steps.push(add);
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
                    self.facts
                        .set_changes
                        .extend(steps.iter().map(|&step| (step, observed.id.as_str())));
                }
            }
            self.facts.set_steps.insert(key, steps);
        }
        let managed: BTreeSet<&str> = self.matches.sets.values().map(|s| s.key.as_str()).collect();
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
            let mut named: Vec<&str> = chunk.to_vec();
            if carry {
                // The default and creator roles it names must exist under those keys.
                named.extend(
                    default_role
                        .iter()
                        .chain(creator_role.iter())
                        .map(String::as_str),
                );
            }
            let step = self.graph.add(
                Action::AddRoles {
                    set: observed.key.clone(),
                    roles: chunk.iter().map(|r| r.to_string()).collect(),
                    default_role: if carry { default_role.clone() } else { None },
                    creator_role: if carry { creator_role.clone() } else { None },
                },
                [],
            );
            self.names_roles(step, &named, creator);
            if carry && creator_role.is_some() {
                self.facts.creator_changed.insert(key.clone(), step);
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
            let named: Vec<String> = named.iter().map(|r| r.to_string()).collect();
            let creator = creator_role.clone();
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
                add_steps.iter().copied(),
            );
            let named: Vec<&str> = named.iter().map(String::as_str).collect();
            self.names_roles(step, &named, creator.as_deref());
            if make_initial {
                self.facts.initial_step = Some(step);
            }
            if changes_creator {
                self.facts.creator_changed.insert(key.clone(), step);
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
            let step = self.graph.add(
                Action::RemoveRole {
                    set: key.clone(),
                    role: role.to_owned(),
                    members_to: to.clone(),
                },
                last.iter().copied(),
            );
            self.names_roles(step, &[role, to], None);
            self.facts
                .role_released
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
            let Some(observed) = self.matches.sets.get(key.as_str()) else {
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

    /// Every role set that stays must have a creator role holding the creator permissions once
    /// the plan is applied (for those of them the instance has): the sets of the file, and the
    /// sets it leaves alone (whose creator role must keep them). When a creator role may lose
    /// them is the ordering pass `creator_role_keeps_its_permissions_until_handed_over`.
    pub(super) fn check_creator_roles(&mut self) {
        let desired = self.desired;
        let required: Vec<&str> = CREATOR_PERMISSIONS
            .iter()
            .copied()
            .filter(|p| self.index.permissions.get(p).is_some_and(|o| o.system))
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
        let managed: BTreeSet<&str> = self.matches.sets.values().map(|s| s.key.as_str()).collect();
        let retiring: BTreeSet<&str> = desired
            .retired_role_sets
            .keys()
            .map(String::as_str)
            .collect();
        let observed = self.observed;
        for set in observed.role_sets.iter().filter(|s| {
            s.is_live()
                && !s.is_retiring()
                && !managed.contains(s.key.as_str())
                && !retiring.contains(s.key.as_str())
        }) {
            let Some(creator) = set.creator_role.as_deref().map(|r| self.role_after(r)) else {
                continue;
            };
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
}
