//! The diff of permissions: create what the file adds, PATCH what differs (a rename included),
//! list what the file does not name as unmanaged.

use std::collections::{BTreeMap, BTreeSet};

use super::{Planner, created, differs};
use crate::{
    keys::Kind,
    plan::{Action, Change, ChangeAction},
};

impl Planner<'_> {
    pub(super) fn plan_permissions(&mut self) {
        let desired = self.desired;
        for (key, spec) in &desired.permissions {
            let description = spec.description.clone().unwrap_or_default();
            match self.matches.permissions.get(key.as_str()).copied() {
                None => {
                    let step = self.graph.add(
                        Action::CreatePermission {
                            key: key.clone(),
                            name: spec.name.clone(),
                            description: spec.description.clone().filter(|d| !d.is_empty()),
                        },
                        [],
                    );
                    self.facts.permission_created.insert(key, step);
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
            .matches
            .permissions
            .values()
            .map(|p| p.key.as_str())
            .collect();
        for p in &self.observed.permissions {
            if !p.system && !matched.contains(p.key.as_str()) && !self.options.prune {
                self.unmanaged.permissions.push(p.key.clone());
            }
        }
    }
}
