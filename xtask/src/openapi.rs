//! How the steps walk an OpenAPI 3.0 document: which keys hold operations, which hold maps of
//! names, which hold literal data, and how a local `$ref` reads.

use serde_json::{Map, Value};

use crate::Result;

/// The HTTP methods the fragment keeps operations of.
pub(crate) const METHODS: &[&str] = &["get", "put", "post", "delete", "patch"];

/// Rule 3: keys that only carry prose or documentation tooling (and `x-` extensions), which the
/// client does not use and which would only make the fragment churn.
const PROSE_KEYS: &[&str] = &[
    "description",
    "summary",
    "example",
    "examples",
    "externalDocs",
    "tags",
];

/// Keys whose object maps names chosen by the API's authors (properties, paths, status codes...)
/// to structure: a property called `description` is not prose.
const NAME_MAP_KEYS: &[&str] = &[
    "properties",
    "paths",
    "schemas",
    "responses",
    "parameters",
    "content",
    "headers",
    "requestBodies",
    "securitySchemes",
];

/// How a value inside an OpenAPI document is read, decided by its position: in
/// `properties: {default: {...}}` the inner object is a schema, not a default value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// An OpenAPI or JSON Schema object: its keys are keywords.
    Structure,
    /// A map from names to structure.
    Names,
    /// Literal data (`default`, `enum`), left exactly as written.
    Literal,
}

pub(crate) fn child_slot(parent: Slot, key: &str, child: &Value) -> Slot {
    match parent {
        Slot::Literal => Slot::Literal,
        Slot::Names => Slot::Structure,
        _ if key == "default" || key == "enum" => Slot::Literal,
        // `parameters` is a map of names in `components` but a list in operations.
        _ if NAME_MAP_KEYS.contains(&key) && child.is_object() => Slot::Names,
        _ => Slot::Structure,
    }
}

/// Rules 3 and 6 (first half): drops prose and `x-` extensions and sorts `required` lists (whose
/// order means nothing) in every structure object of `value`.
pub(crate) fn clean(value: &mut Value, slot: Slot) {
    match value {
        Value::Object(map) => {
            if slot == Slot::Structure {
                map.retain(|key, _| !PROSE_KEYS.contains(&key.as_str()) && !key.starts_with("x-"));
                if let Some(Value::Array(required)) = map.get_mut("required") {
                    required.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                }
            }
            for (key, child) in map.iter_mut() {
                match child_slot(slot, key, child) {
                    Slot::Literal => {}
                    child_slot => clean(child, child_slot),
                }
            }
        }
        Value::Array(items) if slot != Slot::Literal => items
            .iter_mut()
            .for_each(|item| clean(item, Slot::Structure)),
        _ => {}
    }
}

/// Every `$ref` in `value` (in slot `slot`, found at `at`), with where it was found.
pub(crate) fn references(value: &Value, slot: Slot, at: &str, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = format!("{at}.{key}");
                match (slot, key.as_str(), child) {
                    (Slot::Structure, "$ref", Value::String(reference)) => {
                        found.push((reference.clone(), here))
                    }
                    (Slot::Literal, ..) => {}
                    _ => references(child, child_slot(slot, key, child), &here, found),
                }
            }
        }
        Value::Array(items) if slot != Slot::Literal => {
            for (i, item) in items.iter().enumerate() {
                references(item, Slot::Structure, &format!("{at}[{i}]"), found);
            }
        }
        _ => {}
    }
}

/// The component a `#/components/<kind>/<name>[/...]` reference points into, as (kind, name).
pub(crate) fn component_of(reference: &str) -> Result<(String, String)> {
    let mut segments = reference
        .strip_prefix("#/components/")
        .unwrap_or_default()
        .split('/');
    match (segments.next(), segments.next()) {
        (Some(kind), Some(name)) if !kind.is_empty() && !name.is_empty() => {
            Ok((kind.into(), name.into()))
        }
        _ => Err("only references to `#/components/<kind>/<name>` are supported".into()),
    }
}

/// The entries of `value` if it is an object (none otherwise).
pub(crate) fn entries(value: &Value) -> impl Iterator<Item = (&String, &Value)> {
    value.as_object().into_iter().flatten()
}

/// The elements of `value` if it is an array (none otherwise).
pub(crate) fn elements(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

/// A string as it is; any other value as JSON.
pub(crate) fn text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string)
}

/// Every operation of a `paths` map, as (path, method, operation).
pub(crate) fn operations(paths: &Map<String, Value>) -> Vec<(&str, &str, &Value)> {
    let items = paths
        .iter()
        .filter_map(|(path, item)| Some((path, item.as_object()?)));
    items
        .flat_map(|(path, item)| {
            item.iter()
                .map(move |(method, op)| (path.as_str(), method.as_str(), op))
        })
        .filter(|(_, method, _)| METHODS.contains(method))
        .collect()
}

/// Every operation of a `paths` map, mutably.
pub(crate) fn operations_mut(paths: &mut Map<String, Value>) -> Vec<(&str, &str, &mut Value)> {
    let items = paths
        .iter_mut()
        .filter_map(|(path, item)| Some((path, item.as_object_mut()?)));
    items
        .flat_map(|(path, item)| {
            item.iter_mut()
                .map(move |(method, op)| (path.as_str(), method.as_str(), op))
        })
        .filter(|(_, method, _)| METHODS.contains(method))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cleaning_drops_prose_and_sorts_required_but_never_touches_names_or_literal_data() {
        let mut document = json!({
            "description": "d", "summary": "s", "example": 1, "examples": {}, "externalDocs": {},
            "tags": [], "x-anything": true, "type": "object", "required": ["b", "a"],
            "properties": {
                "description": {"type": "string", "description": "gone"},
                "x-custom": {"type": "string", "x-nullable": true},
                "required": {"type": "object", "required": ["z", "y"]},
                "status": {"default": {"description": "kept", "x-k": 1, "required": ["q", "p"]}}
            },
            "allOf": [{"description": "gone", "type": "object"}],
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
        let mut expected = document.clone();
        for key in [
            "description",
            "summary",
            "example",
            "examples",
            "externalDocs",
            "tags",
            "x-anything",
        ] {
            expected.as_object_mut().unwrap().remove(key);
        }
        expected["required"] = json!(["a", "b"]);
        expected["properties"]["description"] = json!({"type": "string"});
        expected["properties"]["x-custom"] = json!({"type": "string"});
        expected["properties"]["required"]["required"] = json!(["y", "z"]);
        expected["allOf"] = json!([{"type": "object"}]);
        clean(&mut document, Slot::Structure);
        assert_eq!(document, expected);
    }
}
