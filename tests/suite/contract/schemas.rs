//! The facade's request types, as `schemars` describes them, against the fragment's body
//! schemas: the same properties, JSON types, enum values, item types and required-ness.
//!
//! Nullability needs care. `schemars` renders `Patch<T>` and `Option<T>` alike (both admit
//! `null`), yet only a `Patch` field can be sent as `null`; an `Option` field is left out when
//! unset. So the update bodies' nullability is read from the wire: a value with every field the
//! facade can clear cleared (through its `clear_*` setters), serialized.

use std::collections::{BTreeMap, BTreeSet};

use clerk_rbac::{
    AddRoles, CreatePermission, CreateRole, CreateRoleSet, ReplaceRole, ReplaceRoleSet,
    UpdatePermission, UpdateRole, UpdateRoleSet,
};
use schemars::{JsonSchema, schema_for};
use serde_json::Value;

use super::fragment::Fragment;

/// A property's type as both sides can state it.
#[derive(Debug, PartialEq, Eq)]
struct Kind {
    /// JSON types other than `null`.
    types: BTreeSet<String>,
    /// Enum values other than `null`, if the values are restricted.
    values: Option<BTreeSet<String>>,
    /// The items' kind, for arrays.
    items: Option<Box<Kind>>,
    /// Whether the schema admits `null`.
    nullable: bool,
}

/// One body type: its schema by `schemars`, its properties by name.
struct Described {
    required: BTreeSet<String>,
    properties: BTreeMap<String, Kind>,
}

fn describe_rust<T: JsonSchema>() -> Described {
    let root = serde_json::to_value(schema_for!(T)).expect("a schema serializes");
    let properties = root["properties"]
        .as_object()
        .map(|props| {
            props
                .iter()
                .map(|(name, s)| (name.clone(), rust_kind(&root, s)))
                .collect()
        })
        .unwrap_or_default();
    Described {
        required: names(&root["required"]),
        properties,
    }
}

fn describe_spec(fragment: &Fragment, name: &str) -> Described {
    let (properties, required) = fragment.object_properties(fragment.schema(name));
    Described {
        required: required.into_iter().map(str::to_owned).collect(),
        properties: properties
            .into_iter()
            .map(|(n, s)| (n.to_owned(), spec_kind(fragment, s)))
            .collect(),
    }
}

fn names(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// A `schemars` (draft-07) schema's kind: `$ref`s into `definitions` followed, `anyOf` with a
/// `null` branch and `type` lists with `"null"` read as nullability.
fn rust_kind(root: &Value, schema: &Value) -> Kind {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference
            .rsplit('/')
            .next()
            .expect("a $ref names a definition");
        return rust_kind(root, &root["definitions"][name]);
    }
    // A string enum whose variants carry docs: `schemars` writes one single-value branch each.
    if let Some(parts) = schema["oneOf"].as_array()
        && parts
            .iter()
            .all(|p| p["type"] == "string" && p["enum"].as_array().is_some_and(|e| e.len() == 1))
    {
        return Kind {
            types: BTreeSet::from(["string".to_owned()]),
            values: Some(parts.iter().filter_map(enum_values).flatten().collect()),
            items: None,
            nullable: false,
        };
    }
    for combinator in ["anyOf", "allOf", "oneOf"] {
        if let Some(parts) = schema[combinator].as_array() {
            let (nulls, others): (Vec<&Value>, Vec<&Value>) =
                parts.iter().partition(|p| p["type"] == "null");
            assert_eq!(others.len(), 1, "unsupported {combinator} in {schema}");
            let mut kind = rust_kind(root, others[0]);
            kind.nullable |= !nulls.is_empty();
            return kind;
        }
    }
    let mut types: BTreeSet<String> = match &schema["type"] {
        Value::String(t) => BTreeSet::from([t.clone()]),
        list @ Value::Array(_) => names(list),
        _ => BTreeSet::new(),
    };
    let nullable = types.remove("null");
    Kind {
        types,
        values: enum_values(schema),
        items: schema
            .get("items")
            .map(|items| Box::new(rust_kind(root, items))),
        nullable,
    }
}

/// A fragment (OpenAPI 3.0) schema's kind: `nullable` beside `type` or `allOf`.
fn spec_kind(fragment: &Fragment, schema: &Value) -> Kind {
    let nullable = schema["nullable"] == true;
    let schema = fragment.resolve(schema);
    if let Some(parts) = schema["allOf"].as_array() {
        assert_eq!(parts.len(), 1, "unsupported allOf in {schema}");
        let mut kind = spec_kind(fragment, &parts[0]);
        kind.nullable |= nullable;
        return kind;
    }
    Kind {
        types: schema["type"]
            .as_str()
            .map(|t| BTreeSet::from([t.to_owned()]))
            .unwrap_or_default(),
        values: enum_values(schema),
        items: schema
            .get("items")
            .map(|items| Box::new(spec_kind(fragment, items))),
        nullable: nullable || schema["nullable"] == true,
    }
}

fn enum_values(schema: &Value) -> Option<BTreeSet<String>> {
    let values = schema["enum"].as_array()?;
    Some(
        values
            .iter()
            .filter(|v| !v.is_null())
            .map(|v| v.to_string())
            .collect(),
    )
}

/// Kinds without nullability, for comparing what a value may be when it is not `null`.
fn without_nullability(kind: &Kind) -> Kind {
    Kind {
        types: kind.types.clone(),
        values: kind.values.clone(),
        items: kind
            .items
            .as_deref()
            .map(|items| Box::new(without_nullability(items))),
        nullable: false,
    }
}

/// Properties, types and required-ness; nullability is left to the caller.
fn structural_drift(name: &str, spec: &Described, rust: &Described) -> Vec<String> {
    let mut problems = Vec::new();
    for property in spec
        .properties
        .keys()
        .filter(|p| !rust.properties.contains_key(*p))
    {
        problems.push(format!(
            "{name}.{property}: in the fragment, missing from the facade's type"
        ));
    }
    for property in rust
        .properties
        .keys()
        .filter(|p| !spec.properties.contains_key(*p))
    {
        problems.push(format!(
            "{name}.{property}: in the facade's type, not in the fragment"
        ));
    }
    for (property, spec_kind) in &spec.properties {
        let Some(rust_kind) = rust.properties.get(property) else {
            continue;
        };
        let (spec_kind, rust_kind) = (
            without_nullability(spec_kind),
            without_nullability(rust_kind),
        );
        if spec_kind != rust_kind {
            problems.push(format!(
                "{name}.{property}: the fragment says {spec_kind:?}, the facade {rust_kind:?}"
            ));
        }
    }
    if spec.required != rust.required {
        problems.push(format!(
            "{name}: required {:?} in the fragment, {:?} in the facade",
            spec.required, rust.required
        ));
    }
    problems
}

/// Update bodies: the fragment's schema, the facade's type, and that type with every field the
/// facade can clear cleared.
type UpdateBody = (&'static str, fn() -> Described, fn() -> Value);
const UPDATE_BODIES: &[UpdateBody] = &[
    (
        "UpdateOrganizationPermissionBody",
        describe_rust::<UpdatePermission>,
        || to_json(UpdatePermission::new()),
    ),
    (
        "UpdateOrganizationRoleBody",
        describe_rust::<UpdateRole>,
        || {
            to_json(
                UpdateRole::new()
                    .clear_name()
                    .clear_key()
                    .clear_description()
                    .clear_permissions(),
            )
        },
    ),
    ("UpdateRoleSetBody", describe_rust::<UpdateRoleSet>, || {
        to_json(
            UpdateRoleSet::new()
                .clear_name()
                .clear_key()
                .clear_description()
                .clear_type()
                .clear_default_role_key()
                .clear_creator_role_key(),
        )
    }),
];

/// Create bodies: the fragment's schema and the generated type the facade re-exports.
type CreateBody = (&'static str, fn() -> Described);
const CREATE_BODIES: &[CreateBody] = &[
    (
        "CreateOrganizationPermissionBody",
        describe_rust::<CreatePermission>,
    ),
    ("CreateOrganizationRoleBody", describe_rust::<CreateRole>),
    ("CreateRoleSetBody", describe_rust::<CreateRoleSet>),
    ("AddRolesToRoleSetBody", describe_rust::<AddRoles>),
    ("ReplaceRoleInRoleSetBody", describe_rust::<ReplaceRole>),
    ("ReplaceRoleSetBody", describe_rust::<ReplaceRoleSet>),
];

/// The fragment's update bodies against `UpdatePermission`, `UpdateRole` and `UpdateRoleSet`.
pub fn update_body_drift(fragment: &Fragment) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, describe, all_cleared) in UPDATE_BODIES {
        let spec = describe_spec(fragment, name);
        problems.extend(structural_drift(name, &spec, &describe()));
        let all_cleared = all_cleared();
        for (property, kind) in &spec.properties {
            let clearable = all_cleared.get(property).is_some_and(Value::is_null);
            if kind.nullable != clearable {
                problems.push(format!(
                    "{name}.{property}: nullable in the fragment: {}; can be sent as null by the facade: {clearable}",
                    kind.nullable
                ));
            }
        }
    }
    problems
}

/// The fragment's create bodies against the generated types. Optional fields are `Option`s,
/// which the facade leaves out rather than sending `null`, so only required fields are held to
/// the fragment's nullability.
pub fn create_body_drift(fragment: &Fragment) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, describe) in CREATE_BODIES {
        let (spec, rust) = (describe_spec(fragment, name), describe());
        problems.extend(structural_drift(name, &spec, &rust));
        for property in &spec.required {
            let (Some(spec_kind), Some(rust_kind)) =
                (spec.properties.get(property), rust.properties.get(property))
            else {
                continue;
            };
            if spec_kind.nullable != rust_kind.nullable {
                problems.push(format!(
                    "{name}.{property}: required, nullable in the fragment: {}, in the facade: {}",
                    spec_kind.nullable, rust_kind.nullable
                ));
            }
        }
    }
    problems
}

/// The body schemas the two functions above compare.
pub fn compared_bodies() -> Vec<&'static str> {
    let updates = UPDATE_BODIES.iter().map(|(name, ..)| *name);
    updates
        .chain(CREATE_BODIES.iter().map(|(name, _)| *name))
        .collect()
}

fn to_json<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).expect("a body serializes")
}
