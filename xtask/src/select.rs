//! Rules 1 and 2: which operations the fragment keeps, and which components they need.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::openapi::{METHODS, Slot, parse_component_ref, references_in};

/// The organization RBAC part of Clerk's Backend API: every operation on a path that is one of
/// these or lies below one of them.
pub const PATH_PREFIXES: &[&str] = &[
    "/organization_permissions",
    "/organization_roles",
    "/role_sets",
];

/// Whether `path` belongs to the fragment. Matching whole path segments keeps a neighbour such as
/// `/role_sets_archive` (a different resource that merely shares the spelling) out.
pub fn is_selected_path(path: &str) -> bool {
    PATH_PREFIXES.iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// Rule 1, select: the selected paths, each keeping its operations and its path-level
/// `parameters` (which apply to all of them) and nothing else. A spec without any such operation
/// is not the spec we are looking for, and is an error.
pub fn select_operations(paths: &Map<String, Value>) -> Result<Map<String, Value>> {
    let mut selected = Map::new();
    for (path, item) in paths {
        if !is_selected_path(path) {
            continue;
        }
        let Some(item) = item.as_object() else {
            return Err(Error::new(format!("paths.{path} is not an object")));
        };
        let kept: Map<String, Value> = item
            .iter()
            .filter(|(key, _)| METHODS.contains(&key.as_str()) || *key == "parameters")
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        if kept.keys().any(|key| key != "parameters") {
            selected.insert(path.clone(), Value::Object(kept));
        }
    }
    if selected.is_empty() {
        return Err(Error::new(format!(
            "the spec has no operations under {}; is it Clerk's Backend API spec?",
            PATH_PREFIXES.join(", ")
        )));
    }
    Ok(selected)
}

/// Rule 2, closure: every component that the selected paths reach through `$ref`s, directly or
/// through other components, and nothing else, grouped as in `components` (kind, then name).
///
/// `spec` is the whole (already stripped) spec the references point into. A reference to a
/// component that does not exist is an error naming the reference and where it was found.
pub fn collect_components(spec: &Value, paths: &Map<String, Value>) -> Result<Map<String, Value>> {
    let mut pending = Vec::new();
    for (path, item) in paths {
        references_in(
            item,
            Slot::Structure,
            &format!("paths.{path}"),
            &mut pending,
        );
    }
    let mut reached: BTreeMap<(String, String), Value> = BTreeMap::new();
    while let Some((reference, at)) = pending.pop() {
        let target = parse_component_ref(&reference)
            .map_err(|why| Error::new(format!("unsupported $ref {reference:?} at {at}: {why}")))?;
        // A reference may point inside a component; that part must exist too.
        if spec.pointer(&reference[1..]).is_none() {
            return Err(Error::new(format!(
                "dangling $ref {reference:?} at {at}: the spec has no such component"
            )));
        }
        let key = (target.kind, target.name);
        if reached.contains_key(&key) {
            continue;
        }
        let component = &spec["components"][&key.0][&key.1];
        let here = format!("components.{}.{}", key.0, key.1);
        references_in(component, Slot::Structure, &here, &mut pending);
        reached.insert(key, component.clone());
    }
    let mut components = Map::new();
    for ((kind, name), component) in reached {
        let group = components
            .entry(kind)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(group) = group {
            group.insert(name, component);
        }
    }
    Ok(components)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn prefixes_match_whole_segments_only() {
        assert!(is_selected_path("/role_sets"));
        assert!(is_selected_path("/role_sets/{id}/roles/replace"));
        assert!(is_selected_path(
            "/organization_permissions/{permission_id}"
        ));
        assert!(!is_selected_path("/role_sets_archive"));
        assert!(!is_selected_path("/organizations/{id}/roles"));
        assert!(!is_selected_path("/users"));
    }

    #[test]
    fn selection_keeps_operations_and_path_parameters_only() {
        let paths = object(json!({
            "/organization_roles/{id}": {
                "summary": "dropped",
                "parameters": [{"name": "id", "in": "path"}],
                "get": {"operationId": "GetRole"},
                "head": {"operationId": "HeadRole"},
                "patch": {"operationId": "UpdateRole"}
            },
            "/role_sets": {"post": {"operationId": "CreateRoleSet"}},
            "/role_sets/{id}/empty": {"parameters": []},
            "/users": {"get": {"operationId": "ListUsers"}}
        }));
        let selected = select_operations(&paths).unwrap();
        assert_eq!(
            Value::Object(selected),
            json!({
                "/organization_roles/{id}": {
                    "parameters": [{"name": "id", "in": "path"}],
                    "get": {"operationId": "GetRole"},
                    "patch": {"operationId": "UpdateRole"}
                },
                "/role_sets": {"post": {"operationId": "CreateRoleSet"}}
            })
        );
    }

    #[test]
    fn a_spec_without_our_paths_is_an_error() {
        let paths = object(json!({"/users": {"get": {}}, "/role_sets_archive": {"get": {}}}));
        let err = select_operations(&paths).unwrap_err();
        assert!(
            err.message()
                .contains("no operations under /organization_permissions"),
            "{err}"
        );
    }

    fn spec_with_components() -> Value {
        json!({"components": {
            "schemas": {
                "Outer": {"properties": {"inner": {"$ref": "#/components/schemas/Inner"}}},
                "Inner": {"properties": {"leaf": {"items": {"$ref": "#/components/schemas/Leaf"}}}},
                "Leaf": {"type": "string"},
                "Shared": {"type": "integer"},
                "Unused": {"$ref": "#/components/schemas/Leaf"}
            },
            "parameters": {"Limit": {"name": "limit", "schema": {"$ref": "#/components/schemas/Shared"}}},
            "responses": {"Outer": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Outer"}}}}},
            "requestBodies": {"Body": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Shared"}}}}},
            "headers": {"Unused": {"schema": {"type": "string"}}}
        }})
    }

    #[test]
    fn closure_follows_nested_and_shared_references_and_leaves_the_rest_out() {
        let spec = spec_with_components();
        let paths = object(json!({"/role_sets": {
            "get": {
                "parameters": [{"$ref": "#/components/parameters/Limit"}],
                "responses": {"200": {"$ref": "#/components/responses/Outer"}}
            },
            "post": {
                "requestBody": {"$ref": "#/components/requestBodies/Body"},
                "responses": {"200": {"$ref": "#/components/responses/Outer"}}
            }
        }}));
        let components = collect_components(&spec, &paths).unwrap();
        let names = |kind: &str| -> Vec<String> {
            components[kind]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        let mut schemas = names("schemas");
        schemas.sort();
        assert_eq!(schemas, ["Inner", "Leaf", "Outer", "Shared"]);
        assert_eq!(names("parameters"), ["Limit"]);
        assert_eq!(names("responses"), ["Outer"]);
        assert_eq!(names("requestBodies"), ["Body"]);
        assert!(!components.contains_key("headers"));
        assert_eq!(components["schemas"]["Leaf"], json!({"type": "string"}));
    }

    #[test]
    fn a_reference_into_a_component_brings_the_whole_component() {
        let spec = spec_with_components();
        let paths = object(
            json!({"/role_sets": {"get": {"responses": {"200": {"content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Inner/properties/leaf"}}
            }}}}}}),
        );
        let components = collect_components(&spec, &paths).unwrap();
        assert_eq!(
            components["schemas"]["Inner"],
            spec["components"]["schemas"]["Inner"]
        );
        assert!(components["schemas"].get("Leaf").is_some());
    }

    #[test]
    fn a_dangling_reference_is_an_error_naming_it_and_its_place() {
        let spec = spec_with_components();
        let paths = object(json!({"/role_sets": {"get": {"responses": {"200": {
            "$ref": "#/components/responses/Missing"
        }}}}}));
        let err = collect_components(&spec, &paths).unwrap_err();
        assert_eq!(
            err.message(),
            "dangling $ref \"#/components/responses/Missing\" at \
             paths./role_sets.get.responses.200.$ref: the spec has no such component"
        );
    }

    #[test]
    fn a_dangling_reference_inside_a_component_is_an_error_too() {
        let mut spec = spec_with_components();
        spec["components"]["schemas"]["Leaf"] = json!({"$ref": "#/components/schemas/Gone"});
        let paths = object(json!({"/role_sets": {"get": {"responses": {"200": {
            "$ref": "#/components/responses/Outer"
        }}}}}));
        let err = collect_components(&spec, &paths).unwrap_err();
        assert!(
            err.message()
                .contains("\"#/components/schemas/Gone\" at components.schemas.Leaf.$ref"),
            "{err}"
        );
    }

    #[test]
    fn an_external_reference_is_an_error() {
        let paths = object(json!({"/role_sets": {"get": {"responses": {"200": {
            "$ref": "common.yml#/components/responses/Error"
        }}}}}));
        let err = collect_components(&json!({}), &paths).unwrap_err();
        assert!(
            err.message().starts_with("unsupported $ref \"common.yml#"),
            "{err}"
        );
    }
}
