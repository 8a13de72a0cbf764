//! Matching: pairs every file entry with the object it manages, by key or by its old key when
//! it is renamed, and refuses what cannot be matched (a rename whose old and new keys both
//! exist, a system permission, a set being retired).

use super::Planner;
use crate::{instance::MigrationStatus, keys::Kind, source::key_path};

impl<'a> Planner<'a> {
    /// Pairs every file entry with the object it manages (by key, or by its old key when
    /// renamed), refusing renames whose old and new keys both exist.
    pub(super) fn match_objects(&mut self) {
        let desired = self.desired;
        for (key, spec) in &desired.permissions {
            let found = self.pair(
                Kind::Permission,
                "permissions",
                key,
                spec.renamed_from.as_deref(),
                |p, k| p.index.permissions.get(k).copied(),
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
                self.matches.permission_renames.insert(&observed.key, key);
                self.matches.permissions.insert(key, observed);
            }
        }
        for (key, spec) in &desired.roles {
            if let Some(observed) = self.pair(
                Kind::Role,
                "roles",
                key,
                spec.renamed_from.as_deref(),
                |p, k| p.index.roles.get(k).copied(),
            ) {
                self.matches.role_renames.insert(&observed.key, key);
                self.matches.roles.insert(key, observed);
            }
        }
        for (key, spec) in &desired.role_sets {
            if let Some(observed) = self.pair(
                Kind::RoleSet,
                "role_sets",
                key,
                spec.renamed_from.as_deref(),
                |p, k| p.index.sets.get(k).copied(),
            ) {
                if observed.is_retiring() {
                    self.report.key(
                        key_path(&["role_sets", key]),
                        format!(
                            "role set `{}` is being retired (its migration is {}); it cannot be managed",
                            observed.key,
                            observed
                                .migration
                                .as_ref()
                                .map_or("running", MigrationStatus::as_str)
                        ),
                        Some("wait for the migration to finish, then plan again".into()),
                    );
                    continue;
                }
                self.matches.sets.insert(key, observed);
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
}
