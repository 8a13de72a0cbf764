//! What in a fragment takes one of our descriptions, and where each one goes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::descriptions::dotted;
use crate::openapi::{elements, entries, operations, text};

/// Something in the fragment that takes one of our descriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// How messages name it: `Role`, `Role.created_at`, `ListOrganizationRoles`,
    /// `ListOrganizationRoles(query)`, `CreateRoleSet(body)`, `/role_sets/{id}(id)`...
    pub name: String,
    /// Where its description sits in the descriptions file.
    pub key: Vec<String>,
    /// JSON pointer to the fragment object that receives it.
    pub at: String,
    /// The keyword it fills in that object: `description` or `summary`.
    pub keyword: &'static str,
    /// Whether the fragment may not ship without it (an operation's longer description may be
    /// left out; its summary may not).
    pub required: bool,
}

impl Target {
    /// The line to add to the descriptions file, with its table.
    pub fn hint(&self) -> String {
        let (table, rest) = self.key.split_at(2);
        format!("[{}] {} = \"...\"", dotted(table), dotted(rest))
    }
}

/// A required description at `at` (JSON pointer tokens), filed under `key`.
fn target(name: String, key: &[&str], at: &[&str]) -> Target {
    let key = key.iter().map(|k| k.to_string()).collect();
    let at = at
        .iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect();
    Target {
        name,
        key,
        at,
        keyword: "description",
        required: true,
    }
}

/// Everything in `fragment` that takes a description, in a stable order, or the parts of the
/// fragment the file's layout cannot describe (with the reason).
pub fn targets(fragment: &Value) -> Result<Vec<Target>, Vec<String>> {
    let mut found = Vec::new();
    let mut undescribable = Vec::new();
    for (name, schema) in entries(&fragment["components"]["schemas"]) {
        found.push(target(
            name.clone(),
            &["schemas", name, "description"],
            &["components", "schemas", name],
        ));
        if members(schema).any(has_nested_properties) {
            undescribable.push(format!(
                "{name} combines inline objects with properties; the descriptions file describes \
                 the properties of a schema itself"
            ));
        }
        for (property, property_schema) in entries(&schema["properties"]) {
            let full_name = format!("{name}.{property}");
            if has_nested_properties(property_schema) {
                undescribable.push(format!(
                    "{full_name} is an inline object with properties of its own; the \
                     descriptions file describes one level of properties, so make it a named \
                     schema in xtask/src/normalize.rs first"
                ));
            }
            let at = ["components", "schemas", name, "properties", property];
            found.push(target(
                full_name,
                &["schemas", name, "properties", property],
                &at,
            ));
        }
    }
    for (name, parameter) in entries(&fragment["components"]["parameters"]) {
        let shown = format!(
            "{name} (the shared parameter `{}`)",
            text(&parameter["name"])
        );
        found.push(target(
            shown,
            &["parameters", name, "description"],
            &["components", "parameters", name],
        ));
    }
    let empty = serde_json::Map::new();
    let paths = fragment["paths"].as_object().unwrap_or(&empty);
    for (path, item) in paths {
        for (i, parameter) in elements(&item["parameters"]).enumerate() {
            if let Some(name) = inline_parameter_name(parameter) {
                let at = ["paths", path, "parameters", &i.to_string()];
                found.push(target(
                    format!("{path}({name})"),
                    &["paths", path, "parameters", name],
                    &at,
                ));
            }
        }
    }
    for (path, method, operation) in operations(paths) {
        let Some(id) = operation["operationId"].as_str() else {
            let method = method.to_uppercase();
            undescribable.push(format!(
                "{method} {path} has no operationId to file its description under"
            ));
            continue;
        };
        let at = ["paths", path, method];
        let summary = target(id.into(), &["operations", id, "summary"], &at);
        found.push(Target {
            keyword: "summary",
            ..summary
        });
        let description = target(id.into(), &["operations", id, "description"], &at);
        found.push(Target {
            required: false,
            ..description
        });
        match operation.get("requestBody") {
            Some(body) if body.get("$ref").is_some() => undescribable.push(format!(
                "{id} takes a shared request body (a `$ref`); the descriptions file describes \
                 request bodies written out in their operation"
            )),
            Some(_) => {
                let at = ["paths", path, method, "requestBody"];
                found.push(target(
                    format!("{id}(body)"),
                    &["operations", id, "body"],
                    &at,
                ));
            }
            None => {}
        }
        let mut names = BTreeSet::new();
        for (i, parameter) in elements(&operation["parameters"]).enumerate() {
            let Some(name) = inline_parameter_name(parameter) else {
                continue;
            };
            if !names.insert(name) {
                undescribable.push(format!(
                    "{id}({name}) names two parameters; one entry cannot describe both"
                ));
            }
            let at = ["paths", path, method, "parameters", &i.to_string()];
            found.push(target(
                format!("{id}({name})"),
                &["operations", id, "parameters", name],
                &at,
            ));
        }
    }
    if undescribable.is_empty() {
        Ok(found)
    } else {
        Err(undescribable)
    }
}

/// The name of a parameter written out in place; `None` for a `$ref` to a shared one, which is
/// described where it is defined.
fn inline_parameter_name(parameter: &Value) -> Option<&str> {
    parameter
        .get("$ref")
        .is_none()
        .then(|| parameter["name"].as_str().unwrap_or("?"))
}

/// Whether an inline schema holds `properties` anywhere inside (not following `$ref`s): typify
/// would make a type of it whose fields the file has no place for.
fn has_nested_properties(schema: &Value) -> bool {
    schema.is_object()
        && (schema["properties"].is_object()
            || has_nested_properties(&schema["items"])
            || has_nested_properties(&schema["additionalProperties"])
            || members(schema).any(has_nested_properties))
}

/// The members of a schema's `allOf`, `anyOf` and `oneOf`.
fn members(schema: &Value) -> impl Iterator<Item = &Value> {
    let lists = ["allOf", "anyOf", "oneOf"].map(|k| schema[k].as_array().into_iter().flatten());
    lists.into_iter().flatten()
}

/// The descriptions a fragment carries, by target name (an operation's summary and description
/// joined), for the change report.
pub fn carried(fragment: &Value) -> BTreeMap<String, String> {
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    for target in targets(fragment).unwrap_or_default() {
        let text = fragment
            .pointer(&target.at)
            .and_then(|node| node[target.keyword].as_str());
        if let Some(text) = text {
            let joined = found.entry(target.name).or_default();
            if !joined.is_empty() {
                joined.push('\n');
            }
            joined.push_str(text);
        }
    }
    found
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A fragment with one of each kind of thing that takes a description.
    pub(crate) fn fragment() -> Value {
        json!({
            "paths": {
                "/roles": {"get": {
                    "operationId": "ListRoles",
                    "parameters": [
                        {"name": "query", "in": "query", "schema": {"type": "string"}},
                        {"$ref": "#/components/parameters/Limit"}
                    ],
                    "responses": {"200": {}}
                }},
                "/roles/{id}": {
                    "parameters": [{"name": "id", "in": "path", "required": true}],
                    "patch": {
                        "operationId": "UpdateRole",
                        "requestBody": {"content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/UpdateRoleBody"}}}},
                        "responses": {"200": {}}
                    }
                }
            },
            "components": {
                "parameters": {"Limit": {"name": "limit", "in": "query"}},
                "schemas": {
                    "Role": {"type": "object", "properties": {
                        "key": {"type": "string"},
                        "kind": {"$ref": "#/components/schemas/Kind", "nullable": true}
                    }},
                    "Kind": {"type": "string", "enum": ["a", "b"]},
                    "UpdateRoleBody": {"type": "object", "properties": {"note": {"type": "string"}}}
                }
            }
        })
    }

    #[test]
    fn every_kind_of_target_is_found_with_its_place() {
        let found: Vec<String> = targets(&fragment())
            .unwrap()
            .iter()
            .map(|t| format!("{} {} {} {}", t.name, t.at, t.keyword, t.required))
            .collect();
        assert_eq!(
            found,
            [
                "Kind /components/schemas/Kind description true",
                "Role /components/schemas/Role description true",
                "Role.key /components/schemas/Role/properties/key description true",
                "Role.kind /components/schemas/Role/properties/kind description true",
                "UpdateRoleBody /components/schemas/UpdateRoleBody description true",
                "UpdateRoleBody.note /components/schemas/UpdateRoleBody/properties/note description true",
                "Limit (the shared parameter `limit`) /components/parameters/Limit description true",
                "/roles/{id}(id) /paths/~1roles~1{id}/parameters/0 description true",
                "ListRoles /paths/~1roles/get summary true",
                "ListRoles /paths/~1roles/get description false",
                "ListRoles(query) /paths/~1roles/get/parameters/0 description true",
                "UpdateRole /paths/~1roles~1{id}/patch summary true",
                "UpdateRole /paths/~1roles~1{id}/patch description false",
                "UpdateRole(body) /paths/~1roles~1{id}/patch/requestBody description true",
            ]
        );
    }

    #[test]
    fn what_the_file_cannot_describe_is_refused_with_the_reason() {
        let mut fragment = fragment();
        fragment["components"]["schemas"]["Role"]["properties"]["nested"] =
            json!({"type": "array", "items": {"type": "object", "properties": {"a": {}}}});
        fragment["components"]["schemas"]["Kind"] = json!({"allOf": [{"properties": {"a": {}}}]});
        fragment["paths"]["/roles"]["post"] = json!({"responses": {}});
        fragment["paths"]["/roles"]["get"]["parameters"][1] =
            json!({"name": "query", "in": "header"});
        fragment["paths"]["/roles/{id}"]["patch"]["requestBody"] =
            json!({"$ref": "#/components/requestBodies/Shared"});
        let problems = targets(&fragment).unwrap_err();
        let starts = [
            "Kind combines inline objects with properties",
            "Role.nested is an inline object with properties",
            "ListRoles(query) names two parameters; one entry cannot describe both",
            "POST /roles has no operationId",
            "UpdateRole takes a shared request body",
        ];
        assert_eq!(problems.len(), starts.len(), "{problems:#?}");
        for (problem, start) in problems.iter().zip(starts) {
            assert!(problem.starts_with(start), "{problem}");
        }
    }

    #[test]
    fn carried_descriptions_are_read_back_by_name() {
        let mut fragment = fragment();
        assert!(carried(&fragment).is_empty());
        fragment["components"]["schemas"]["Role"]["description"] = json!("A role.");
        fragment["paths"]["/roles/{id}"]["patch"]["summary"] = json!("Change a role");
        fragment["paths"]["/roles/{id}"]["patch"]["description"] = json!("Only what is sent.");
        let carried = carried(&fragment);
        assert_eq!(carried.len(), 2);
        assert_eq!(carried["Role"], "A role.");
        assert_eq!(carried["UpdateRole"], "Change a role\nOnly what is sent.");
    }
}
