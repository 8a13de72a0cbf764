//! The rules a desired-state file follows beyond its shape (checked without an instance), each
//! problem located on its line with its key and, where one helps, a suggestion.

use clerk_rbac_sync::{DesiredState, SyncError};

/// The problems of a file, as `(line, key, message, help)`.
fn problems(text: &str) -> Vec<(usize, String, String, Option<String>)> {
    match DesiredState::from_toml(text, "rbac.toml") {
        Ok(_) => panic!("expected problems in:\n{text}"),
        Err(SyncError::InvalidFile(problems)) => problems
            .0
            .into_iter()
            .map(|p| (p.location.map_or(0, |l| l.line), p.key, p.message, p.help))
            .collect(),
        Err(other) => panic!("unexpected error {other}"),
    }
}

const BASE: &str = r#"
[permissions."org:invoices:read"]
name = "Read invoices"

[permissions."org:invoices:write"]
name = "Write invoices"
renamed_from = "org:invoices:edit"

[roles."org:admin"]
name = "Admin"
permissions = ["org:sys_memberships:manage", "org:invoices:read"]

[roles."org:member"]
name = "Member"

[role_sets."role_set:default"]
name = "Default"
type = "initial"
default_role = "org:member"
creator_role = "org:admin"
roles = ["org:admin", "org:member"]
"#;

#[test]
fn the_base_file_is_valid() {
    let state = DesiredState::from_toml(BASE, "rbac.toml").unwrap();
    assert_eq!(state.role_sets["role_set:default"].roles.len(), 2);
}

#[test]
fn system_permissions_cannot_be_managed() {
    let found = problems("[permissions.\"org:sys_profile:delete\"]\nname = \"x\"\n");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, 1);
    assert!(found[0].2.contains("system permission"), "{found:?}");
}

#[test]
fn bad_key_shapes_are_located_on_their_table() {
    let found = problems(
        "[roles.\"admin\"]\nname = \"A\"\n\n[role_sets.\"default\"]\nname = \"D\"\ndefault_role = \"org:x\"\ncreator_role = \"org:x\"\nroles = []\n",
    );
    let lines: Vec<_> = found.iter().map(|p| (p.0, p.1.as_str())).collect();
    assert!(lines.contains(&(1, "roles.admin")), "{found:#?}");
    assert!(lines.contains(&(4, "role_sets.default")), "{found:#?}");
    assert!(
        found.iter().any(|p| p.2.contains("at least one role")),
        "{found:#?}"
    );
}

#[test]
fn unknown_references_are_located_on_the_item_with_a_suggestion() {
    let text = BASE.replace(
        "permissions = [\"org:sys_memberships:manage\", \"org:invoices:read\"]",
        "permissions = [\n  \"org:sys_memberships:manage\",\n  \"org:invoices:raed\",\n  \"org:invoices:edit\",\n]",
    );
    let found = problems(&text);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0].0, 13);
    assert_eq!(found[0].1, "roles.\"org:admin\".permissions[1]");
    assert_eq!(
        found[0].3.as_deref(),
        Some("did you mean `org:invoices:read`?")
    );
    assert_eq!(found[1].0, 14);
    assert!(
        found[1]
            .3
            .as_deref()
            .unwrap()
            .contains("renamed to `org:invoices:write`")
    );
}

#[test]
fn duplicates_in_lists_are_refused() {
    let text = BASE.replace(
        "roles = [\"org:admin\", \"org:member\"]",
        "roles = [\"org:admin\", \"org:member\", \"org:admin\"]",
    );
    let found = problems(&text);
    assert_eq!(found[0].1, "role_sets.\"role_set:default\".roles[2]");
    assert!(found[0].2.contains("listed twice"));
}

#[test]
fn default_and_creator_roles_must_be_in_the_set() {
    let text = BASE.replace(
        "default_role = \"org:member\"",
        "default_role = \"org:membr\"",
    );
    let found = problems(&text);
    assert_eq!(found[0].1, "role_sets.\"role_set:default\".default_role");
    assert_eq!(found[0].3.as_deref(), Some("did you mean `org:member`?"));
}

#[test]
fn only_one_set_can_be_initial() {
    let text = format!(
        "{BASE}\n[role_sets.\"role_set:other\"]\nname = \"O\"\ntype = \"initial\"\ndefault_role = \"org:member\"\ncreator_role = \"org:admin\"\nroles = [\"org:admin\", \"org:member\"]\n"
    );
    let found = problems(&text);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].1, "role_sets.\"role_set:other\".type");
}

#[test]
fn renames_cannot_collide_with_managed_keys_or_each_other() {
    let text = format!(
        "{BASE}\n[permissions.\"org:invoices:send\"]\nname = \"S\"\nrenamed_from = \"org:invoices:read\"\n\n[permissions.\"org:invoices:mail\"]\nname = \"M\"\nrenamed_from = \"org:invoices:edit\"\n"
    );
    let found = problems(&text);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found.iter().any(|p| p.2.contains("also in this file")));
    assert!(
        found
            .iter()
            .any(|p| p.2.contains("one permission cannot become two"))
    );
}

#[test]
fn member_moves_must_name_a_leaving_role_and_a_staying_one() {
    let text = format!(
        "{BASE}\n[role_sets.\"role_set:default\".move_members]\n\"org:admin\" = \"org:member\"\n\"org:viewer\" = \"org:nobody\"\n"
    );
    let found = problems(&text);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].2.contains("stays in this set"));
    assert!(found[1].2.contains("`org:nobody` is not in its `roles`"));
}

#[test]
fn a_retired_set_needs_a_destination_that_stays() {
    let text = format!(
        "{BASE}\n[retired_role_sets.\"role_set:default\"]\ninto = \"role_set:default\"\n\n[retired_role_sets.\"role_set:old\"]\ninto = \"role_set:older\"\n\n[retired_role_sets.\"role_set:older\"]\ninto = \"role_set:default\"\n[retired_role_sets.\"role_set:older\".move_members]\n\"org:legacy\" = \"org:owner\"\n"
    );
    let found = problems(&text);
    let messages: Vec<&str> = found.iter().map(|p| p.2.as_str()).collect();
    assert!(
        messages.iter().any(|m| m.contains("both kept and retired")),
        "{messages:#?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("retired into itself")),
        "{messages:#?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("is retired too")),
        "{messages:#?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("`org:owner` is not in its `roles`")),
        "{messages:#?}"
    );
}

#[test]
fn empty_names_are_refused() {
    let found = problems("[permissions.\"org:a:b\"]\nname = \"  \"\n");
    assert_eq!(found[0].1, "permissions.\"org:a:b\".name");
    assert_eq!(found[0].0, 2);
}

#[test]
fn a_role_listed_twice_names_both_places_the_same_way() {
    let text = format!(
        "{BASE}\n[role_sets.\"role_set:twice\"]\nname = \"T\"\ndefault_role = \"org:admin\"\ncreator_role = \"org:admin\"\nroles = [\"org:admin\", \"org:member\", \"org:admin\", \"org:admin\"]\n"
    );
    let found = problems(&text);
    let twice: Vec<_> = found
        .iter()
        .filter(|p| p.2.contains("listed twice"))
        .collect();
    assert_eq!(twice.len(), 2, "{found:?}");
    for (problem, index) in twice.iter().zip([2, 3]) {
        assert!(
            problem.1.ends_with(&format!("roles[{index}]")),
            "{problem:?}"
        );
        assert!(problem.2.contains("(first as roles[0])"), "{problem:?}");
    }
}

#[test]
fn a_missing_field_does_not_hide_the_other_problems() {
    let text = r#"
[permissions."org:a:b"]
description = "no name"

[roles."org:x"]
name = "X"

[roles."org:y"]
name = "Y"
renamed_from = "org:x"

[role_sets."role_set:s"]
name = "S"
type = "custom"
creator_role = "org:x"
roles = ["org:x"]
"#;
    let found = problems(text);
    let messages: Vec<&str> = found.iter().map(|p| p.2.as_str()).collect();
    assert!(
        found
            .iter()
            .any(|p| p.1 == "permissions.\"org:a:b\"" && p.2.contains("missing field `name`")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.1 == "role_sets.\"role_set:s\""
                && p.2.contains("missing field `default_role`")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.1.starts_with("roles.\"org:y\".renamed_from")),
        "the rename conflict is reported in the same run: {messages:#?}"
    );
    assert!(
        !found
            .iter()
            .any(|p| p.1.ends_with(".name") || p.1.ends_with(".default_role")),
        "nothing about the stand-ins: {found:#?}"
    );
}
