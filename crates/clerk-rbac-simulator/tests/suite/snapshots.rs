//! Snapshots: a whole instance out and back in, through JSON too, and refusals of snapshots
//! that describe no instance the API could have produced.

use clerk_rbac::{CreateRoleSet, UpdateRole};
use clerk_rbac_simulator::{SimulatorError, Snapshot};

use super::support::{builder, creator_role, permission, role, start, start_with};

/// An instance with something of everything: permissions, roles holding them, a second role
/// set, members, invitations.
async fn furnished() -> (clerk_rbac_simulator::Simulator, clerk_rbac::Clerk) {
    let (sim, clerk) = start().await;
    let read = permission(&clerk, "org:invoices:read").await;
    permission(&clerk, "org:invoices:write").await;
    let clerk_role = role(&clerk, "org:clerk", &[&read.id]).await;
    clerk
        .organization_roles()
        .update(&clerk_role.id, UpdateRole::new().clear_description())
        .await
        .unwrap();
    creator_role(&clerk, "org:owner").await;
    clerk
        .role_sets()
        .create(
            CreateRoleSet::new(
                "Finance",
                ["org:clerk", "org:owner"],
                "org:clerk",
                "org:owner",
            )
            .key("role_set:finance"),
        )
        .await
        .unwrap();
    sim.set_members("role_set:finance", "org:clerk", 12)
        .unwrap();
    sim.set_members("role_set:default", "org:admin", 3).unwrap();
    sim.set_invitations("org:owner", 2).unwrap();
    (sim, clerk)
}

#[tokio::test]
async fn restoring_a_snapshot_brings_the_instance_back() {
    let (sim, clerk) = furnished().await;
    let before = sim.snapshot();
    let set_before = clerk.role_sets().get("role_set:finance").await.unwrap();

    // Change everything that can change, then restore.
    let owner = super::support::role_id(&clerk, "org:owner").await;
    sim.set_invitations("org:owner", 0).unwrap();
    clerk
        .role_sets()
        .update(
            "role_set:finance",
            clerk_rbac::UpdateRoleSet::new().name("Renamed"),
        )
        .await
        .unwrap();
    permission(&clerk, "org:extra:thing").await;
    sim.set_members("role_set:finance", "org:clerk", 0).unwrap();
    assert_ne!(sim.snapshot().role_sets, before.role_sets);
    sim.restore(&before).unwrap();

    let after = sim.snapshot();
    assert_eq!(after.permissions, before.permissions);
    assert_eq!(after.roles, before.roles);
    assert_eq!(after.role_sets, before.role_sets);
    assert_eq!(
        clerk.role_sets().get("role_set:finance").await.unwrap(),
        set_before
    );
    // Invitations are back: the owner role cannot be deleted again.
    let err = clerk.organization_roles().delete(&owner).await.unwrap_err();
    assert_eq!(err.code(), Some("organization_role_in_use"));
}

#[tokio::test]
async fn a_snapshot_survives_json_and_starts_another_simulator() {
    let (sim, clerk) = furnished().await;
    let snapshot = sim.snapshot();
    let json = snapshot.to_json();
    let back = Snapshot::from_json(&json).unwrap();
    assert_eq!(back, snapshot);
    // Stable: the same snapshot serializes to the same text.
    assert_eq!(back.to_json(), json);

    let (copy, copy_clerk) = start_with(builder().initial(back)).await;
    let copied = copy.snapshot();
    assert_eq!(copied.permissions, snapshot.permissions);
    assert_eq!(copied.roles, snapshot.roles);
    assert_eq!(copied.role_sets, snapshot.role_sets);
    assert_eq!(copied.instance_id, snapshot.instance_id);
    assert!(copied.taken_at >= snapshot.taken_at);
    assert_eq!(
        copy_clerk
            .organization_roles()
            .list()
            .limit(50)
            .send()
            .await
            .unwrap(),
        clerk
            .organization_roles()
            .list()
            .limit(50)
            .send()
            .await
            .unwrap()
    );
    // New objects in the copy get IDs of their own and sort after the restored ones.
    let fresh = permission(&copy_clerk, "org:fresh:one").await;
    assert!(snapshot.permissions.iter().all(|p| p.id != fresh.id));
    assert!(
        snapshot
            .permissions
            .iter()
            .all(|p| p.created_at <= fresh.created_at)
    );
}

#[tokio::test]
async fn a_seeded_copy_does_not_reuse_the_originals_ids() {
    // Both simulators draw the same IDs from the same seed; the copy must skip the ones its
    // restored objects already hold.
    let (original, clerk) = start_with(builder().seed(5)).await;
    let first = permission(&clerk, "org:a:one").await;
    let (copy, copy_clerk) = start_with(builder().seed(5).initial(original.snapshot())).await;
    let second = permission(&copy_clerk, "org:a:two").await;
    assert_ne!(first.id, second.id);
    assert_eq!(copy.snapshot().permissions.len(), 11);
}

#[tokio::test]
async fn inconsistent_snapshots_are_refused_and_change_nothing() {
    let (sim, _) = furnished().await;
    let good = sim.snapshot();
    let json: serde_json::Value = serde_json::from_str(&good.to_json()).unwrap();
    let broken = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut json = json.clone();
        edit(&mut json);
        Snapshot::from_json(&json.to_string())
    };
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("unknown version", Box::new(|j| j["version"] = 99.into())),
        (
            "duplicate permission key",
            Box::new(|j| {
                let first = j["permissions"][8].clone();
                let mut twin = first.clone();
                twin["id"] = "perm_twin".into();
                j["permissions"].as_array_mut().unwrap().push(twin);
            }),
        ),
        (
            "duplicate ID across kinds",
            Box::new(|j| j["roles"][0]["id"] = j["permissions"][0]["id"].clone()),
        ),
        (
            "bad role key",
            Box::new(|j| j["roles"][0]["key"] = "admin".into()),
        ),
        (
            "reserved key on a user permission",
            Box::new(|j| j["permissions"][8]["key"] = "org:sys_x:y".into()),
        ),
        (
            "unknown permission held",
            Box::new(|j| j["roles"][0]["permissions"][0] = "org:nope:nope".into()),
        ),
        (
            "default role outside the set",
            Box::new(|j| j["role_sets"][0]["default_role"] = "org:clerk".into()),
        ),
        (
            "empty role set",
            Box::new(|j| j["role_sets"][1]["roles"] = serde_json::json!([])),
        ),
        (
            "two initial sets",
            Box::new(|j| j["role_sets"][1]["initial"] = true.into()),
        ),
        (
            "migration to itself",
            Box::new(|j| {
                j["migrations"] = serde_json::json!([{
                    "id": "rsmig_x", "source": "role_set:finance", "dest": "role_set:finance",
                    "mappings": null, "created_at": 0, "duration_ms": 10, "total_members": 0
                }]);
            }),
        ),
    ];
    for (what, edit) in cases {
        let result = broken(&*edit).and_then(|snapshot| sim.restore(&snapshot));
        match result {
            Err(SimulatorError::InvalidSnapshot(reason)) => assert!(!reason.is_empty(), "{what}"),
            other => panic!("{what}: expected InvalidSnapshot, got {other:?}"),
        }
        assert_eq!(
            sim.snapshot().roles,
            good.roles,
            "{what} changed the instance"
        );
    }
    for garbage in ["", "[]", "{\"version\":1}", "not json"] {
        assert!(matches!(
            Snapshot::from_json(garbage),
            Err(SimulatorError::InvalidSnapshot(_))
        ));
    }
    // A bad initial snapshot fails start() with InvalidData, not a panic.
    let mut bad = good.clone();
    bad.version = 2;
    let err = builder().initial(bad).start().await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
}

/// A snapshot file written by an earlier version (format 1) still loads, and the instance it
/// describes writes the same file back: the format did not change.
#[tokio::test]
async fn a_snapshot_file_of_format_1_loads_and_writes_back_unchanged() {
    let file = include_str!("fixtures/snapshot-v1.json");
    let snapshot = Snapshot::from_json(file).unwrap();
    let (sim, clerk) = start_with(builder().seed(3).initial(snapshot)).await;
    let mut written: serde_json::Value = serde_json::from_str(&sim.snapshot().to_json()).unwrap();
    let original: serde_json::Value = serde_json::from_str(file).unwrap();
    // Only the clock moved on.
    assert!(written["taken_at"].as_i64() >= original["taken_at"].as_i64());
    written["taken_at"] = original["taken_at"].clone();
    assert_eq!(written, original);

    // And the API sees what the file says: the migration under way, the members, the keys.
    let finance = clerk.role_sets().get("role_set:finance").await.unwrap();
    let migration = finance.role_set_migration.expect("a migration under way");
    assert_eq!(migration.id, "rsmig_2fixtureMigration00000000");
    assert_eq!(finance.roles[0].members_count, Some(12));
    let clerk_role = clerk
        .organization_roles()
        .get("role_2fixtureClerk000000000000")
        .await
        .unwrap();
    let keys: Vec<&str> = clerk_role
        .permissions
        .iter()
        .map(|p| p.key.as_str())
        .collect();
    assert_eq!(keys, ["org:sys_memberships:read", "org:invoices:read"]);
}
