//! Rules 4 and 5: inline request bodies become named schemas, and the schemas responses use are
//! loosened for forward compatibility.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::Result;
use crate::openapi::{Slot, child_slot, component_of, operations, operations_mut, references};

/// Rule 5: a response field Clerk's spec marks required that its servers leave out.
const SERVER_OMITTED_FIELD: (&str, &str) = ("Permission", "type");

/// Adds schemas to `components.schemas`, refusing to overwrite one; `what` names them in errors.
fn add_schemas(fragment: &mut Value, added: Vec<(String, Value)>, what: &str) -> Result<()> {
    for (name, schema) in added {
        let schemas = &mut fragment["components"]["schemas"];
        if schemas.get(&name).is_some() {
            return Err(format!(
                "cannot move {what} to components.schemas.{name}: a schema of that name already exists"
            ));
        }
        schemas[&name] = schema;
    }
    Ok(())
}

/// Rule 4: each inline `application/json` request body becomes `components.schemas.<operationId>Body`
/// (the name progenitor would give it anyway), so that `build.rs` can swap it for a hand-written type.
pub(crate) fn hoist_request_bodies(fragment: &mut Value) -> Result<()> {
    let mut hoisted = Vec::new();
    if let Some(paths) = fragment["paths"].as_object_mut() {
        for (path, method, operation) in operations_mut(paths) {
            let id = operation["operationId"].as_str().map(str::to_string);
            let body = operation.pointer_mut("/requestBody/content/application~1json/schema");
            let Some(schema) = body.filter(|schema| schema.get("$ref").is_none()) else {
                continue;
            };
            let id = id.ok_or_else(|| {
                let method = method.to_uppercase();
                format!(
                    "{method} {path} has an inline request body but no operationId to name it after"
                )
            })?;
            let reference = json!({"$ref": format!("#/components/schemas/{id}Body")});
            hoisted.push((format!("{id}Body"), std::mem::replace(schema, reference)));
        }
    }
    add_schemas(fragment, hoisted, "an inline request body")
}

/// Rule 5: the schemas responses use (and request bodies do not) tolerate what a newer server
/// may send, while request schemas stay as strict as the spec says. In each:
/// `additionalProperties: false` goes; a one-value `enum` (a constant such as `object: "role"`)
/// goes; a several-value `enum` moves to a named schema `<Schema><Property>` (for the items of an
/// array, `<Schema><Property>Item`), which `build.rs` makes an open enum, behind `allOf` if the
/// property is nullable; and `required` loses nullable
/// properties and [`SERVER_OMITTED_FIELD`]. A schema both sides use is an error naming it.
pub(crate) fn loosen_response_schemas(fragment: &mut Value) -> Result<()> {
    let from_responses = schemas_reached_from(fragment, "responses");
    let from_requests = schemas_reached_from(fragment, "requestBody");
    let shared: Vec<&str> = from_responses
        .intersection(&from_requests)
        .map(String::as_str)
        .collect();
    if !shared.is_empty() {
        return Err(format!(
            "schemas used by both request bodies and responses: {}; responses are loosened for \
             forward compatibility while requests stay strict, so these need a decision in \
             xtask/src/normalize.rs",
            shared.join(", ")
        ));
    }
    let mut enums = Vec::new();
    for name in &from_responses {
        if let Some(Value::Object(schema)) = fragment["components"]["schemas"].get_mut(name) {
            enums.extend(loosen_schema(name, schema));
        }
    }
    add_schemas(fragment, enums, "an enum")
}

/// Loosens one response schema and returns the enums it moved out, with their names.
fn loosen_schema(name: &str, schema: &mut Map<String, Value>) -> Vec<(String, Value)> {
    if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
        schema.remove("additionalProperties");
    }
    let mut moved = Vec::new();
    let mut nullable = BTreeSet::new();
    let properties = schema.get_mut("properties").and_then(Value::as_object_mut);
    for (property, property_schema) in properties.into_iter().flatten() {
        let is_nullable = property_schema["nullable"] == Value::Bool(true);
        if is_nullable {
            nullable.insert(property.clone());
        }
        let enum_name = format!("{name}{}", pascal_case(property));
        if let Some(items) = property_schema.get_mut("items") {
            moved.extend(open_enum(items, format!("{enum_name}Item")));
        }
        moved.extend(open_enum(property_schema, enum_name));
    }
    if let Some(Value::Array(required)) = schema.get_mut("required") {
        required.retain(|field| {
            let field = field.as_str().unwrap_or_default();
            !nullable.contains(field) && (name, field) != SERVER_OMITTED_FIELD
        });
        // OpenAPI 3.0 wants a `required` list to be non-empty.
        if required.is_empty() {
            schema.remove("required");
        }
    }
    moved
}

/// Opens the `enum` of `site`: one value (a constant such as `object: "role"`) is dropped;
/// several move to a schema named `enum_name`, returned with it, that `site` refers to.
fn open_enum(site: &mut Value, enum_name: String) -> Option<(String, Value)> {
    match site["enum"].as_array().map(Vec::len) {
        Some(1) => {
            if let Some(constant) = site.as_object_mut() {
                constant.remove("enum");
            }
            None
        }
        Some(2..) => {
            let reference = json!({"$ref": format!("#/components/schemas/{enum_name}")});
            // OpenAPI 3.0 ignores the siblings of a `$ref`, hence the `allOf`.
            let replacement = match site["nullable"] == true {
                true => json!({"allOf": [reference], "nullable": true}),
                false => reference,
            };
            let mut named = std::mem::replace(site, replacement);
            if let Some(named) = named.as_object_mut() {
                named.remove("nullable");
            }
            Some((enum_name, named))
        }
        _ => None,
    }
}

/// The schemas reached, through any chain of `$ref`s, from the operations' `part`
/// (`responses` or `requestBody`).
fn schemas_reached_from(fragment: &Value, part: &str) -> BTreeSet<String> {
    let mut pending = Vec::new();
    for (_, _, operation) in operations(fragment["paths"].as_object().unwrap_or(&Map::new())) {
        if let Some(value) = operation.get(part) {
            references(
                value,
                child_slot(Slot::Structure, part, value),
                part,
                &mut pending,
            );
        }
    }
    let mut seen = BTreeSet::new();
    while let Some((reference, _)) = pending.pop() {
        // The closure has already refused references that do not resolve.
        if let Ok((kind, name)) = component_of(&reference)
            && seen.insert((kind.clone(), name.clone()))
        {
            references(
                &fragment["components"][&kind][&name],
                Slot::Structure,
                "",
                &mut pending,
            );
        }
    }
    seen.into_iter()
        .filter(|(kind, _)| kind == "schemas")
        .map(|(_, name)| name)
        .collect()
}

/// `role_set_type` and `role-set-type` both become `RoleSetType`.
fn pascal_case(name: &str) -> String {
    name.split(['_', '-'])
        .flat_map(|word| {
            let mut chars = word.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars))
        })
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fragment whose only operation sends `Input` and answers with `Thing`.
    fn fixture(thing: Value, input: Value) -> Value {
        json!({
            "paths": {"/role_sets": {"post": {
                "operationId": "CreateThing",
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
            "required": ["note", "object", "role_kind", "state"],
            "properties": {
                "object": {"type": "string", "enum": ["thing"]},
                "state": {"type": "string", "enum": ["on", "off"]},
                "role_kind": {"type": "string", "enum": ["a", "b"], "nullable": true, "default": "a"},
                "note": {"type": "string", "nullable": true},
                "modes": {"type": "array", "items": {"type": "string", "enum": ["x", "y"]}}
            }
        });
        let mut fragment = fixture(strict.clone(), strict.clone());
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
                    "role_kind": {"allOf": [{"$ref": "#/components/schemas/ThingRoleKind"}], "nullable": true},
                    "note": {"type": "string", "nullable": true},
                    "modes": {"type": "array", "items": {"$ref": "#/components/schemas/ThingModesItem"}}
                }
            })
        );
        assert_eq!(
            schemas["ThingModesItem"],
            json!({"type": "string", "enum": ["x", "y"]})
        );
        assert_eq!(
            schemas["ThingState"],
            json!({"type": "string", "enum": ["on", "off"]})
        );
        assert_eq!(
            schemas["ThingRoleKind"],
            json!({"type": "string", "enum": ["a", "b"], "default": "a"})
        );
    }

    #[test]
    fn a_server_omitted_field_leaves_required_and_an_emptied_required_goes() {
        let mut fragment = fixture(
            json!({"$ref": "#/components/schemas/Permission"}),
            json!({}),
        );
        fragment["components"]["schemas"]["Permission"] = json!({"required": ["key", "type"]});
        loosen_response_schemas(&mut fragment).unwrap();
        assert_eq!(
            fragment["components"]["schemas"]["Permission"]["required"],
            json!(["key"])
        );

        let only_nullable = json!({"required": ["note"], "properties": {
            "note": {"type": "string", "nullable": true}}});
        let mut fragment = fixture(only_nullable, json!({}));
        loosen_response_schemas(&mut fragment).unwrap();
        assert_eq!(
            fragment["components"]["schemas"]["Thing"].get("required"),
            None
        );
    }

    #[test]
    fn what_cannot_be_loosened_or_moved_safely_is_an_error() {
        let shared = json!({"properties": {"input": {"$ref": "#/components/schemas/Input"}}});
        let err = loosen_response_schemas(&mut fixture(shared, json!({}))).unwrap_err();
        assert!(
            err.starts_with("schemas used by both request bodies and responses: Input;"),
            "{err}"
        );

        let mut taken = fixture(
            json!({"properties": {"state": {"enum": ["on", "off"]}}}),
            json!({}),
        );
        taken["components"]["schemas"]["ThingState"] = json!({"type": "integer"});
        let err = loosen_response_schemas(&mut taken).unwrap_err();
        assert!(
            err.contains("an enum to components.schemas.ThingState"),
            "{err}"
        );
    }

    #[test]
    fn inline_request_bodies_become_named_schemas_without_overwriting_or_guessing() {
        let mut fragment = fixture(json!({}), json!({}));
        let body = json!({"content": {"application/json": {"schema": {"type": "object"}}}});
        fragment["paths"]["/role_sets"]["post"]["requestBody"] = body.clone();
        hoist_request_bodies(&mut fragment).unwrap();
        assert_eq!(
            fragment["paths"]["/role_sets"]["post"]["requestBody"]["content"]["application/json"],
            json!({"schema": {"$ref": "#/components/schemas/CreateThingBody"}})
        );
        assert_eq!(
            fragment["components"]["schemas"]["CreateThingBody"],
            json!({"type": "object"})
        );

        fragment["paths"]["/role_sets"]["post"]["requestBody"] = body.clone();
        let err = hoist_request_bodies(&mut fragment).unwrap_err();
        assert!(
            err.contains("an inline request body to components.schemas.CreateThingBody"),
            "{err}"
        );

        let mut anonymous = json!({"paths": {"/role_sets": {"post": {"requestBody": body}}}});
        let err = hoist_request_bodies(&mut anonymous).unwrap_err();
        assert_eq!(
            err,
            "POST /role_sets has an inline request body but no operationId to name it after"
        );
    }

    #[test]
    fn pascal_case_joins_words() {
        assert_eq!(pascal_case("role_set_type"), "RoleSetType");
        assert_eq!(pascal_case("trigger-type"), "TriggerType");
        assert_eq!(pascal_case("already_Pascal"), "AlreadyPascal");
    }
}
