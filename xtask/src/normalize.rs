//! Rules 3 to 7: turning the selected operations and their components into the fragment that
//! `build.rs` feeds to progenitor. [`normalize`] runs the whole pipeline; each rule is its own
//! function so that it can be read and tested alone.

use std::collections::{BTreeSet, HashSet};

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::openapi::{
    Slot, child_slot, element_slot, operations, operations_mut, parse_component_ref, references_in,
    schema_ref,
};
use crate::select::{collect_components, select_operations};

/// Keys that only carry prose or documentation tooling, which the generated client does not use
/// and which would only make the fragment churn. Keys starting with `x-` (vendor extensions) go
/// too.
pub const PROSE_KEYS: &[&str] = &[
    "description",
    "summary",
    "example",
    "examples",
    "externalDocs",
    "tags",
];

/// Response fields that Clerk's spec marks as required but that its servers may leave out, as
/// (schema, property): a client must not fail to decode an answer without them.
pub const SERVER_OMITTED_FIELDS: &[(&str, &str)] = &[("Permission", "type")];

/// The fragment's `info.title`.
pub const FRAGMENT_TITLE: &str = "Clerk Backend API: organization RBAC fragment";

/// The `info` key under which the fragment records where it came from.
pub const PROVENANCE_KEY: &str = "x-clerk-rbac-provenance";

/// Where a fragment came from: the spec's file name (or URL) and the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// File name or URL of the spec.
    pub source: String,
    /// Lowercase hex SHA-256 of the spec's exact bytes.
    pub sha256: String,
}

impl Provenance {
    /// The provenance an existing fragment records, so that re-normalizing the fragment itself
    /// keeps it rather than describing the fragment as its own source.
    pub fn recorded_in(fragment: &Value) -> Result<Provenance> {
        let recorded = &fragment["info"][PROVENANCE_KEY];
        match (recorded["source"].as_str(), recorded["sha256"].as_str()) {
            (Some(source), Some(sha256)) => Ok(Provenance {
                source: source.to_string(),
                sha256: sha256.to_string(),
            }),
            _ => Err(Error::new(format!(
                "the fragment has no info.{PROVENANCE_KEY} with a source and a sha256"
            ))),
        }
    }
}

/// Turns a Clerk Backend API spec (or an earlier fragment) into the organization RBAC fragment.
///
/// In order: prose and extensions are stripped from the whole spec (rule 3, done first so that a
/// `$ref` hiding in an extension cannot pull a component in), the RBAC operations are selected
/// (rule 1) with every component they reach (rule 2), inline request bodies become named schemas
/// (rule 4), response schemas are loosened (rule 5), `required` lists are sorted and responses
/// get their empty description (rule 6), and `info` records the provenance (rule 7).
pub fn normalize(spec: &Value, provenance: &Provenance) -> Result<Value> {
    let header = read_header(spec)?;
    let mut stripped = spec.clone();
    strip_prose(&mut stripped);

    let paths = stripped["paths"]
        .as_object()
        .ok_or_else(|| Error::new("the spec has no `paths` mapping"))?;
    let paths = select_operations(paths)?;
    let components = collect_components(&stripped, &paths)?;

    let mut fragment = Map::new();
    fragment.insert("openapi".into(), Value::String(header.openapi));
    fragment.insert("info".into(), fragment_info(&header.version, provenance));
    if let Some(servers) = stripped.get("servers") {
        fragment.insert("servers".into(), servers.clone());
    }
    fragment.insert("paths".into(), Value::Object(paths));
    fragment.insert("components".into(), Value::Object(components));
    let mut fragment = Value::Object(fragment);

    hoist_request_bodies(&mut fragment)?;
    loosen_response_schemas(&mut fragment)?;
    sort_required(&mut fragment);
    describe_responses(&mut fragment);
    Ok(fragment)
}

/// The parts of the spec's top level that the fragment keeps as they are.
struct Header {
    openapi: String,
    version: String,
}

fn read_header(spec: &Value) -> Result<Header> {
    if !spec.is_object() {
        return Err(Error::new(
            "the spec is not an OpenAPI document: its top level is not a mapping",
        ));
    }
    let openapi = spec["openapi"]
        .as_str()
        .ok_or_else(|| Error::new("the spec has no `openapi` version field"))?;
    // progenitor 0.15 (through openapiv3) reads OpenAPI 3.0 only; failing here is clearer than
    // failing in build.rs.
    if !openapi.starts_with("3.0.") {
        return Err(Error::new(format!(
            "the spec is OpenAPI {openapi}, but progenitor reads OpenAPI 3.0.x only"
        )));
    }
    let version = spec["info"]["version"]
        .as_str()
        .ok_or_else(|| Error::new("the spec has no `info.version` string"))?;
    Ok(Header {
        openapi: openapi.to_string(),
        version: version.to_string(),
    })
}

/// Rule 3: removes prose ([`PROSE_KEYS`]) and vendor extensions (`x-*`) everywhere in
/// `document`, except where a key is a name rather than a keyword (see [`Slot`]) and inside
/// literal data such as `default` values.
pub fn strip_prose(document: &mut Value) {
    strip_in(document, Slot::Structure);
}

fn strip_in(value: &mut Value, slot: Slot) {
    if slot == Slot::Literal {
        return;
    }
    match value {
        Value::Object(map) => {
            if slot == Slot::Structure {
                map.retain(|key, _| !is_prose_or_extension(key));
            }
            for (key, child) in map.iter_mut() {
                let child_slot = child_slot(slot, key, child);
                strip_in(child, child_slot);
            }
        }
        Value::Array(items) => {
            for item in items {
                strip_in(item, element_slot(slot));
            }
        }
        _ => {}
    }
}

/// Whether rule 3 drops a keyword.
pub fn is_prose_or_extension(key: &str) -> bool {
    PROSE_KEYS.contains(&key) || key.starts_with("x-")
}

/// Rule 4: moves each inline `application/json` request-body schema to
/// `components/schemas/<operationId>Body` and refers to it from the operation.
///
/// progenitor would give an inline body that same type name, so generated names do not change;
/// a named schema is what `build.rs` needs to swap PATCH bodies for hand-written types. A name
/// that is already taken is an error rather than a silent overwrite.
pub fn hoist_request_bodies(fragment: &mut Value) -> Result<()> {
    let mut hoisted = Vec::new();
    if let Some(paths) = fragment.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, method, operation) in operations_mut(paths) {
            let operation_id = operation["operationId"].as_str().map(str::to_string);
            let Some(schema) =
                operation.pointer_mut("/requestBody/content/application~1json/schema")
            else {
                continue;
            };
            if schema.get("$ref").is_some() {
                continue;
            }
            let Some(operation_id) = operation_id else {
                return Err(Error::new(format!(
                    "{} {path} has an inline request body but no operationId to name it after",
                    method.to_uppercase()
                )));
            };
            let name = format!("{operation_id}Body");
            let reference = json!({"$ref": schema_ref(&name)});
            hoisted.push((name, std::mem::replace(schema, reference)));
        }
    }
    if hoisted.is_empty() {
        return Ok(());
    }
    let schemas = schemas_mut(fragment);
    for (name, schema) in hoisted {
        if schemas.contains_key(&name) {
            return Err(Error::new(format!(
                "cannot move an inline request body to components.schemas.{name}: \
                 a schema of that name already exists"
            )));
        }
        schemas.insert(name, schema);
    }
    Ok(())
}

/// Rule 5: makes the schemas that responses use tolerate what a newer server may send, so that
/// an additive change on Clerk's side does not break decoding in a released client. Request
/// schemas stay as strict as the spec says.
///
/// For each schema reached from a response (and not from a request body):
/// - `additionalProperties: false` is removed;
/// - a property whose `enum` has one value becomes a plain string of that type;
/// - a property whose `enum` has several values refers to a new named schema
///   `<Schema><PropertyInPascalCase>` holding the enum (`build.rs` turns named enums into open
///   ones), through `allOf` + `nullable: true` if the property was nullable;
/// - `required` loses every nullable property and every [`SERVER_OMITTED_FIELDS`] entry, and
///   goes away if that empties it.
///
/// A schema used by both a response and a request body cannot be both loose and strict, so it is
/// an error that names it.
pub fn loosen_response_schemas(fragment: &mut Value) -> Result<()> {
    let from_responses = schemas_reached_from(fragment, "responses");
    let from_requests = schemas_reached_from(fragment, "requestBody");
    let shared: Vec<&str> = from_responses
        .intersection(&from_requests)
        .map(String::as_str)
        .collect();
    if !shared.is_empty() {
        return Err(Error::new(format!(
            "schemas used by both request bodies and responses: {}; responses are loosened for \
             forward compatibility while requests stay strict, so these need a decision in \
             xtask/src/normalize.rs",
            shared.join(", ")
        )));
    }
    if from_responses.is_empty() {
        return Ok(());
    }
    let schemas = schemas_mut(fragment);
    let mut enums = Vec::new();
    for name in &from_responses {
        if let Some(schema) = schemas.get_mut(name) {
            enums.extend(loosen_schema(name, schema));
        }
    }
    for (name, schema) in enums {
        if schemas.contains_key(&name) {
            return Err(Error::new(format!(
                "cannot move an enum to components.schemas.{name}: a schema of that name \
                 already exists"
            )));
        }
        schemas.insert(name, schema);
    }
    Ok(())
}

/// Loosens one response schema in place (see [`loosen_response_schemas`]) and returns the enum
/// schemas it moved out, with their names.
fn loosen_schema(name: &str, schema: &mut Value) -> Vec<(String, Value)> {
    let Some(schema) = schema.as_object_mut() else {
        return Vec::new();
    };
    if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
        schema.remove("additionalProperties");
    }
    let mut moved = Vec::new();
    let mut nullable = HashSet::new();
    if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for (property, property_schema) in properties.iter_mut() {
            let is_nullable = property_schema.get("nullable") == Some(&Value::Bool(true));
            if is_nullable {
                nullable.insert(property.clone());
            }
            let Some(values) = property_schema.get("enum").and_then(Value::as_array) else {
                continue;
            };
            match values.len() {
                // A constant such as `object: "role"`: checking it only makes a newer value fail.
                1 => {
                    if let Some(property_schema) = property_schema.as_object_mut() {
                        property_schema.remove("enum");
                    }
                }
                2.. => {
                    let enum_name = format!("{name}{}", pascal_case(property));
                    let mut named = property_schema.clone();
                    if let Some(named) = named.as_object_mut() {
                        named.remove("nullable");
                    }
                    let reference = json!({"$ref": schema_ref(&enum_name)});
                    *property_schema = if is_nullable {
                        // OpenAPI 3.0 ignores siblings of `$ref`, hence the `allOf` wrapper.
                        json!({"allOf": [reference], "nullable": true})
                    } else {
                        reference
                    };
                    moved.push((enum_name, named));
                }
                0 => {}
            }
        }
    }
    if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
        required.retain(|field| {
            let Some(field) = field.as_str() else {
                return true;
            };
            !nullable.contains(field) && !SERVER_OMITTED_FIELDS.contains(&(name, field))
        });
        // OpenAPI 3.0 wants a non-empty `required`, so an emptied one goes.
        if required.is_empty() {
            schema.remove("required");
        }
    }
    moved
}

/// The names of the schemas reached, through any chain of `$ref`s, from the operations' `part`
/// (`responses` or `requestBody`).
fn schemas_reached_from(fragment: &Value, part: &str) -> BTreeSet<String> {
    let mut pending = Vec::new();
    if let Some(paths) = fragment["paths"].as_object() {
        for (_, _, operation) in operations(paths) {
            if let Some(value) = operation.get(part) {
                let slot = child_slot(Slot::Structure, part, value);
                references_in(value, slot, part, &mut pending);
            }
        }
    }
    let mut seen = BTreeSet::new();
    while let Some((reference, _)) = pending.pop() {
        // The closure step has already refused references that do not resolve.
        let Ok(target) = parse_component_ref(&reference) else {
            continue;
        };
        let component = &fragment["components"][&target.kind][&target.name];
        if seen.insert((target.kind.clone(), target.name.clone())) {
            references_in(component, Slot::Structure, &reference, &mut pending);
        }
    }
    seen.into_iter()
        .filter(|(kind, _)| kind == "schemas")
        .map(|(_, name)| name)
        .collect()
}

/// `role_set_type` and `role-set-type` both become `RoleSetType`.
pub fn pascal_case(name: &str) -> String {
    name.split(['_', '-'])
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect()
}

/// Rule 6, first half: sorts every `required` list, so that the order in Clerk's spec (which
/// carries no meaning) cannot cause churn.
pub fn sort_required(document: &mut Value) {
    sort_required_in(document, Slot::Structure);
}

fn sort_required_in(value: &mut Value, slot: Slot) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                let child_slot = child_slot(slot, key, child);
                match child {
                    Value::Array(names) if key == "required" && slot == Slot::Structure => {
                        names.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                    }
                    _ if child_slot == Slot::Literal => {}
                    _ => sort_required_in(child, child_slot),
                }
            }
        }
        Value::Array(items) if slot != Slot::Literal => {
            for item in items {
                sort_required_in(item, element_slot(slot));
            }
        }
        _ => {}
    }
}

/// Rule 6, second half: OpenAPI requires a `description` on every Response Object, and rule 3
/// removed them all, so each response (in `components.responses` and inline in operations, but
/// not a `$ref` to one) gets an empty one.
pub fn describe_responses(fragment: &mut Value) {
    let Some(fragment) = fragment.as_object_mut() else {
        return;
    };
    let mut responses: Vec<&mut Value> = Vec::new();
    for (key, part) in fragment.iter_mut() {
        match (key.as_str(), part) {
            ("components", Value::Object(components)) => {
                if let Some(Value::Object(shared)) = components.get_mut("responses") {
                    responses.extend(shared.values_mut());
                }
            }
            ("paths", Value::Object(paths)) => {
                for (_, _, operation) in operations_mut(paths) {
                    if let Some(Value::Object(inline)) = operation.get_mut("responses") {
                        responses.extend(inline.values_mut());
                    }
                }
            }
            _ => {}
        }
    }
    for response in responses {
        if let Value::Object(response) = response
            && !response.contains_key("$ref")
        {
            response.insert("description".into(), Value::String(String::new()));
        }
    }
}

/// Rule 7: the fragment's `info`: a fixed title, the spec's API version, and the provenance.
pub fn fragment_info(version: &str, provenance: &Provenance) -> Value {
    json!({
        "title": FRAGMENT_TITLE,
        "version": version,
        PROVENANCE_KEY: {"source": provenance.source, "sha256": provenance.sha256},
    })
}

/// `components.schemas`, created if the fragment has none yet.
fn schemas_mut(fragment: &mut Value) -> &mut Map<String, Value> {
    let components = fragment
        .as_object_mut()
        .expect("the fragment is built as an object")
        .entry("components")
        .or_insert_with(|| json!({}));
    if !components.is_object() {
        *components = json!({});
    }
    let schemas = components
        .as_object_mut()
        .expect("made an object above")
        .entry("schemas")
        .or_insert_with(|| json!({}));
    if !schemas.is_object() {
        *schemas = json!({});
    }
    schemas.as_object_mut().expect("made an object above")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_text::to_fragment_text;

    fn provenance() -> Provenance {
        Provenance {
            source: "spec.yml".into(),
            sha256: "00ff".into(),
        }
    }

    /// A small spec touching every rule: prose, a header named like an extension, an inline
    /// body, response schemas with a constant, an enum, nullable and server-omitted fields, a
    /// strict request schema, and components nothing uses.
    fn spec() -> Value {
        json!({
            "openapi": "3.0.3",
            "info": {"title": "Clerk", "version": "2030-01-01", "description": "prose"},
            "servers": [{"url": "https://api.example.test/v1", "description": "prose"}],
            "tags": [{"name": "roles"}],
            "x-speakeasy-retries": {"strategy": "backoff"},
            "paths": {
                "/role_sets": {
                    "get": {
                        "operationId": "ListRoleSets",
                        "summary": "List",
                        "tags": ["Role sets"],
                        "x-speakeasy-name-override": "list",
                        "parameters": [{"$ref": "#/components/parameters/Limit"}],
                        "responses": {
                            "200": {
                                "description": "OK",
                                "headers": {"x-request-id": {"schema": {"type": "string"}}},
                                "content": {"application/json": {
                                    "schema": {"$ref": "#/components/schemas/RoleSet"},
                                    "example": {"object": "role_set"}
                                }}
                            },
                            "400": {"$ref": "#/components/responses/Errors"}
                        }
                    },
                    "post": {
                        "operationId": "CreateRoleSet",
                        "requestBody": {"required": true, "content": {"application/json": {"schema": {
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["name", "key"],
                            "properties": {
                                "name": {"type": "string", "description": "prose"},
                                "key": {"type": "string"},
                                "type": {"type": "string", "enum": ["initial", "custom"]},
                                "mode": {"$ref": "#/components/schemas/Mode"}
                            }
                        }}}},
                        "responses": {"200": {"$ref": "#/components/responses/RoleSet"}}
                    }
                },
                "/users": {"get": {"operationId": "ListUsers", "responses": {
                    "200": {"$ref": "#/components/responses/Users"}
                }}}
            },
            "components": {
                "parameters": {"Limit": {"name": "limit", "in": "query", "required": false,
                    "description": "prose", "schema": {"type": "integer", "default": 10}}},
                "responses": {
                    "Errors": {"description": "prose", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Errors"}}}},
                    "RoleSet": {"description": "prose", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/RoleSet"}}}},
                    "Users": {"description": "prose"}
                },
                "schemas": {
                    "RoleSet": {
                        "type": "object",
                        "description": "prose",
                        "additionalProperties": false,
                        "required": ["type", "object", "id", "description", "migration", "kind"],
                        "properties": {
                            "object": {"type": "string", "enum": ["role_set"]},
                            "id": {"type": "string", "example": "rs_123"},
                            "description": {"type": "string", "nullable": true},
                            "type": {"type": "string", "enum": ["initial", "custom"]},
                            "kind": {"type": "string", "enum": ["a", "b"], "nullable": true},
                            "migration": {"nullable": true, "allOf": [{"$ref": "#/components/schemas/Migration"}]}
                        }
                    },
                    "Migration": {"type": "object", "properties": {"status": {"type": "string"}},
                        "x-internal": {"$ref": "#/components/schemas/Hidden"}},
                    "Errors": {"type": "object", "required": ["errors"], "properties": {
                        "errors": {"type": "array", "items": {"type": "string"}}}},
                    "Mode": {"type": "string", "enum": ["fast", "slow"]},
                    "Hidden": {"type": "string"},
                    "User": {"type": "object"}
                }
            }
        })
    }

    fn fragment() -> Value {
        normalize(&spec(), &provenance()).unwrap()
    }

    #[test]
    fn the_pipeline_produces_the_expected_fragment() {
        let expected = json!({
            "openapi": "3.0.3",
            "info": {
                "title": FRAGMENT_TITLE,
                "version": "2030-01-01",
                "x-clerk-rbac-provenance": {"source": "spec.yml", "sha256": "00ff"}
            },
            "servers": [{"url": "https://api.example.test/v1"}],
            "paths": {"/role_sets": {
                "get": {
                    "operationId": "ListRoleSets",
                    "parameters": [{"$ref": "#/components/parameters/Limit"}],
                    "responses": {
                        "200": {
                            "description": "",
                            "headers": {"x-request-id": {"schema": {"type": "string"}}},
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/RoleSet"}}}
                        },
                        "400": {"$ref": "#/components/responses/Errors"}
                    }
                },
                "post": {
                    "operationId": "CreateRoleSet",
                    "requestBody": {"required": true, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/CreateRoleSetBody"}}}},
                    "responses": {"200": {"$ref": "#/components/responses/RoleSet"}}
                }
            }},
            "components": {
                "parameters": {"Limit": {"name": "limit", "in": "query", "required": false,
                    "schema": {"type": "integer", "default": 10}}},
                "responses": {
                    "Errors": {"description": "", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Errors"}}}},
                    "RoleSet": {"description": "", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/RoleSet"}}}}
                },
                "schemas": {
                    "CreateRoleSetBody": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["key", "name"],
                        "properties": {
                            "name": {"type": "string"},
                            "key": {"type": "string"},
                            "type": {"type": "string", "enum": ["initial", "custom"]},
                            "mode": {"$ref": "#/components/schemas/Mode"}
                        }
                    },
                    "RoleSet": {
                        "type": "object",
                        "required": ["id", "object", "type"],
                        "properties": {
                            "object": {"type": "string"},
                            "id": {"type": "string"},
                            "description": {"type": "string", "nullable": true},
                            "type": {"$ref": "#/components/schemas/RoleSetType"},
                            "kind": {"allOf": [{"$ref": "#/components/schemas/RoleSetKind"}],
                                "nullable": true},
                            "migration": {"nullable": true,
                                "allOf": [{"$ref": "#/components/schemas/Migration"}]}
                        }
                    },
                    "RoleSetType": {"type": "string", "enum": ["initial", "custom"]},
                    "RoleSetKind": {"type": "string", "enum": ["a", "b"]},
                    "Migration": {"type": "object", "properties": {"status": {"type": "string"}}},
                    "Errors": {"type": "object", "required": ["errors"], "properties": {
                        "errors": {"type": "array", "items": {"type": "string"}}}},
                    "Mode": {"type": "string", "enum": ["fast", "slow"]}
                }
            }
        });
        assert_eq!(fragment(), expected);
    }

    #[test]
    fn normalizing_a_fragment_again_changes_nothing() {
        let once = fragment();
        let recorded = Provenance::recorded_in(&once).unwrap();
        assert_eq!(recorded, provenance());
        let twice = normalize(&once, &recorded).unwrap();
        assert_eq!(to_fragment_text(&twice), to_fragment_text(&once));
    }

    #[test]
    fn the_output_does_not_depend_on_input_key_order() {
        // The same spec with every map's keys inserted in reverse order.
        fn reversed(value: &Value) -> Value {
            match value {
                Value::Object(map) => Value::Object(
                    map.iter()
                        .rev()
                        .map(|(k, v)| (k.clone(), reversed(v)))
                        .collect(),
                ),
                Value::Array(items) => Value::Array(items.iter().map(reversed).collect()),
                other => other.clone(),
            }
        }
        let shuffled = normalize(&reversed(&spec()), &provenance()).unwrap();
        assert_eq!(to_fragment_text(&shuffled), to_fragment_text(&fragment()));
    }

    #[test]
    fn a_reference_inside_an_extension_pulls_nothing_in() {
        assert!(fragment()["components"]["schemas"].get("Hidden").is_none());
    }

    #[test]
    fn header_problems_are_clear_errors() {
        let mut not_3_0 = spec();
        not_3_0["openapi"] = json!("3.1.0");
        let err = normalize(&not_3_0, &provenance()).unwrap_err();
        assert_eq!(
            err.message(),
            "the spec is OpenAPI 3.1.0, but progenitor reads OpenAPI 3.0.x only"
        );

        let mut no_version = spec();
        no_version["info"] = json!({"title": "x"});
        let err = normalize(&no_version, &provenance()).unwrap_err();
        assert!(err.message().contains("info.version"), "{err}");

        let err = normalize(&json!("just text"), &provenance()).unwrap_err();
        assert!(err.message().contains("not an OpenAPI document"), "{err}");

        let mut no_paths = spec();
        no_paths.as_object_mut().unwrap().remove("paths");
        let err = normalize(&no_paths, &provenance()).unwrap_err();
        assert!(err.message().contains("no `paths`"), "{err}");
    }

    #[test]
    fn strip_removes_prose_and_extensions_but_never_names() {
        let mut document = json!({
            "description": "d", "summary": "s", "example": 1, "examples": {}, "externalDocs": {},
            "tags": [], "x-anything": true, "type": "object",
            "properties": {
                "description": {"type": "string", "description": "gone"},
                "example": {"type": "string", "x-nullable": true},
                "tags": {"type": "array", "items": {"type": "string", "summary": "gone"}},
                "x-custom": {"type": "string"},
                "properties": {"type": "object", "description": "gone", "properties": {
                    "description": {"type": "string"}
                }},
                "status": {"type": "object", "default": {"description": "kept", "x-k": 1}}
            },
            "allOf": [{"description": "gone", "type": "object"}]
        });
        strip_prose(&mut document);
        assert_eq!(
            document,
            json!({
                "type": "object",
                "properties": {
                    "description": {"type": "string"},
                    "example": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "x-custom": {"type": "string"},
                    "properties": {"type": "object", "properties": {
                        "description": {"type": "string"}
                    }},
                    "status": {"type": "object", "default": {"description": "kept", "x-k": 1}}
                },
                "allOf": [{"type": "object"}]
            })
        );
    }

    #[test]
    fn strip_keeps_names_in_every_kind_of_name_map() {
        let mut document = json!({
            "paths": {"x-path": {"get": {"responses": {"200": {"content": {
                "description": {"schema": {"type": "string"}}}}}}}},
            "components": {
                "schemas": {"description": {"type": "string"}},
                "parameters": {"summary": {"name": "summary", "in": "query"}},
                "responses": {"example": {"headers": {"tags": {"schema": {"type": "string"}}}}},
                "requestBodies": {"x-body": {"content": {}}},
                "securitySchemes": {"externalDocs": {"type": "http"}}
            }
        });
        let before = document.clone();
        strip_prose(&mut document);
        assert_eq!(document, before);
    }

    #[test]
    fn inline_request_bodies_become_named_schemas() {
        let mut fragment = json!({"paths": {"/role_sets/{id}": {
            "parameters": [{"name": "id", "in": "path"}],
            "patch": {"operationId": "UpdateRoleSet", "requestBody": {"content": {
                "application/json": {"schema": {"type": "object", "properties": {}}}}}},
            "post": {"operationId": "ReplaceRoleSet", "requestBody": {"content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Existing"}}}}},
            "put": {"operationId": "Upload", "requestBody": {"content": {
                "multipart/form-data": {"schema": {"type": "object"}}}}}
        }}, "components": {"schemas": {"Existing": {"type": "object"}}}});
        hoist_request_bodies(&mut fragment).unwrap();
        let item = &fragment["paths"]["/role_sets/{id}"];
        assert_eq!(
            item["patch"]["requestBody"]["content"]["application/json"]["schema"],
            json!({"$ref": "#/components/schemas/UpdateRoleSetBody"})
        );
        assert_eq!(
            fragment["components"]["schemas"]["UpdateRoleSetBody"],
            json!({"type": "object", "properties": {}})
        );
        assert_eq!(
            item["post"]["requestBody"]["content"]["application/json"]["schema"],
            json!({"$ref": "#/components/schemas/Existing"})
        );
        assert_eq!(
            item["put"]["requestBody"]["content"]["multipart/form-data"]["schema"],
            json!({"type": "object"})
        );
        assert_eq!(
            fragment["components"]["schemas"].as_object().unwrap().len(),
            2
        );
    }

    #[test]
    fn hoisting_refuses_to_overwrite_or_to_guess_a_name() {
        let body = json!({"content": {"application/json": {"schema": {"type": "object"}}}});
        let mut taken = json!({
            "paths": {"/role_sets": {"post": {"operationId": "CreateRoleSet", "requestBody": body}}},
            "components": {"schemas": {"CreateRoleSetBody": {"type": "string"}}}
        });
        let err = hoist_request_bodies(&mut taken).unwrap_err();
        assert!(
            err.message()
                .contains("components.schemas.CreateRoleSetBody"),
            "{err}"
        );
        assert_eq!(
            taken["components"]["schemas"]["CreateRoleSetBody"],
            json!({"type": "string"})
        );

        let mut anonymous = json!({"paths": {"/role_sets": {"post": {"requestBody": body}}}});
        let err = hoist_request_bodies(&mut anonymous).unwrap_err();
        assert_eq!(
            err.message(),
            "POST /role_sets has an inline request body but no operationId to name it after"
        );
    }

    #[test]
    fn hoisting_nothing_adds_no_empty_schemas_map() {
        let mut fragment = json!({"paths": {"/role_sets": {"get": {}}}, "components": {}});
        hoist_request_bodies(&mut fragment).unwrap();
        loosen_response_schemas(&mut fragment).unwrap();
        assert_eq!(fragment["components"], json!({}));
    }

    /// A fragment whose only operation answers with `Thing` and sends `Input`.
    fn loosening_fixture(thing: Value, input: Value) -> Value {
        json!({
            "paths": {"/role_sets": {"post": {
                "requestBody": {"content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Input"}}}},
                "responses": {"200": {"content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Thing"}}}}}
            }}},
            "components": {"schemas": {"Thing": thing, "Input": input}}
        })
    }

    #[test]
    fn response_schemas_are_loosened_and_request_schemas_are_not() {
        let strict = json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["object", "state", "note"],
            "properties": {
                "object": {"type": "string", "enum": ["thing"]},
                "state": {"type": "string", "enum": ["on", "off"]},
                "note": {"type": "string", "nullable": true}
            }
        });
        let mut fragment = loosening_fixture(strict.clone(), strict.clone());
        loosen_response_schemas(&mut fragment).unwrap();
        let schemas = &fragment["components"]["schemas"];
        assert_eq!(schemas["Input"], strict);
        assert_eq!(
            schemas["Thing"],
            json!({
                "type": "object",
                "required": ["object", "state"],
                "properties": {
                    "object": {"type": "string"},
                    "state": {"$ref": "#/components/schemas/ThingState"},
                    "note": {"type": "string", "nullable": true}
                }
            })
        );
        assert_eq!(
            schemas["ThingState"],
            json!({"type": "string", "enum": ["on", "off"]})
        );
    }

    #[test]
    fn a_nullable_enum_is_moved_out_behind_all_of() {
        let thing = json!({"properties": {"role_kind": {
            "type": "string", "enum": ["a", "b", "c"], "nullable": true, "default": "a"}}});
        let mut fragment = loosening_fixture(thing, json!({}));
        loosen_response_schemas(&mut fragment).unwrap();
        let schemas = &fragment["components"]["schemas"];
        assert_eq!(
            schemas["Thing"]["properties"]["role_kind"],
            json!({"allOf": [{"$ref": "#/components/schemas/ThingRoleKind"}], "nullable": true})
        );
        assert_eq!(
            schemas["ThingRoleKind"],
            json!({"type": "string", "enum": ["a", "b", "c"], "default": "a"})
        );
    }

    #[test]
    fn server_omitted_fields_leave_required_and_an_emptied_required_goes() {
        let permission = json!({"required": ["type", "key"], "properties": {
            "type": {"type": "string"}, "key": {"type": "string"}}});
        let mut fragment = loosening_fixture(json!({}), json!({}));
        fragment["components"]["schemas"]["Thing"] =
            json!({"$ref": "#/components/schemas/Permission"});
        fragment["components"]["schemas"]["Permission"] = permission;
        loosen_response_schemas(&mut fragment).unwrap();
        assert_eq!(
            fragment["components"]["schemas"]["Permission"]["required"],
            json!(["key"])
        );

        let only_nullable = json!({"required": ["note"], "properties": {
            "note": {"type": "string", "nullable": true}}});
        let mut fragment = loosening_fixture(only_nullable, json!({}));
        loosen_response_schemas(&mut fragment).unwrap();
        assert!(
            fragment["components"]["schemas"]["Thing"]
                .get("required")
                .is_none()
        );
    }

    #[test]
    fn a_schema_shared_by_requests_and_responses_is_an_error() {
        let mut fragment = loosening_fixture(
            json!({"properties": {"input": {"$ref": "#/components/schemas/Input"}}}),
            json!({"type": "object"}),
        );
        let err = loosen_response_schemas(&mut fragment).unwrap_err();
        assert!(
            err.message()
                .starts_with("schemas used by both request bodies and responses: Input;"),
            "{err}"
        );
    }

    #[test]
    fn a_moved_enum_may_not_overwrite_a_schema() {
        let mut fragment = loosening_fixture(
            json!({"properties": {"state": {"type": "string", "enum": ["on", "off"]}}}),
            json!({}),
        );
        fragment["components"]["schemas"]["ThingState"] = json!({"type": "integer"});
        let err = loosen_response_schemas(&mut fragment).unwrap_err();
        assert!(
            err.message().contains("components.schemas.ThingState"),
            "{err}"
        );
    }

    #[test]
    fn pascal_case_joins_words() {
        assert_eq!(pascal_case("type"), "Type");
        assert_eq!(pascal_case("role_set_type"), "RoleSetType");
        assert_eq!(pascal_case("trigger-type"), "TriggerType");
        assert_eq!(pascal_case("already_Pascal"), "AlreadyPascal");
    }

    #[test]
    fn every_required_list_is_sorted_except_in_literal_data() {
        let mut document = json!({
            "required": ["b", "a"],
            "properties": {
                "required": {"type": "object", "required": ["z", "y"]},
                "nested": {"items": {"required": ["d", "c"]}}
            },
            "default": {"required": ["q", "p"]}
        });
        sort_required(&mut document);
        assert_eq!(document["required"], json!(["a", "b"]));
        assert_eq!(
            document["properties"]["required"]["required"],
            json!(["y", "z"])
        );
        assert_eq!(
            document["properties"]["nested"]["items"]["required"],
            json!(["c", "d"])
        );
        assert_eq!(document["default"]["required"], json!(["q", "p"]));
    }

    #[test]
    fn every_response_object_gets_an_empty_description() {
        let mut fragment = json!({
            "paths": {"/role_sets": {"get": {"responses": {
                "200": {"content": {}},
                "400": {"$ref": "#/components/responses/Errors"}
            }}}},
            "components": {"responses": {"Errors": {"content": {}}}}
        });
        describe_responses(&mut fragment);
        assert_eq!(
            fragment,
            json!({
                "paths": {"/role_sets": {"get": {"responses": {
                    "200": {"content": {}, "description": ""},
                    "400": {"$ref": "#/components/responses/Errors"}
                }}}},
                "components": {"responses": {"Errors": {"content": {}, "description": ""}}}
            })
        );
    }

    #[test]
    fn info_records_version_and_provenance() {
        let info = fragment_info("2026-05-12", &provenance());
        assert_eq!(
            info,
            json!({"title": "Clerk Backend API: organization RBAC fragment",
                   "version": "2026-05-12",
                   "x-clerk-rbac-provenance": {"source": "spec.yml", "sha256": "00ff"}})
        );
        let err = Provenance::recorded_in(&json!({"info": {}})).unwrap_err();
        assert!(err.message().contains("x-clerk-rbac-provenance"), "{err}");
    }
}
