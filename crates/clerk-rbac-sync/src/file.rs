//! The desired-state file: what it holds ([`DesiredState`] and its entries), its JSON Schema,
//! and how a state is written back as TOML (what `export` prints).
//!
//! Reading a file, with errors located on their line, is [`DesiredState::from_toml`] (in
//! `parse.rs`); the rules a file must follow beyond its shape are in `validate.rs`.

use std::{collections::BTreeMap, fmt::Write as _, sync::Arc};

use schemars::{
    JsonSchema,
    r#gen::SchemaGenerator,
    schema::{InstanceType, Schema, SchemaObject, StringValidation},
};
use serde::{Deserialize, Serialize};

use super::source::{Source, toml_string};

/// The pattern every permission key in the file must match: `org:<feature>:<action>`, where the
/// feature does not start with `sys_` (that prefix is Clerk's). Written without look-ahead so
/// that every JSON Schema engine (editors included) can run it.
pub(crate) const PERMISSION_KEY_PATTERN: &str = "^org:([a-rt-z0-9_][a-z0-9_]*|s([a-xz0-9_][a-z0-9_]*)?|sy([a-rt-z0-9_][a-z0-9_]*)?|sys([a-z0-9][a-z0-9_]*)?):[a-z0-9_]+$";
/// The pattern of a role key: `org:<name>`.
pub(crate) const ROLE_KEY_PATTERN: &str = "^org:[a-z0-9_]+$";
/// The pattern of a role-set key: `role_set:<name>`.
pub(crate) const ROLE_SET_KEY_PATTERN: &str = "^role_set:[a-z0-9_]+$";

/// The organization RBAC an instance should have, as written in a clerk-rbac TOML file.
///
/// Objects are keyed by their Clerk keys, never by IDs, so one file fits every instance.
/// Only what the file names is managed: a permission, role or role set absent from the file is
/// left alone (and listed as unmanaged by a plan) unless the run asks to prune. Within a managed
/// object every field is managed: a description that is absent means "no description".
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "clerk-rbac desired state")]
pub struct DesiredState {
    /// Custom organization permissions, keyed `org:<feature>:<action>`. System permissions
    /// (`org:sys_...`) belong to Clerk and cannot be listed here; roles may still hold them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "permission_map_schema")]
    pub permissions: BTreeMap<String, PermissionSpec>,

    /// Organization roles, keyed `org:<name>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "role_map_schema")]
    pub roles: BTreeMap<String, RoleSpec>,

    /// Role sets, keyed `role_set:<name>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "role_set_map_schema")]
    pub role_sets: BTreeMap<String, RoleSetSpec>,

    /// Role sets to retire, keyed by the set that goes away. Clerk cannot delete a role set; it
    /// replaces it, moving its organizations to another set. Once retired (the set no longer
    /// exists) an entry here does nothing and may be removed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "retired_map_schema")]
    pub retired_role_sets: BTreeMap<String, RetiredRoleSet>,

    /// Where the state was read from, to locate problems; `None` for states built in code.
    #[serde(skip)]
    #[schemars(skip)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionSpec {
    /// The name people see, e.g. "Read invoices".
    #[schemars(length(min = 1))]
    pub name: String,
    /// What the permission allows. Absent or empty means no description: removing the line
    /// clears it on the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The key this permission had before, to rename it in place (keeping its ID and the roles
    /// that hold it) instead of deleting one permission and creating another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^org:[a-z0-9_]+:[a-z0-9_]+$"))]
    pub renamed_from: Option<String>,
}

/// One organization role and every permission it holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    /// The name people see, e.g. "Accountant".
    #[schemars(length(min = 1))]
    pub name: String,
    /// What the role is for. Absent or empty means no description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The keys of exactly the permissions the role holds: permissions of this file or Clerk's
    /// system permissions (`org:sys_...`). Absent means none.
    #[serde(default)]
    #[schemars(with = "Vec<AnyPermissionKey>")]
    pub permissions: Vec<String>,
    /// The key this role had before, to rename it in place. Clerk carries a role's new key into
    /// the role sets and settings that name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^org:[a-z0-9_]+$"))]
    pub renamed_from: Option<String>,
}

/// One role set: the roles an organization using it can give its members.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleSetSpec {
    /// The name people see.
    #[schemars(length(min = 1))]
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
    #[schemars(regex(pattern = "^org:[a-z0-9_]+$"))]
    pub default_role: String,
    /// The role an organization's creator gets; one of `roles`. It must hold the system
    /// permissions to read and manage memberships and to delete the organization.
    #[schemars(regex(pattern = "^org:[a-z0-9_]+$"))]
    pub creator_role: String,
    /// The keys of exactly the roles in the set (at least one), all roles of this file.
    #[schemars(with = "Vec<RoleKey>", length(min = 1))]
    pub roles: Vec<String>,
    /// Where members go when a role leaves this set: the role leaving → a role of `roles`. Clerk
    /// cannot take a role out of a set without moving its members, so every role that leaves
    /// needs an entry; a plan that would remove one without it is refused.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "role_mapping_schema")]
    pub move_members: BTreeMap<String, String>,
    /// The key this set had before, to rename it in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^role_set:[a-z0-9_]+$"))]
    pub renamed_from: Option<String>,
}

/// Whether a role set is the one new organizations get.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetiredRoleSet {
    /// The key of the role set that takes the retired set's organizations.
    #[schemars(regex(pattern = "^role_set:[a-z0-9_]+$"))]
    pub into: String,
    /// For each role of the retired set that the destination set lacks: the destination's role
    /// its members get. Every such role needs an entry.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "role_mapping_schema")]
    pub move_members: BTreeMap<String, String>,
}

/// A permission key in a role's list: any permission, system ones included.
struct AnyPermissionKey;

impl JsonSchema for AnyPermissionKey {
    fn schema_name() -> String {
        "AnyPermissionKey".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        described(
            string_with_pattern("^org:[a-z0-9_]+:[a-z0-9_]+$"),
            "A permission key: one of this file's permissions or a system permission (`org:sys_...`).",
        )
    }
}

/// A role key, `org:<name>`.
struct RoleKey;

impl JsonSchema for RoleKey {
    fn schema_name() -> String {
        "RoleKey".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        described(
            string_with_pattern(ROLE_KEY_PATTERN),
            "A role key, `org:<name>`.",
        )
    }
}

fn described(schema: Schema, description: &str) -> Schema {
    let mut schema = schema.into_object();
    schema.metadata().description = Some(description.to_owned());
    Schema::Object(schema)
}

fn string_with_pattern(pattern: &str) -> Schema {
    Schema::Object(SchemaObject {
        instance_type: Some(InstanceType::String.into()),
        string: Some(Box::new(StringValidation {
            pattern: Some(pattern.to_owned()),
            ..Default::default()
        })),
        ..Default::default()
    })
}

/// A table keyed by keys matching `key_pattern`, each holding a `T`.
fn keyed_map<T: JsonSchema>(generator: &mut SchemaGenerator, key_pattern: &str) -> Schema {
    let mut schema = <BTreeMap<String, T>>::json_schema(generator).into_object();
    schema.object().property_names = Some(Box::new(string_with_pattern(key_pattern)));
    Schema::Object(schema)
}

fn permission_map_schema(generator: &mut SchemaGenerator) -> Schema {
    keyed_map::<PermissionSpec>(generator, PERMISSION_KEY_PATTERN)
}

fn role_map_schema(generator: &mut SchemaGenerator) -> Schema {
    keyed_map::<RoleSpec>(generator, ROLE_KEY_PATTERN)
}

fn role_set_map_schema(generator: &mut SchemaGenerator) -> Schema {
    keyed_map::<RoleSetSpec>(generator, ROLE_SET_KEY_PATTERN)
}

fn retired_map_schema(generator: &mut SchemaGenerator) -> Schema {
    keyed_map::<RetiredRoleSet>(generator, ROLE_SET_KEY_PATTERN)
}

fn role_mapping_schema(generator: &mut SchemaGenerator) -> Schema {
    keyed_map::<RoleKey>(generator, ROLE_KEY_PATTERN)
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
        let schema = schemars::schema_for!(DesiredState);
        let mut text = serde_json::to_string_pretty(&schema)
            .unwrap_or_else(|e| unreachable!("a schema always serializes: {e}"));
        text.push('\n');
        text
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
            PERMISSION_KEY_PATTERN
        );
    }
}
