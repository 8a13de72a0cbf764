//! Per-target overlays: what differs on one target, written on top of the shared
//! desired-state file.
//!
//! The rules, chosen to make the common cases one short table each:
//! - an object the shared file lacks is added, and must be complete (a role needs its `name`;
//!   a role set its `name`, `default_role`, `creator_role` and `roles`);
//! - for an object the shared file has, each field the overlay gives replaces the file's
//!   (lists included: `permissions = [...]` is the role's whole list on this target), and
//!   `add_permissions` / `add_roles` add to the shared list instead;
//! - `without` lists keys of the shared file this target does not manage: they are left out
//!   of its description, so the target's instance keeps them (or never gets them) untouched.

use std::collections::BTreeMap;

#[cfg(feature = "schema")]
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{DesiredState, PermissionSpec, RetiredRoleSet, RoleSetKind, RoleSetSpec, RoleSpec};

/// What differs on one target.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct Overlay {
    /// Permissions to add, or fields of the shared file's permissions to change.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::permission_overlays")
    )]
    pub(crate) permissions: BTreeMap<String, PermissionOverlay>,
    /// Roles to add, or fields of the shared file's roles to change.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::role_overlays")
    )]
    pub(crate) roles: BTreeMap<String, RoleOverlay>,
    /// Role sets to add, or fields of the shared file's role sets to change.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::role_set_overlays")
    )]
    pub(crate) role_sets: BTreeMap<String, RoleSetOverlay>,
    /// Role sets to retire on this target only (complete entries, as in the shared file).
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::retired_overlays")
    )]
    pub(crate) retired_role_sets: BTreeMap<String, RetiredRoleSet>,
    /// Keys of permissions, roles or role sets of the shared file that this target does not
    /// manage: they are left out of its description, and its instance's copy is left alone.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<crate::schema::AnyKey>"))]
    pub(crate) without: Vec<String>,
}

/// Fields of a permission that differ on a target.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct PermissionOverlay {
    /// The name people see (required for a permission the shared file lacks).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub(crate) name: Option<String>,
    /// The description on this target; `""` means none.
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// The key this permission had before on this target, to rename it in place.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^org:[a-z0-9_]+:[a-z0-9_]+$"))
    )]
    pub(crate) renamed_from: Option<String>,
}

/// Fields of a role that differ on a target.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleOverlay {
    /// The name people see (required for a role the shared file lacks).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub(crate) name: Option<String>,
    /// The description on this target; `""` means none.
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// Every permission the role holds on this target (replaces the shared list).
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Option<Vec<crate::schema::AnyKey>>")
    )]
    pub(crate) permissions: Option<Vec<String>>,
    /// Permissions the role holds on this target on top of its list.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<crate::schema::AnyKey>"))]
    pub(crate) add_permissions: Vec<String>,
    /// The key this role had before on this target, to rename it in place.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(regex(pattern = "^org:[a-z0-9_]+$")))]
    pub(crate) renamed_from: Option<String>,
}

/// Fields of a role set that differ on a target.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleSetOverlay {
    /// The name people see (required for a set the shared file lacks).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub(crate) name: Option<String>,
    /// The description on this target; `""` means none.
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// `initial` or `custom` on this target.
    #[serde(rename = "type", default)]
    pub(crate) type_: Option<RoleSetKind>,
    /// The role new members get (required for a set the shared file lacks).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(regex(pattern = "^org:[a-z0-9_]+$")))]
    pub(crate) default_role: Option<String>,
    /// The role an organization's creator gets (required for a set the shared file lacks).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(regex(pattern = "^org:[a-z0-9_]+$")))]
    pub(crate) creator_role: Option<String>,
    /// Every role of the set on this target (replaces the shared list; required for a set
    /// the shared file lacks, unless `add_roles` gives them).
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Option<Vec<crate::schema::AnyKey>>")
    )]
    pub(crate) roles: Option<Vec<String>>,
    /// Roles the set has on this target on top of its list.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<crate::schema::AnyKey>"))]
    pub(crate) add_roles: Vec<String>,
    /// Where members go when a role leaves the set on this target (added to the shared
    /// file's entries).
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::overlay_role_mapping")
    )]
    pub(crate) move_members: BTreeMap<String, String>,
    /// The key this set had before on this target, to rename it in place.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(regex(pattern = "^role_set:[a-z0-9_]+$")))]
    pub(crate) renamed_from: Option<String>,
}

/// A problem an overlay has, before it is located: the key path inside the overlay (as
/// `parse::key_path` writes it), whether it is about the key or its value, and the text.
pub(crate) struct OverlayProblem {
    /// Segments of the key path inside the overlay, e.g. `["roles", "org:x"]`.
    pub(crate) path: Vec<String>,
    /// The array index within the last segment's list, for `without`.
    pub(crate) index: Option<usize>,
    /// What is wrong.
    pub(crate) message: String,
}

fn missing(path: [&str; 2], file: &str, fields: &[&str]) -> OverlayProblem {
    let listed: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
    OverlayProblem {
        path: path.iter().map(|s| (*s).to_owned()).collect(),
        index: None,
        message: format!(
            "{file} has no `{}`, so the overlay adds it and must give its {}",
            path[1],
            listed.join(", ")
        ),
    }
}

fn push_unique(list: &mut Vec<String>, extra: &[String]) {
    for item in extra {
        if !list.contains(item) {
            list.push(item.clone());
        }
    }
}

/// `base` with `overlay` on top; `file` names the shared file in messages. Every problem is
/// returned at once.
pub(crate) fn merge(
    base: &DesiredState,
    overlay: &Overlay,
    file: &str,
) -> Result<DesiredState, Vec<OverlayProblem>> {
    let mut state = base.clone();
    let mut problems = Vec::new();

    for (i, key) in overlay.without.iter().enumerate() {
        let removed = state.permissions.remove(key).is_some()
            | state.roles.remove(key).is_some()
            | state.role_sets.remove(key).is_some()
            | state.retired_role_sets.remove(key).is_some();
        if !removed {
            problems.push(OverlayProblem {
                path: vec!["without".to_owned()],
                index: Some(i),
                message: format!("{file} has no `{key}` to leave out"),
            });
        }
    }

    for (key, over) in &overlay.permissions {
        match state.permissions.get_mut(key) {
            Some(spec) => {
                if let Some(name) = &over.name {
                    spec.name = name.clone();
                }
                if let Some(description) = &over.description {
                    spec.description = Some(description.clone()).filter(|d| !d.is_empty());
                }
                if over.renamed_from.is_some() {
                    spec.renamed_from = over.renamed_from.clone();
                }
            }
            None => match &over.name {
                Some(name) => {
                    state.permissions.insert(
                        key.clone(),
                        PermissionSpec {
                            name: name.clone(),
                            description: over.description.clone().filter(|d| !d.is_empty()),
                            renamed_from: over.renamed_from.clone(),
                        },
                    );
                }
                None => problems.push(missing(["permissions", key], file, &["name"])),
            },
        }
    }

    for (key, over) in &overlay.roles {
        match state.roles.get_mut(key) {
            Some(spec) => {
                if let Some(name) = &over.name {
                    spec.name = name.clone();
                }
                if let Some(description) = &over.description {
                    spec.description = Some(description.clone()).filter(|d| !d.is_empty());
                }
                if let Some(permissions) = &over.permissions {
                    spec.permissions = permissions.clone();
                }
                push_unique(&mut spec.permissions, &over.add_permissions);
                if over.renamed_from.is_some() {
                    spec.renamed_from = over.renamed_from.clone();
                }
            }
            None => match &over.name {
                Some(name) => {
                    let mut permissions = over.permissions.clone().unwrap_or_default();
                    push_unique(&mut permissions, &over.add_permissions);
                    state.roles.insert(
                        key.clone(),
                        RoleSpec {
                            name: name.clone(),
                            description: over.description.clone().filter(|d| !d.is_empty()),
                            permissions,
                            renamed_from: over.renamed_from.clone(),
                        },
                    );
                }
                None => problems.push(missing(["roles", key], file, &["name"])),
            },
        }
    }

    for (key, over) in &overlay.role_sets {
        match state.role_sets.get_mut(key) {
            Some(spec) => {
                if let Some(name) = &over.name {
                    spec.name = name.clone();
                }
                if let Some(description) = &over.description {
                    spec.description = Some(description.clone()).filter(|d| !d.is_empty());
                }
                if let Some(kind) = over.type_ {
                    spec.type_ = kind;
                }
                if let Some(role) = &over.default_role {
                    spec.default_role = role.clone();
                }
                if let Some(role) = &over.creator_role {
                    spec.creator_role = role.clone();
                }
                if let Some(roles) = &over.roles {
                    spec.roles = roles.clone();
                }
                push_unique(&mut spec.roles, &over.add_roles);
                spec.move_members.extend(over.move_members.clone());
                if over.renamed_from.is_some() {
                    spec.renamed_from = over.renamed_from.clone();
                }
            }
            None => {
                let mut roles = over.roles.clone().unwrap_or_default();
                push_unique(&mut roles, &over.add_roles);
                match (&over.name, &over.default_role, &over.creator_role) {
                    (Some(name), Some(default_role), Some(creator_role)) if !roles.is_empty() => {
                        state.role_sets.insert(
                            key.clone(),
                            RoleSetSpec {
                                name: name.clone(),
                                description: over.description.clone().filter(|d| !d.is_empty()),
                                type_: over.type_.unwrap_or_default(),
                                default_role: default_role.clone(),
                                creator_role: creator_role.clone(),
                                roles,
                                move_members: over.move_members.clone(),
                                renamed_from: over.renamed_from.clone(),
                            },
                        );
                    }
                    _ => {
                        let mut lacking = Vec::new();
                        if over.name.is_none() {
                            lacking.push("name");
                        }
                        if over.default_role.is_none() {
                            lacking.push("default_role");
                        }
                        if over.creator_role.is_none() {
                            lacking.push("creator_role");
                        }
                        if roles.is_empty() {
                            lacking.push("roles");
                        }
                        problems.push(missing(["role_sets", key], file, &lacking));
                    }
                }
            }
        }
    }

    for (key, retired) in &overlay.retired_role_sets {
        state.retired_role_sets.insert(key.clone(), retired.clone());
    }

    if problems.is_empty() {
        Ok(state)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> DesiredState {
        DesiredState::from_toml(
            r#"
[permissions."org:invoices:read"]
name = "Read invoices"

[permissions."org:invoices:write"]
name = "Write invoices"

[roles."org:viewer"]
name = "Viewer"
description = "Reads"
permissions = ["org:invoices:read"]
"#,
            "rbac.toml",
        )
        .unwrap()
    }

    fn overlay(text: &str) -> Overlay {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn fields_replace_and_add_lists_append() {
        let merged = merge(
            &base(),
            &overlay(
                r#"
[roles."org:viewer"]
description = ""
add_permissions = ["org:invoices:write", "org:invoices:read"]
"#,
            ),
            "rbac.toml",
        )
        .ok()
        .unwrap();
        let viewer = &merged.roles["org:viewer"];
        assert_eq!(viewer.name, "Viewer", "fields not given are kept");
        assert_eq!(viewer.description, None, "an empty description clears it");
        assert_eq!(
            viewer.permissions,
            ["org:invoices:read", "org:invoices:write"],
            "added once each"
        );
    }

    #[test]
    fn a_new_object_must_be_complete_and_without_needs_a_known_key() {
        let problems = merge(
            &base(),
            &overlay(
                r#"
without = ["org:nope"]
[roles."org:auditor"]
description = "no name"
[role_sets."role_set:x"]
name = "X"
"#,
            ),
            "rbac.toml",
        )
        .err()
        .unwrap();
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(problems.len(), 3, "{messages:?}");
        assert!(messages[0].contains("no `org:nope` to leave out"));
        assert!(
            messages[1].contains("must give its `name`"),
            "{}",
            messages[1]
        );
        assert!(
            messages[2].contains("`default_role`, `creator_role`, `roles`"),
            "{}",
            messages[2]
        );
    }

    #[test]
    fn without_leaves_an_object_out() {
        let merged = merge(
            &base(),
            &overlay("without = [\"org:invoices:write\"]\n"),
            "rbac.toml",
        )
        .ok()
        .unwrap();
        assert!(!merged.permissions.contains_key("org:invoices:write"));
        assert!(merged.permissions.contains_key("org:invoices:read"));
    }
}
