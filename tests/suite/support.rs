//! Shared by the suite's modules: a mock Clerk, a client pointed at it, and response fixtures
//! shaped like Clerk's (every required field present).

#![allow(dead_code)]

use clerk_rbac::{Clerk, ClerkBuilder};
use serde_json::{Value, json};
use wiremock::MockServer;

/// The secret key every test client uses; tests check it never leaks.
pub const SECRET_KEY: &str = "sk_test_5uPer53cretKeyForTestsOnly";

/// A fresh mock server and a client for it.
pub async fn mock_clerk() -> (MockServer, Clerk) {
    let server = MockServer::start().await;
    let clerk = client_for(&server);
    (server, clerk)
}

/// A builder with the test key, `base_url` and no retries, so that each call is exactly one
/// request (the retry behaviour has its own modules); add settings, then `build`.
pub fn builder(base_url: impl Into<String>) -> ClerkBuilder {
    Clerk::builder()
        .secret_key(SECRET_KEY)
        .base_url(base_url)
        .retry(clerk_rbac::RetryPolicy::none())
}

/// A client for `server` as [`builder`] sets it up.
pub fn client_for(server: &MockServer) -> Clerk {
    builder(server.uri())
        .build()
        .expect("a loopback base URL and a plain key are valid")
}

pub fn permission(id: &str, key: &str) -> Value {
    json!({
        "object": "permission",
        "id": id,
        "name": format!("Name of {key}"),
        "key": key,
        "description": "",
        "type": "user",
        "created_at": 1_700_000_000_000_i64,
        "updated_at": 1_700_000_000_001_i64,
    })
}

pub fn role(id: &str, key: &str, permissions: Vec<Value>) -> Value {
    json!({
        "object": "role",
        "id": id,
        "name": format!("Name of {key}"),
        "key": key,
        "description": "A role",
        "is_creator_eligible": true,
        "permissions": permissions,
        "created_at": 1_700_000_000_000_i64,
        "updated_at": 1_700_000_000_001_i64,
    })
}

pub fn role_set_item(id: &str, key: &str) -> Value {
    json!({
        "object": "role_set_item",
        "id": id,
        "name": format!("Name of {key}"),
        "key": key,
        "description": null,
        "members_count": 3,
        "has_members": true,
        "created_at": 1_700_000_000_000_i64,
        "updated_at": 1_700_000_000_001_i64,
    })
}

pub fn role_set(id: &str, key: &str) -> Value {
    json!({
        "object": "role_set",
        "id": id,
        "name": format!("Name of {key}"),
        "key": key,
        "description": "Roles for support teams",
        "roles": [role_set_item("rsi_1", "org:agent"), role_set_item("rsi_2", "org:lead")],
        "default_role": role_set_item("rsi_1", "org:agent"),
        "creator_role": role_set_item("rsi_2", "org:lead"),
        "type": "custom",
        "role_set_migration": null,
        "created_at": 1_700_000_000_000_i64,
        "updated_at": 1_700_000_000_001_i64,
    })
}

pub fn deleted(object: &str, id: &str) -> Value {
    json!({"object": object, "id": id, "deleted": true})
}

pub fn page(items: Vec<Value>, total_count: u64) -> Value {
    json!({"data": items, "total_count": total_count})
}

/// Clerk's error body.
pub fn clerk_errors(code: &str, message: &str, trace_id: Option<&str>) -> Value {
    let mut body = json!({
        "errors": [{"code": code, "message": message, "long_message": format!("{message}, in detail"), "meta": {"param_name": "key"}}],
    });
    if let Some(id) = trace_id {
        body["clerk_trace_id"] = json!(id);
    }
    body
}
