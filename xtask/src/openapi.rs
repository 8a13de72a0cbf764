//! The bits of OpenAPI 3.0 structure that several steps need: which keys hold operations, which
//! hold maps of names, which hold literal data, and how local `$ref`s are spelled.

use serde_json::{Map, Value};

/// The HTTP methods whose operations are kept. OpenAPI also allows `head`, `options` and
/// `trace`, which Clerk's API does not use and the generated client would not need.
pub const METHODS: &[&str] = &["get", "put", "post", "delete", "patch"];

/// Keys whose value maps *names* (properties, paths, status codes, media types, component names)
/// to objects. Inside such a map a key is data, so a property called `description` or `example`
/// must survive the stripping of prose.
pub const NAME_MAP_KEYS: &[&str] = &[
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

/// Keys whose value is literal data (a schema's `default` or `enum` values), not OpenAPI
/// structure: nothing inside is stripped, sorted or followed as a reference.
pub const LITERAL_KEYS: &[&str] = &["default", "enum"];

/// How a JSON value inside an OpenAPI document is to be read. The document's root is
/// [`Slot::Structure`]; [`child_slot`] says what each value below it is.
///
/// Deciding this from the position, not only from the nearest key, matters for names that look
/// like keywords: in `properties: {properties: {...}}` the inner object is a property's schema,
/// and in `properties: {default: {...}}` it is not a default value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// An OpenAPI or JSON Schema object: its keys are keywords.
    Structure,
    /// A map whose keys are names chosen by the API's authors.
    Names,
    /// Literal data, left exactly as written.
    Literal,
}

/// The slot of the value found under `key` in an object of slot `parent` (for array elements,
/// see [`element_slot`]).
pub fn child_slot(parent: Slot, key: &str, child: &Value) -> Slot {
    match parent {
        Slot::Literal => Slot::Literal,
        // Whatever a name maps to (a property's schema, a path item, a response) is structure.
        Slot::Names => Slot::Structure,
        Slot::Structure if LITERAL_KEYS.contains(&key) => Slot::Literal,
        // `parameters` is a name map in `components` but a list in operations.
        Slot::Structure if NAME_MAP_KEYS.contains(&key) && child.is_object() => Slot::Names,
        Slot::Structure => Slot::Structure,
    }
}

/// The slot of the elements of an array that sits in slot `array`.
pub fn element_slot(array: Slot) -> Slot {
    match array {
        Slot::Literal => Slot::Literal,
        Slot::Structure | Slot::Names => Slot::Structure,
    }
}

/// `#/components/schemas/<name>`.
pub fn schema_ref(name: &str) -> String {
    format!("#/components/schemas/{name}")
}

/// The component a local `$ref` points into.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ComponentRef {
    /// `schemas`, `parameters`, `responses`, `requestBodies`, ...
    pub kind: String,
    /// The component's name.
    pub name: String,
}

/// Reads `#/components/<kind>/<name>[/...]`. A reference that goes deeper into a component still
/// needs the whole component, so only its first two segments count. Anything else (another
/// file, another part of the document) is refused with the reason.
pub fn parse_component_ref(reference: &str) -> Result<ComponentRef, String> {
    let Some(pointer) = reference.strip_prefix("#/") else {
        return Err("only references within the same document (`#/...`) are supported".into());
    };
    let mut segments = pointer.split('/').map(unescape_pointer_segment);
    match (segments.next().as_deref(), segments.next(), segments.next()) {
        (Some("components"), Some(kind), Some(name)) if !kind.is_empty() && !name.is_empty() => {
            Ok(ComponentRef { kind, name })
        }
        _ => Err("only references to `#/components/<kind>/<name>` are supported".into()),
    }
}

fn unescape_pointer_segment(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// Every operation of a `paths` map, as (path, method, operation).
pub fn operations(paths: &Map<String, Value>) -> Vec<(&str, &str, &Value)> {
    let mut found = Vec::new();
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, operation) in item {
            if METHODS.contains(&method.as_str()) {
                found.push((path.as_str(), method.as_str(), operation));
            }
        }
    }
    found
}

/// Every operation of a `paths` map, mutably, as (path, method, operation).
pub fn operations_mut(paths: &mut Map<String, Value>) -> Vec<(&str, &str, &mut Value)> {
    let mut found = Vec::new();
    for (path, item) in paths {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item {
            if METHODS.contains(&method.as_str()) {
                found.push((path.as_str(), method.as_str(), operation));
            }
        }
    }
    found
}

/// Collects every reference in `value` (a value in slot `slot`, found at `at`) as (reference,
/// where it was found). Besides `$ref`, a discriminator's `mapping` names schemas too, by
/// reference or by bare schema name, and a fragment that left those out would not resolve.
pub fn references_in(value: &Value, slot: Slot, at: &str, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = format!("{at}.{key}");
                if slot == Slot::Structure {
                    if let ("$ref", Value::String(reference)) = (key.as_str(), child) {
                        found.push((reference.clone(), here));
                        continue;
                    }
                    if key == "discriminator" {
                        discriminator_references(child, &here, found);
                    }
                }
                references_in(child, child_slot(slot, key, child), &here, found);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                references_in(item, element_slot(slot), &format!("{at}[{i}]"), found);
            }
        }
        _ => {}
    }
}

fn discriminator_references(discriminator: &Value, at: &str, found: &mut Vec<(String, String)>) {
    let mapping = discriminator.get("mapping").and_then(Value::as_object);
    for target in mapping.into_iter().flat_map(|m| m.values()) {
        let Some(target) = target.as_str() else {
            continue;
        };
        // A bare name means a schema of this document; anything with a slash is a reference
        // (and is refused later if it leaves the document).
        let reference = if target.starts_with('#') || target.contains('/') {
            target.to_string()
        } else {
            schema_ref(target)
        };
        found.push((reference, format!("{at}.mapping")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn component_refs_parse_with_pointer_escapes() {
        assert_eq!(
            parse_component_ref("#/components/schemas/Role"),
            Ok(ComponentRef {
                kind: "schemas".into(),
                name: "Role".into()
            })
        );
        assert_eq!(
            parse_component_ref("#/components/schemas/a~1b~0c/properties/x"),
            Ok(ComponentRef {
                kind: "schemas".into(),
                name: "a/b~c".into()
            })
        );
    }

    #[test]
    fn refs_outside_components_or_the_document_are_refused() {
        assert!(parse_component_ref("other.yml#/components/schemas/A").is_err());
        assert!(parse_component_ref("#/paths/~1users").is_err());
        assert!(parse_component_ref("#/components/schemas").is_err());
    }

    #[test]
    fn references_are_found_with_their_location_but_not_inside_literal_data() {
        let value = json!({
            "a": {"$ref": "#/components/schemas/A"},
            "list": [{"$ref": "#/components/parameters/P"}],
            "default": {"$ref": "#/components/schemas/NotAReference"},
            "discriminator": {"mapping": {"x": "#/components/schemas/X", "y": "Y"}}
        });
        let mut found = Vec::new();
        references_in(&value, Slot::Structure, "s", &mut found);
        found.sort();
        assert_eq!(
            found,
            vec![
                (
                    "#/components/parameters/P".to_string(),
                    "s.list[0].$ref".to_string()
                ),
                ("#/components/schemas/A".to_string(), "s.a.$ref".to_string()),
                (
                    "#/components/schemas/X".to_string(),
                    "s.discriminator.mapping".to_string()
                ),
                (
                    "#/components/schemas/Y".to_string(),
                    "s.discriminator.mapping".to_string()
                ),
            ]
        );
    }

    #[test]
    fn keyword_like_names_are_read_by_position() {
        let schema = json!({"type": "object"});
        let names = child_slot(Slot::Structure, "properties", &json!({}));
        assert_eq!(names, Slot::Names);
        // A property called `properties` or `default` holds a schema, not a map or a value.
        assert_eq!(child_slot(names, "properties", &schema), Slot::Structure);
        assert_eq!(child_slot(names, "default", &schema), Slot::Structure);
        assert_eq!(
            child_slot(Slot::Structure, "default", &schema),
            Slot::Literal
        );
        // Operation parameters are a list of structure; component parameters a map of names.
        assert_eq!(
            child_slot(Slot::Structure, "parameters", &json!([])),
            Slot::Structure
        );
        assert_eq!(element_slot(Slot::Literal), Slot::Literal);
    }

    #[test]
    fn references_under_keyword_like_property_names_are_found() {
        let schema = json!({"properties": {
            "default": {"$ref": "#/components/schemas/D"},
            "discriminator": {"items": {"$ref": "#/components/schemas/E"}}
        }});
        let mut found = Vec::new();
        references_in(&schema, Slot::Structure, "", &mut found);
        let mut references: Vec<_> = found.into_iter().map(|(r, _)| r).collect();
        references.sort();
        assert_eq!(
            references,
            ["#/components/schemas/D", "#/components/schemas/E"]
        );
    }

    #[test]
    fn operations_skip_path_level_keys() {
        let paths = json!({"/a": {"parameters": [], "get": {"operationId": "A"}, "summary": "s"}});
        let ops = operations(paths.as_object().unwrap());
        assert_eq!(ops.len(), 1);
        assert_eq!((ops[0].0, ops[0].1), ("/a", "get"));
    }
}
