//! The diff of retirements: a set the file retires is replaced by its destination (members of
//! the roles the destination lacks moved as the file says), then its migration is waited for;
//! a set already being retired only gets the wait.

use std::collections::BTreeMap;

use super::{Planner, Retirement, value};
use crate::{
    instance::MigrationStatus,
    keys::Kind,
    plan::{Action, Change, ChangeAction},
    source::key_path,
};

impl<'a> Planner<'a> {
    pub(super) fn plan_retirements(&mut self) {
        let desired = self.desired;
        for (key, retired) in &desired.retired_role_sets {
            let Some(observed) = self.index.sets.get(key.as_str()).copied() else {
                continue; // already gone: nothing to do
            };
            let set_roles: Vec<&'a str> =
                observed.roles.iter().map(|r| self.role_after(r)).collect();
            if observed.is_retiring() {
                let step = self.await_migration(observed);
                for role in &set_roles {
                    self.facts
                        .role_released
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
                        observed.migration.as_ref().map(MigrationStatus::as_str),
                        Some(MigrationStatus::Completed.as_str()),
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
                None => match self.index.sets.get(retired.into.as_str()) {
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
            if observed.initial && self.facts.initial_step.is_none() {
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
            let named: Vec<&str> = set_roles
                .iter()
                .copied()
                .chain(moves.values().map(String::as_str))
                .collect();
            let step = self.graph.add(
                Action::RetireRoleSet {
                    set: key.clone(),
                    into: retired.into.clone(),
                    move_members: moves.clone(),
                },
                [],
            );
            self.names_roles(step, &named, None);
            if let Some(destination) = self.index.sets.get(retired.into.as_str()).copied() {
                self.facts.set_changes.push((step, &destination.id));
            }
            self.facts.retirements.push(Retirement {
                step,
                set: observed,
                into: &retired.into,
            });
            for role in &set_roles {
                self.facts
                    .role_released
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
}
