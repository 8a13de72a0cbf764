//! The desired-state file: what it holds ([`DesiredState`] and its entries), its JSON Schema,
//! and how a state is written back as TOML (what `export` prints).
//!
//! Reading a file, with errors located on their line, is [`DesiredState::from_toml`] (in
//! `parse.rs`); the rules a file must follow beyond its shape are in `validate.rs`.

use std::{collections::BTreeMap, fmt::Write as _, sync::Arc};

#[cfg(feature = "schema")]
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::source::{Source, toml_string};

/// The published schema of the file format.
pub(crate) const PUBLISHED_SCHEMA: &str = include_str!("../schema/clerk-rbac.schema.json");

/// The organization RBAC an instance should have, as written in a clerk-rbac TOML file.
///
/// Objects are keyed by their Clerk keys, never by IDs, so one file fits every instance.
/// Only what the file names is managed: a permission, role or role set absent from the file is
/// left alone (and listed as unmanaged by a plan) unless the run asks to prune. Within a managed
/// object every field is managed: a description that is absent means "no description".
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", schemars(title = "clerk-rbac desired state"))]
pub struct DesiredState {
    /// Custom organization permissions, keyed `org:<feature>:<action>`. System permissions
    /// (`org:sys_...`) belong to Clerk and cannot be listed here; roles may still hold them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::permission_map")
    )]
    pub permissions: BTreeMap<String, PermissionSpec>,

    /// Organization roles, keyed `org:<name>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "crate::schema::role_map"))]
    pub roles: BTreeMap<String, RoleSpec>,

    /// Role sets, keyed `role_set:<name>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::role_set_map")
    )]
    pub role_sets: BTreeMap<String, RoleSetSpec>,

    /// Role sets to retire, keyed by the set that goes away. Clerk cannot delete a role set; it
    /// replaces it, moving its organizations to another set. Once retired (the set no longer
    /// exists) an entry here does nothing and may be removed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::retired_map")
    )]
    pub retired_role_sets: BTreeMap<String, RetiredRoleSet>,

    /// Where the state was read from, to locate problems; `None` for states built in code.
    #[serde(skip)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    pub(crate) source: Option<Arc<Source>>,
}

/// Two states are equal when they describe the same RBAC, wherever they were read from.
impl PartialEq for DesiredState {
    fn eq(&self, other: &Self) -> bool {
        self.permissions == other.permissions
            && self.roles == other.roles
            && self.role_sets == other.role_sets
            && self.retired_role_sets == other.retired_role_sets
    }
}

impl Eq for DesiredState {}

/// One custom permission.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PermissionSpec {
    /// The name people see, e.g. "Read invoices".
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub name: String,
    /// What the permission allows. Absent or empty means no description: removing the line
    /// clears it on the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The key this permission had before, to rename it in place (keeping its ID and the roles
    /// that hold it) instead of deleting one permission and creating another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^org:[a-z0-9_]+:[a-z0-9_]+$"))
    )]
    pub renamed_from: Option<String>,
}

/// One organization role and every permission it holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    /// The name people see, e.g. "Accountant".
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub name: String,
    /// What the role is for. Absent or empty means no description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The keys of exactly the permissions the role holds: permissions of this file or Clerk's
    /// system permissions (`org:sys_...`). Absent means none.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Vec<crate::schema::AnyPermissionKey>")
    )]
    pub permissions: Vec<String>,
    /// The key this role had before, to rename it in place. Clerk carries a role's new key into
    /// the role sets and settings that name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(regex(pattern = "^org:[a-z0-9_]+$")))]
    pub renamed_from: Option<String>,
}

/// One role set: the roles an organization using it can give its members.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RoleSetSpec {
    /// The name people see.
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub name: String,
    /// What the set is for. Absent or empty means no description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `initial` for the one set new organizations get, `custom` (the default) otherwise. Clerk
    /// only changes this by making another set initial, so at most one set of the file may be
    /// `initial`, and a set that is initial now can only become `custom` when another one of the
    /// file becomes initial.
    #[serde(rename = "type", default)]
    pub type_: RoleSetKind,
    /// The role new members get; one of `roles`.
    #[cfg_attr(feature = "schema", schemars(regex(pattern = "^org:[a-z0-9_]+$")))]
    pub default_role: String,
    /// The role an organization's creator gets; one of `roles`. It must hold the system
    /// permissions to read and manage memberships and to delete the organization.
    #[cfg_attr(feature = "schema", schemars(regex(pattern = "^org:[a-z0-9_]+$")))]
    pub creator_role: String,
    /// The keys of exactly the roles in the set (at least one), all roles of this file.
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Vec<crate::schema::RoleKey>", length(min = 1))
    )]
    pub roles: Vec<String>,
    /// Where members go when a role leaves this set: the role leaving → a role of `roles`. Clerk
    /// cannot take a role out of a set without moving its members, so every role that leaves
    /// needs an entry; a plan that would remove one without it is refused.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::role_mapping")
    )]
    pub move_members: BTreeMap<String, String>,
    /// The key this set had before, to rename it in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(regex(pattern = "^role_set:[a-z0-9_]+$")))]
    pub renamed_from: Option<String>,
}

/// Whether a role set is the one new organizations get.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoleSetKind {
    /// The set new organizations get (one per instance).
    Initial,
    /// Any other set.
    #[default]
    Custom,
}

impl RoleSetKind {
    /// The value as written in the file and sent to Clerk.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleSetKind::Initial => "initial",
            RoleSetKind::Custom => "custom",
        }
    }
}

/// A role set to retire, and where its organizations and their members go.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RetiredRoleSet {
    /// The key of the role set that takes the retired set's organizations.
    #[cfg_attr(feature = "schema", schemars(regex(pattern = "^role_set:[a-z0-9_]+$")))]
    pub into: String,
    /// For each role of the retired set that the destination set lacks: the destination's role
    /// its members get. Every such role needs an entry.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::schema::role_mapping")
    )]
    pub move_members: BTreeMap<String, String>,
}

impl DesiredState {
    /// An empty state: manages nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The JSON Schema of the file format, as published in `schema/clerk-rbac.schema.json`
    /// (pretty-printed, with a final newline). Editors that read `#:schema` comments (Taplo,
    /// Even Better TOML) use it to complete and check a file.
    pub fn json_schema() -> String {
        PUBLISHED_SCHEMA.to_owned()
    }

    /// The JSON Schema generated from the types (the `schema` feature): what
    /// [`json_schema`](Self::json_schema) must equal, as a test checks.
    #[cfg(feature = "schema")]
    pub fn generated_json_schema() -> String {
        crate::schema::generate::<DesiredState>()
    }

    /// Writes the state as a TOML file meant to be read and reviewed: one table per object,
    /// sorted by key, lists one item per line. Reading the text back with
    /// [`from_toml`](Self::from_toml) gives an equal state.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        for (key, permission) in &self.permissions {
            table_header(&mut out, "permissions", key);
            field(&mut out, "name", &permission.name);
            optional(&mut out, "description", permission.description.as_deref());
            optional(&mut out, "renamed_from", permission.renamed_from.as_deref());
        }
        for (key, role) in &self.roles {
            table_header(&mut out, "roles", key);
            field(&mut out, "name", &role.name);
            optional(&mut out, "description", role.description.as_deref());
            list(&mut out, "permissions", &role.permissions);
            optional(&mut out, "renamed_from", role.renamed_from.as_deref());
        }
        for (key, set) in &self.role_sets {
            table_header(&mut out, "role_sets", key);
            field(&mut out, "name", &set.name);
            optional(&mut out, "description", set.description.as_deref());
            field(&mut out, "type", set.type_.as_str());
            field(&mut out, "default_role", &set.default_role);
            field(&mut out, "creator_role", &set.creator_role);
            list(&mut out, "roles", &set.roles);
            optional(&mut out, "renamed_from", set.renamed_from.as_deref());
            mapping(&mut out, "role_sets", key, &set.move_members);
        }
        for (key, retired) in &self.retired_role_sets {
            table_header(&mut out, "retired_role_sets", key);
            field(&mut out, "into", &retired.into);
            mapping(&mut out, "retired_role_sets", key, &retired.move_members);
        }
        out
    }
}

fn table_header(out: &mut String, table: &str, key: &str) {
    if !out.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "[{table}.{}]", toml_string(key));
}

fn field(out: &mut String, name: &str, value: &str) {
    let _ = writeln!(out, "{name} = {}", toml_string(value));
}

fn optional(out: &mut String, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        field(out, name, value);
    }
}

fn list(out: &mut String, name: &str, items: &[String]) {
    if items.is_empty() {
        let _ = writeln!(out, "{name} = []");
        return;
    }
    let _ = writeln!(out, "{name} = [");
    for item in items {
        let _ = writeln!(out, "  {},", toml_string(item));
    }
    out.push_str("]\n");
}

fn mapping(out: &mut String, table: &str, key: &str, map: &BTreeMap<String, String>) {
    if map.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n[{table}.{}.move_members]", toml_string(key));
    for (from, to) in map {
        let _ = writeln!(out, "{} = {}", toml_string(from), toml_string(to));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_so_that_toml_reads_them_back() {
        for value in [
            "plain",
            "quote \" and \\ back",
            "line\nbreak\ttab\r",
            "bell \u{7} del \u{7f}",
            "ünïcode ✓",
        ] {
            let text = format!("v = {}\n", toml_string(value));
            let table: toml::Table = toml::from_str(&text).unwrap();
            assert_eq!(table["v"].as_str(), Some(value), "{text}");
        }
    }

    #[test]
    fn an_empty_state_writes_an_empty_file() {
        assert_eq!(DesiredState::new().to_toml(), "");
    }

    #[test]
    fn the_schema_names_every_table_and_forbids_unknown_fields() {
        let schema: serde_json::Value = serde_json::from_str(&DesiredState::json_schema()).unwrap();
        for table in ["permissions", "roles", "role_sets", "retired_role_sets"] {
            assert!(schema["properties"][table].is_object(), "{table}");
        }
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(
            schema["definitions"]["RoleSpec"]["additionalProperties"],
            false
        );
        assert_eq!(
            schema["properties"]["permissions"]["propertyNames"]["pattern"],
            crate::schema::PERMISSION_KEY_PATTERN
        );
    }
}
