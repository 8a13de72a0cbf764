//! The planner, as a pure function from (instance, file, options) to a plan: what it changes,
//! what it sends, in which order, and what it refuses to guess.

use clerk_rbac::MAX_ROLES_PER_CALL;
use clerk_rbac_sync::{Action, ChangeAction, DesiredState, FieldChange, Kind, PlanOptions};

use super::fixtures::*;

#[test]
fn an_empty_file_changes_nothing_and_lists_everything_as_unmanaged() {
    let mut instance = seeded();
    add_permission(&mut instance, "org:invoices:read", "Read invoices");
    let plan = plan(&instance, "");
    assert!(plan.is_empty());
    assert_eq!(plan.unmanaged.permissions, ["org:invoices:read"]);
    assert_eq!(plan.unmanaged.roles, ["org:admin", "org:member"]);
    assert_eq!(plan.unmanaged.role_sets, ["role_set:default"]);
}

#[test]
fn an_exported_instance_plans_no_changes_even_through_toml_text() {
    let mut instance = seeded();
    for i in 0..3000 {
        add_permission(
            &mut instance,
            &format!("org:feature{}:action{i}", i % 7),
            &format!("P{i}"),
        );
    }
    instance.permissions[10].description = "with a \"quote\"\nand a line".into();
    let held: Vec<String> = instance
        .permissions
        .iter()
        .take(700)
        .map(|p| p.key.clone())
        .collect();
    let held: Vec<&str> = held.iter().map(String::as_str).collect();
    add_role(&mut instance, "org:big", "Big", &held);
    instance.roles[0].description = Some("Admins".into());
    add_set(
        &mut instance,
        "role_set:extra",
        "Extra",
        false,
        "org:big",
        "org:admin",
        &["org:big", "org:admin"],
    );

    let exported = instance.to_desired();
    let text = exported.to_toml();
    let reread = DesiredState::from_toml(&text, "exported.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reread, exported);
    for state in [&exported, &reread] {
        let plan = clerk_rbac_sync::planner::plan(&instance, state, &PlanOptions::new()).unwrap();
        assert!(plan.is_empty(), "{}", plan.render(false));
        assert!(plan.unmanaged.is_empty());
    }
}

#[test]
fn creations_come_in_dependency_order_with_everything_in_one_request_each() {
    let text = format!(
        "{SEEDED_FILE}
[permissions.\"org:invoices:read\"]
name = \"Read invoices\"
description = \"See invoices\"

[roles.\"org:accountant\"]
name = \"Accountant\"
permissions = [\"org:invoices:read\", \"org:sys_memberships:read\"]

[role_sets.\"role_set:finance\"]
name = \"Finance\"
default_role = \"org:accountant\"
creator_role = \"org:admin\"
roles = [\"org:admin\", \"org:accountant\"]
"
    );
    let plan = plan(&seeded(), &text);
    assert_ordered(&plan);
    assert_eq!(
        actions(&plan),
        [
            &Action::CreatePermission {
                key: "org:invoices:read".into(),
                name: "Read invoices".into(),
                description: Some("See invoices".into()),
            },
            &Action::CreateRole {
                key: "org:accountant".into(),
                name: "Accountant".into(),
                description: None,
                permissions: vec![
                    "org:invoices:read".into(),
                    "org:sys_memberships:read".into()
                ],
            },
            &Action::CreateRoleSet {
                key: "role_set:finance".into(),
                name: "Finance".into(),
                description: None,
                initial: false,
                default_role: "org:accountant".into(),
                creator_role: "org:admin".into(),
                roles: vec!["org:accountant".into(), "org:admin".into()],
            },
        ]
    );
    assert_eq!(plan.steps[1].after, [0]);
    assert_eq!(plan.steps[2].after, [1]);
    let summary = plan.summary();
    assert_eq!(
        (summary.create, summary.update, summary.requests),
        (3, 0, 3)
    );
}

#[test]
fn a_large_new_set_is_created_with_ten_roles_then_filled_ten_at_a_time() {
    let mut text = SEEDED_FILE.to_owned();
    let mut keys = Vec::new();
    for i in 0..25 {
        text.push_str(&format!("\n[roles.\"org:r{i:02}\"]\nname = \"R{i}\"\n"));
        keys.push(format!("\"org:r{i:02}\""));
    }
    text.push_str(&format!(
        "\n[role_sets.\"role_set:big\"]\nname = \"Big\"\ndefault_role = \"org:r24\"\ncreator_role = \"org:admin\"\nroles = [{}, \"org:admin\"]\n",
        keys.join(", ")
    ));
    let plan = plan(&seeded(), &text);
    assert_ordered(&plan);
    let create = position(&plan, |a| matches!(a, Action::CreateRoleSet { .. }));
    let Action::CreateRoleSet { roles, .. } = &plan.steps[create].action else {
        unreachable!()
    };
    assert_eq!(roles.len(), MAX_ROLES_PER_CALL);
    assert_eq!(
        &roles[..2],
        ["org:r24", "org:admin"],
        "default and creator role go in the first call"
    );
    let adds: Vec<usize> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::AddRoles { roles, .. } => {
                assert!(s.after.contains(&create));
                Some(roles.len())
            }
            _ => None,
        })
        .collect();
    assert_eq!(adds, [10, 6]);
    // 25 role creations, one set creation, two add-roles calls.
    assert_eq!(plan.summary().requests, 25 + 1 + 2);
}

#[test]
fn only_changed_fields_are_sent_and_a_role_gets_one_patch_with_its_whole_list() {
    let mut instance = seeded();
    add_permission(&mut instance, "org:invoices:read", "Read invoices");
    add_permission(&mut instance, "org:invoices:write", "Write invoices");
    instance
        .permissions
        .iter_mut()
        .find(|p| p.key == "org:invoices:write")
        .unwrap()
        .description = "old".into();
    add_role(
        &mut instance,
        "org:accountant",
        "Accountant",
        &["org:invoices:read"],
    );
    instance
        .roles
        .iter_mut()
        .find(|r| r.key == "org:accountant")
        .unwrap()
        .description = Some("Counts".into());
    let text = format!(
        "{SEEDED_FILE}
[permissions.\"org:invoices:read\"]
name = \"Read every invoice\"

[permissions.\"org:invoices:write\"]
name = \"Write invoices\"

[roles.\"org:accountant\"]
name = \"Accountant\"
permissions = [\"org:invoices:read\", \"org:invoices:write\"]
"
    );
    let plan = plan(&instance, &text);
    assert_eq!(
        actions(&plan),
        [
            &Action::UpdatePermission {
                key: "org:invoices:read".into(),
                new_key: None,
                name: Some("Read every invoice".into()),
                description: None,
            },
            &Action::UpdatePermission {
                key: "org:invoices:write".into(),
                new_key: None,
                name: None,
                description: Some(String::new()),
            },
            &Action::UpdateRole {
                key: "org:accountant".into(),
                new_key: None,
                name: None,
                description: Some(String::new()),
                permissions: Some(vec![
                    "org:invoices:read".into(),
                    "org:invoices:write".into()
                ]),
            },
        ]
    );
    let role = plan
        .changes
        .iter()
        .find(|c| c.key == "org:accountant")
        .unwrap();
    assert_eq!(
        role.fields,
        [
            FieldChange::Value {
                field: "description".into(),
                old: Some("Counts".into()),
                new: None
            },
            FieldChange::List {
                field: "permissions".into(),
                added: vec!["org:invoices:write".into()],
                removed: vec![],
            },
        ]
    );
}

#[test]
fn an_empty_description_and_no_description_are_the_same() {
    let mut instance = seeded();
    instance.roles[0].description = Some(String::new());
    let plan = plan(&instance, SEEDED_FILE);
    assert!(plan.is_empty(), "{}", plan.render(false));
}

#[test]
fn a_rename_keeps_the_object_and_the_roles_that_hold_it() {
    let mut instance = seeded();
    add_permission(&mut instance, "org:invoices:edit", "Edit invoices");
    add_role(
        &mut instance,
        "org:accountant",
        "Accountant",
        &["org:invoices:edit"],
    );
    let text = format!(
        "{SEEDED_FILE}
[permissions.\"org:invoices:write\"]
name = \"Edit invoices\"
renamed_from = \"org:invoices:edit\"

[roles.\"org:bookkeeper\"]
name = \"Accountant\"
renamed_from = \"org:accountant\"
permissions = [\"org:invoices:write\"]
"
    );
    let plan = plan(&instance, &text);
    assert_eq!(
        actions(&plan),
        [
            &Action::UpdatePermission {
                key: "org:invoices:edit".into(),
                new_key: Some("org:invoices:write".into()),
                name: None,
                description: None,
            },
            &Action::UpdateRole {
                key: "org:accountant".into(),
                new_key: Some("org:bookkeeper".into()),
                name: None,
                description: None,
                permissions: None,
            },
        ]
    );
    assert_eq!(
        plan.changes[0].renamed_from.as_deref(),
        Some("org:invoices:edit")
    );
    assert!(plan.unmanaged.permissions.is_empty());
}

#[test]
fn a_rename_already_done_is_no_change() {
    let mut instance = seeded();
    add_permission(&mut instance, "org:invoices:write", "Write");
    let text = format!(
        "{SEEDED_FILE}\n[permissions.\"org:invoices:write\"]\nname = \"Write\"\nrenamed_from = \"org:invoices:edit\"\n"
    );
    assert!(plan(&instance, &text).is_empty());
}

#[test]
fn a_rename_whose_old_and_new_keys_both_exist_is_refused_at_its_line() {
    let mut instance = seeded();
    add_permission(&mut instance, "org:invoices:edit", "Edit");
    add_permission(&mut instance, "org:invoices:write", "Write");
    let text = format!(
        "{SEEDED_FILE}\n[permissions.\"org:invoices:write\"]\nname = \"Write\"\nrenamed_from = \"org:invoices:edit\"\n"
    );
    let found = refusal(&instance, &text, false);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, 19);
    assert_eq!(
        found[0].1,
        "permissions.\"org:invoices:write\".renamed_from"
    );
    assert!(
        found[0]
            .2
            .contains("both `org:invoices:edit` and `org:invoices:write` exist")
    );
}

#[test]
fn a_renamed_role_is_added_to_sets_under_its_new_key_after_the_rename() {
    let mut instance = seeded();
    add_role(&mut instance, "org:old", "Old", &[]);
    let text = SEEDED_FILE.replace(
        "roles = [\"org:admin\", \"org:member\"]",
        "roles = [\"org:admin\", \"org:member\", \"org:new\"]",
    ) + "\n[roles.\"org:new\"]\nname = \"Old\"\nrenamed_from = \"org:old\"\n";
    let plan = plan(&instance, &text);
    let rename = position(&plan, |a| matches!(a, Action::UpdateRole { .. }));
    let add = position(
        &plan,
        |a| matches!(a, Action::AddRoles { roles, .. } if roles == &["org:new"]),
    );
    assert_waits_for(&plan, add, rename);
}

#[test]
fn a_renamed_role_in_a_set_is_not_a_role_leaving_the_set() {
    let mut instance = seeded();
    let text = SEEDED_FILE
        .replace("\"org:member\"", "\"org:people\"")
        .replace(
            "[roles.\"org:people\"]\nname = \"Member\"",
            "[roles.\"org:people\"]\nname = \"Member\"\nrenamed_from = \"org:member\"",
        );
    instance.roles.sort_by(|a, b| a.key.cmp(&b.key));
    let plan = plan(&instance, &text);
    assert_eq!(plan.steps.len(), 1, "{:#?}", plan.steps);
    assert!(
        matches!(&plan.steps[0].action, Action::UpdateRole { new_key: Some(k), .. } if k == "org:people")
    );
}

#[test]
fn a_role_leaving_a_set_needs_a_destination_for_its_members() {
    let mut instance = seeded();
    add_role(&mut instance, "org:viewer", "Viewer", &[]);
    instance.role_sets[0].roles.push("org:viewer".into());
    let text = format!("{SEEDED_FILE}\n[roles.\"org:viewer\"]\nname = \"Viewer\"\n");
    let found = refusal(&instance, &text, false);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].1, "role_sets.\"role_set:default\".roles");
    assert_eq!(found[0].0, 15, "located on the set's roles line");
    assert!(
        found[0]
            .2
            .contains("`org:viewer` leaves role set `role_set:default`")
    );

    let text = format!(
        "{text}\n[role_sets.\"role_set:default\".move_members]\n\"org:viewer\" = \"org:member\"\n"
    );
    let plan = plan(&instance, &text);
    assert_eq!(
        actions(&plan),
        [&Action::RemoveRole {
            set: "role_set:default".into(),
            role: "org:viewer".into(),
            members_to: "org:member".into(),
        }]
    );
    assert_eq!(plan.changes[0].moves["org:viewer"], "org:member");
}

#[test]
fn a_default_role_leaving_hands_over_to_the_role_its_members_move_to() {
    let mut instance = seeded();
    add_role(&mut instance, "org:guest", "Guest", &[]);
    let text = SEEDED_FILE
        .replace(
            "default_role = \"org:member\"",
            "default_role = \"org:guest\"",
        )
        .replace(
            "roles = [\"org:admin\", \"org:member\"]",
            "roles = [\"org:admin\", \"org:guest\"]",
        )
        + "\n[roles.\"org:guest\"]\nname = \"Guest\"\n\n[role_sets.\"role_set:default\".move_members]\n\"org:member\" = \"org:guest\"\n";
    let plan = plan(&instance, &text);
    assert_ordered(&plan);
    assert_eq!(
        actions(&plan),
        [
            &Action::AddRoles {
                set: "role_set:default".into(),
                roles: vec!["org:guest".into()],
                default_role: None,
                creator_role: None,
            },
            &Action::RemoveRole {
                set: "role_set:default".into(),
                role: "org:member".into(),
                members_to: "org:guest".into(),
            },
        ]
    );
    assert_eq!(
        plan.steps[1].after,
        [0],
        "members move to a role already in the set"
    );
    let change = plan
        .changes
        .iter()
        .find(|c| c.kind == Kind::RoleSet)
        .unwrap();
    assert!(change.fields.contains(&FieldChange::Value {
        field: "default_role".into(),
        old: Some("org:member".into()),
        new: Some("org:guest".into()),
    }));
}

#[test]
fn a_new_default_role_joins_and_becomes_default_in_one_call() {
    let mut instance = seeded();
    add_role(&mut instance, "org:guest", "Guest", &[]);
    let text = SEEDED_FILE
        .replace(
            "default_role = \"org:member\"",
            "default_role = \"org:guest\"",
        )
        .replace(
            "roles = [\"org:admin\", \"org:member\"]",
            "roles = [\"org:admin\", \"org:guest\"]",
        )
        + "\n[roles.\"org:guest\"]\nname = \"Guest\"\n\n[role_sets.\"role_set:default\".move_members]\n\"org:member\" = \"org:admin\"\n";
    let plan = plan(&instance, &text);
    assert_eq!(
        actions(&plan),
        [
            &Action::AddRoles {
                set: "role_set:default".into(),
                roles: vec!["org:guest".into()],
                default_role: Some("org:guest".into()),
                creator_role: None,
            },
            &Action::RemoveRole {
                set: "role_set:default".into(),
                role: "org:member".into(),
                members_to: "org:admin".into(),
            },
        ]
    );
    assert_eq!(
        plan.steps[1].after,
        [0],
        "the old default leaves only once it is no longer default"
    );
}

#[test]
fn a_set_whose_name_changes_carries_its_new_default_role_in_the_same_patch() {
    let text = SEEDED_FILE
        .replace("name = \"Default\"", "name = \"Everyone\"")
        .replace(
            "default_role = \"org:member\"",
            "default_role = \"org:admin\"",
        );
    let plan = plan(&seeded(), &text);
    assert_eq!(
        actions(&plan),
        [&Action::UpdateRoleSet {
            set: "role_set:default".into(),
            new_key: None,
            name: Some("Everyone".into()),
            description: None,
            make_initial: false,
            default_role: Some("org:admin".into()),
            creator_role: None,
        }]
    );
}

#[test]
fn making_another_set_initial_is_one_patch_and_the_old_one_follows() {
    let mut instance = seeded();
    add_set(
        &mut instance,
        "role_set:other",
        "Other",
        false,
        "org:member",
        "org:admin",
        &["org:admin", "org:member"],
    );
    let text = SEEDED_FILE.replace("type = \"initial\"", "type = \"custom\"")
        + "\n[role_sets.\"role_set:other\"]\nname = \"Other\"\ntype = \"initial\"\ndefault_role = \"org:member\"\ncreator_role = \"org:admin\"\nroles = [\"org:admin\", \"org:member\"]\n";
    let plan = plan(&instance, &text);
    assert_eq!(
        actions(&plan),
        [&Action::UpdateRoleSet {
            set: "role_set:other".into(),
            new_key: None,
            name: None,
            description: None,
            make_initial: true,
            default_role: None,
            creator_role: None,
        }]
    );
    // Both sets show their type change to the reviewer.
    assert_eq!(plan.summary().update, 2);
}

#[test]
fn the_initial_set_cannot_become_custom_on_its_own() {
    let text = SEEDED_FILE.replace("type = \"initial\"", "type = \"custom\"");
    let found = refusal(&seeded(), &text, false);
    assert_eq!(found[0].1, "role_sets.\"role_set:default\".type");
    assert!(found[0].2.contains("another set becomes initial"));
}

#[test]
fn a_creator_role_must_hold_the_creator_permissions() {
    let text = SEEDED_FILE.replace(
        "creator_role = \"org:admin\"",
        "creator_role = \"org:member\"",
    );
    let found = refusal(&seeded(), &text, false);
    assert_eq!(found[0].1, "role_sets.\"role_set:default\".creator_role");
    assert!(
        found[0]
            .2
            .contains("lacks `org:sys_memberships:manage`, `org:sys_profile:delete`"),
        "{found:?}"
    );
}

#[test]
fn a_role_losing_creator_permissions_waits_for_the_set_to_hand_the_creator_role_over() {
    let mut instance = seeded();
    add_role(&mut instance, "org:owner", "Owner", &CREATOR);
    instance.role_sets[0].roles.push("org:owner".into());
    let text = SEEDED_FILE
        .replace("creator_role = \"org:admin\"", "creator_role = \"org:owner\"")
        .replace("name = \"Admin\"\npermissions = [\"org:sys_memberships:manage\", \"org:sys_memberships:read\", \"org:sys_profile:delete\"]", "name = \"Admin\"\npermissions = []")
        .replace("roles = [\"org:admin\", \"org:member\"]", "roles = [\"org:admin\", \"org:member\", \"org:owner\"]")
        + "\n[roles.\"org:owner\"]\nname = \"Owner\"\npermissions = [\"org:sys_memberships:manage\", \"org:sys_memberships:read\", \"org:sys_profile:delete\"]\n";
    let plan = plan(&instance, &text);
    assert_ordered(&plan);
    let hand_over = position(&plan, |a| {
        matches!(
            a,
            Action::UpdateRoleSet {
                creator_role: Some(_),
                ..
            }
        )
    });
    let strip = position(
        &plan,
        |a| matches!(a, Action::UpdateRole { key, .. } if key == "org:admin"),
    );
    assert_waits_for(&plan, strip, hand_over);
}

#[test]
fn unknown_system_permissions_are_refused_at_their_item() {
    let text = SEEDED_FILE.replace(
        "permissions = [\"org:sys_memberships:read\"]",
        "permissions = [\"org:sys_billing:manage\"]",
    );
    let found = refusal(&seeded(), &text, false);
    assert_eq!(found[0].1, "roles.\"org:member\".permissions[0]");
    assert!(
        found[0]
            .2
            .contains("not a system permission of this instance")
    );
}

#[test]
fn a_permission_the_instance_calls_system_cannot_be_managed() {
    let mut instance = seeded();
    add_permission(&mut instance, "org:billing:read", "Billing");
    instance
        .permissions
        .iter_mut()
        .find(|p| p.key == "org:billing:read")
        .unwrap()
        .system = true;
    let text = format!("{SEEDED_FILE}\n[permissions.\"org:billing:read\"]\nname = \"Billing\"\n");
    let found = refusal(&instance, &text, false);
    assert!(found[0].2.contains("system permission on this instance"));
}

#[test]
fn without_prune_nothing_is_deleted_and_with_prune_removals_come_last_in_reverse() {
    let mut instance = seeded();
    add_permission(&mut instance, "org:old:thing", "Old");
    add_role(&mut instance, "org:legacy", "Legacy", &["org:old:thing"]);
    add_permission(&mut instance, "org:kept:thing", "Kept");
    let text = format!("{SEEDED_FILE}\n[permissions.\"org:kept:thing\"]\nname = \"Kept\"\n");

    let gentle = plan(&instance, &text);
    assert!(gentle.is_empty());
    assert_eq!(gentle.unmanaged.permissions, ["org:old:thing"]);
    assert_eq!(gentle.unmanaged.roles, ["org:legacy"]);

    let pruning = plan_pruning(&instance, &text);
    assert_eq!(
        actions(&pruning),
        [
            &Action::DeleteRole {
                key: "org:legacy".into()
            },
            &Action::DeletePermission {
                key: "org:old:thing".into()
            },
        ]
    );
    assert_eq!(pruning.steps[1].after, [0]);
    assert!(pruning.unmanaged.is_empty());
    assert!(
        pruning
            .changes
            .iter()
            .all(|c| c.action == ChangeAction::Delete)
    );
}

#[test]
fn prune_never_touches_system_permissions() {
    let plan = plan_pruning(&seeded(), SEEDED_FILE);
    assert!(plan.is_empty(), "{}", plan.render(false));
}

#[test]
fn prune_refuses_to_delete_a_role_an_unmanaged_set_holds() {
    let mut instance = seeded();
    add_role(&mut instance, "org:guest", "Guest", &[]);
    add_set(
        &mut instance,
        "role_set:guests",
        "Guests",
        false,
        "org:guest",
        "org:admin",
        &["org:guest", "org:admin"],
    );
    let found = refusal(&instance, SEEDED_FILE, true);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].2.contains(
            "--prune would delete role `org:guest`, but role set `role_set:guests` still holds it"
        ),
        "{found:?}"
    );
}

#[test]
fn a_pruned_role_leaves_managed_sets_first() {
    let mut instance = seeded();
    add_role(&mut instance, "org:guest", "Guest", &[]);
    instance.role_sets[0].roles.push("org:guest".into());
    let text = format!(
        "{SEEDED_FILE}\n[role_sets.\"role_set:default\".move_members]\n\"org:guest\" = \"org:member\"\n"
    );
    let plan = plan_pruning(&instance, &text);
    let remove = position(&plan, |a| matches!(a, Action::RemoveRole { .. }));
    let delete = position(&plan, |a| matches!(a, Action::DeleteRole { .. }));
    assert_waits_for(&plan, delete, remove);
}

#[test]
fn retiring_a_set_needs_a_destination_for_every_role_the_destination_lacks() {
    let mut instance = seeded();
    add_role(&mut instance, "org:legacy", "Legacy", &CREATOR);
    add_set(
        &mut instance,
        "role_set:old",
        "Old",
        false,
        "org:legacy",
        "org:legacy",
        &["org:legacy", "org:member"],
    );
    let text = format!(
        "{SEEDED_FILE}\n[roles.\"org:legacy\"]\nname = \"Legacy\"\npermissions = [\"org:sys_memberships:manage\", \"org:sys_memberships:read\", \"org:sys_profile:delete\"]\n\n[retired_role_sets.\"role_set:old\"]\ninto = \"role_set:default\"\n"
    );
    let found = refusal(&instance, &text, false);
    assert_eq!(found.len(), 1);
    assert!(found[0].2.contains("has no role `org:legacy`"), "{found:?}");

    let text = format!(
        "{text}\n[retired_role_sets.\"role_set:old\".move_members]\n\"org:legacy\" = \"org:admin\"\n"
    );
    let plan = plan(&instance, &text);
    assert_eq!(
        actions(&plan),
        [&Action::RetireRoleSet {
            set: "role_set:old".into(),
            into: "role_set:default".into(),
            move_members: [("org:legacy".to_string(), "org:admin".to_string())].into(),
        }]
    );
    assert_eq!(plan.changes[0].action, ChangeAction::Retire);
    assert!(plan.unmanaged.role_sets.is_empty());
}

#[test]
fn a_retirement_waits_for_its_destination_to_be_ready() {
    let mut instance = seeded();
    add_set(
        &mut instance,
        "role_set:old",
        "Old",
        false,
        "org:member",
        "org:admin",
        &["org:admin", "org:member"],
    );
    let text = format!(
        "{SEEDED_FILE}\n[roles.\"org:new\"]\nname = \"New\"\n\n[role_sets.\"role_set:next\"]\nname = \"Next\"\ndefault_role = \"org:new\"\ncreator_role = \"org:admin\"\nroles = [\"org:new\", \"org:admin\"]\n\n[retired_role_sets.\"role_set:old\"]\ninto = \"role_set:next\"\n[retired_role_sets.\"role_set:old\".move_members]\n\"org:member\" = \"org:new\"\n"
    );
    let plan = plan(&instance, &text);
    let create = position(&plan, |a| matches!(a, Action::CreateRoleSet { .. }));
    let retire = position(&plan, |a| matches!(a, Action::RetireRoleSet { .. }));
    assert_waits_for(&plan, retire, create);
}

#[test]
fn the_initial_set_is_retired_only_after_another_becomes_initial() {
    let text = SEEDED_FILE.replace(
        "[role_sets.\"role_set:default\"]",
        "[role_sets.\"role_set:main\"]",
    ) + "\n[retired_role_sets.\"role_set:default\"]\ninto = \"role_set:main\"\n";
    let plan = plan(&seeded(), &text);
    let create = position(&plan, |a| {
        matches!(a, Action::CreateRoleSet { initial: true, .. })
    });
    let retire = position(&plan, |a| matches!(a, Action::RetireRoleSet { .. }));
    assert_waits_for(&plan, retire, create);

    let text = text.replace("type = \"initial\"", "type = \"custom\"");
    let found = refusal(&seeded(), &text, false);
    assert!(
        found
            .iter()
            .any(|f| f.2.contains("make another set initial before retiring it")),
        "{found:?}"
    );
}

#[test]
fn a_set_already_retired_needs_nothing_and_one_being_retired_is_awaited() {
    let text = format!(
        "{SEEDED_FILE}\n[retired_role_sets.\"role_set:old\"]\ninto = \"role_set:default\"\n"
    );
    assert!(plan(&seeded(), &text).is_empty());

    let mut instance = seeded();
    add_set(
        &mut instance,
        "role_set:old",
        "Old",
        false,
        "org:member",
        "org:admin",
        &["org:admin", "org:member"],
    );
    instance
        .role_sets
        .iter_mut()
        .find(|s| s.key == "role_set:old")
        .unwrap()
        .migration = Some("in_progress".into());
    let plan = plan(&instance, &text);
    assert_eq!(
        actions(&plan),
        [&Action::AwaitMigration {
            set: "role_set:old".into()
        }]
    );
    assert_eq!(
        plan.summary().requests,
        0,
        "waiting sends nothing that changes anything"
    );
}

#[test]
fn a_set_being_retired_cannot_be_managed() {
    let mut instance = seeded();
    instance.role_sets[0].migration = Some("enqueued".into());
    let found = refusal(&instance, SEEDED_FILE, false);
    assert!(
        found[0]
            .2
            .contains("is being retired (its migration is enqueued)")
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = SEEDED_FILE
        .replace("type = \"initial\"", "type = \"custom\"")
        .replace(
            "permissions = [\"org:sys_memberships:read\"]",
            "permissions = [\"org:sys_nope:read\"]",
        );
    let found = refusal(&seeded(), &text, false);
    assert_eq!(found.len(), 2, "{found:?}");
}

#[test]
fn plans_are_deterministic() {
    let mut instance = seeded();
    for i in 0..40 {
        add_permission(&mut instance, &format!("org:f:a{i}"), "P");
    }
    let mut text = SEEDED_FILE.to_owned();
    for i in 0..40 {
        text.push_str(&format!(
            "\n[permissions.\"org:f:b{i}\"]\nname = \"N\"\nrenamed_from = \"org:f:a{i}\"\n"
        ));
    }
    let first = plan(&instance, &text);
    for _ in 0..5 {
        assert_eq!(plan(&instance, &text), first);
    }
    assert!(
        first
            .changes
            .windows(2)
            .all(|w| (w[0].kind, &w[0].key) < (w[1].kind, &w[1].key))
    );
    assert!(first.changes.iter().all(|c| c.kind == Kind::Permission));
}

#[test]
fn changes_to_a_set_organizations_are_moving_into_wait_for_that_migration() {
    let mut instance = seeded();
    add_set(
        &mut instance,
        "role_set:old",
        "Old",
        false,
        "org:member",
        "org:admin",
        &["org:admin", "org:member"],
    );
    let old = instance
        .role_sets
        .iter_mut()
        .find(|s| s.key == "role_set:old")
        .unwrap();
    old.migration = Some("in_progress".into());
    old.migrating_into = Some("rs_role_set_default".into());
    let text = SEEDED_FILE.replace("name = \"Default\"", "name = \"Everyone\"");
    let plan = plan(&instance, &text);
    assert_eq!(
        actions(&plan)[0],
        &Action::AwaitMigration {
            set: "role_set:old".into()
        },
        "the wait comes first"
    );
    let update = position(&plan, |a| matches!(a, Action::UpdateRoleSet { .. }));
    assert_waits_for(&plan, update, 0);
    assert_eq!(
        plan.unmanaged.role_sets,
        Vec::<String>::new(),
        "a set being retired is not listed"
    );
}

#[test]
fn pruning_a_role_of_a_set_being_retired_waits_for_the_migration() {
    let mut instance = seeded();
    add_role(&mut instance, "org:legacy", "Legacy", &CREATOR);
    add_set(
        &mut instance,
        "role_set:old",
        "Old",
        false,
        "org:legacy",
        "org:legacy",
        &["org:legacy"],
    );
    instance
        .role_sets
        .iter_mut()
        .find(|s| s.key == "role_set:old")
        .unwrap()
        .migration = Some("enqueued".into());
    let plan = plan_pruning(&instance, SEEDED_FILE);
    assert_eq!(
        actions(&plan),
        [
            &Action::AwaitMigration {
                set: "role_set:old".into()
            },
            &Action::DeleteRole {
                key: "org:legacy".into()
            },
        ]
    );
    assert_eq!(plan.steps[1].after, [0]);
}

#[test]
fn a_renamed_role_becoming_default_in_an_add_roles_call_is_renamed_first() {
    // org:member is renamed org:people and becomes the default of role_set:other, which
    // org:guest joins: the default rides on the add-roles call, which must come after the rename.
    let mut instance = seeded();
    add_role(&mut instance, "org:guest", "Guest", &[]);
    add_set(
        &mut instance,
        "role_set:other",
        "Other",
        false,
        "org:admin",
        "org:admin",
        &["org:admin", "org:member"],
    );
    let text = SEEDED_FILE
        .replace("\"org:member\"", "\"org:people\"")
        .replace(
            "[roles.\"org:people\"]\nname = \"Member\"",
            "[roles.\"org:people\"]\nname = \"Member\"\nrenamed_from = \"org:member\"",
        )
        + "\n[roles.\"org:guest\"]\nname = \"Guest\"\n\n[role_sets.\"role_set:other\"]\nname = \"Other\"\ndefault_role = \"org:people\"\ncreator_role = \"org:admin\"\nroles = [\"org:admin\", \"org:people\", \"org:guest\"]\n";
    let plan = plan(&instance, &text);
    assert_ordered(&plan);
    let rename = position(&plan, |a| {
        matches!(
            a,
            Action::UpdateRole {
                new_key: Some(_),
                ..
            }
        )
    });
    let add = position(
        &plan,
        |a| matches!(a, Action::AddRoles { set, default_role: Some(d), .. } if set == "role_set:other" && d == "org:people"),
    );
    assert_waits_for(&plan, add, rename);
}

#[test]
fn a_renamed_creator_losing_its_permissions_is_renamed_first_then_stripped_after_the_hand_over() {
    // org:admin becomes org:boss, the set's new default, and gives the creator role (and the
    // creator permissions) to org:member: rename → hand-over → strip, with no circle.
    let text = SEEDED_FILE
        .replace("[roles.\"org:admin\"]\nname = \"Admin\"", "[roles.\"org:boss\"]\nname = \"Admin\"\nrenamed_from = \"org:admin\"")
        .replace(
            "permissions = [\"org:sys_memberships:manage\", \"org:sys_memberships:read\", \"org:sys_profile:delete\"]",
            "permissions = [\"org:sys_domains:read\"]",
        )
        .replace(
            "permissions = [\"org:sys_memberships:read\"]",
            "permissions = [\"org:sys_memberships:manage\", \"org:sys_memberships:read\", \"org:sys_profile:delete\"]",
        )
        .replace("default_role = \"org:member\"", "default_role = \"org:boss\"")
        .replace("creator_role = \"org:admin\"", "creator_role = \"org:member\"")
        .replace("roles = [\"org:admin\", \"org:member\"]", "roles = [\"org:boss\", \"org:member\"]");
    let plan = plan(&seeded(), &text);
    assert_ordered(&plan);
    let rename = position(&plan, |a| {
        matches!(
            a,
            Action::UpdateRole {
                new_key: Some(_),
                permissions: None,
                ..
            }
        )
    });
    let hand_over = position(&plan, |a| {
        matches!(
            a,
            Action::UpdateRoleSet {
                creator_role: Some(_),
                ..
            }
        )
    });
    let strip = position(
        &plan,
        |a| matches!(a, Action::UpdateRole { key, permissions: Some(_), .. } if key == "org:boss"),
    );
    assert_waits_for(&plan, hand_over, rename);
    assert_waits_for(&plan, strip, hand_over);
}
