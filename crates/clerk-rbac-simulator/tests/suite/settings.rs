//! The instance's organization settings and the rules they set: the custom-role and role-set
//! quotas, the settings answer, the plan gate as the settings show it, and the stale-read
//! window. Each test fails without its rule.

use std::time::Duration;

use clerk_rbac::{CreateRoleSet, UpdateRoleSet};
use serde_json::Value;

use super::support::{builder, creator_role, refused, role, role_id, start_with};
use clerk_rbac_simulator::{DEFAULT_MAX_CUSTOM_ROLES, DEFAULT_MAX_ROLE_SETS, Simulator};

/// `GET /v1/instance/organization_settings` as raw JSON (the client gains its own method
/// in another change).
async fn settings(sim: &Simulator) -> Value {
    let answer = clerk_rbac::reqwest::Client::new()
        .get(format!(
            "{}/v1/instance/organization_settings",
            sim.base_url()
        ))
        .bearer_auth(sim.secret_key())
        .send()
        .await
        .expect("the simulator answers");
    assert_eq!(answer.status().as_u16(), 200);
    answer.json().await.expect("a JSON body")
}

#[tokio::test]
async fn the_custom_role_quota_counts_created_roles_not_the_two_default_ones() {
    let (_sim, clerk) = start_with(builder().max_custom_roles(2)).await;
    role(&clerk, "org:one", &[]).await;
    role(&clerk, "org:two", &[]).await;
    let err = refused(
        clerk
            .organization_roles()
            .create(clerk_rbac::CreateRole::new("Three", "org:three"))
            .await,
        422,
        "organization_role_quota_exceeded",
    );
    assert!(err.to_string().contains("at most 2"), "{err}");
    // Deleting a custom role makes room again.
    let two = role_id(&clerk, "org:two").await;
    clerk.organization_roles().delete(&two).await.unwrap();
    role(&clerk, "org:three", &[]).await;
}

#[tokio::test]
async fn the_default_custom_role_quota_is_clerks_ten() {
    assert_eq!(DEFAULT_MAX_CUSTOM_ROLES, 10);
    let (_sim, clerk) = start_with(builder()).await;
    for i in 0..10 {
        role(&clerk, &format!("org:r{i}"), &[]).await;
    }
    refused(
        clerk
            .organization_roles()
            .create(clerk_rbac::CreateRole::new("Eleven", "org:r10"))
            .await,
        422,
        "organization_role_quota_exceeded",
    );
}

#[tokio::test]
async fn the_role_set_quota_counts_every_set_the_primary_one_included() {
    assert_eq!(DEFAULT_MAX_ROLE_SETS, 10, "our stated assumption");
    let (_sim, clerk) = start_with(builder().max_role_sets(2)).await;
    creator_role(&clerk, "org:lead").await;
    let set = |key: &str| {
        CreateRoleSet::new("A set", ["org:lead"], "org:lead", "org:lead").key(key.to_owned())
    };
    clerk
        .role_sets()
        .create(set("role_set:second"))
        .await
        .unwrap();
    let err = refused(
        clerk.role_sets().create(set("role_set:third")).await,
        422,
        "role_set_quota_exceeded",
    );
    assert!(err.to_string().contains("at most 2"), "{err}");
}

#[tokio::test]
async fn the_settings_report_the_quotas_and_the_initial_sets_roles() {
    let (sim, clerk) = start_with(builder().max_custom_roles(4).max_role_sets(3)).await;
    let s = settings(&sim).await;
    assert_eq!(s["object"], "organization_settings");
    assert_eq!(s["max_allowed_roles"], 4);
    assert_eq!(s["max_role_sets_allowed"], 3);
    assert_eq!(s["creator_role"], "org:admin");
    assert_eq!(s["domains_default_role"], "org:member");
    assert_eq!(s["initial_role_set_key"], "role_set:default");
    for required in [
        "enabled",
        "max_allowed_memberships",
        "max_allowed_domains",
        "admin_delete_enabled",
        "domains_enabled",
        "domains_enrollment_modes",
    ] {
        assert!(
            s.get(required).is_some(),
            "{required} is required by the spec"
        );
    }
    // A new initial set, with other roles, moves what the settings name.
    creator_role(&clerk, "org:lead").await;
    role(&clerk, "org:newcomer", &[]).await;
    clerk
        .role_sets()
        .create(
            CreateRoleSet::new(
                "Next",
                ["org:lead", "org:newcomer"],
                "org:newcomer",
                "org:lead",
            )
            .key("role_set:next"),
        )
        .await
        .unwrap();
    clerk
        .role_sets()
        .update(
            "role_set:next",
            UpdateRoleSet::new().type_(clerk_rbac::RoleSetTypeUpdate::Initial),
        )
        .await
        .unwrap();
    let s = settings(&sim).await;
    assert_eq!(s["creator_role"], "org:lead");
    assert_eq!(s["domains_default_role"], "org:newcomer");
    assert_eq!(s["initial_role_set_key"], "role_set:next");
}

#[tokio::test]
async fn the_roles_the_settings_name_cannot_be_deleted() {
    let (sim, clerk) = start_with(builder()).await;
    let s = settings(&sim).await;
    for key in [&s["creator_role"], &s["domains_default_role"]] {
        let id = role_id(&clerk, key.as_str().unwrap()).await;
        refused(
            clerk.organization_roles().delete(&id).await,
            422,
            "organization_role_in_use",
        );
    }
}

#[tokio::test]
async fn a_plan_without_custom_roles_shows_no_room_in_the_settings_and_answers_402() {
    let (sim, clerk) = start_with(builder().custom_roles(false)).await;
    let s = settings(&sim).await;
    assert_eq!(s["max_allowed_roles"], 0);
    assert_eq!(s["max_role_sets_allowed"], 1);
    refused(
        clerk
            .organization_roles()
            .create(clerk_rbac::CreateRole::new("X", "org:x"))
            .await,
        402,
        "unsupported_subscription_plan_features",
    );
}

#[tokio::test(start_paused = true)]
async fn reads_within_the_stale_window_see_the_instance_before_the_write() {
    let window = Duration::from_millis(500);
    let (_sim, clerk) = start_with(builder().stale_reads(window)).await;
    let made = role(&clerk, "org:fresh", &[]).await;
    // Right after the write: the role is not there yet, by ID or in the list.
    let err = clerk.organization_roles().get(&made.id).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
    let listed = clerk.organization_roles().list().send().await.unwrap();
    assert_eq!(listed.total_count, 2);
    // Writes see the current instance: the same key is a duplicate at once.
    refused(
        clerk
            .organization_roles()
            .create(clerk_rbac::CreateRole::new("Again", "org:fresh"))
            .await,
        400,
        "duplicate_record",
    );
    tokio::time::advance(window).await;
    assert_eq!(
        clerk.organization_roles().get(&made.id).await.unwrap().key,
        "org:fresh"
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_stale_window_a_read_sees_the_write_at_once() {
    let (_sim, clerk) = start_with(builder()).await;
    let made = role(&clerk, "org:fresh", &[]).await;
    assert_eq!(
        clerk.organization_roles().get(&made.id).await.unwrap().key,
        "org:fresh"
    );
}
