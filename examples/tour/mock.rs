//! An in-process stand-in for Clerk's organization RBAC endpoints, good enough for the tour:
//! it keeps permissions, roles and role sets in memory and answers the 19 operations the way
//! Clerk does (same paths, same JSON shapes, Clerk's error format).

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

/// Starts the mock on a loopback port.
pub async fn start() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(MockClerk::default())
        .mount(&server)
        .await;
    server
}

#[derive(Default, Clone)]
struct MockClerk {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    permissions: Vec<Value>,
    roles: Vec<Value>,
    role_sets: Vec<Value>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
const NOW: i64 = 1_764_000_000_000;

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{:06}", NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "errors": [{"code": code, "message": message, "long_message": message}],
        "clerk_trace_id": new_id("trace"),
    }))
}

fn not_found() -> ResponseTemplate {
    error(404, "resource_not_found", "Resource not found")
}

fn text(body: &Value, field: &str) -> Option<String> {
    body.get(field).and_then(Value::as_str).map(str::to_owned)
}

fn find<'a>(items: &'a mut [Value], id: &str) -> Option<&'a mut Value> {
    items
        .iter_mut()
        .find(|item| item["id"] == id || item["key"] == id)
}

/// Copies each field present in `changes` (including explicit nulls) onto `target`.
fn patch(target: &mut Value, changes: &Map<String, Value>) {
    for (field, value) in changes {
        target[field] = value.clone();
    }
    target["updated_at"] = json!(NOW + 1);
}

fn page(items: &[Value], request: &Request) -> ResponseTemplate {
    let param = |name: &str| {
        request
            .url
            .query_pairs()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    let (limit, offset) = (param("limit").unwrap_or(10), param("offset").unwrap_or(0));
    let query = request
        .url
        .query_pairs()
        .find(|(k, _)| k == "query")
        .map(|(_, v)| v.into_owned());
    // Like Clerk: exact match on the ID, partial match on name and key.
    let matches = |item: &&Value| match &query {
        None => true,
        Some(q) => {
            let contains =
                |field: &str| item[field].as_str().is_some_and(|s| s.contains(q.as_str()));
            item["id"] == q.as_str() || contains("name") || contains("key")
        }
    };
    let matching: Vec<&Value> = items.iter().filter(matches).collect();
    let data: Vec<_> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|v| (*v).clone())
        .collect();
    ok(json!({"data": data, "total_count": matching.len()}))
}

impl Respond for MockClerk {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if request.headers.get("authorization").is_none() {
            return error(401, "authentication_invalid", "Missing secret key");
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let segments: Vec<String> = request
            .url
            .path_segments()
            .into_iter()
            .flatten()
            .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let mut state = self.state.lock().unwrap();
        let state = &mut *state;
        match (request.method.as_str(), &segments[..]) {
            ("GET", ["v1", "organization_permissions"]) => page(&state.permissions, request),
            ("POST", ["v1", "organization_permissions"]) => {
                let permission = json!({
                    "object": "permission", "id": new_id("perm"),
                    "name": text(&body, "name"), "key": text(&body, "key"),
                    "description": text(&body, "description").unwrap_or_default(),
                    "type": "user", "created_at": NOW, "updated_at": NOW,
                });
                state.permissions.insert(0, permission.clone());
                ok(permission)
            }
            (verb, ["v1", "organization_permissions", id]) => {
                let Some(permission) = find(&mut state.permissions, id) else {
                    return not_found();
                };
                match verb {
                    "GET" => ok(permission.clone()),
                    "PATCH" => {
                        patch(permission, body.as_object().unwrap_or(&Map::new()));
                        ok(permission.clone())
                    }
                    "DELETE" => {
                        let id = id.to_string();
                        state.permissions.retain(|p| p["id"] != id.as_str());
                        ok(json!({"object": "permission", "id": id, "deleted": true}))
                    }
                    _ => not_found(),
                }
            }
            ("GET", ["v1", "organization_roles"]) => page(&state.roles, request),
            ("POST", ["v1", "organization_roles"]) => {
                let wanted: Vec<String> =
                    serde_json::from_value(body["permissions"].clone()).unwrap_or_default();
                let permissions: Vec<Value> = state
                    .permissions
                    .iter()
                    .filter(|p| wanted.iter().any(|w| p["id"] == w.as_str()))
                    .cloned()
                    .collect();
                let role = json!({
                    "object": "role", "id": new_id("role"),
                    "name": text(&body, "name"), "key": text(&body, "key"),
                    "description": body.get("description").cloned().unwrap_or(Value::Null),
                    "is_creator_eligible": true, "permissions": permissions,
                    "created_at": NOW, "updated_at": NOW,
                });
                state.roles.insert(0, role.clone());
                ok(role)
            }
            (verb, ["v1", "organization_roles", id]) => {
                let Some(role) = find(&mut state.roles, id) else {
                    return not_found();
                };
                match verb {
                    "GET" => ok(role.clone()),
                    "PATCH" => {
                        let mut changes = body.as_object().cloned().unwrap_or_default();
                        if let Some(ids) = changes.remove("permissions") {
                            let ids: Vec<String> = serde_json::from_value(ids).unwrap_or_default();
                            role["permissions"] = state
                                .permissions
                                .iter()
                                .filter(|p| ids.iter().any(|w| p["id"] == w.as_str()))
                                .cloned()
                                .collect();
                        }
                        patch(role, &changes);
                        ok(role.clone())
                    }
                    "DELETE" => {
                        let id = id.to_string();
                        state.roles.retain(|r| r["id"] != id.as_str());
                        ok(json!({"object": "role", "id": id, "deleted": true}))
                    }
                    _ => not_found(),
                }
            }
            (
                verb,
                [
                    "v1",
                    "organization_roles",
                    role_id,
                    "permissions",
                    permission_id,
                ],
            ) => {
                let Some(permission) = find(&mut state.permissions, permission_id).cloned() else {
                    return not_found();
                };
                let Some(role) = find(&mut state.roles, role_id) else {
                    return not_found();
                };
                let held = role["permissions"]
                    .as_array_mut()
                    .expect("roles hold a list");
                let already = held.iter().any(|p| p["id"] == permission["id"]);
                match verb {
                    "POST" if already => {
                        return error(
                            409,
                            "duplicate_record",
                            "The role already has this permission",
                        );
                    }
                    "POST" => held.push(permission),
                    "DELETE" => held.retain(|p| p["id"] != permission["id"]),
                    _ => return not_found(),
                }
                ok(role.clone())
            }
            ("GET", ["v1", "role_sets"]) => page(&state.role_sets, request),
            ("POST", ["v1", "role_sets"]) => {
                let keys: Vec<String> =
                    serde_json::from_value(body["roles"].clone()).unwrap_or_default();
                let name = text(&body, "name").unwrap_or_default();
                let key = text(&body, "key").unwrap_or_else(|| {
                    format!("role_set:{}", name.to_lowercase().replace(' ', "_"))
                });
                let mut set = json!({
                    "object": "role_set", "id": new_id("rs"), "name": name, "key": key,
                    "description": body.get("description").cloned().unwrap_or(Value::Null),
                    "roles": [], "type": text(&body, "type").unwrap_or_else(|| "custom".into()),
                    "role_set_migration": null, "created_at": NOW, "updated_at": NOW,
                });
                set_roles(&mut set, &state.roles, &keys);
                set_special(&mut set, "default_role", text(&body, "default_role_key"));
                set_special(&mut set, "creator_role", text(&body, "creator_role_key"));
                state.role_sets.insert(0, set.clone());
                ok(set)
            }
            (verb, ["v1", "role_sets", id, rest @ ..]) => {
                let id = id.to_string();
                let Some(set) = find(&mut state.role_sets, &id) else {
                    return not_found();
                };
                match (verb, rest) {
                    ("GET", []) => ok(set.clone()),
                    ("PATCH", []) => {
                        let mut changes = body.as_object().cloned().unwrap_or_default();
                        let default = changes.remove("default_role_key");
                        let creator = changes.remove("creator_role_key");
                        patch(set, &changes);
                        set_special(
                            set,
                            "default_role",
                            default.and_then(|v| v.as_str().map(str::to_owned)),
                        );
                        set_special(
                            set,
                            "creator_role",
                            creator.and_then(|v| v.as_str().map(str::to_owned)),
                        );
                        ok(set.clone())
                    }
                    ("POST", ["roles"]) => {
                        let mut keys: Vec<String> = set["roles"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|r| r["key"].as_str().unwrap().to_owned())
                            .collect();
                        keys.extend(
                            serde_json::from_value::<Vec<String>>(body["role_keys"].clone())
                                .unwrap_or_default(),
                        );
                        set_roles(set, &state.roles, &keys);
                        set_special(set, "default_role", text(&body, "default_role_key"));
                        set_special(set, "creator_role", text(&body, "creator_role_key"));
                        ok(set.clone())
                    }
                    ("POST", ["roles", "replace"]) => {
                        let (from, to) = (
                            text(&body, "role_key").unwrap_or_default(),
                            text(&body, "to_role_key").unwrap_or_default(),
                        );
                        let keys: Vec<String> = set["roles"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|r| r["key"].as_str().unwrap().to_owned())
                            .map(|k| if k == from { to.clone() } else { k })
                            .collect();
                        set_roles(set, &state.roles, &keys);
                        ok(set.clone())
                    }
                    ("POST", ["replace"]) => {
                        let set_id = set["id"].clone();
                        state.role_sets.retain(|s| s["id"] != set_id);
                        ok(json!({"object": "role_set", "id": set_id, "deleted": true}))
                    }
                    _ => not_found(),
                }
            }
            _ => not_found(),
        }
    }
}

/// The role-set view of a role.
fn item(role: &Value) -> Value {
    json!({
        "object": "role_set_item", "id": role["id"], "name": role["name"], "key": role["key"],
        "description": role["description"], "members_count": 0, "has_members": false,
        "created_at": NOW, "updated_at": NOW,
    })
}

fn set_roles(set: &mut Value, roles: &[Value], keys: &[String]) {
    set["roles"] = roles
        .iter()
        .filter(|r| keys.iter().any(|k| r["key"] == k.as_str()))
        .map(item)
        .collect();
}

fn set_special(set: &mut Value, field: &str, key: Option<String>) {
    if let Some(key) = key {
        let chosen = set["roles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == key.as_str())
            .cloned();
        set[field] = chosen.unwrap_or(Value::Null);
    }
}
