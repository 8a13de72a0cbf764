//! Permission rules: the key format, the reserved `org:sys_` prefix, unique keys, and system
//! permissions that cannot change.

use clerk_rbac::{CreatePermission, UpdatePermission};

use super::support::{permission, permission_id, refused, role, start};

#[tokio::test]
async fn permission_keys_must_read_org_feature_action() {
    let (sim, clerk) = start().await;
    for bad in [
        "org:invoices",
        "invoices:read",
        "org:Invoices:read",
        "org:invoices:read:all",
        "org:in-voices:read",
        "org::read",
        "",
    ] {
        let err = refused(
            clerk
                .organization_permissions()
                .create(CreatePermission::new("Bad", bad))
                .await,
            422,
            "form_param_format_invalid",
        );
        assert_eq!(err.clerk_errors()[0].meta["param_name"], "key", "{bad}");
    }
    assert_eq!(sim.snapshot().permissions.len(), 9, "nothing was created");
    let made = permission(&clerk, "org:invoices_2024:read_all").await;
    assert_eq!(made.type_.as_deref(), Some("user"));
    assert_eq!(made.description, "");
}

#[tokio::test]
async fn the_org_sys_prefix_is_reserved_for_system_permissions() {
    let (_sim, clerk) = start().await;
    let err = refused(
        clerk
            .organization_permissions()
            .create(CreatePermission::new("Sneaky", "org:sys_profile:read"))
            .await,
        422,
        "form_param_format_invalid",
    );
    assert!(err.to_string().contains("reserved"), "{err}");
    // Renaming a permission into the reserved prefix is refused too.
    let p = permission(&clerk, "org:plain:read").await;
    refused(
        clerk
            .organization_permissions()
            .update(&p.id, UpdatePermission::new().key("org:sys_x:read"))
            .await,
        422,
        "form_param_format_invalid",
    );
}

#[tokio::test]
async fn permission_keys_are_unique() {
    let (_sim, clerk) = start().await;
    permission(&clerk, "org:reports:read").await;
    let other = permission(&clerk, "org:reports:write").await;
    refused(
        clerk
            .organization_permissions()
            .create(CreatePermission::new("Again", "org:reports:read"))
            .await,
        400,
        "duplicate_record",
    );
    refused(
        clerk
            .organization_permissions()
            .update(&other.id, UpdatePermission::new().key("org:reports:read"))
            .await,
        400,
        "duplicate_record",
    );
    // Keeping one's own key is not a duplicate.
    let same = clerk
        .organization_permissions()
        .update(
            &other.id,
            UpdatePermission::new()
                .key("org:reports:write")
                .description("Writes"),
        )
        .await
        .unwrap();
    assert_eq!(same.description, "Writes");
    // A system permission's key is taken as well.
    refused(
        clerk
            .organization_permissions()
            .create(CreatePermission::new("Copy", "org:sys_profile:manage"))
            .await,
        422,
        "form_param_format_invalid",
    );
}

#[tokio::test]
async fn system_permissions_cannot_be_updated_or_deleted() {
    let (sim, clerk) = start().await;
    let id = permission_id(&clerk, "org:sys_memberships:read").await;
    refused(
        clerk
            .organization_permissions()
            .update(&id, UpdatePermission::new().name("Mine now"))
            .await,
        403,
        "resource_forbidden",
    );
    refused(
        clerk.organization_permissions().delete(&id).await,
        403,
        "resource_forbidden",
    );
    let still = clerk.organization_permissions().get(&id).await.unwrap();
    assert_eq!(still.name, "Read members");
    assert_eq!(sim.snapshot().permissions.len(), 9);
}

#[tokio::test]
async fn a_deleted_permission_leaves_every_role_that_held_it() {
    let (_sim, clerk) = start().await;
    let read = permission(&clerk, "org:docs:read").await;
    let keep = permission(&clerk, "org:docs:keep").await;
    let a = role(&clerk, "org:reader", &[&read.id, &keep.id]).await;
    let b = role(&clerk, "org:other_reader", &[&read.id]).await;
    clerk
        .organization_permissions()
        .delete(&read.id)
        .await
        .unwrap();
    assert_eq!(
        clerk
            .organization_roles()
            .get(&a.id)
            .await
            .unwrap()
            .permissions,
        [keep]
    );
    assert!(
        clerk
            .organization_roles()
            .get(&b.id)
            .await
            .unwrap()
            .permissions
            .is_empty()
    );
    refused(
        clerk.organization_permissions().get(&read.id).await,
        404,
        "resource_not_found",
    );
    refused(
        clerk.organization_permissions().delete(&read.id).await,
        404,
        "resource_not_found",
    );
}

#[tokio::test]
async fn updates_touch_only_what_they_name() {
    let (_sim, clerk) = start().await;
    let p = clerk
        .organization_permissions()
        .create(CreatePermission::new("Read", "org:notes:read").description("Reads notes"))
        .await
        .unwrap();
    let renamed = clerk
        .organization_permissions()
        .update(&p.id, UpdatePermission::new().name("Read notes"))
        .await
        .unwrap();
    assert_eq!(
        (renamed.key.as_str(), renamed.description.as_str()),
        ("org:notes:read", "Reads notes")
    );
    assert!(renamed.updated_at >= p.updated_at);
    assert_eq!(renamed.created_at, p.created_at);
    refused(
        clerk
            .organization_permissions()
            .update(&p.id, UpdatePermission::new().name("  "))
            .await,
        422,
        "form_param_value_invalid",
    );
}
