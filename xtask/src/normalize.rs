//! From Clerk's spec (or an earlier fragment) to the fragment that `build.rs` feeds to
//! progenitor: rule 1 selects the RBAC operations, 2 takes the components they reach, 3 strips
//! Clerk's prose, 4 names inline request bodies, 5 loosens response schemas, 6 sorts `required`
//! lists and gives responses their empty description, and 7 records the provenance.

use serde_json::{Map, Value, json};

use crate::Result;
use crate::openapi::{METHODS, Slot, clean, component_of, operations_mut, references};
use crate::schemas::{hoist_request_bodies, loosen_response_schemas};

/// Rule 1: the organization RBAC part of Clerk's Backend API is every operation on one of these
/// paths or below it (by whole segments: `/role_sets_archive` is not below `/role_sets`).
pub const PATH_PREFIXES: &[&str] = &[
    "/organization_permissions",
    "/organization_roles",
    "/role_sets",
];

/// Rule 1, beyond the prefixes: single operations the fragment holds too, as (path, method).
/// The instance's organization settings say what Clerk allows (role and role-set quotas, the
/// creator and domain default roles); their PATCH changes the whole instance and stays out.
pub const OPERATIONS: &[(&str, &str)] = &[("/instance/organization_settings", "get")];

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
    /// The provenance a fragment records, so that re-normalizing the fragment keeps it.
    pub fn recorded_in(fragment: &Value) -> Result<Provenance> {
        let recorded = &fragment["info"][PROVENANCE_KEY];
        match (recorded["source"].as_str(), recorded["sha256"].as_str()) {
            (Some(source), Some(sha256)) => Ok(Provenance {
                source: source.into(),
                sha256: sha256.into(),
            }),
            _ => Err(format!(
                "the fragment has no info.{PROVENANCE_KEY} with a source and a sha256"
            )),
        }
    }
}

/// Applies rules 1 to 7 to a spec. Prose is stripped first, so that a `$ref` hiding in an
/// extension cannot pull a component in.
pub fn normalize(spec: &Value, provenance: &Provenance) -> Result<Value> {
    if !spec.is_object() {
        return Err("the spec is not an OpenAPI document: its top level is not a mapping".into());
    }
    let openapi = spec["openapi"]
        .as_str()
        .ok_or("the spec has no `openapi` version field")?;
    // progenitor reads OpenAPI 3.0 only; failing here is clearer than failing in build.rs.
    if !openapi.starts_with("3.0.") {
        return Err(format!(
            "the spec is OpenAPI {openapi}, but progenitor reads OpenAPI 3.0.x only"
        ));
    }
    let version = spec["info"]["version"]
        .as_str()
        .ok_or("the spec has no `info.version` string")?;
    let mut spec = spec.clone();
    clean(&mut spec, Slot::Structure);
    let all_paths = spec["paths"]
        .as_object()
        .ok_or("the spec has no `paths` mapping")?;
    let paths = select(all_paths)?;
    let components = closure(&spec, &paths)?;
    let mut fragment = json!({
        "openapi": openapi,
        "info": {
            "title": FRAGMENT_TITLE,
            "version": version,
            PROVENANCE_KEY: {"source": provenance.source, "sha256": provenance.sha256},
        },
        "paths": paths,
        "components": components,
    });
    if let Some(servers) = spec.get("servers") {
        fragment["servers"] = servers.clone();
    }
    hoist_request_bodies(&mut fragment)?;
    loosen_response_schemas(&mut fragment)?;
    describe_responses(&mut fragment);
    Ok(fragment)
}

/// Rule 1: the selected paths, each with its operations and path-level `parameters` only. A spec
/// without any such operation is not Clerk's Backend API spec.
fn select(paths: &Map<String, Value>) -> Result<Map<String, Value>> {
    let mut selected = Map::new();
    for (path, item) in paths {
        let every_method = PATH_PREFIXES.iter().any(|prefix| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        });
        let wanted = |method: &str| {
            METHODS.contains(&method)
                && (every_method || OPERATIONS.contains(&(path.as_str(), method)))
        };
        if !every_method && !OPERATIONS.iter().any(|(single, _)| single == path) {
            continue;
        }
        let item = item
            .as_object()
            .ok_or_else(|| format!("paths.{path} is not an object"))?;
        let kept: Map<String, Value> = item
            .iter()
            .filter(|(key, _)| wanted(key) || *key == "parameters")
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        if kept.keys().any(|key| key != "parameters") {
            selected.insert(path.clone(), Value::Object(kept));
        }
    }
    if selected.is_empty() {
        return Err(format!(
            "the spec has no operations under {}; is it Clerk's Backend API spec?",
            PATH_PREFIXES.join(", ")
        ));
    }
    Ok(selected)
}

/// Rule 2: every component the selected paths reach through `$ref`s, directly or through other
/// components, grouped by kind. A reference to nothing is an error naming it and its place.
fn closure(spec: &Value, paths: &Map<String, Value>) -> Result<Map<String, Value>> {
    let mut pending = Vec::new();
    for (path, item) in paths {
        references(
            item,
            Slot::Structure,
            &format!("paths.{path}"),
            &mut pending,
        );
    }
    let mut components = Map::new();
    while let Some((reference, at)) = pending.pop() {
        let (kind, name) = component_of(&reference)
            .map_err(|why| format!("unsupported $ref {reference:?} at {at}: {why}"))?;
        if spec.pointer(&reference[1..]).is_none() {
            return Err(format!(
                "dangling $ref {reference:?} at {at}: the spec has no such component"
            ));
        }
        let group = components.entry(kind.clone()).or_insert_with(|| json!({}));
        if group.get(&name).is_none() {
            let component = &spec["components"][&kind][&name];
            references(
                component,
                Slot::Structure,
                &format!("components.{kind}.{name}"),
                &mut pending,
            );
            group[&name] = component.clone();
        }
    }
    Ok(components)
}

/// Rule 6, second half: OpenAPI requires a `description` on every Response Object, and rule 3
/// removed them, so each response that is not a `$ref` gets an empty one.
fn describe_responses(fragment: &mut Value) {
    let mut responses: Vec<&mut Value> = Vec::new();
    let Some(fragment) = fragment.as_object_mut() else {
        return;
    };
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
            response.insert("description".into(), json!(""));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::entries;
    use crate::regen::to_fragment_text;
    use crate::spec::parse_document;

    fn provenance() -> Provenance {
        Provenance {
            source: "spec.yml".into(),
            sha256: "00ff".into(),
        }
    }

    /// The spec of the end-to-end tests, whose fragment they compare byte for byte.
    fn mini_spec() -> Value {
        parse_document(
            include_bytes!("../tests/fixtures/mini-spec.yml"),
            "mini-spec.yml",
        )
        .unwrap()
    }

    #[test]
    fn the_fragment_is_a_fixed_point_whatever_the_key_order() {
        let once = normalize(&mini_spec(), &provenance()).unwrap();
        assert_eq!(Provenance::recorded_in(&once), Ok(provenance()));
        let twice = normalize(&once, &provenance()).unwrap();
        assert_eq!(to_fragment_text(&twice), to_fragment_text(&once));
        fn reversed(value: &Value) -> Value {
            match value {
                Value::Object(map) => map
                    .iter()
                    .rev()
                    .map(|(k, v)| (k.clone(), reversed(v)))
                    .collect(),
                Value::Array(items) => items.iter().map(reversed).collect(),
                other => other.clone(),
            }
        }
        let shuffled = normalize(&reversed(&mini_spec()), &provenance()).unwrap();
        assert_eq!(to_fragment_text(&shuffled), to_fragment_text(&once));
    }

    #[test]
    fn header_problems_are_clear_errors() {
        let mut spec = mini_spec();
        spec["openapi"] = json!("3.1.0");
        let err = normalize(&spec, &provenance()).unwrap_err();
        assert_eq!(
            err,
            "the spec is OpenAPI 3.1.0, but progenitor reads OpenAPI 3.0.x only"
        );
        for (edit, message) in [
            (json!({"info": {"title": "x"}}), "info.version"),
            (json!({"paths": null}), "no `paths`"),
        ] {
            let mut spec = mini_spec();
            for (key, value) in entries(&edit) {
                spec[key] = value.clone();
            }
            let err = normalize(&spec, &provenance()).unwrap_err();
            assert!(err.contains(message), "{err}");
        }
        let err = normalize(&json!("just text"), &provenance()).unwrap_err();
        assert!(err.contains("not an OpenAPI document"), "{err}");
    }

    #[test]
    fn selection_keeps_whole_segments_single_operations_and_path_parameters_only() {
        let paths = json!({
            "/organization_roles/{id}": {
                "summary": "dropped",
                "parameters": [{"name": "id", "in": "path"}],
                "get": {"operationId": "GetRole"},
                "head": {"operationId": "HeadRole"}
            },
            "/role_sets/{id}/empty": {"parameters": []},
            "/role_sets_archive": {"get": {}},
            "/users": {"get": {"operationId": "ListUsers"}},
            "/instance/organization_settings": {
                "get": {"operationId": "GetSettings"},
                "patch": {"operationId": "UpdateSettings"}
            }
        });
        let selected = select(paths.as_object().unwrap()).unwrap();
        assert_eq!(
            Value::Object(selected),
            json!({
                "/organization_roles/{id}": {
                    "parameters": [{"name": "id", "in": "path"}],
                    "get": {"operationId": "GetRole"}
                },
                "/instance/organization_settings": {"get": {"operationId": "GetSettings"}}
            })
        );
        let err = select(json!({"/users": {"get": {}}}).as_object().unwrap()).unwrap_err();
        assert!(
            err.contains("no operations under /organization_permissions"),
            "{err}"
        );
    }

    #[test]
    fn the_closure_follows_references_and_refuses_those_it_cannot_follow() {
        let spec = json!({"components": {"schemas": {
            "Outer": {"properties": {"inner": {"$ref": "#/components/schemas/Inner/properties/x"}}},
            "Inner": {"properties": {"x": {"items": {"$ref": "#/components/schemas/Leaf"}}}},
            "Leaf": {"type": "string", "default": {"$ref": "#/components/schemas/NotOne"}},
            "Hidden": {"type": "string"},
            "Broken": {"$ref": "#/components/schemas/Gone"}
        }}});
        let reaching = |target: &str| {
            let paths = json!({"/role_sets": {"get": {"responses": {"200": {"$ref": target}}}}});
            closure(&spec, paths.as_object().unwrap())
        };
        let components = reaching("#/components/schemas/Outer").unwrap();
        let mut names: Vec<&String> = components["schemas"].as_object().unwrap().keys().collect();
        names.sort();
        assert_eq!(names, ["Inner", "Leaf", "Outer"]);
        let err = reaching("#/components/schemas/Broken").unwrap_err();
        assert_eq!(
            err,
            "dangling $ref \"#/components/schemas/Gone\" at components.schemas.Broken.$ref: the \
             spec has no such component"
        );
        let err = reaching("common.yml#/components/responses/Error").unwrap_err();
        assert!(err.starts_with("unsupported $ref \"common.yml#"), "{err}");
    }
}
