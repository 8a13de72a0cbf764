//! Every schema, property, operation and parameter of the committed fragment carries one of our
//! descriptions, so every generated model, field and client method has docs.
//!
//! `cargo xtask regen` already refuses to write a fragment with a gap; this check reads the
//! committed file itself, so a hand edit or a regen skipped after a spec change fails here too,
//! naming the schema and field. It is written apart from xtask's code on purpose: a second,
//! independent reading of the same rule.

use serde_json::Value;

const FRAGMENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/clerk-rbac.json");

fn committed_fragment() -> Value {
    let text =
        std::fs::read_to_string(FRAGMENT).unwrap_or_else(|e| panic!("reading {FRAGMENT}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {FRAGMENT}: {e}"))
}

/// The names of everything in `fragment` that lacks a description, as `Schema`,
/// `Schema.property`, `OperationId`, `OperationId(parameter)`, `OperationId(body)`,
/// `SharedParameter` or `/path(parameter)`.
pub fn undescribed(fragment: &Value) -> Vec<String> {
    let mut missing = Vec::new();
    for (name, schema) in entries(&fragment["components"]["schemas"]) {
        if !described(schema, "description") {
            missing.push(name.clone());
        }
        for (property, property_schema) in properties(schema) {
            // A description beside `$ref` is ignored by OpenAPI 3.0, and so by the generator.
            if property_schema.get("$ref").is_some() || !described(property_schema, "description") {
                missing.push(format!("{name}.{property}"));
            }
        }
    }
    for (name, parameter) in entries(&fragment["components"]["parameters"]) {
        if !described(parameter, "description") {
            missing.push(name.clone());
        }
    }
    for (path, item) in entries(&fragment["paths"]) {
        for parameter in list(&item["parameters"]) {
            if is_inline(parameter) && !described(parameter, "description") {
                missing.push(format!(
                    "{path}({})",
                    parameter["name"].as_str().unwrap_or("?")
                ));
            }
        }
        for (method, operation) in entries(item) {
            if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            let id = operation["operationId"].as_str().unwrap_or("?");
            if !described(operation, "summary") {
                missing.push(id.to_string());
            }
            for parameter in list(&operation["parameters"]) {
                if is_inline(parameter) && !described(parameter, "description") {
                    let name = parameter["name"].as_str().unwrap_or("?");
                    missing.push(format!("{id}({name})"));
                }
            }
            if let Some(body) = operation.get("requestBody")
                && !described(body, "description")
            {
                missing.push(format!("{id}(body)"));
            }
        }
    }
    missing
}

fn entries(map: &Value) -> impl Iterator<Item = (&String, &Value)> {
    map.as_object().into_iter().flatten()
}

fn list(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

/// A shared parameter is described where `components/parameters` defines it.
fn is_inline(parameter: &Value) -> bool {
    parameter.get("$ref").is_none()
}

fn described(node: &Value, keyword: &str) -> bool {
    node[keyword]
        .as_str()
        .is_some_and(|text| !text.trim().is_empty())
}

/// A schema's own properties and those of the inline members of a top-level `allOf`, `anyOf` or
/// `oneOf`, which the generator folds into the same type.
fn properties(schema: &Value) -> Vec<(&String, &Value)> {
    let mut found: Vec<(&String, &Value)> = entries(&schema["properties"]).collect();
    for combinator in ["allOf", "anyOf", "oneOf"] {
        for member in list(&schema[combinator]).filter(|m| is_inline(m)) {
            found.extend(entries(&member["properties"]));
        }
    }
    found
}

#[test]
fn every_schema_property_operation_and_parameter_of_the_fragment_is_described() {
    let missing = undescribed(&committed_fragment());
    assert!(
        missing.is_empty(),
        "openapi/clerk-rbac.json has no description for: {}\n(describe them in \
         openapi/descriptions.toml, in our own words, then run `cargo xtask regen`)",
        missing.join(", ")
    );
}

#[test]
fn the_check_walks_the_whole_fragment() {
    // With every description gone, everything the generated code documents is named.
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for keyword in ["description", "summary"] {
                    if map.get(keyword).is_some_and(Value::is_string) {
                        map.remove(keyword);
                    }
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut bare = committed_fragment();
    strip(&mut bare);
    let missing = undescribed(&bare);
    for name in [
        "Role",
        "Role.created_at",
        "RoleSet.type",
        "RoleSetMigration.completed_at",
        "ClerkError.code",
        "CreateRoleSetBody.roles",
        "LimitParameter",
        "ListOrganizationRoles",
        "ListOrganizationRoles(order_by)",
        "GetRoleSet(role_set_key_or_id)",
        "CreateRoleSet(body)",
    ] {
        assert!(
            missing.iter().any(|m| m == name),
            "{name} not in {missing:?}"
        );
    }
    // 24 schemas, 2 shared parameters and 20 operations at the least.
    assert!(missing.len() > 46, "only {} found", missing.len());
}

#[test]
fn the_check_names_the_one_thing_that_lost_its_description() {
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit); 9] = [
        ("Role", |f| {
            remove(&mut f["components"]["schemas"]["Role"], "description")
        }),
        ("Role.created_at", |f| {
            remove(
                &mut f["components"]["schemas"]["Role"]["properties"]["created_at"],
                "description",
            )
        }),
        ("RoleSetItem.members_count", |f| {
            f["components"]["schemas"]["RoleSetItem"]["properties"]["members_count"]["description"] =
                Value::String(" \n ".into());
        }),
        ("RoleSet.type", |f| {
            // The description survives but beside a bare `$ref`, where nothing reads it.
            let property = &mut f["components"]["schemas"]["RoleSet"]["properties"]["type"];
            let reference = property["allOf"][0]["$ref"].take();
            remove(property, "allOf");
            property["$ref"] = reference;
        }),
        ("ListRoleSets", |f| {
            remove(&mut f["paths"]["/role_sets"]["get"], "summary")
        }),
        ("ListRoleSets(query)", |f| {
            let parameters = f["paths"]["/role_sets"]["get"]["parameters"]
                .as_array_mut()
                .expect("ListRoleSets has parameters");
            let query = parameters
                .iter_mut()
                .find(|p| p["name"] == "query")
                .expect("ListRoleSets has a query parameter");
            remove(query, "description");
        }),
        ("OffsetParameter", |f| {
            remove(
                &mut f["components"]["parameters"]["OffsetParameter"],
                "description",
            )
        }),
        ("ReplaceRoleSet(body)", |f| {
            remove(
                &mut f["paths"]["/role_sets/{role_set_key_or_id}/replace"]["post"]["requestBody"],
                "description",
            )
        }),
        ("/role_sets/{role_set_key_or_id}(role_set_key_or_id)", |f| {
            // A parameter declared once for a whole path needs its description too.
            let item = &mut f["paths"]["/role_sets/{role_set_key_or_id}"];
            let parameter = item["get"]["parameters"][0].clone();
            item["parameters"] = Value::Array(vec![parameter]);
            remove(&mut item["parameters"][0], "description");
        }),
    ];
    for (name, edit) in cases {
        let mut fragment = committed_fragment();
        edit(&mut fragment);
        assert_eq!(
            undescribed(&fragment),
            [name],
            "after removing {name}'s description"
        );
    }
}

fn remove(node: &mut Value, keyword: &str) {
    let removed = node
        .as_object_mut()
        .and_then(|object| object.remove(keyword));
    assert!(
        removed.is_some(),
        "nothing to remove: no {keyword} in {node}"
    );
}
