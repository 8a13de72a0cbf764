//! A new instance holds what Clerk seeds: the system permissions, `org:admin` and
//! `org:member`, and the initial role set `role_set:default`.

use clerk_rbac::RoleSetType;

use super::support::start;

#[tokio::test]
async fn the_system_permissions_are_seeded_as_system() {
    let (_sim, clerk) = start().await;
    let page = clerk
        .organization_permissions()
        .list()
        .limit(100)
        .send()
        .await
        .unwrap();
    assert_eq!(page.total_count, 9);
    let mut keys: Vec<&str> = page.data.iter().map(|p| p.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "org:sys_billing:manage",
            "org:sys_billing:read",
            "org:sys_domains:manage",
            "org:sys_domains:read",
            "org:sys_entconns:manage",
            "org:sys_memberships:manage",
            "org:sys_memberships:read",
            "org:sys_profile:delete",
            "org:sys_profile:manage",
        ]
    );
    for p in &page.data {
        assert_eq!(p.type_.as_deref(), Some("system"), "{}", p.key);
        assert_eq!(p.object, "permission");
        assert!(p.id.starts_with("perm_"));
        assert!(!p.name.is_empty());
    }
}

#[tokio::test]
async fn admin_holds_every_system_permission_and_member_reads_members_and_billing() {
    let (_sim, clerk) = start().await;
    let roles = clerk.organization_roles().list().send().await.unwrap();
    assert_eq!(roles.total_count, 2);
    let by_key = |key: &str| roles.data.iter().find(|r| r.key == key).unwrap();
    let admin = by_key("org:admin");
    assert_eq!(admin.permissions.len(), 9);
    assert!(admin.is_creator_eligible);
    let member = by_key("org:member");
    let mut held: Vec<&str> = member.permissions.iter().map(|p| p.key.as_str()).collect();
    held.sort_unstable();
    assert_eq!(held, ["org:sys_billing:read", "org:sys_memberships:read"]);
    assert!(!member.is_creator_eligible);
}

#[tokio::test]
async fn the_default_role_set_is_initial_with_member_as_default_and_admin_as_creator() {
    let (_sim, clerk) = start().await;
    let sets = clerk.role_sets().list().send().await.unwrap();
    assert_eq!(sets.total_count, 1);
    let set = &sets.data[0];
    assert_eq!(set.key, "role_set:default");
    assert_eq!(set.type_, RoleSetType::Initial);
    assert_eq!(set.default_role.as_ref().unwrap().key, "org:member");
    assert_eq!(set.creator_role.as_ref().unwrap().key, "org:admin");
    let keys: Vec<&str> = set.roles.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["org:admin", "org:member"]);
    assert!(
        set.roles
            .iter()
            .all(|r| r.members_count == Some(0) && r.has_members == Some(false))
    );
    assert!(set.role_set_migration.is_none());
    assert!(set.id.starts_with("rs_"));
}
