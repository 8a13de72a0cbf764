//! The change report: what a regeneration changes in the fragment, in terms a reviewer cares
//! about (operations, schema properties and which descriptions changed) rather than as a text
//! diff.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

use crate::descriptions::carried;
use crate::normalize::Provenance;
use crate::openapi::operations;

/// What changed between the fragment being replaced and the new one, as readable lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    lines: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// Compares the fragment being replaced (`None` if there is none, or it could not be read) with
/// the new one.
pub fn compare(old: Option<&Value>, new: &Value) -> Report {
    let new = Summary::of(new);
    let Some(old) = old.map(Summary::of) else {
        return Report {
            lines: vec![format!(
                "No current fragment to compare with: {} operations and {} schemas are new.",
                new.operations.len(),
                new.schemas.len()
            )],
        };
    };
    let mut lines = Vec::new();
    if old.version != new.version {
        lines.push(format!(
            "info: version {} -> {}",
            old.version.as_deref().unwrap_or("(none)"),
            new.version.as_deref().unwrap_or("(none)")
        ));
    }
    if old.provenance != new.provenance {
        lines.push(format!(
            "info: source {} -> {}",
            describe_provenance(old.provenance.as_ref()),
            describe_provenance(new.provenance.as_ref())
        ));
    }
    let operations = section(
        "operations",
        &old.operations,
        &new.operations,
        |name, op| format!("{name}: {} {}", op.method.to_uppercase(), op.path),
    );
    let schemas = section("schemas", &old.schemas, &new.schemas, |name, schema| {
        format!("{name} ({})", schema.kind)
    });
    if operations.is_empty() && schemas.is_empty() {
        lines.push("No changes to operations or schemas.".to_string());
    }
    lines.extend(operations);
    lines.extend(schemas);
    lines.extend(description_changes(&old.descriptions, &new.descriptions));
    Report { lines }
}

/// Which descriptions appeared, went or were reworded, by name (the texts are in the diff).
fn description_changes(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<String> {
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let (mut added, mut removed, mut changed) = (Vec::new(), Vec::new(), Vec::new());
    for name in names {
        match (old.get(name), new.get(name)) {
            (None, Some(_)) => added.push(format!("  + {name}")),
            (Some(_), None) => removed.push(format!("  - {name}")),
            (Some(before), Some(after)) if before != after => changed.push(format!("  ~ {name}")),
            _ => {}
        }
    }
    if added.is_empty() && removed.is_empty() && changed.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![format!(
        "descriptions: {} added, {} removed, {} changed ({} in all)",
        added.len(),
        removed.len(),
        changed.len(),
        new.len()
    )];
    lines.extend(added);
    lines.extend(removed);
    lines.extend(changed);
    lines
}

fn describe_provenance(provenance: Option<&Provenance>) -> String {
    match provenance {
        Some(p) => {
            let short: String = p.sha256.chars().take(12).collect();
            format!("{} (sha256 {short})", p.source)
        }
        None => "(none)".to_string(),
    }
}

/// Something whose changes can be listed: operations and schemas.
trait Changes {
    /// One line per change, empty if there is none.
    fn changes_from(&self, old: &Self) -> Vec<String>;
}

/// `+`, `-` and `~` lines for one kind of item, under a heading with the counts; empty when
/// nothing changed.
fn section<T: Changes>(
    heading: &str,
    old: &BTreeMap<String, T>,
    new: &BTreeMap<String, T>,
    title: impl Fn(&str, &T) -> String,
) -> Vec<String> {
    let mut added = Vec::new();
    let mut removed = Vec::new();
    let mut changed = Vec::new();
    for (name, item) in new {
        match old.get(name) {
            None => added.push(format!("  + {}", title(name, item))),
            Some(before) => {
                let changes = item.changes_from(before);
                if !changes.is_empty() {
                    changed.push(format!("  ~ {}", title(name, item)));
                    changed.extend(changes.into_iter().map(|c| format!("      {c}")));
                }
            }
        }
    }
    for (name, item) in old {
        if !new.contains_key(name) {
            removed.push(format!("  - {}", title(name, item)));
        }
    }
    if added.is_empty() && removed.is_empty() && changed.is_empty() {
        return Vec::new();
    }
    let changed_count = changed.iter().filter(|l| l.starts_with("  ~")).count();
    let mut lines = vec![format!(
        "{heading}: {} added, {} removed, {changed_count} changed ({} in all)",
        added.len(),
        removed.len(),
        new.len()
    )];
    lines.extend(added);
    lines.extend(removed);
    lines.extend(changed);
    lines
}

/// The parts of a fragment the report looks at.
struct Summary {
    version: Option<String>,
    provenance: Option<Provenance>,
    /// By operationId (or `METHOD path` for an operation without one).
    operations: BTreeMap<String, OperationSummary>,
    schemas: BTreeMap<String, SchemaSummary>,
    /// Target name to the description the fragment carries for it.
    descriptions: BTreeMap<String, String>,
}

impl Summary {
    fn of(fragment: &Value) -> Summary {
        let mut summary = Summary {
            version: fragment["info"]["version"].as_str().map(str::to_string),
            provenance: Provenance::recorded_in(fragment).ok(),
            operations: BTreeMap::new(),
            schemas: BTreeMap::new(),
            descriptions: carried(fragment),
        };
        if let Some(paths) = fragment["paths"].as_object() {
            for (path, method, operation) in operations(paths) {
                let key = match operation["operationId"].as_str() {
                    Some(id) => id.to_string(),
                    None => format!("{} {path}", method.to_uppercase()),
                };
                let path_parameters = &paths[path]["parameters"];
                let op = OperationSummary::of(fragment, path, method, operation, path_parameters);
                summary.operations.insert(key, op);
            }
        }
        if let Some(schemas) = fragment["components"]["schemas"].as_object() {
            for (name, schema) in schemas {
                summary
                    .schemas
                    .insert(name.clone(), SchemaSummary::of(schema));
            }
        }
        summary
    }
}

struct OperationSummary {
    method: String,
    path: String,
    /// `"<in> <name>"` to type and requiredness.
    parameters: BTreeMap<String, String>,
    request: String,
    /// Status code to body type.
    responses: BTreeMap<String, String>,
}

impl OperationSummary {
    fn of(
        fragment: &Value,
        path: &str,
        method: &str,
        operation: &Value,
        path_parameters: &Value,
    ) -> OperationSummary {
        let mut parameters = BTreeMap::new();
        let listed = [path_parameters, &operation["parameters"]];
        for parameter in listed.into_iter().filter_map(Value::as_array).flatten() {
            let parameter = resolve(fragment, parameter);
            let key = format!(
                "{} {}",
                parameter["in"].as_str().unwrap_or("?"),
                parameter["name"].as_str().unwrap_or("?")
            );
            let mut text = type_of(&parameter["schema"]);
            if parameter["required"] == Value::Bool(true) {
                text.push_str(", required");
            }
            parameters.insert(key, text);
        }
        let request = match operation.get("requestBody") {
            Some(body) => body_type(fragment, body),
            None => "none".to_string(),
        };
        let responses = operation["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(status, response)| (status.clone(), body_type(fragment, response)))
            .collect();
        OperationSummary {
            method: method.to_string(),
            path: path.to_string(),
            parameters,
            request,
            responses,
        }
    }
}

impl Changes for OperationSummary {
    fn changes_from(&self, old: &Self) -> Vec<String> {
        let mut changes = Vec::new();
        if self.method != old.method {
            changes.push(format!(
                "~ method: {} -> {}",
                old.method.to_uppercase(),
                self.method.to_uppercase()
            ));
        }
        if self.path != old.path {
            changes.push(format!("~ path: {} -> {}", old.path, self.path));
        }
        changes.extend(map_changes("parameter", &old.parameters, &self.parameters));
        if self.request != old.request {
            changes.push(format!(
                "~ request body: {} -> {}",
                old.request, self.request
            ));
        }
        changes.extend(map_changes("response", &old.responses, &self.responses));
        changes
    }
}

/// Added, removed and changed entries of a small name-to-text map.
fn map_changes(
    what: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<String> {
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| match (old.get(name), new.get(name)) {
            (None, Some(text)) => Some(format!("+ {what} {name}: {text}")),
            (Some(_), None) => Some(format!("- {what} {name}")),
            (Some(before), Some(after)) if before != after => {
                Some(format!("~ {what} {name}: {before} -> {after}"))
            }
            _ => None,
        })
        .collect()
}

struct SchemaSummary {
    kind: String,
    enum_values: Option<Vec<String>>,
    properties: BTreeMap<String, PropertySummary>,
}

impl SchemaSummary {
    fn of(schema: &Value) -> SchemaSummary {
        let required: BTreeSet<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let properties = schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, property)| {
                let summary = PropertySummary {
                    kind: type_of(property),
                    required: required.contains(name.as_str()),
                    nullable: property["nullable"] == Value::Bool(true),
                    enum_values: enum_values(property),
                };
                (name.clone(), summary)
            })
            .collect();
        SchemaSummary {
            kind: type_of(schema),
            enum_values: enum_values(schema),
            properties,
        }
    }
}

impl Changes for SchemaSummary {
    fn changes_from(&self, old: &Self) -> Vec<String> {
        let mut changes = Vec::new();
        if self.kind != old.kind {
            changes.push(format!("~ type: {} -> {}", old.kind, self.kind));
        }
        if let Some(change) = enum_change(&old.enum_values, &self.enum_values) {
            changes.push(format!("~ {change}"));
        }
        let names: BTreeSet<&String> = old
            .properties
            .keys()
            .chain(self.properties.keys())
            .collect();
        for name in names {
            match (old.properties.get(name), self.properties.get(name)) {
                (None, Some(added)) => changes.push(format!("+ property {name}: {added}")),
                (Some(_), None) => changes.push(format!("- property {name}")),
                (Some(before), Some(after)) => {
                    let differences = after.changes_from(before);
                    if !differences.is_empty() {
                        changes.push(format!("~ property {name}: {}", differences.join("; ")));
                    }
                }
                (None, None) => {}
            }
        }
        changes
    }
}

#[derive(PartialEq, Eq)]
struct PropertySummary {
    kind: String,
    required: bool,
    nullable: bool,
    enum_values: Option<Vec<String>>,
}

impl PropertySummary {
    fn changes_from(&self, old: &Self) -> Vec<String> {
        let mut changes = Vec::new();
        if self.kind != old.kind {
            changes.push(format!("type {} -> {}", old.kind, self.kind));
        }
        if self.required != old.required {
            changes.push(
                if self.required {
                    "now required"
                } else {
                    "no longer required"
                }
                .into(),
            );
        }
        if self.nullable != old.nullable {
            changes.push(
                if self.nullable {
                    "now nullable"
                } else {
                    "no longer nullable"
                }
                .into(),
            );
        }
        changes.extend(enum_change(&old.enum_values, &self.enum_values));
        changes
    }
}

impl fmt::Display for PropertySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind)?;
        if self.required {
            f.write_str(", required")?;
        }
        if self.nullable {
            f.write_str(", nullable")?;
        }
        if let Some(values) = &self.enum_values {
            write!(f, ", enum [{}]", values.join(", "))?;
        }
        Ok(())
    }
}

fn enum_values(schema: &Value) -> Option<Vec<String>> {
    let values = schema["enum"].as_array()?;
    Some(
        values
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect(),
    )
}

/// `enum +new -old`, or the whole list when an enum appears or disappears.
fn enum_change(old: &Option<Vec<String>>, new: &Option<Vec<String>>) -> Option<String> {
    match (old, new) {
        (None, None) => None,
        (None, Some(values)) => Some(format!("enum added [{}]", values.join(", "))),
        (Some(values), None) => Some(format!("enum removed (was [{}])", values.join(", "))),
        (Some(before), Some(after)) => {
            let added = after
                .iter()
                .filter(|v| !before.contains(v))
                .map(|v| format!("+{v}"));
            let removed = before
                .iter()
                .filter(|v| !after.contains(v))
                .map(|v| format!("-{v}"));
            let changes: Vec<String> = added.chain(removed).collect();
            (!changes.is_empty()).then(|| format!("enum {}", changes.join(" ")))
        }
    }
}

/// Follows a `$ref` inside the fragment; anything else is returned as is.
fn resolve<'a>(fragment: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => fragment.pointer(pointer).unwrap_or(&Value::Null),
        None => value,
    }
}

/// The type a request body or response carries: its JSON schema's type, another media type's
/// name, or `no body`.
fn body_type(fragment: &Value, body: &Value) -> String {
    let body = resolve(fragment, body);
    let Some(content) = body["content"].as_object().filter(|c| !c.is_empty()) else {
        return "no body".to_string();
    };
    match content.get("application/json") {
        Some(media) => type_of(&media["schema"]),
        None => content.keys().cloned().collect::<Vec<_>>().join(", "),
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
            let names: Vec<String> = members.iter().map(type_of).collect();
            return names.join(joiner);
        }
    }
    match schema["type"].as_str() {
        Some("array") => format!("array<{}>", type_of(&schema["items"])),
        Some("object") if schema["additionalProperties"].is_object() => {
            format!("map<{}>", type_of(&schema["additionalProperties"]))
        }
        Some(kind) => match schema["format"].as_str() {
            Some(format) => format!("{kind}({format})"),
            None => kind.to_string(),
        },
        None => "any".to_string(),
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

    fn report(old: &Value, new: &Value) -> String {
        compare(Some(old), new).to_string()
    }

    #[test]
    fn identical_fragments_report_no_changes() {
        assert_eq!(
            report(&fragment(), &fragment()),
            "No changes to operations or schemas.\n"
        );
    }

    #[test]
    fn without_a_current_fragment_everything_is_new() {
        assert_eq!(
            compare(None, &fragment()).to_string(),
            "No current fragment to compare with: 3 operations and 3 schemas are new.\n"
        );
    }

    #[test]
    fn a_new_source_is_reported_even_when_nothing_else_changed() {
        let mut new = fragment();
        new["info"] = json!({"version": "2026-06-01",
            "x-clerk-rbac-provenance": {"source": "b.yml", "sha256": "bbbbbbbbbbbbbbbbbb"}});
        assert_eq!(
            report(&fragment(), &new),
            "info: version 2026-05-12 -> 2026-06-01\n\
             info: source a.yml (sha256 aaaaaaaaaaaa) -> b.yml (sha256 bbbbbbbbbbbb)\n\
             No changes to operations or schemas.\n"
        );
    }

    #[test]
    fn operations_added_removed_and_changed_are_listed() {
        let mut new = fragment();
        let paths = new["paths"].as_object_mut().unwrap();
        paths["/roles/{id}"]
            .as_object_mut()
            .unwrap()
            .remove("delete");
        paths.insert(
            "/roles/{id}/copy".into(),
            json!({"post": {"operationId": "CopyRole", "responses": {}}}),
        );
        let list = &mut paths["/roles"]["get"];
        list["parameters"][1]["schema"] = json!({"type": "integer"});
        list["parameters"].as_array_mut().unwrap().remove(0);
        list["parameters"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "order_by", "in": "query",
            "required": true, "schema": {"type": "string"}}));
        list["responses"]["404"] = json!({"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Role"}}}});
        list["responses"]["422"] = json!({"description": ""});
        let update = &mut paths["/roles/{id}"]["patch"];
        update["requestBody"]["content"]["application/json"]["schema"]["$ref"] =
            json!("#/components/schemas/Role");
        assert_eq!(
            report(&fragment(), &new),
            "operations: 1 added, 1 removed, 2 changed (3 in all)\n\
             \x20 + CopyRole: POST /roles/{id}/copy\n\
             \x20 - DeleteRole: DELETE /roles/{id}\n\
             \x20 ~ ListRoles: GET /roles\n\
             \x20     - parameter query limit\n\
             \x20     + parameter query order_by: string, required\n\
             \x20     ~ parameter query query: string -> integer\n\
             \x20     ~ response 404: no body -> Role\n\
             \x20     + response 422: no body\n\
             \x20 ~ UpdateRole: PATCH /roles/{id}\n\
             \x20     ~ request body: UpdateRoleBody -> Role\n"
        );
    }

    #[test]
    fn a_moved_operation_is_one_change() {
        let mut new = fragment();
        let paths = new["paths"].as_object_mut().unwrap();
        let list = paths.remove("/roles").unwrap();
        paths.insert("/organization_roles".into(), list);
        let text = report(&fragment(), &new);
        assert!(text.contains("~ ListRoles: GET /organization_roles\n      ~ path: /roles -> /organization_roles\n"), "{text}");
    }

    #[test]
    fn schema_and_property_changes_are_listed() {
        let mut new = fragment();
        let schemas = new["components"]["schemas"].as_object_mut().unwrap();
        schemas.remove("UpdateRoleBody");
        schemas.insert("Permission".into(), json!({"type": "object"}));
        schemas["RoleKind"]["enum"] = json!(["system", "managed"]);
        let role = &mut schemas["Role"];
        role["required"] = json!(["id", "note"]);
        role["properties"]["note"] = json!({"type": "integer"});
        role["properties"]["created_at"] = json!({"type": "integer", "format": "int64"});
        role["properties"].as_object_mut().unwrap().remove("id");
        role["properties"]["state"] = json!({"type": "string", "enum": ["on"]});
        assert_eq!(
            report(&fragment(), &new),
            "schemas: 1 added, 1 removed, 2 changed (3 in all)\n\
             \x20 + Permission (object)\n\
             \x20 - UpdateRoleBody (object)\n\
             \x20 ~ Role (object)\n\
             \x20     + property created_at: integer(int64)\n\
             \x20     - property id\n\
             \x20     ~ property kind: no longer required\n\
             \x20     ~ property note: type string -> integer; now required; no longer nullable\n\
             \x20     + property state: string, enum [on]\n\
             \x20 ~ RoleKind (string)\n\
             \x20     ~ enum +managed -custom\n"
        );
    }

    #[test]
    fn descriptions_that_appear_go_or_change_are_named() {
        let mut old = fragment();
        old["components"]["schemas"]["Role"]["description"] = json!("A role.");
        old["components"]["schemas"]["Role"]["properties"]["id"]["description"] = json!("ID.");
        old["paths"]["/roles"]["get"]["summary"] = json!("List roles");
        let mut new = fragment();
        new["components"]["schemas"]["Role"]["description"] = json!("An organization role.");
        new["paths"]["/roles"]["get"]["summary"] = json!("List roles");
        new["paths"]["/roles"]["get"]["parameters"][1]["description"] = json!("A filter.");
        new["components"]["parameters"]["Limit"]["description"] = json!("Page size.");
        // A reworded description is a change even when nothing else is.
        assert_eq!(
            report(&old, &new),
            "No changes to operations or schemas.\n\
             descriptions: 2 added, 1 removed, 1 changed (4 in all)\n\
             \x20 + Limit (the shared parameter `limit`)\n\
             \x20 + ListRoles(query)\n\
             \x20 - Role.id\n\
             \x20 ~ Role\n"
        );
    }

    #[test]
    fn type_names_are_short_and_readable() {
        assert_eq!(
            type_of(&json!({"$ref": "#/components/schemas/Role"})),
            "Role"
        );
        assert_eq!(
            type_of(&json!({"type": "array", "items": {"type": "string"}})),
            "array<string>"
        );
        assert_eq!(
            type_of(&json!({"type": "object", "additionalProperties": {"type": "string"}})),
            "map<string>"
        );
        assert_eq!(
            type_of(&json!({"allOf": [{"$ref": "#/components/schemas/A"}]})),
            "A"
        );
        assert_eq!(
            type_of(&json!({"oneOf": [{"type": "string"}, {"type": "integer"}]})),
            "string | integer"
        );
        assert_eq!(type_of(&json!({})), "any");
    }
}
