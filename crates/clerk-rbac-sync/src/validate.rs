//! The rules a desired-state file follows beyond its shape, checked without any instance: key
//! shapes, names, references between entries, renames and where members go. What can only be
//! known against an instance (which system permissions exist, whether a rename's source and
//! target both exist, ...) is checked by the planner.

use std::collections::{BTreeMap, HashMap};

use super::{
    file::{DesiredState, RoleSetKind},
    keys::{self, Kind, closest, is_system_permission},
    problem::Problem,
    source::{index_path, key_path},
};

/// Whether a problem is about a key itself or the value written for it.
#[derive(Clone, Copy)]
enum At {
    Key,
    Value,
}

/// Collects problems, locating each one when the state came from a file.
pub(crate) struct Report<'a> {
    state: &'a DesiredState,
    pub(crate) problems: Vec<Problem>,
}

impl<'a> Report<'a> {
    pub(crate) fn new(state: &'a DesiredState) -> Self {
        Report {
            state,
            problems: Vec::new(),
        }
    }

    fn push(&mut self, path: String, at: At, message: String, help: Option<String>) {
        let location = self.state.source.as_ref().and_then(|source| match at {
            At::Key => source.locate_key(&path),
            At::Value => source.locate_value(&path),
        });
        self.problems.push(Problem {
            location,
            key: path,
            message,
            help,
        });
    }

    /// A problem with the key at `path` (the table or field itself).
    pub(crate) fn key(&mut self, path: String, message: String, help: Option<String>) {
        self.push(path, At::Key, message, help);
    }

    /// A problem with the value written at `path`.
    pub(crate) fn value(&mut self, path: String, message: String, help: Option<String>) {
        self.push(path, At::Value, message, help);
    }
}

/// Every problem of the file's own rules; empty when it follows them all.
pub(crate) fn check(state: &DesiredState) -> Vec<Problem> {
    let mut report = Report::new(state);
    permissions(state, &mut report);
    roles(state, &mut report);
    role_sets(state, &mut report);
    retired(state, &mut report);
    report.problems
}

fn permissions(state: &DesiredState, report: &mut Report<'_>) {
    let mut renames = Renames::default();
    for (key, permission) in &state.permissions {
        let path = key_path(&["permissions", key]);
        if is_system_permission(key) {
            report.key(
                path.clone(),
                format!("`{key}` is a system permission: Clerk owns it, so it cannot be created, changed or deleted"),
                Some("remove this table; roles can still list system permissions".into()),
            );
        } else if let Err(message) = keys::check(Kind::Permission, key) {
            report.key(path.clone(), message, None);
        }
        name(report, &path, &permission.name);
        if let Some(from) = &permission.renamed_from {
            let from_path = key_path(&["permissions", key, "renamed_from"]);
            if is_system_permission(from) {
                report.value(
                    from_path,
                    format!("`{from}` is a system permission; it cannot be renamed"),
                    None,
                );
            } else {
                renames.check(
                    report,
                    Kind::Permission,
                    key,
                    from,
                    from_path,
                    &state.permissions,
                );
            }
        }
    }
}

fn roles(state: &DesiredState, report: &mut Report<'_>) {
    let mut renames = Renames::default();
    let renamed_permissions =
        renamed_to(state.permissions.iter().map(|(k, p)| (k, &p.renamed_from)));
    for (key, role) in &state.roles {
        let path = key_path(&["roles", key]);
        if let Err(message) = keys::check(Kind::Role, key) {
            report.key(path.clone(), message, None);
        }
        name(report, &path, &role.name);
        if let Some(from) = &role.renamed_from {
            let from_path = key_path(&["roles", key, "renamed_from"]);
            renames.check(report, Kind::Role, key, from, from_path, &state.roles);
        }
        let list_path = key_path(&["roles", key, "permissions"]);
        let mut seen = HashMap::new();
        for (i, permission) in role.permissions.iter().enumerate() {
            let item = index_path(&list_path, i);
            if let Some(first) = seen.insert(permission.as_str(), i) {
                report.value(
                    item,
                    format!(
                        "`{permission}` is listed twice (first at position {})",
                        first + 1
                    ),
                    None,
                );
            } else if let Err(message) = keys::check(Kind::Permission, permission) {
                report.value(item, message, None);
            } else if !is_system_permission(permission)
                && !state.permissions.contains_key(permission)
            {
                let help = renamed_permissions
                    .get(permission.as_str())
                    .map(|new| format!("it is renamed to `{new}` in this file; use the new key"))
                    .or_else(|| suggest(permission, state.permissions.keys()));
                report.value(
                    item,
                    format!("unknown permission `{permission}`: it is not a permission of this file nor a system permission (`org:sys_...`)"),
                    help,
                );
            }
        }
    }
}

fn role_sets(state: &DesiredState, report: &mut Report<'_>) {
    let mut renames = Renames::default();
    let renamed_roles = renamed_to(state.roles.iter().map(|(k, r)| (k, &r.renamed_from)));
    let mut initial: Option<&str> = None;
    for (key, set) in &state.role_sets {
        let path = key_path(&["role_sets", key]);
        if let Err(message) = keys::check(Kind::RoleSet, key) {
            report.key(path.clone(), message, None);
        }
        name(report, &path, &set.name);
        if let Some(from) = &set.renamed_from {
            let from_path = key_path(&["role_sets", key, "renamed_from"]);
            renames.check(
                report,
                Kind::RoleSet,
                key,
                from,
                from_path,
                &state.role_sets,
            );
        }
        if set.type_ == RoleSetKind::Initial {
            if let Some(first) = initial {
                report.value(
                    key_path(&["role_sets", key, "type"]),
                    format!("only one role set can be `initial`, and `{first}` already is"),
                    None,
                );
            } else {
                initial = Some(key);
            }
        }

        let list_path = key_path(&["role_sets", key, "roles"]);
        if set.roles.is_empty() {
            report.value(
                list_path.clone(),
                "a role set needs at least one role".into(),
                None,
            );
        }
        let mut seen = HashMap::new();
        for (i, role) in set.roles.iter().enumerate() {
            let item = index_path(&list_path, i);
            if let Some(&first) = seen.get(role.as_str()) {
                // Both places named the same way as the key path: `roles[0]`, 0-based.
                report.value(
                    item,
                    format!("`{role}` is listed twice (first as roles[{first}])"),
                    None,
                );
                continue;
            }
            seen.insert(role.as_str(), i);
            if !state.roles.contains_key(role) {
                let help = renamed_roles
                    .get(role.as_str())
                    .map(|new| format!("it is renamed to `{new}` in this file; use the new key"))
                    .or_else(|| suggest(role, state.roles.keys()));
                report.value(
                    item,
                    format!("unknown role `{role}`: a role set can only hold roles of this file"),
                    help,
                );
            }
        }
        for (field, role) in [
            ("default_role", &set.default_role),
            ("creator_role", &set.creator_role),
        ] {
            if !seen.contains_key(role.as_str()) {
                report.value(
                    key_path(&["role_sets", key, field]),
                    format!("`{role}` is not one of this set's `roles`"),
                    suggest(role, set.roles.iter()),
                );
            }
        }
        for (from, to) in &set.move_members {
            let from_path = key_path(&["role_sets", key, "move_members", from]);
            if let Err(message) = keys::check(Kind::Role, from) {
                report.key(from_path.clone(), message, None);
            } else if seen.contains_key(from.as_str()) {
                report.key(
                    from_path.clone(),
                    format!(
                        "`{from}` stays in this set (it is in `roles`), so its members do not move"
                    ),
                    Some("remove this line, or remove the role from `roles`".into()),
                );
            }
            if !seen.contains_key(to.as_str()) {
                report.value(
                    from_path,
                    format!("members can only move to a role of this set, and `{to}` is not in its `roles`"),
                    suggest(to, set.roles.iter()),
                );
            }
        }
    }
}

fn retired(state: &DesiredState, report: &mut Report<'_>) {
    let renamed_sets = renamed_to(state.role_sets.iter().map(|(k, s)| (k, &s.renamed_from)));
    for (key, retired) in &state.retired_role_sets {
        let path = key_path(&["retired_role_sets", key]);
        if let Err(message) = keys::check(Kind::RoleSet, key) {
            report.key(path.clone(), message, None);
        } else if state.role_sets.contains_key(key) {
            report.key(
                path.clone(),
                format!("`{key}` is also in `role_sets`: a set cannot be both kept and retired"),
                None,
            );
        } else if let Some(new) = renamed_sets.get(key.as_str()) {
            report.key(
                path.clone(),
                format!("`{key}` is renamed to `{new}` in `role_sets`: a set cannot be both renamed and retired"),
                None,
            );
        }
        let into_path = key_path(&["retired_role_sets", key, "into"]);
        if let Err(message) = keys::check(Kind::RoleSet, &retired.into) {
            report.value(into_path, message, None);
        } else if retired.into == *key {
            report.value(
                into_path,
                "a role set cannot be retired into itself".into(),
                None,
            );
        } else if state.retired_role_sets.contains_key(&retired.into) {
            report.value(
                into_path,
                format!("`{}` is retired too; name a set that stays", retired.into),
                None,
            );
        }
        let destination = state.role_sets.get(&retired.into);
        for (from, to) in &retired.move_members {
            let from_path = key_path(&["retired_role_sets", key, "move_members", from]);
            if let Err(message) = keys::check(Kind::Role, from) {
                report.key(from_path.clone(), message, None);
            }
            if let Err(message) = keys::check(Kind::Role, to) {
                report.value(from_path, message, None);
            } else if let Some(destination) = destination
                && !destination.roles.contains(to)
            {
                report.value(
                    from_path,
                    format!(
                        "members can only move to a role of `{}`, and `{to}` is not in its `roles`",
                        retired.into
                    ),
                    suggest(to, destination.roles.iter()),
                );
            }
        }
    }
}

fn name(report: &mut Report<'_>, path: &str, name: &str) {
    if name.trim().is_empty() {
        report.value(
            format!("{path}.name"),
            "the name cannot be empty".into(),
            None,
        );
    }
}

/// "did you mean ...?" among `candidates`.
fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a String>) -> Option<String> {
    closest(word, candidates.into_iter().map(String::as_str))
        .map(|candidate| format!("did you mean `{candidate}`?"))
}

/// Old key → new key, for the entries of one table that say `renamed_from`.
fn renamed_to<'a>(
    entries: impl Iterator<Item = (&'a String, &'a Option<String>)>,
) -> HashMap<&'a str, &'a str> {
    entries
        .filter_map(|(new, old)| old.as_deref().map(|old| (old, new.as_str())))
        .collect()
}

/// The rename sources of one table seen so far.
#[derive(Default)]
struct Renames<'a> {
    sources: HashMap<&'a str, &'a str>,
}

impl<'a> Renames<'a> {
    fn check<T>(
        &mut self,
        report: &mut Report<'_>,
        kind: Kind,
        key: &'a str,
        from: &'a str,
        from_path: String,
        table: &BTreeMap<String, T>,
    ) {
        if let Err(message) = keys::check(kind, from) {
            report.value(from_path, message, None);
        } else if from == key {
            report.value(
                from_path,
                "a key cannot be renamed from itself".into(),
                None,
            );
        } else if table.contains_key(from) {
            report.value(
                from_path,
                format!("`{from}` is also in this file; a rename's old key cannot be managed too"),
                None,
            );
        } else if let Some(first) = self.sources.insert(from, key) {
            report.value(
                from_path,
                format!(
                    "`{first}` is already renamed from `{from}`; one {} cannot become two",
                    kind.noun()
                ),
                None,
            );
        }
    }
}
