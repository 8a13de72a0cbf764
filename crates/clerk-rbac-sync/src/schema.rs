//! Generating the JSON Schemas of the two file formats from their types (the `schema`
//! feature): what `schema/*.schema.json` are made from, and what the tests check them against.
//!
//! The published files, not this module, are what the crate reads at run time (to check field
//! names and describe fields in errors) and what the CLI prints: so the tool does not build a
//! schema generator to print a file it ships.
//!
//! The derives and `#[schemars(...)]` attributes stay on the types (behind the feature); this
//! module holds what they name: schemas of key tables and of key lists.

use std::collections::BTreeMap;

use schemars::{
    JsonSchema,
    r#gen::SchemaGenerator,
    schema::{InstanceType, Schema, SchemaObject, StringValidation},
};

use crate::{
    PermissionSpec, RetiredRoleSet, RoleSetSpec, RoleSpec,
    fleet::{
        TargetSpec,
        overlay::{PermissionOverlay, RoleOverlay, RoleSetOverlay},
    },
};

/// The pattern every permission key in the file must match: `org:<feature>:<action>`, where the
/// feature does not start with `sys_` (that prefix is Clerk's). Written without look-ahead so
/// that every JSON Schema engine (editors included) can run it.
pub(crate) const PERMISSION_KEY_PATTERN: &str = "^org:([a-rt-z0-9_][a-z0-9_]*|s([a-xz0-9_][a-z0-9_]*)?|sy([a-rt-z0-9_][a-z0-9_]*)?|sys([a-z0-9][a-z0-9_]*)?):[a-z0-9_]+$";
/// The pattern of a role key: `org:<name>`.
pub(crate) const ROLE_KEY_PATTERN: &str = "^org:[a-z0-9_]+$";
/// The pattern of a role-set key: `role_set:<name>`.
pub(crate) const ROLE_SET_KEY_PATTERN: &str = "^role_set:[a-z0-9_]+$";

/// Target and stage names: what `--target` takes and reports show.
pub(crate) const NAME_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_.-]*$";

/// `T`'s schema, pretty-printed with a final newline, as the published files are.
pub(crate) fn generate<T: JsonSchema>() -> String {
    let schema = schemars::schema_for!(T);
    let mut text = serde_json::to_string_pretty(&schema)
        .unwrap_or_else(|e| unreachable!("a schema always serializes: {e}"));
    text.push('\n');
    text
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

/// Declares a string type known to the schema only: its name, pattern and description.
macro_rules! pattern_types {
    ($($name:ident: $pattern:expr => $description:literal,)+) => {$(
        pub(crate) struct $name;

        impl JsonSchema for $name {
            fn schema_name() -> String {
                stringify!($name).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                described(string_with_pattern($pattern), $description)
            }
        }
    )+};
}

pattern_types! {
    AnyPermissionKey: "^org:[a-z0-9_]+:[a-z0-9_]+$"
        => "A permission key: one of this file's permissions or a system permission (`org:sys_...`).",
    RoleKey: ROLE_KEY_PATTERN => "A role key, `org:<name>`.",
    StageName: NAME_PATTERN => "A stage name: letters, digits, `_`, `-` or `.`.",
    AnyKey: "^(org|role_set):[a-z0-9_]+(:[a-z0-9_]+)?$"
        => "A permission (`org:<feature>:<action>`), role (`org:<name>`) or role-set (`role_set:<name>`) key.",
}

/// Declares the schema functions of key tables: `name` is a table of `T` keyed by `pattern`.
macro_rules! keyed_maps {
    ($($name:ident: $item:ty, $pattern:expr;)+) => {$(
        pub(crate) fn $name(generator: &mut SchemaGenerator) -> Schema {
            keyed_map::<$item>(generator, $pattern)
        }
    )+};
}

keyed_maps! {
    permission_map: PermissionSpec, PERMISSION_KEY_PATTERN;
    role_map: RoleSpec, ROLE_KEY_PATTERN;
    role_set_map: RoleSetSpec, ROLE_SET_KEY_PATTERN;
    retired_map: RetiredRoleSet, ROLE_SET_KEY_PATTERN;
    role_mapping: RoleKey, ROLE_KEY_PATTERN;
    target_map: TargetSpec, NAME_PATTERN;
    permission_overlays: PermissionOverlay, PERMISSION_KEY_PATTERN;
    role_overlays: RoleOverlay, ROLE_KEY_PATTERN;
    role_set_overlays: RoleSetOverlay, ROLE_SET_KEY_PATTERN;
    retired_overlays: RetiredRoleSet, ROLE_SET_KEY_PATTERN;
    overlay_role_mapping: String, ROLE_KEY_PATTERN;
}
