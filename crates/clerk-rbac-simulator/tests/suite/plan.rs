//! Plan gating: an instance whose plan lacks custom roles answers creates with 402.

use clerk_rbac::{CreatePermission, CreateRole, CreateRoleSet, UpdateRole};

use super::support::{builder, refused, role_id, start_with};

#[tokio::test]
async fn without_custom_roles_every_create_answers_402() {
    let (sim, clerk) = start_with(builder().custom_roles(false)).await;
    let code = "unsupported_subscription_plan_features";
    let err = refused(
        clerk
            .organization_permissions()
            .create(CreatePermission::new("P", "org:p:read"))
            .await,
        402,
        code,
    );
    assert_eq!(
        err.clerk_errors()[0].meta["unsupported_features"],
        serde_json::json!(["custom_roles"])
    );
    refused(
        clerk
            .organization_roles()
            .create(CreateRole::new("R", "org:r"))
            .await,
        402,
        code,
    );
    refused(
        clerk
            .role_sets()
            .create(CreateRoleSet::new(
                "S",
                ["org:admin"],
                "org:admin",
                "org:admin",
            ))
            .await,
        402,
        code,
    );
    let snapshot = sim.snapshot();
    assert_eq!(
        (
            snapshot.permissions.len(),
            snapshot.roles.len(),
            snapshot.role_sets.len()
        ),
        (9, 2, 1)
    );
    // What the plan includes still works.
    let admin = role_id(&clerk, "org:admin").await;
    clerk
        .organization_roles()
        .update(&admin, UpdateRole::new().name("Administrator"))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_plan_check_follows_body_validation() {
    // A body that is wrong is refused as such whatever the plan.
    let (sim, _) = start_with(builder().custom_roles(false)).await;
    let raw = reqwest::Client::new()
        .post(format!("{}/v1/organization_roles", sim.base_url()))
        .bearer_auth(sim.secret_key())
        .header("content-type", "application/json")
        .body(r#"{"name":"R"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 422);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "form_param_missing");
}
