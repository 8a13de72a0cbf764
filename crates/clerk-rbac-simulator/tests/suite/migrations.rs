//! Replacing a whole role set: the migration runs `enqueued` -> `in_progress` -> `completed`
//! on tokio's clock (paused here and moved by hand), members move as mapped, and the replaced
//! set is gone once it completes.

use std::time::Duration;

use clerk_rbac::{AddRoles, CreateRoleSet, ReplaceRoleSet, RoleSetType, UpdateRoleSet};

use super::support::{builder, creator_role, refused, role, start, start_with};

const MIGRATION: Duration = Duration::from_secs(10);

/// An instance with a `role_set:old` (viewer, editor, admin) whose members must move to
/// `role_set:new` (member, admin).
async fn two_sets() -> (clerk_rbac_simulator::Simulator, clerk_rbac::Clerk) {
    let (sim, clerk) = start_with(builder().migration_duration(MIGRATION)).await;
    role(&clerk, "org:viewer", &[]).await;
    role(&clerk, "org:editor", &[]).await;
    clerk
        .role_sets()
        .create(
            CreateRoleSet::new(
                "Old",
                ["org:viewer", "org:editor", "org:admin"],
                "org:viewer",
                "org:admin",
            )
            .key("role_set:old"),
        )
        .await
        .unwrap();
    clerk
        .role_sets()
        .create(
            CreateRoleSet::new(
                "New",
                ["org:member", "org:admin"],
                "org:member",
                "org:admin",
            )
            .key("role_set:new"),
        )
        .await
        .unwrap();
    sim.set_members("role_set:old", "org:viewer", 6).unwrap();
    sim.set_members("role_set:old", "org:editor", 3).unwrap();
    sim.set_members("role_set:old", "org:admin", 1).unwrap();
    sim.set_members("role_set:new", "org:member", 2).unwrap();
    (sim, clerk)
}

#[tokio::test(start_paused = true)]
async fn a_replacement_goes_enqueued_in_progress_completed_and_moves_members() {
    let (sim, clerk) = two_sets().await;
    let old = clerk.role_sets().get("role_set:old").await.unwrap();
    let replace = ReplaceRoleSet::new("role_set:new")
        .reassign("org:viewer", "org:member")
        .reassign("org:editor", "org:member");
    let deleted = clerk
        .role_sets()
        .replace("role_set:old", replace)
        .await
        .unwrap();
    assert!(deleted.deleted);
    assert_eq!(
        (deleted.object.as_str(), deleted.id.as_deref()),
        ("role_set", Some(old.id.as_str()))
    );

    // Right away: enqueued, still listed, nothing moved yet.
    let during = clerk.role_sets().get("role_set:old").await.unwrap();
    let migration = during.role_set_migration.expect("a migration under way");
    assert_eq!(migration.status, "enqueued");
    assert_eq!(migration.migrated_members, 0);
    assert_eq!(migration.source_role_set_id, old.id);
    assert_eq!(
        migration.dest_role_set_id.as_deref(),
        Some(
            clerk
                .role_sets()
                .get("role_set:new")
                .await
                .unwrap()
                .id
                .as_str()
        )
    );
    assert_eq!(migration.trigger_type, "role_set_deletion");
    assert!(migration.started_at.is_none() && migration.completed_at.is_none());
    let mappings = migration.mappings.unwrap();
    assert_eq!(mappings["org:viewer"], "org:member");
    assert_eq!(
        clerk.role_sets().list().send().await.unwrap().total_count,
        3
    );

    // Halfway: in progress, members moving.
    tokio::time::advance(MIGRATION / 2).await;
    let migration = clerk
        .role_sets()
        .get("role_set:old")
        .await
        .unwrap()
        .role_set_migration
        .unwrap();
    assert_eq!(migration.status, "in_progress");
    assert!(migration.started_at.is_some());
    assert!(
        (1..10).contains(&migration.migrated_members),
        "{}",
        migration.migrated_members
    );

    // Done: the old set is gone and its members are in the new one.
    tokio::time::advance(MIGRATION / 2).await;
    refused(
        clerk.role_sets().get("role_set:old").await,
        404,
        "resource_not_found",
    );
    refused(
        clerk.role_sets().get(&old.id).await,
        404,
        "resource_not_found",
    );
    let new = clerk.role_sets().get("role_set:new").await.unwrap();
    assert!(new.role_set_migration.is_none());
    let members = |key: &str| {
        new.roles
            .iter()
            .find(|r| r.key == key)
            .unwrap()
            .members_count
    };
    assert_eq!(members("org:member"), Some(2 + 6 + 3));
    assert_eq!(members("org:admin"), Some(1));
    assert_eq!(
        clerk.role_sets().list().send().await.unwrap().total_count,
        2
    );
    assert!(sim.snapshot().migrations.is_empty());
    // The old set's key is free again.
    clerk
        .role_sets()
        .create(
            CreateRoleSet::new("Old again", ["org:admin"], "org:admin", "org:admin")
                .key("role_set:old"),
        )
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn members_holding_roles_the_destination_lacks_need_reassignment_mappings() {
    let (sim, clerk) = two_sets().await;
    let err = refused(
        clerk
            .role_sets()
            .replace("role_set:old", ReplaceRoleSet::new("role_set:new"))
            .await,
        422,
        "form_conditional_param_missing",
    );
    let meta = &err.clerk_errors()[0].meta;
    assert_eq!(meta["param_name"], "reassignment_mappings");
    assert_eq!(
        meta["role_keys"],
        serde_json::json!(["org:viewer", "org:editor"])
    );
    // Half a mapping is not enough.
    refused(
        clerk
            .role_sets()
            .replace(
                "role_set:old",
                ReplaceRoleSet::new("role_set:new").reassign("org:viewer", "org:member"),
            )
            .await,
        422,
        "form_conditional_param_missing",
    );
    // Roles nobody holds need no mapping.
    sim.set_members("role_set:old", "org:viewer", 0).unwrap();
    sim.set_members("role_set:old", "org:editor", 0).unwrap();
    clerk
        .role_sets()
        .replace("role_set:old", ReplaceRoleSet::new("role_set:new"))
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn mappings_and_destinations_must_make_sense() {
    let (_sim, clerk) = two_sets().await;
    let both = |r: ReplaceRoleSet| {
        r.reassign("org:viewer", "org:member")
            .reassign("org:editor", "org:member")
    };
    refused(
        clerk
            .role_sets()
            .replace("role_set:old", both(ReplaceRoleSet::new("role_set:nope")))
            .await,
        422,
        "form_resource_not_found",
    );
    refused(
        clerk
            .role_sets()
            .replace("role_set:old", both(ReplaceRoleSet::new("role_set:old")))
            .await,
        422,
        "form_param_value_invalid",
    );
    refused(
        clerk
            .role_sets()
            .replace(
                "role_set:old",
                both(ReplaceRoleSet::new("role_set:new")).reassign("org:viewer", "org:editor"),
            )
            .await,
        422,
        "form_param_value_invalid",
    );
    refused(
        clerk
            .role_sets()
            .replace(
                "role_set:old",
                both(ReplaceRoleSet::new("role_set:new")).reassign("org:member", "org:admin"),
            )
            .await,
        422,
        "form_param_value_invalid",
    );
    refused(
        clerk
            .role_sets()
            .replace("role_set:gone", both(ReplaceRoleSet::new("role_set:new")))
            .await,
        404,
        "resource_not_found",
    );
}

#[tokio::test(start_paused = true)]
async fn a_set_being_replaced_cannot_change_until_the_migration_completes() {
    let (_sim, clerk) = two_sets().await;
    clerk
        .role_sets()
        .replace(
            "role_set:old",
            ReplaceRoleSet::new("role_set:new")
                .reassign("org:viewer", "org:member")
                .reassign("org:editor", "org:member"),
        )
        .await
        .unwrap();
    let code = "role_set_migration_in_progress";
    refused(
        clerk
            .role_sets()
            .update("role_set:old", UpdateRoleSet::new().name("x"))
            .await,
        422,
        code,
    );
    refused(
        clerk
            .role_sets()
            .add_roles("role_set:old", AddRoles::new(["org:member"]))
            .await,
        422,
        code,
    );
    refused(
        clerk
            .role_sets()
            .replace("role_set:old", ReplaceRoleSet::new("role_set:default"))
            .await,
        422,
        code,
    );
    // Nor can the destination be replaced, or become one while retiring.
    refused(
        clerk
            .role_sets()
            .replace("role_set:new", ReplaceRoleSet::new("role_set:default"))
            .await,
        422,
        code,
    );
    refused(
        clerk
            .role_sets()
            .replace("role_set:default", ReplaceRoleSet::new("role_set:old"))
            .await,
        422,
        code,
    );
    // The roles of a retiring set are still in use by its members.
    let viewer = super::support::role_id(&clerk, "org:viewer").await;
    refused(
        clerk.organization_roles().delete(&viewer).await,
        422,
        "organization_role_in_use",
    );
    tokio::time::advance(MIGRATION).await;
    clerk.organization_roles().delete(&viewer).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn replacing_the_initial_set_makes_the_destination_initial() {
    let (_sim, clerk) = start_with(builder().migration_duration(MIGRATION)).await;
    creator_role(&clerk, "org:head").await;
    clerk
        .role_sets()
        .create(
            CreateRoleSet::new("Next", ["org:head"], "org:head", "org:head").key("role_set:next"),
        )
        .await
        .unwrap();
    clerk
        .role_sets()
        .replace("role_set:default", ReplaceRoleSet::new("role_set:next"))
        .await
        .unwrap();
    assert_eq!(
        clerk.role_sets().get("role_set:next").await.unwrap().type_,
        RoleSetType::Initial
    );
    assert_eq!(
        clerk
            .role_sets()
            .get("role_set:default")
            .await
            .unwrap()
            .type_,
        RoleSetType::Custom
    );
    tokio::time::advance(MIGRATION).await;
    let sets = clerk.role_sets().list().send().await.unwrap();
    assert_eq!(
        sets.data.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(),
        ["role_set:next"]
    );
}

#[tokio::test]
async fn a_zero_duration_completes_at_once() {
    let (_sim, clerk) = start().await;
    creator_role(&clerk, "org:head").await;
    clerk
        .role_sets()
        .create(
            CreateRoleSet::new("Next", ["org:head"], "org:head", "org:head").key("role_set:next"),
        )
        .await
        .unwrap();
    clerk
        .role_sets()
        .replace("role_set:next", ReplaceRoleSet::new("role_set:default"))
        .await
        .unwrap();
    refused(
        clerk.role_sets().get("role_set:next").await,
        404,
        "resource_not_found",
    );
}

#[tokio::test(start_paused = true)]
async fn a_snapshot_taken_mid_migration_resumes_it() {
    let (sim, clerk) = two_sets().await;
    clerk
        .role_sets()
        .replace(
            "role_set:old",
            ReplaceRoleSet::new("role_set:new")
                .reassign("org:viewer", "org:member")
                .reassign("org:editor", "org:member"),
        )
        .await
        .unwrap();
    tokio::time::advance(MIGRATION / 2).await;
    let snapshot = sim.snapshot();
    assert_eq!(snapshot.migrations.len(), 1);
    let (copy, copy_clerk) = start_with(builder().initial(snapshot)).await;
    let status = copy_clerk
        .role_sets()
        .get("role_set:old")
        .await
        .unwrap()
        .role_set_migration
        .unwrap()
        .status;
    assert_eq!(status, "in_progress");
    tokio::time::advance(MIGRATION / 2).await;
    refused(
        copy_clerk.role_sets().get("role_set:old").await,
        404,
        "resource_not_found",
    );
    assert!(copy.snapshot().migrations.is_empty());
}
