//! Responses from a newer (or sloppier) Clerk still decode: unknown fields, unknown enum
//! values, absent nullable fields, and the `type` the reference SDK's fixtures leave out.

use clerk_rbac::RoleSetType;
use serde_json::{Value, json};
use wiremock::{Mock, ResponseTemplate, matchers::path};

use crate::support::{self, mock_clerk};

async fn serve(server: &wiremock::MockServer, route: &str, body: Value) {
    Mock::given(path(route))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

#[tokio::test]
async fn unknown_fields_are_ignored_at_every_level() {
    let (server, clerk) = mock_clerk().await;
    let mut set = support::role_set("rs_1", "role_set:support");
    set["brand_new_field"] = json!({"nested": [1, 2]});
    set["roles"][0]["another_new_field"] = json!(true);
    set["default_role"]["x"] = json!(null);
    let mut body = support::page(vec![set], 1);
    body["next_cursor"] = json!("abc");
    serve(&server, "/v1/role_sets", body).await;

    let page = clerk.role_sets().list().send().await.unwrap();
    assert_eq!(page.data[0].roles[0].key, "org:agent");

    let mut deleted = support::deleted("role", "role_1");
    deleted["purged_at"] = json!(1);
    serve(&server, "/v1/organization_roles/role_1", deleted).await;
    assert!(
        clerk
            .organization_roles()
            .delete("role_1")
            .await
            .unwrap()
            .deleted
    );
}

#[tokio::test]
async fn an_unknown_role_set_type_is_kept_as_unknown() {
    let (server, clerk) = mock_clerk().await;
    let mut set = support::role_set("rs_1", "role_set:system");
    set["type"] = json!("system");
    serve(&server, "/v1/role_sets/rs_1", set).await;

    let set = clerk.role_sets().get("rs_1").await.unwrap();
    assert_eq!(set.type_, RoleSetType::Unknown("system".into()));
    assert_eq!(set.type_.as_str(), "system");
}

#[tokio::test]
async fn unknown_object_discriminators_decode() {
    let (server, clerk) = mock_clerk().await;
    let mut role = support::role(
        "role_1",
        "org:admin",
        vec![support::permission("perm_1", "org:a:b")],
    );
    role["object"] = json!("organization_role");
    role["permissions"][0]["object"] = json!("organization_permission");
    serve(&server, "/v1/organization_roles/role_1", role).await;

    let role = clerk.organization_roles().get("role_1").await.unwrap();
    assert_eq!(role.object, "organization_role");
    assert_eq!(role.permissions[0].object, "organization_permission");
}

#[tokio::test]
async fn nullable_fields_may_be_absent() {
    let (server, clerk) = mock_clerk().await;
    let mut set = support::role_set("rs_1", "role_set:support");
    let object = set.as_object_mut().unwrap();
    for nullable in [
        "description",
        "default_role",
        "creator_role",
        "role_set_migration",
    ] {
        object.remove(nullable);
    }
    let item = set["roles"][0].as_object_mut().unwrap();
    for nullable in ["description", "members_count", "has_members"] {
        item.remove(nullable);
    }
    serve(&server, "/v1/role_sets/rs_1", set).await;

    let set = clerk.role_sets().get("rs_1").await.unwrap();
    assert_eq!(set.description, None);
    assert!(set.default_role.is_none() && set.role_set_migration.is_none());
    assert_eq!(set.roles[0].members_count, None);

    let mut role = support::role("role_1", "org:admin", vec![]);
    role.as_object_mut().unwrap().remove("description");
    serve(&server, "/v1/organization_roles/role_1", role).await;
    assert_eq!(
        clerk
            .organization_roles()
            .get("role_1")
            .await
            .unwrap()
            .description,
        None
    );
}

#[tokio::test]
async fn permission_type_may_be_absent() {
    let (server, clerk) = mock_clerk().await;
    let mut permission = support::permission("perm_1", "org:a:read");
    permission.as_object_mut().unwrap().remove("type");
    serve(&server, "/v1/organization_permissions/perm_1", permission).await;

    let permission = clerk
        .organization_permissions()
        .get("perm_1")
        .await
        .unwrap();
    assert_eq!(permission.type_, None);
    assert_eq!(permission.key, "org:a:read");
}

#[tokio::test]
async fn a_role_set_migration_decodes_with_its_mappings() {
    let (server, clerk) = mock_clerk().await;
    let mut set = support::role_set("rs_1", "role_set:support");
    set["role_set_migration"] = json!({
        "object": "role_set_migration", "id": "rsm_1", "instance_id": "ins_1",
        "source_role_set_id": "rs_0", "trigger_type": "replace", "status": "running",
        "migrated_members": 12, "mappings": {"org:viewer": "org:member"},
        "created_at": 1_700_000_000_000_i64, "updated_at": 1_700_000_000_000_i64,
    });
    serve(&server, "/v1/role_sets/rs_1", set).await;

    let migration = clerk
        .role_sets()
        .get("rs_1")
        .await
        .unwrap()
        .role_set_migration
        .unwrap();
    assert_eq!(migration.migrated_members, 12);
    assert_eq!(migration.mappings.unwrap()["org:viewer"], "org:member");
    assert_eq!(migration.completed_at, None);
}

#[test]
fn request_bodies_stay_strict() {
    // A typo in a hand-built create body is a decoding error, not a silently dropped field.
    let body = json!({"name": "Billing", "key": "org:billing", "descripton": "typo"});
    assert!(serde_json::from_value::<clerk_rbac::CreateRole>(body).is_err());
}
