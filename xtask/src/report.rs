//! The change report: what a regeneration changes, in a reviewer's terms (operations, schema
//! properties, descriptions) rather than as a text diff.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::normalize::Provenance;
use crate::openapi::{elements, entries, operations, text};
use crate::targets::carried;

/// Something a section lists: its title, and what can change about it (facet name to a short
/// text, such as `"property id"` to `"string, required"`).
struct Item {
    title: String,
    facets: BTreeMap<String, String>,
}

fn item(title: String, facets: BTreeMap<String, String>) -> Item {
    Item { title, facets }
}

/// Compares the fragment being replaced (`None` if there is none or it is unreadable) with the
/// new one, as lines of text.
pub fn compare(old: Option<&Value>, new: &Value) -> String {
    let (new_operations, new_schemas) = (operations_of(new), schemas_of(new));
    let Some(old) = old else {
        return format!(
            "No current fragment to compare with: {} operations and {} schemas are new.\n",
            new_operations.len(),
            new_schemas.len()
        );
    };
    let mut lines = Vec::new();
    let source = |fragment: &Value| match Provenance::recorded_in(fragment) {
        Ok(p) => format!(
            "{} (sha256 {})",
            p.source,
            p.sha256.get(..12).unwrap_or(&p.sha256)
        ),
        Err(_) => "(none)".to_string(),
    };
    let version = |fragment: &Value| {
        fragment["info"]["version"]
            .as_str()
            .unwrap_or("(none)")
            .to_string()
    };
    let info = [
        ("version", version(old), version(new)),
        ("source", source(old), source(new)),
    ];
    for (what, before, after) in info {
        if before != after {
            lines.push(format!("info: {what} {before} -> {after}"));
        }
    }
    let operations = section("operations", &operations_of(old), &new_operations, true);
    let schemas = section("schemas", &schemas_of(old), &new_schemas, true);
    if operations.is_empty() && schemas.is_empty() {
        lines.push("No changes to operations or schemas.".to_string());
    }
    lines.extend(operations);
    lines.extend(schemas);
    // Which descriptions appeared, went or were reworded, by name (the texts are in the diff).
    let (old_texts, new_texts) = (descriptions_of(old), descriptions_of(new));
    lines.extend(section("descriptions", &old_texts, &new_texts, false));
    lines.iter().map(|line| format!("{line}\n")).collect()
}

/// `+`, `-` and `~` lines for one kind of item under a heading with the counts (with the facets
/// that changed under each `~` if `details`); nothing when nothing changed.
fn section(
    heading: &str,
    old: &BTreeMap<String, Item>,
    new: &BTreeMap<String, Item>,
    details: bool,
) -> Vec<String> {
    let only = |sign, these: &BTreeMap<String, Item>, those: &BTreeMap<String, Item>| {
        let only: Vec<String> = these
            .iter()
            .filter(|(key, _)| !those.contains_key(*key))
            .map(|(_, item)| format!("  {sign} {}", item.title))
            .collect();
        only
    };
    let (added, removed) = (only('+', new, old), only('-', old, new));
    let mut changed = Vec::new();
    let mut changed_count = 0;
    for (key, item) in new {
        let Some(before) = old.get(key) else {
            continue;
        };
        let changes = facet_changes(&before.facets, &item.facets);
        if !changes.is_empty() {
            changed_count += 1;
            changed.push(format!("  ~ {}", item.title));
            if details {
                changed.extend(changes.into_iter().map(|change| format!("      {change}")));
            }
        }
    }
    if added.is_empty() && removed.is_empty() && changed.is_empty() {
        return Vec::new();
    }
    let counts = format!(
        "{} added, {} removed, {changed_count} changed",
        added.len(),
        removed.len()
    );
    let mut lines = vec![format!("{heading}: {counts} ({} in all)", new.len())];
    lines.extend(added.into_iter().chain(removed).chain(changed));
    lines
}

/// One line per facet added, removed or changed; an enum's change lists the values added and
/// removed.
fn facet_changes(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<String> {
    let mut changes = Vec::new();
    for (facet, after) in new {
        match old.get(facet) {
            None => changes.push(format!("+ {facet}: {after}")),
            Some(before) if before == after => {}
            Some(before) if facet == "enum" => {
                let (before, after): (Vec<&str>, Vec<&str>) =
                    (before.split(", ").collect(), after.split(", ").collect());
                let added = after
                    .iter()
                    .filter(|v| !before.contains(v))
                    .map(|v| format!("+{v}"));
                let removed = before
                    .iter()
                    .filter(|v| !after.contains(v))
                    .map(|v| format!("-{v}"));
                changes.push(format!(
                    "~ enum {}",
                    added.chain(removed).collect::<Vec<_>>().join(" ")
                ));
            }
            Some(before) => changes.push(format!("~ {facet}: {before} -> {after}")),
        }
    }
    let gone = old.keys().filter(|facet| !new.contains_key(*facet));
    changes.extend(gone.map(|facet| format!("- {facet}")));
    changes
}

/// The operations of a fragment by operationId (or `METHOD path` without one), each titled
/// `id: METHOD path`, with their route, parameters, request body and responses as facets.
fn operations_of(fragment: &Value) -> BTreeMap<String, Item> {
    let mut found = BTreeMap::new();
    let empty = serde_json::Map::new();
    let paths = fragment["paths"].as_object().unwrap_or(&empty);
    for (path, method, operation) in operations(paths) {
        let route = format!("{} {path}", method.to_uppercase());
        let key = operation["operationId"]
            .as_str()
            .map_or_else(|| route.clone(), str::to_string);
        let mut facets = BTreeMap::new();
        let listed = [&paths[path]["parameters"], &operation["parameters"]];
        for parameter in listed.into_iter().flat_map(elements) {
            let parameter = resolve(fragment, parameter);
            let facet = format!(
                "parameter {} {}",
                text(&parameter["in"]),
                text(&parameter["name"])
            );
            let mut summary = type_of(&parameter["schema"]);
            if parameter["required"] == true {
                summary.push_str(", required");
            }
            facets.insert(facet, summary);
        }
        if let Some(body) = operation.get("requestBody") {
            facets.insert("request body".to_string(), body_type(fragment, body));
        }
        for (status, response) in entries(&operation["responses"]) {
            facets.insert(format!("response {status}"), body_type(fragment, response));
        }
        facets.insert("route".to_string(), route.clone());
        found.insert(key.clone(), item(format!("{key}: {route}"), facets));
    }
    found
}

/// The schemas of a fragment, titled `Name (type)`, with their type, enum and properties (type,
/// requiredness, nullability, enum) as facets.
fn schemas_of(fragment: &Value) -> BTreeMap<String, Item> {
    let mut found = BTreeMap::new();
    for (name, schema) in entries(&fragment["components"]["schemas"]) {
        let mut facets = BTreeMap::from([("type".to_string(), type_of(schema))]);
        if let Some(values) = enum_values(schema) {
            facets.insert("enum".to_string(), values);
        }
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        for (property, property_schema) in entries(&schema["properties"]) {
            let mut summary = type_of(property_schema);
            if required.contains(&Value::String(property.clone())) {
                summary.push_str(", required");
            }
            if property_schema["nullable"] == true {
                summary.push_str(", nullable");
            }
            if let Some(values) = enum_values(property_schema) {
                summary.push_str(&format!(", enum [{values}]"));
            }
            facets.insert(format!("property {property}"), summary);
        }
        found.insert(
            name.clone(),
            item(format!("{name} ({})", type_of(schema)), facets),
        );
    }
    found
}

/// The descriptions a fragment carries, by the name of what they describe.
fn descriptions_of(fragment: &Value) -> BTreeMap<String, Item> {
    let texts = carried(fragment).into_iter();
    texts
        .map(|(name, text)| {
            (
                name.clone(),
                item(name, BTreeMap::from([(String::new(), text)])),
            )
        })
        .collect()
}

fn enum_values(schema: &Value) -> Option<String> {
    let values: Vec<String> = schema["enum"].as_array()?.iter().map(text).collect();
    Some(values.join(", "))
}

/// Follows a `$ref` inside the fragment; anything else is returned as is.
fn resolve<'a>(fragment: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => fragment.pointer(pointer).unwrap_or(&Value::Null),
        None => value,
    }
}

/// The type a request body or response carries: its JSON schema's type, other media types'
/// names, or `no body`.
fn body_type(fragment: &Value, body: &Value) -> String {
    let content = resolve(fragment, body)["content"]
        .as_object()
        .filter(|c| !c.is_empty());
    match content {
        None => "no body".to_string(),
        Some(content) => match content.get("application/json") {
            Some(media) => type_of(&media["schema"]),
            None => content.keys().cloned().collect::<Vec<_>>().join(", "),
        },
    }
}

/// A short type name: a referenced schema's name, `array<T>`, `map<T>`, `string(format)`, ...
fn type_of(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        return reference
            .rsplit('/')
            .next()
            .unwrap_or(reference)
            .to_string();
    }
    for (keyword, joiner) in [("allOf", " & "), ("oneOf", " | "), ("anyOf", " | ")] {
        if let Some(members) = schema[keyword].as_array() {
            return members.iter().map(type_of).collect::<Vec<_>>().join(joiner);
        }
    }
    match (schema["type"].as_str(), schema["format"].as_str()) {
        (Some("array"), _) => format!("array<{}>", type_of(&schema["items"])),
        (Some("object"), _) if schema["additionalProperties"].is_object() => {
            format!("map<{}>", type_of(&schema["additionalProperties"]))
        }
        (Some(kind), Some(format)) => format!("{kind}({format})"),
        (Some(kind), None) => kind.to_string(),
        (None, _) => "any".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fragment() -> Value {
        json!({
            "info": {"version": "2026-05-12",
                     "x-clerk-rbac-provenance": {"source": "a.yml", "sha256": "aaaaaaaaaaaaaaaa"}},
            "paths": {
                "/roles": {"get": {
                    "operationId": "ListRoles",
                    "parameters": [{"$ref": "#/components/parameters/Limit"},
                                   {"name": "query", "in": "query", "schema": {"type": "string"}}],
                    "responses": {"200": {"$ref": "#/components/responses/Roles"},
                                  "404": {"description": ""}}
                }},
                "/roles/{id}": {
                    "parameters": [{"name": "id", "in": "path", "required": true,
                                    "schema": {"type": "string"}}],
                    "delete": {"operationId": "DeleteRole", "responses": {}},
                    "patch": {"operationId": "UpdateRole",
                        "requestBody": {"content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/UpdateRoleBody"}}}},
                        "responses": {"200": {"content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Role"}}}}}}
                }
            },
            "components": {
                "parameters": {"Limit": {"name": "limit", "in": "query",
                    "schema": {"type": "integer", "format": "int64"}}},
                "responses": {"Roles": {"content": {"application/json": {"schema": {
                    "type": "array", "items": {"$ref": "#/components/schemas/Role"}}}}}},
                "schemas": {
                    "Role": {"type": "object", "required": ["id", "kind"], "properties": {
                        "id": {"type": "string"},
                        "kind": {"$ref": "#/components/schemas/RoleKind"},
                        "note": {"type": "string", "nullable": true}
                    }},
                    "RoleKind": {"type": "string", "enum": ["system", "custom"]},
                    "UpdateRoleBody": {"type": "object", "properties": {"name": {"type": "string"}}}
                }
            }
        })
    }

    #[test]
    fn without_changes_or_without_a_fragment_the_report_is_one_line() {
        assert_eq!(
            compare(Some(&fragment()), &fragment()),
            "No changes to operations or schemas.\n"
        );
        assert_eq!(
            compare(None, &fragment()),
            "No current fragment to compare with: 3 operations and 3 schemas are new.\n"
        );
    }

    #[test]
    fn operations_added_removed_and_changed_are_listed_with_what_changed() {
        let mut new = fragment();
        new["info"] = json!({"version": "2026-06-01",
            "x-clerk-rbac-provenance": {"source": "b.yml", "sha256": "bbbbbbbbbbbbbbbbbb"}});
        let paths = new["paths"].as_object_mut().unwrap();
        paths["/roles/{id}"]
            .as_object_mut()
            .unwrap()
            .remove("delete");
        paths.insert(
            "/roles/{id}/copy".into(),
            json!({"post": {"operationId": "CopyRole"}}),
        );
        let list = paths.remove("/roles").unwrap();
        paths.insert("/organization_roles".into(), list);
        let list = &mut paths["/organization_roles"]["get"];
        list["parameters"][1]["schema"] = json!({"type": "integer"});
        list["parameters"].as_array_mut().unwrap().remove(0);
        list["responses"]["404"] = json!({"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Role"}}}});
        list["responses"]["422"] = json!({"description": ""});
        let update = &mut paths["/roles/{id}"]["patch"];
        update["requestBody"]["content"]["application/json"]["schema"]["$ref"] =
            json!("#/components/schemas/Role");
        assert_eq!(
            compare(Some(&fragment()), &new),
            "info: version 2026-05-12 -> 2026-06-01\n\
             info: source a.yml (sha256 aaaaaaaaaaaa) -> b.yml (sha256 bbbbbbbbbbbb)\n\
             operations: 1 added, 1 removed, 2 changed (3 in all)\n\
             \x20 + CopyRole: POST /roles/{id}/copy\n\
             \x20 - DeleteRole: DELETE /roles/{id}\n\
             \x20 ~ ListRoles: GET /organization_roles\n\
             \x20     ~ parameter query query: string -> integer\n\
             \x20     ~ response 404: no body -> Role\n\
             \x20     + response 422: no body\n\
             \x20     ~ route: GET /roles -> GET /organization_roles\n\
             \x20     - parameter query limit\n\
             \x20 ~ UpdateRole: PATCH /roles/{id}\n\
             \x20     ~ request body: UpdateRoleBody -> Role\n"
        );
    }

    #[test]
    fn schemas_properties_enums_and_descriptions_that_changed_are_listed() {
        let mut old = fragment();
        old["components"]["schemas"]["Role"]["description"] = json!("A role.");
        old["components"]["schemas"]["Role"]["properties"]["id"]["description"] = json!("ID.");
        let mut new = fragment();
        new["components"]["schemas"]["Role"]["description"] = json!("An organization role.");
        new["paths"]["/roles"]["get"]["summary"] = json!("List roles");
        let schemas = new["components"]["schemas"].as_object_mut().unwrap();
        schemas.remove("UpdateRoleBody");
        schemas.insert("Permission".into(), json!({"type": "object"}));
        schemas["RoleKind"]["enum"] = json!(["system", "managed"]);
        let role = &mut schemas["Role"];
        role["required"] = json!(["id", "note"]);
        role["properties"]["note"] = json!({"type": "integer"});
        role["properties"]["created_at"] = json!({"type": "integer", "format": "int64"});
        role["properties"]["state"] = json!({"type": "string", "enum": ["on"]});
        assert_eq!(
            compare(Some(&old), &new),
            "schemas: 1 added, 1 removed, 2 changed (3 in all)\n\
             \x20 + Permission (object)\n\
             \x20 - UpdateRoleBody (object)\n\
             \x20 ~ Role (object)\n\
             \x20     + property created_at: integer(int64)\n\
             \x20     ~ property kind: RoleKind, required -> RoleKind\n\
             \x20     ~ property note: string, nullable -> integer, required\n\
             \x20     + property state: string, enum [on]\n\
             \x20 ~ RoleKind (string)\n\
             \x20     ~ enum +managed -custom\n\
             descriptions: 1 added, 1 removed, 1 changed (2 in all)\n\
             \x20 + ListRoles\n\
             \x20 - Role.id\n\
             \x20 ~ Role\n"
        );
    }

    #[test]
    fn type_names_are_short_and_readable() {
        let array = json!({"type": "array", "items": {"additionalProperties": {"type": "string"}, "type": "object"}});
        assert_eq!(type_of(&array), "array<map<string>>");
        let one_of = json!({"oneOf": [{"$ref": "#/components/schemas/A"}, {"type": "integer", "format": "int64"}]});
        assert_eq!(type_of(&one_of), "A | integer(int64)");
    }
}
