//! Role set rules: at least one role and at most 10 per call, default and creator roles in
//! the set (the creator eligible), unique well-formed keys, one initial set, and replacing a
//! role inside a set.

use clerk_rbac::{
    AddRoles, CreateRoleSet, CreateRoleSetType, ReplaceRole, RoleSetType, RoleSetTypeUpdate,
    UpdateRoleSet,
};

use super::support::{builder, creator_role, refused, role, start, start_with};

async fn roles(clerk: &clerk_rbac::Clerk, n: usize) -> Vec<String> {
    let mut keys = Vec::new();
    for i in 0..n {
        let key = format!("org:r{i}");
        role(clerk, &key, &[]).await;
        keys.push(key);
    }
    keys
}

#[tokio::test]
async fn a_role_set_holds_one_to_ten_existing_roles_per_call() {
    // More custom roles than Clerk's default quota of ten: raised here.
    let (sim, clerk) = start_with(builder().max_custom_roles(100)).await;
    let keys = roles(&clerk, 11).await;
    refused(
        clerk
            .role_sets()
            .create(CreateRoleSet::new(
                "Empty",
                Vec::<String>::new(),
                "org:r0",
                "org:admin",
            ))
            .await,
        422,
        "form_param_value_invalid",
    );
    let err = refused(
        clerk
            .role_sets()
            .create(CreateRoleSet::new("Big", keys.clone(), "org:r0", "org:r0"))
            .await,
        422,
        "form_param_array_size_exceeded",
    );
    assert_eq!(err.clerk_errors()[0].meta["param_name"], "roles");
    refused(
        clerk
            .role_sets()
            .create(CreateRoleSet::new(
                "Ghost",
                ["org:ghost", "org:admin"],
                "org:admin",
                "org:admin",
            ))
            .await,
        422,
        "form_resource_not_found",
    );
    assert_eq!(sim.snapshot().role_sets.len(), 1, "nothing was created");

    let mut ten: Vec<String> = keys[..9].to_vec();
    ten.push("org:admin".into());
    let set = clerk
        .role_sets()
        .create(CreateRoleSet::new("Ten", ten, "org:r0", "org:admin").key("role_set:ten"))
        .await
        .unwrap();
    assert_eq!(set.roles.len(), 10);

    // add_roles: the same limits.
    refused(
        clerk
            .role_sets()
            .add_roles("role_set:ten", AddRoles::new(Vec::<String>::new()))
            .await,
        422,
        "form_param_value_invalid",
    );
    let more = roles_named(&clerk, "org:x", 11).await;
    refused(
        clerk
            .role_sets()
            .add_roles("role_set:default", AddRoles::new(more.clone()))
            .await,
        422,
        "form_param_array_size_exceeded",
    );
    let grown = clerk
        .role_sets()
        .add_roles("role_set:default", AddRoles::new(more[..10].to_vec()))
        .await
        .unwrap();
    assert_eq!(grown.roles.len(), 12);
    refused(
        clerk
            .role_sets()
            .add_roles("role_set:default", AddRoles::new(["org:x0"]))
            .await,
        422,
        "form_param_value_invalid",
    );
    refused(
        clerk
            .role_sets()
            .add_roles("role_set:default", AddRoles::new(["org:nope"]))
            .await,
        422,
        "form_resource_not_found",
    );
    refused(
        clerk
            .role_sets()
            .add_roles("role_set:nope", AddRoles::new(["org:x10"]))
            .await,
        404,
        "resource_not_found",
    );
}

async fn roles_named(clerk: &clerk_rbac::Clerk, prefix: &str, n: usize) -> Vec<String> {
    let mut keys = Vec::new();
    for i in 0..n {
        let key = format!("{prefix}{i}");
        role(clerk, &key, &[]).await;
        keys.push(key);
    }
    keys
}

#[tokio::test]
async fn default_and_creator_roles_belong_to_the_set_and_the_creator_is_eligible() {
    let (_sim, clerk) = start().await;
    role(&clerk, "org:clerk", &[]).await;
    creator_role(&clerk, "org:boss").await;
    let err = refused(
        clerk
            .role_sets()
            .create(CreateRoleSet::new(
                "S",
                ["org:clerk"],
                "org:boss",
                "org:clerk",
            ))
            .await,
        422,
        "form_param_value_invalid",
    );
    assert_eq!(err.clerk_errors()[0].meta["param_name"], "default_role_key");
    let err = refused(
        clerk
            .role_sets()
            .create(CreateRoleSet::new(
                "S",
                ["org:clerk"],
                "org:clerk",
                "org:boss",
            ))
            .await,
        422,
        "form_param_value_invalid",
    );
    assert_eq!(err.clerk_errors()[0].meta["param_name"], "creator_role_key");
    refused(
        clerk
            .role_sets()
            .create(CreateRoleSet::new(
                "S",
                ["org:clerk"],
                "org:clerk",
                "org:clerk",
            ))
            .await,
        422,
        "organization_missing_creator_role_permissions",
    );
    let set = clerk
        .role_sets()
        .create(
            CreateRoleSet::new("S", ["org:clerk", "org:boss"], "org:clerk", "org:boss")
                .key("role_set:s"),
        )
        .await
        .unwrap();
    assert_eq!(set.default_role.unwrap().key, "org:clerk");
    assert_eq!(set.creator_role.unwrap().key, "org:boss");

    // Updates keep both rules.
    refused(
        clerk
            .role_sets()
            .update(
                "role_set:s",
                UpdateRoleSet::new().default_role_key("org:admin"),
            )
            .await,
        422,
        "form_param_value_invalid",
    );
    refused(
        clerk
            .role_sets()
            .update(
                "role_set:s",
                UpdateRoleSet::new().creator_role_key("org:clerk"),
            )
            .await,
        422,
        "organization_missing_creator_role_permissions",
    );
    refused(
        clerk
            .role_sets()
            .add_roles(
                "role_set:s",
                AddRoles::new(["org:member"]).creator_role_key("org:member"),
            )
            .await,
        422,
        "organization_missing_creator_role_permissions",
    );
    let moved = clerk
        .role_sets()
        .add_roles(
            "role_set:s",
            AddRoles::new(["org:member"]).default_role_key("org:member"),
        )
        .await
        .unwrap();
    assert_eq!(moved.default_role.unwrap().key, "org:member");
    // `null` changes nothing: a set always has both roles.
    let same = clerk
        .role_sets()
        .update(
            "role_set:s",
            UpdateRoleSet::new()
                .clear_default_role_key()
                .clear_creator_role_key(),
        )
        .await
        .unwrap();
    assert_eq!(same.default_role.unwrap().key, "org:member");
    assert_eq!(same.creator_role.unwrap().key, "org:boss");
}

#[tokio::test]
async fn role_set_keys_are_well_formed_unique_or_derived_from_the_name() {
    let (_sim, clerk) = start().await;
    for bad in [
        "support",
        "role_set:",
        "role_set:Support",
        "role_set:sup-port",
    ] {
        refused(
            clerk
                .role_sets()
                .create(CreateRoleSet::new("S", ["org:admin"], "org:admin", "org:admin").key(bad))
                .await,
            422,
            "form_param_format_invalid",
        );
    }
    refused(
        clerk
            .role_sets()
            .create(
                CreateRoleSet::new("S", ["org:admin"], "org:admin", "org:admin")
                    .key("role_set:default"),
            )
            .await,
        400,
        "duplicate_record",
    );
    let derived = clerk
        .role_sets()
        .create(CreateRoleSet::new(
            "Support Teams (EU)",
            ["org:admin"],
            "org:admin",
            "org:admin",
        ))
        .await
        .unwrap();
    assert_eq!(derived.key, "role_set:support_teams_eu");
    let again = clerk
        .role_sets()
        .create(CreateRoleSet::new(
            "Support Teams (EU)",
            ["org:admin"],
            "org:admin",
            "org:admin",
        ))
        .await
        .unwrap();
    assert_eq!(again.key, "role_set:support_teams_eu_2");
    refused(
        clerk
            .role_sets()
            .update(
                &again.id,
                UpdateRoleSet::new().key("role_set:support_teams_eu"),
            )
            .await,
        400,
        "duplicate_record",
    );
    let renamed = clerk
        .role_sets()
        .update(&again.id, UpdateRoleSet::new().key("role_set:eu"))
        .await
        .unwrap();
    assert_eq!(clerk.role_sets().get("role_set:eu").await.unwrap(), renamed);
    refused(
        clerk.role_sets().get("role_set:support_teams_eu_2").await,
        404,
        "resource_not_found",
    );
}

#[tokio::test]
async fn only_one_role_set_is_initial() {
    let (_sim, clerk) = start().await;
    let second = clerk
        .role_sets()
        .create(
            CreateRoleSet::new("Second", ["org:admin"], "org:admin", "org:admin")
                .key("role_set:second")
                .type_(CreateRoleSetType::Initial),
        )
        .await
        .unwrap();
    assert_eq!(second.type_, RoleSetType::Initial);
    assert_eq!(
        clerk
            .role_sets()
            .get("role_set:default")
            .await
            .unwrap()
            .type_,
        RoleSetType::Custom
    );
    let custom = clerk
        .role_sets()
        .create(
            CreateRoleSet::new("Third", ["org:admin"], "org:admin", "org:admin")
                .key("role_set:third"),
        )
        .await
        .unwrap();
    assert_eq!(custom.type_, RoleSetType::Custom);
    clerk
        .role_sets()
        .update(
            "role_set:default",
            UpdateRoleSet::new().type_(RoleSetTypeUpdate::Initial),
        )
        .await
        .unwrap();
    let all = clerk.role_sets().list().send().await.unwrap();
    let initial: Vec<&str> = all
        .data
        .iter()
        .filter(|s| s.type_ == RoleSetType::Initial)
        .map(|s| s.key.as_str())
        .collect();
    assert_eq!(initial, ["role_set:default"]);
}

#[tokio::test]
async fn include_in_initial_role_set_adds_a_new_role_to_the_initial_set() {
    let (_sim, clerk) = start().await;
    clerk
        .organization_roles()
        .create(
            clerk_rbac::CreateRole::new("Joined", "org:joined").include_in_initial_role_set(true),
        )
        .await
        .unwrap();
    role(&clerk, "org:apart", &[]).await;
    let set = clerk.role_sets().get("role_set:default").await.unwrap();
    let keys: Vec<&str> = set.roles.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["org:admin", "org:member", "org:joined"]);
}

#[tokio::test]
async fn replacing_a_role_moves_its_members_and_its_default_or_creator_place() {
    let (sim, clerk) = start().await;
    role(&clerk, "org:viewer", &[]).await;
    creator_role(&clerk, "org:owner").await;
    clerk
        .role_sets()
        .add_roles(
            "role_set:default",
            AddRoles::new(["org:viewer", "org:owner"]),
        )
        .await
        .unwrap();
    sim.set_members("role_set:default", "org:viewer", 5)
        .unwrap();
    sim.set_members("role_set:default", "org:member", 2)
        .unwrap();
    sim.set_members("role_set:default", "org:admin", 1).unwrap();

    let set = clerk
        .role_sets()
        .replace_role(
            "role_set:default",
            ReplaceRole::new("org:viewer", "org:member"),
        )
        .await
        .unwrap();
    assert!(set.roles.iter().all(|r| r.key != "org:viewer"));
    let member = set.roles.iter().find(|r| r.key == "org:member").unwrap();
    assert_eq!(
        (member.members_count, member.has_members),
        (Some(7), Some(true))
    );

    // The default role's place goes to its replacement, members and all.
    let set = clerk
        .role_sets()
        .replace_role(
            "role_set:default",
            ReplaceRole::new("org:member", "org:admin"),
        )
        .await
        .unwrap();
    assert_eq!(set.default_role.as_ref().unwrap().key, "org:admin");
    assert_eq!(set.default_role.unwrap().members_count, Some(8));
    // The creator's place too, but only to an eligible role.
    role(&clerk, "org:guest", &[]).await;
    clerk
        .role_sets()
        .add_roles("role_set:default", AddRoles::new(["org:guest"]))
        .await
        .unwrap();
    refused(
        clerk
            .role_sets()
            .replace_role(
                "role_set:default",
                ReplaceRole::new("org:admin", "org:guest"),
            )
            .await,
        422,
        "organization_missing_creator_role_permissions",
    );
    let set = clerk
        .role_sets()
        .replace_role(
            "role_set:default",
            ReplaceRole::new("org:admin", "org:owner"),
        )
        .await
        .unwrap();
    assert_eq!(set.creator_role.unwrap().key, "org:owner");
    assert_eq!(set.default_role.unwrap().key, "org:owner");
    assert_eq!(
        sim.snapshot().role_sets[0]
            .roles
            .iter()
            .map(|m| m.members)
            .sum::<u64>(),
        8
    );
}

#[tokio::test]
async fn replace_role_names_two_different_roles_of_the_set() {
    let (_sim, clerk) = start().await;
    role(&clerk, "org:outsider", &[]).await;
    let swap = |from: &str, to: &str| ReplaceRole::new(from, to);
    let err = refused(
        clerk
            .role_sets()
            .replace_role("role_set:default", swap("org:outsider", "org:member"))
            .await,
        422,
        "form_param_value_invalid",
    );
    assert_eq!(err.clerk_errors()[0].meta["param_name"], "role_key");
    let err = refused(
        clerk
            .role_sets()
            .replace_role("role_set:default", swap("org:member", "org:outsider"))
            .await,
        422,
        "form_param_value_invalid",
    );
    assert_eq!(err.clerk_errors()[0].meta["param_name"], "to_role_key");
    refused(
        clerk
            .role_sets()
            .replace_role("role_set:default", swap("org:member", "org:member"))
            .await,
        422,
        "form_param_value_invalid",
    );
    refused(
        clerk
            .role_sets()
            .replace_role("role_set:none", swap("org:member", "org:admin"))
            .await,
        404,
        "resource_not_found",
    );
}

#[tokio::test]
async fn role_sets_are_found_by_key_or_id_and_clear_their_description() {
    let (_sim, clerk) = start().await;
    let by_key = clerk.role_sets().get("role_set:default").await.unwrap();
    assert_eq!(clerk.role_sets().get(&by_key.id).await.unwrap(), by_key);
    let cleared = clerk
        .role_sets()
        .update(
            &by_key.id,
            UpdateRoleSet::new().clear_description().name("Primary"),
        )
        .await
        .unwrap();
    assert_eq!(
        (cleared.description, cleared.name.as_str()),
        (None, "Primary")
    );
    refused(
        clerk.role_sets().get("rs_missing").await,
        404,
        "resource_not_found",
    );
    refused(
        clerk
            .role_sets()
            .update("rs_missing", UpdateRoleSet::new().name("x"))
            .await,
        404,
        "resource_not_found",
    );
}
