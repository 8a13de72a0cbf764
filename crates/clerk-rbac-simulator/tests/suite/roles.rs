//! Role rules: key format and uniqueness, assigning a held permission, the creator role's
//! required permissions, deletion blocked while a role is in use, and key changes that
//! cascade to role sets.

use clerk_rbac::{CreateRole, CreateRoleSet, UpdateRole};

use super::support::{
    creator_permission_ids, creator_role, permission, refused, role, role_id, start,
};

#[tokio::test]
async fn role_keys_must_read_org_name_and_be_unique() {
    let (_sim, clerk) = start().await;
    for bad in [
        "billing",
        "org:",
        "org:Billing",
        "org:bill-ing",
        "org:a:b",
        "role:billing",
    ] {
        refused(
            clerk
                .organization_roles()
                .create(CreateRole::new("Bad", bad))
                .await,
            422,
            "form_param_format_invalid",
        );
    }
    let billing = role(&clerk, "org:billing", &[]).await;
    refused(
        clerk
            .organization_roles()
            .create(CreateRole::new("Again", "org:billing"))
            .await,
        400,
        "duplicate_record",
    );
    refused(
        clerk
            .organization_roles()
            .create(CreateRole::new("Admin twin", "org:admin"))
            .await,
        400,
        "duplicate_record",
    );
    let other = role(&clerk, "org:sales", &[]).await;
    refused(
        clerk
            .organization_roles()
            .update(&other.id, UpdateRole::new().key("org:billing"))
            .await,
        400,
        "duplicate_record",
    );
    refused(
        clerk
            .organization_roles()
            .update(&billing.id, UpdateRole::new().key("Billing"))
            .await,
        422,
        "form_param_format_invalid",
    );
}

#[tokio::test]
async fn roles_name_existing_permissions_only() {
    let (sim, clerk) = start().await;
    let read = permission(&clerk, "org:data:read").await;
    let err = refused(
        clerk
            .organization_roles()
            .create(
                CreateRole::new("Reader", "org:reader")
                    .permissions([read.id.as_str(), "perm_missing"]),
            )
            .await,
        422,
        "form_resource_not_found",
    );
    assert_eq!(err.clerk_errors()[0].meta["param_name"], "permissions");
    assert!(sim.snapshot().roles.iter().all(|r| r.key != "org:reader"));
    // Repeated IDs count once.
    let reader = clerk
        .organization_roles()
        .create(
            CreateRole::new("Reader", "org:reader")
                .permissions([read.id.as_str(), read.id.as_str()]),
        )
        .await
        .unwrap();
    assert_eq!(reader.permissions, std::slice::from_ref(&read));
    refused(
        clerk
            .organization_roles()
            .update(&reader.id, UpdateRole::new().permissions(["perm_missing"]))
            .await,
        422,
        "form_resource_not_found",
    );
}

#[tokio::test]
async fn assigning_a_permission_the_role_holds_is_a_conflict() {
    let (_sim, clerk) = start().await;
    let read = permission(&clerk, "org:files:read").await;
    let viewer = role(&clerk, "org:viewer", &[&read.id]).await;
    let err = refused(
        clerk
            .organization_roles()
            .assign_permission(&viewer.id, &read.id)
            .await,
        409,
        "duplicate_record",
    );
    assert!(err.to_string().contains("org:files:read"), "{err}");
    refused(
        clerk
            .organization_roles()
            .assign_permission(&viewer.id, "perm_missing")
            .await,
        404,
        "resource_not_found",
    );
    refused(
        clerk
            .organization_roles()
            .assign_permission("role_missing", &read.id)
            .await,
        404,
        "resource_not_found",
    );
    // Taking away what the role does not hold is "not found".
    let write = permission(&clerk, "org:files:write").await;
    refused(
        clerk
            .organization_roles()
            .remove_permission(&viewer.id, &write.id)
            .await,
        404,
        "resource_not_found",
    );
    let assigned = clerk
        .organization_roles()
        .assign_permission(&viewer.id, &write.id)
        .await
        .unwrap();
    assert_eq!(assigned.permissions.len(), 2);
}

#[tokio::test]
async fn is_creator_eligible_follows_the_three_required_system_permissions() {
    let (_sim, clerk) = start().await;
    let ids = creator_permission_ids(&clerk).await;
    let mut r = role(&clerk, "org:founder", &[&ids[0], &ids[1]]).await;
    assert!(!r.is_creator_eligible);
    r = clerk
        .organization_roles()
        .assign_permission(&r.id, &ids[2])
        .await
        .unwrap();
    assert!(r.is_creator_eligible);
    r = clerk
        .organization_roles()
        .remove_permission(&r.id, &ids[0])
        .await
        .unwrap();
    assert!(!r.is_creator_eligible);
}

#[tokio::test]
async fn a_creator_role_keeps_its_required_permissions() {
    let (_sim, clerk) = start().await;
    let admin = role_id(&clerk, "org:admin").await;
    let ids = creator_permission_ids(&clerk).await;
    // org:admin is the default set's creator role.
    for id in &ids {
        refused(
            clerk
                .organization_roles()
                .remove_permission(&admin, id)
                .await,
            422,
            "organization_missing_creator_role_permissions",
        );
    }
    refused(
        clerk
            .organization_roles()
            .update(&admin, UpdateRole::new().permissions([ids[0].as_str()]))
            .await,
        422,
        "organization_missing_creator_role_permissions",
    );
    assert_eq!(
        clerk
            .organization_roles()
            .get(&admin)
            .await
            .unwrap()
            .permissions
            .len(),
        9
    );
    // Another system permission may go.
    let domains = super::support::permission_id(&clerk, "org:sys_domains:read").await;
    let fewer = clerk
        .organization_roles()
        .remove_permission(&admin, &domains)
        .await
        .unwrap();
    assert_eq!(fewer.permissions.len(), 8);
    assert!(fewer.is_creator_eligible);
}

#[tokio::test]
async fn a_role_in_use_cannot_be_deleted() {
    let (sim, clerk) = start().await;
    let reason = |err: &clerk_rbac::Error| err.clerk_errors()[0].meta["reason"].clone();

    // The default set's default and creator roles.
    let member = role_id(&clerk, "org:member").await;
    let err = refused(
        clerk.organization_roles().delete(&member).await,
        422,
        "organization_role_in_use",
    );
    assert_eq!(reason(&err), "default_role");
    let admin = role_id(&clerk, "org:admin").await;
    let err = refused(
        clerk.organization_roles().delete(&admin).await,
        422,
        "organization_role_in_use",
    );
    assert_eq!(reason(&err), "creator_role");

    // Members in a set.
    let staff = role(&clerk, "org:staff", &[]).await;
    clerk
        .role_sets()
        .add_roles("role_set:default", clerk_rbac::AddRoles::new(["org:staff"]))
        .await
        .unwrap();
    sim.set_members("role_set:default", "org:staff", 4).unwrap();
    let err = refused(
        clerk.organization_roles().delete(&staff.id).await,
        422,
        "organization_role_in_use",
    );
    assert_eq!(reason(&err), "members");
    sim.set_members("role_set:default", "org:staff", 0).unwrap();

    // Pending invitations.
    sim.set_invitations("org:staff", 1).unwrap();
    let err = refused(
        clerk.organization_roles().delete(&staff.id).await,
        422,
        "organization_role_in_use",
    );
    assert_eq!(reason(&err), "invitations");
    sim.set_invitations("org:staff", 0).unwrap();

    // Nothing holds it now: it goes, and leaves the set it was in.
    let deleted = clerk.organization_roles().delete(&staff.id).await.unwrap();
    assert_eq!(
        (deleted.object.as_str(), deleted.id.as_deref()),
        ("role", Some(staff.id.as_str()))
    );
    let set = clerk.role_sets().get("role_set:default").await.unwrap();
    assert!(set.roles.iter().all(|r| r.key != "org:staff"));
    refused(
        clerk.organization_roles().get(&staff.id).await,
        404,
        "resource_not_found",
    );
}

#[tokio::test]
async fn a_role_key_change_reaches_every_role_set_that_holds_it() {
    let (_sim, clerk) = start().await;
    let lead = creator_role(&clerk, "org:lead").await;
    clerk
        .role_sets()
        .create(
            CreateRoleSet::new("Team", ["org:lead", "org:member"], "org:member", "org:lead")
                .key("role_set:team"),
        )
        .await
        .unwrap();
    let admin = role_id(&clerk, "org:admin").await;
    clerk
        .organization_roles()
        .update(&admin, UpdateRole::new().key("org:owner"))
        .await
        .unwrap();
    clerk
        .organization_roles()
        .update(&lead.id, UpdateRole::new().key("org:team_lead"))
        .await
        .unwrap();

    let default_set = clerk.role_sets().get("role_set:default").await.unwrap();
    assert_eq!(default_set.creator_role.unwrap().key, "org:owner");
    assert!(default_set.roles.iter().any(|r| r.key == "org:owner"));
    let team = clerk.role_sets().get("role_set:team").await.unwrap();
    assert_eq!(team.creator_role.unwrap().key, "org:team_lead");
    // The old key is free again, and the new one names the role everywhere.
    role(&clerk, "org:lead", &[]).await;
    clerk
        .role_sets()
        .add_roles(
            "role_set:team",
            clerk_rbac::AddRoles::new(["org:lead"]).default_role_key("org:lead"),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn updates_clear_the_description_and_replace_permissions() {
    let (_sim, clerk) = start().await;
    let a = permission(&clerk, "org:a:read").await;
    let b = permission(&clerk, "org:b:read").await;
    let r = clerk
        .organization_roles()
        .create(
            CreateRole::new("R", "org:r")
                .description("Has a description")
                .permissions([a.id.as_str()]),
        )
        .await
        .unwrap();
    assert_eq!(r.description.as_deref(), Some("Has a description"));
    let r = clerk
        .organization_roles()
        .update(
            &r.id,
            UpdateRole::new()
                .clear_description()
                .permissions([b.id.as_str()]),
        )
        .await
        .unwrap();
    assert_eq!(r.description, None);
    assert_eq!(r.permissions, [b]);
    assert_eq!(r.name, "R");
}
