//! The diff of roles: create what the file adds with all its permissions, PATCH what differs
//! (the permission list whole), list what the file does not name as unmanaged. A creator role
//! that is renamed and loses a creator permission is renamed first, on its own, so that its
//! set can hand the creator role over under the new key before the permissions go.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use clerk_rbac::rules::CREATOR_PERMISSIONS;

use super::{Planner, RoleSteps, created, differs};
use crate::{
    instance::ObservedPermission,
    keys::Kind,
    plan::{Action, Change, ChangeAction, FieldChange},
    source::{index_path, key_path},
};

impl Planner<'_> {
    pub(super) fn plan_roles(&mut self) {
        let desired = self.desired;
        let system: HashMap<&str, &ObservedPermission> = self
            .observed
            .permissions
            .iter()
            .filter(|p| p.system)
            .map(|p| (p.key.as_str(), p))
            .collect();
        for (key, spec) in &desired.roles {
            // The permissions the role must hold, and those of them the file manages (which
            // may be created by this plan).
            let mut wanted = BTreeSet::new();
            let mut managed = Vec::new();
            for (i, permission) in spec.permissions.iter().enumerate() {
                if desired.permissions.contains_key(permission) {
                    managed.push(permission.clone());
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
            match self.matches.roles.get(key.as_str()).copied() {
                None => {
                    let step = self.graph.add(
                        Action::CreateRole {
                            key: key.clone(),
                            name: spec.name.clone(),
                            description: spec.description.clone().filter(|d| !d.is_empty()),
                            permissions: wanted.iter().cloned().collect(),
                        },
                        [],
                    );
                    self.facts.holds_permissions.push((step, managed));
                    self.facts.role_steps.insert(
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
                            [],
                        );
                        let update = self.graph.add(
                            Action::UpdateRole {
                                key: key.clone(),
                                new_key: None,
                                name: None,
                                description: None,
                                permissions,
                            },
                            [rename],
                        );
                        self.facts.holds_permissions.push((update, managed));
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
                            [],
                        );
                        if changes_permissions {
                            self.facts.holds_permissions.push((step, managed));
                        }
                        (renamed.then_some(step), step)
                    };
                    for permission in removed.iter() {
                        self.facts
                            .permission_released
                            .entry(permission.clone())
                            .or_default()
                            .push(step);
                    }
                    self.facts.role_steps.insert(
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
            .matches
            .roles
            .values()
            .map(|r| r.key.as_str())
            .collect();
        for r in &self.observed.roles {
            if !matched.contains(r.key.as_str()) && !self.options.prune {
                self.unmanaged.roles.push(r.key.clone());
            }
        }
    }
}
