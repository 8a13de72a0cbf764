//! The diff of pruning (only with `--prune`): delete the custom permissions and roles the file
//! does not name, refusing to delete a role that a set the file leaves alone still holds.

use std::collections::BTreeSet;

use super::{Planner, deletion};
use crate::{keys::Kind, plan::Action, problem::Problem};

impl<'a> Planner<'a> {
    /// With prune: deletes the custom permissions and roles the file does not name, after
    /// everything that stops using them.
    pub(super) fn plan_pruning(&mut self) {
        if !self.options.prune {
            return;
        }
        let matched_roles: BTreeSet<&str> = self
            .matches
            .roles
            .values()
            .map(|r| r.key.as_str())
            .collect();
        let managed_sets: BTreeSet<&str> =
            self.matches.sets.values().map(|s| s.key.as_str()).collect();
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
                self.report.problems.push(Problem {
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
            // A set being retired still names its roles until its migration completes.
            let observed = self.observed;
            for set in observed
                .role_sets
                .iter()
                .filter(|s| s.is_retiring() && s.is_live() && s.roles.contains(&role.key))
            {
                let wait = self.await_migration(set);
                self.facts
                    .role_released
                    .entry(role.key.clone())
                    .or_default()
                    .push(wait);
            }
            let step = self.graph.add(
                Action::DeleteRole {
                    key: role.key.clone(),
                },
                [],
            );
            self.facts.role_deletions.push((step, role));
            for permission in &role.permissions {
                self.facts
                    .permission_released
                    .entry(self.permission_after(permission).to_owned())
                    .or_default()
                    .push(step);
            }

            self.changes.push(deletion(Kind::Role, &role.key));
        }
        let matched: BTreeSet<&str> = self
            .matches
            .permissions
            .values()
            .map(|p| p.key.as_str())
            .collect();
        for permission in self
            .observed
            .permissions
            .iter()
            .filter(|p| !p.system && !matched.contains(p.key.as_str()))
        {
            let step = self.graph.add(
                Action::DeletePermission {
                    key: permission.key.clone(),
                },
                [],
            );
            self.facts
                .permission_deletions
                .push((step, &permission.key));
            self.changes
                .push(deletion(Kind::Permission, &permission.key));
        }
    }
}
