//! Every one of the 19 operations through the facade: the exact request it sends (method, path,
//! query, headers, JSON body) and the decoded response.

use clerk_rbac::{
    AddRoles, CreatePermission, CreateRole, CreateRoleSet, CreateRoleSetType, ReplaceRole,
    ReplaceRoleSet, RoleSetType, RoleSetTypeUpdate, UpdatePermission, UpdateRole, UpdateRoleSet,
};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::support::{self, SECRET_KEY, mock_clerk};

/// Answers `verb path` with `body` (200), exactly once.
async fn answer(server: &MockServer, verb: &str, route: &str, body: Value) {
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

/// The one request the server received, checked for the headers every call carries.
async fn sent(server: &MockServer) -> wiremock::Request {
    let mut requests = server.received_requests().await.expect("recording is on");
    assert_eq!(requests.len(), 1, "expected exactly one request");
    let request = requests.remove(0);
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(
        header("authorization").as_deref(),
        Some(&*format!("Bearer {SECRET_KEY}"))
    );
    assert_eq!(header("clerk-api-version").as_deref(), Some("2026-05-12"));
    assert_eq!(
        header("user-agent"),
        Some(format!("clerk-rbac/{}", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(header("accept").as_deref(), Some("application/json"));
    assert_eq!(
        header("api-version"),
        None,
        "progenitor's api-version header must not be sent"
    );
    if request.body.is_empty() {
        assert_eq!(header("content-type"), None);
    } else {
        assert_eq!(header("content-type").as_deref(), Some("application/json"));
    }
    request
}

fn body(request: &wiremock::Request) -> Value {
    serde_json::from_slice(&request.body).expect("the body is JSON")
}

fn assert_no_body_or_query(request: &wiremock::Request) {
    assert!(request.body.is_empty(), "unexpected body");
    assert_eq!(request.url.query(), None);
}

// ---- organization permissions ----

#[tokio::test]
async fn list_permissions_sends_every_set_filter_including_zero() {
    let (server, clerk) = mock_clerk().await;
    let items = vec![
        support::permission("perm_1", "org:a:read"),
        support::permission("perm_2", "org:a:write"),
    ];
    answer(
        &server,
        "GET",
        "/v1/organization_permissions",
        support::page(items, 7),
    )
    .await;

    let page = clerk
        .organization_permissions()
        .list()
        .query("org:a")
        .order_by("-name")
        .limit(2)
        .offset(0)
        .send()
        .await
        .unwrap();

    let request = sent(&server).await;
    assert_eq!(
        request.url.query(),
        Some("limit=2&offset=0&order_by=-name&query=org%3Aa")
    );
    assert!(request.body.is_empty());
    assert_eq!(page.total_count, 7);
    let keys: Vec<_> = page.data.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["org:a:read", "org:a:write"]);
    assert_eq!(page.data[0].created_at, 1_700_000_000_000);
}

#[tokio::test]
async fn list_without_options_sends_no_query() {
    let (server, clerk) = mock_clerk().await;
    answer(
        &server,
        "GET",
        "/v1/organization_permissions",
        support::page(vec![], 0),
    )
    .await;
    let page = clerk
        .organization_permissions()
        .list()
        .send()
        .await
        .unwrap();
    assert_no_body_or_query(&sent(&server).await);
    assert!(page.data.is_empty());
}

#[tokio::test]
async fn create_permission_sends_required_and_set_fields() {
    let (server, clerk) = mock_clerk().await;
    answer(
        &server,
        "POST",
        "/v1/organization_permissions",
        support::permission("perm_9", "org:inv:read"),
    )
    .await;

    let created = clerk
        .organization_permissions()
        .create(CreatePermission::new("Read invoices", "org:inv:read").description("See invoices"))
        .await
        .unwrap();

    let request = sent(&server).await;
    assert_eq!(
        body(&request),
        json!({"name": "Read invoices", "key": "org:inv:read", "description": "See invoices"})
    );
    assert_eq!(created.id, "perm_9");
    assert_eq!(created.type_.as_deref(), Some("user"));
}

#[tokio::test]
async fn get_permission() {
    let (server, clerk) = mock_clerk().await;
    answer(
        &server,
        "GET",
        "/v1/organization_permissions/perm_1",
        support::permission("perm_1", "org:a:read"),
    )
    .await;
    let permission = clerk
        .organization_permissions()
        .get("perm_1")
        .await
        .unwrap();
    assert_no_body_or_query(&sent(&server).await);
    assert_eq!(permission.key, "org:a:read");
}

#[tokio::test]
async fn update_permission_sends_only_touched_fields() {
    let (server, clerk) = mock_clerk().await;
    answer(
        &server,
        "PATCH",
        "/v1/organization_permissions/perm_1",
        support::permission("perm_1", "org:a:list"),
    )
    .await;
    let updated = clerk
        .organization_permissions()
        .update("perm_1", UpdatePermission::new().key("org:a:list"))
        .await
        .unwrap();
    assert_eq!(body(&sent(&server).await), json!({"key": "org:a:list"}));
    assert_eq!(updated.key, "org:a:list");
}

#[tokio::test]
async fn delete_permission() {
    let (server, clerk) = mock_clerk().await;
    answer(
        &server,
        "DELETE",
        "/v1/organization_permissions/perm_1",
        support::deleted("permission", "perm_1"),
    )
    .await;
    let deleted = clerk
        .organization_permissions()
        .delete("perm_1")
        .await
        .unwrap();
    assert_no_body_or_query(&sent(&server).await);
    assert!(deleted.deleted);
    assert_eq!(deleted.id.as_deref(), Some("perm_1"));
}

// ---- organization roles ----

#[tokio::test]
async fn list_roles_decodes_nested_permissions() {
    let (server, clerk) = mock_clerk().await;
    let admin = support::role(
        "role_1",
        "org:admin",
        vec![support::permission("perm_1", "org:a:read")],
    );
    answer(
        &server,
        "GET",
        "/v1/organization_roles",
        support::page(vec![admin], 1),
    )
    .await;

    let page = clerk
        .organization_roles()
        .list()
        .limit(500)
        .offset(1000)
        .send()
        .await
        .unwrap();

    assert_eq!(
        sent(&server).await.url.query(),
        Some("limit=500&offset=1000")
    );
    assert_eq!(page.data[0].permissions[0].id, "perm_1");
}

#[tokio::test]
async fn create_role_with_every_option() {
    let (server, clerk) = mock_clerk().await;
    answer(
        &server,
        "POST",
        "/v1/organization_roles",
        support::role("role_2", "org:billing", vec![]),
    )
    .await;

    let role = clerk
        .organization_roles()
        .create(
            CreateRole::new("Billing", "org:billing")
                .description("Pays")
                .permissions(["perm_1".to_string(), "perm_2".to_string()])
                .include_in_initial_role_set(false),
        )
        .await
        .unwrap();

    assert_eq!(
        body(&sent(&server).await),
        json!({
            "name": "Billing", "key": "org:billing", "description": "Pays",
            "permissions": ["perm_1", "perm_2"], "include_in_initial_role_set": false
        })
    );
    assert_eq!(role.key, "org:billing");
}

#[tokio::test]
async fn create_role_minimal_sends_only_required_fields() {
    let (server, clerk) = mock_clerk().await;
    answer(
        &server,
        "POST",
        "/v1/organization_roles",
        support::role("role_2", "org:billing", vec![]),
    )
    .await;
    clerk
        .organization_roles()
        .create(CreateRole::new("Billing", "org:billing"))
        .await
        .unwrap();
    assert_eq!(
        body(&sent(&server).await),
        json!({"name": "Billing", "key": "org:billing"})
    );
}

#[tokio::test]
async fn get_role() {
    let (server, clerk) = mock_clerk().await;
    answer(
        &server,
        "GET",
        "/v1/organization_roles/role_1",
        support::role("role_1", "org:admin", vec![]),
    )
    .await;
    let role = clerk.organization_roles().get("role_1").await.unwrap();
    assert_no_body_or_query(&sent(&server).await);
    assert!(role.is_creator_eligible);
}

#[tokio::test]
async fn update_role_can_clear_the_description_with_null() {
    let (server, clerk) = mock_clerk().await;
    let mut cleared = support::role("role_1", "org:admin", vec![]);
    cleared["description"] = Value::Null;
    answer(&server, "PATCH", "/v1/organization_roles/role_1", cleared).await;

    let role = clerk
        .organization_roles()
        .update(
            "role_1",
            UpdateRole::new().name("Admins").clear_description(),
        )
        .await
        .unwrap();

    // Exactly the touched fields: `description` as an explicit null, nothing for key/permissions.
    assert_eq!(
        body(&sent(&server).await),
        json!({"name": "Admins", "description": null})
    );
    assert_eq!(role.description, None);
}

#[tokio::test]
async fn update_role_replaces_permissions() {
    let (server, clerk) = mock_clerk().await;
    answer(
        &server,
        "PATCH",
        "/v1/organization_roles/role_1",
        support::role("role_1", "org:admin", vec![]),
    )
    .await;
    let changes = UpdateRole::new()
        .permissions(Vec::<String>::new())
        .key("org:owner");
    clerk
        .organization_roles()
        .update("role_1", changes)
        .await
        .unwrap();
    assert_eq!(
        body(&sent(&server).await),
        json!({"key": "org:owner", "permissions": []})
    );
}

#[tokio::test]
async fn delete_role() {
    let (server, clerk) = mock_clerk().await;
    answer(
        &server,
        "DELETE",
        "/v1/organization_roles/role_1",
        support::deleted("role", "role_1"),
    )
    .await;
    let deleted = clerk.organization_roles().delete("role_1").await.unwrap();
    assert_no_body_or_query(&sent(&server).await);
    assert_eq!(deleted.object, "role");
}

#[tokio::test]
async fn assign_permission_to_role() {
    let (server, clerk) = mock_clerk().await;
    let role = support::role(
        "role_1",
        "org:admin",
        vec![support::permission("perm_7", "org:x:y")],
    );
    answer(
        &server,
        "POST",
        "/v1/organization_roles/role_1/permissions/perm_7",
        role,
    )
    .await;
    let role = clerk
        .organization_roles()
        .assign_permission("role_1", "perm_7")
        .await
        .unwrap();
    assert_no_body_or_query(&sent(&server).await);
    assert_eq!(role.permissions.len(), 1);
}

#[tokio::test]
async fn remove_permission_from_role() {
    let (server, clerk) = mock_clerk().await;
    answer(
        &server,
        "DELETE",
        "/v1/organization_roles/role_1/permissions/perm_7",
        support::role("role_1", "org:admin", vec![]),
    )
    .await;
    let role = clerk
        .organization_roles()
        .remove_permission("role_1", "perm_7")
        .await
        .unwrap();
    assert_no_body_or_query(&sent(&server).await);
    assert!(role.permissions.is_empty());
}

// ---- role sets ----

#[tokio::test]
async fn list_role_sets() {
    let (server, clerk) = mock_clerk().await;
    answer(
        &server,
        "GET",
        "/v1/role_sets",
        support::page(vec![support::role_set("rs_1", "role_set:support")], 1),
    )
    .await;
    let page = clerk
        .role_sets()
        .list()
        .query("support")
        .send()
        .await
        .unwrap();
    assert_eq!(sent(&server).await.url.query(), Some("query=support"));
    let set = &page.data[0];
    assert_eq!(set.type_, RoleSetType::Custom);
    assert_eq!(set.roles.len(), 2);
    assert_eq!(set.default_role.as_ref().unwrap().key, "org:agent");
    assert_eq!(set.roles[0].members_count, Some(3));
}

#[tokio::test]
async fn create_role_set_with_every_option() {
    let (server, clerk) = mock_clerk().await;
    answer(
        &server,
        "POST",
        "/v1/role_sets",
        support::role_set("rs_2", "role_set:support"),
    )
    .await;
    let new = CreateRoleSet::new(
        "Support",
        ["org:agent", "org:lead"],
        "org:agent",
        "org:lead",
    )
    .key("role_set:support")
    .description("Support teams")
    .type_(CreateRoleSetType::Initial);

    let set = clerk.role_sets().create(new).await.unwrap();

    assert_eq!(
        body(&sent(&server).await),
        json!({
            "name": "Support", "key": "role_set:support", "description": "Support teams",
            "type": "initial", "roles": ["org:agent", "org:lead"],
            "default_role_key": "org:agent", "creator_role_key": "org:lead"
        })
    );
    assert_eq!(set.id, "rs_2");
}

#[tokio::test]
async fn get_role_set_by_key_keeps_the_colon() {
    let (server, clerk) = mock_clerk().await;
    answer(
        &server,
        "GET",
        "/v1/role_sets/role_set:default",
        support::role_set("rs_1", "role_set:default"),
    )
    .await;
    let set = clerk.role_sets().get("role_set:default").await.unwrap();
    let request = sent(&server).await;
    assert_eq!(request.url.path(), "/v1/role_sets/role_set:default");
    assert_eq!(set.key, "role_set:default");
}

#[tokio::test]
async fn update_role_set_sends_nulls_and_values_as_touched() {
    let (server, clerk) = mock_clerk().await;
    answer(
        &server,
        "PATCH",
        "/v1/role_sets/rs_1",
        support::role_set("rs_1", "role_set:support"),
    )
    .await;
    let changes = UpdateRoleSet::new()
        .type_(RoleSetTypeUpdate::Initial)
        .creator_role_key("org:lead")
        .clear_description();
    clerk.role_sets().update("rs_1", changes).await.unwrap();
    assert_eq!(
        body(&sent(&server).await),
        json!({"type": "initial", "creator_role_key": "org:lead", "description": null})
    );
}

#[tokio::test]
async fn add_roles_to_role_set() {
    let (server, clerk) = mock_clerk().await;
    answer(
        &server,
        "POST",
        "/v1/role_sets/rs_1/roles",
        support::role_set("rs_1", "role_set:support"),
    )
    .await;
    let add = AddRoles::new(["org:auditor".to_string()])
        .default_role_key("org:auditor")
        .creator_role_key("org:lead");
    clerk.role_sets().add_roles("rs_1", add).await.unwrap();
    assert_eq!(
        body(&sent(&server).await),
        json!({"role_keys": ["org:auditor"], "default_role_key": "org:auditor", "creator_role_key": "org:lead"})
    );
}

#[tokio::test]
async fn replace_role_in_role_set() {
    let (server, clerk) = mock_clerk().await;
    answer(
        &server,
        "POST",
        "/v1/role_sets/rs_1/roles/replace",
        support::role_set("rs_1", "role_set:support"),
    )
    .await;
    clerk
        .role_sets()
        .replace_role("rs_1", ReplaceRole::new("org:viewer", "org:member"))
        .await
        .unwrap();
    assert_eq!(
        body(&sent(&server).await),
        json!({"role_key": "org:viewer", "to_role_key": "org:member"})
    );
}

#[tokio::test]
async fn replace_role_set_returns_the_deleted_object() {
    let (server, clerk) = mock_clerk().await;
    answer(
        &server,
        "POST",
        "/v1/role_sets/rs_1/replace",
        support::deleted("role_set", "rs_1"),
    )
    .await;
    let replace = ReplaceRoleSet::new("role_set:default")
        .reassign("org:viewer", "org:member")
        .reassign("org:lead", "org:admin");
    let deleted = clerk.role_sets().replace("rs_1", replace).await.unwrap();
    assert_eq!(
        body(&sent(&server).await),
        json!({
            "dest_role_set_key": "role_set:default",
            "reassignment_mappings": {"org:lead": "org:admin", "org:viewer": "org:member"}
        })
    );
    assert!(deleted.deleted);
    assert_eq!(deleted.object, "role_set");
}

#[tokio::test]
async fn replace_role_set_without_mappings_sends_only_the_destination() {
    let (server, clerk) = mock_clerk().await;
    answer(
        &server,
        "POST",
        "/v1/role_sets/rs_1/replace",
        support::deleted("role_set", "rs_1"),
    )
    .await;
    clerk
        .role_sets()
        .replace("rs_1", ReplaceRoleSet::new("role_set:default"))
        .await
        .unwrap();
    assert_eq!(
        body(&sent(&server).await),
        json!({"dest_role_set_key": "role_set:default"})
    );
}
