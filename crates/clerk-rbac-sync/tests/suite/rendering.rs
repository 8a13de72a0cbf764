//! How a plan reads: text for reviewers, JSON for machines.

use clerk_rbac_sync::{PLAN_JSON_VERSION, Plan};
use serde_json::Value;

use super::fixtures::*;

/// A plan with one of everything: creations, changes (a rename, a list), a retirement and,
/// with prune, deletions.
fn busy_plan(prune: bool) -> Plan {
    let mut instance = seeded();
    add_permission(&mut instance, "org:invoices:edit", "Edit invoices");
    add_permission(&mut instance, "org:old:thing", "Old");
    add_role(
        &mut instance,
        "org:viewer",
        "Viewer",
        &["org:invoices:edit"],
    );
    instance.role_sets[0].roles.push("org:viewer".into());
    add_set(
        &mut instance,
        "role_set:legacy",
        "Legacy",
        false,
        "org:member",
        "org:admin",
        &["org:admin", "org:member"],
    );
    let text = format!(
        "{SEEDED_FILE}
[permissions.\"org:invoices:write\"]
name = \"Write invoices\"
renamed_from = \"org:invoices:edit\"

[permissions.\"org:reports:read\"]
name = \"Read reports\"
description = \"Monthly numbers\"

[roles.\"org:viewer\"]
name = \"Viewer\"
permissions = [\"org:reports:read\"]

[role_sets.\"role_set:default\".move_members]
\"org:viewer\" = \"org:member\"

[retired_role_sets.\"role_set:legacy\"]
into = \"role_set:default\"
"
    );
    if prune {
        plan_pruning(&instance, &text)
    } else {
        plan(&instance, &text)
    }
}

#[test]
fn the_text_groups_by_kind_with_signs_and_old_to_new_values() {
    let text = busy_plan(false).render(false);
    let expected = "\
Permissions
  ~ org:invoices:write (renamed from org:invoices:edit)
      name: \"Edit invoices\" → \"Write invoices\"
  + org:reports:read
      name:        \"Read reports\"
      description: \"Monthly numbers\"

Roles
  ~ org:viewer
      permissions: + org:reports:read
                   - org:invoices:write

Role sets
  ~ role_set:default
      roles: - org:viewer (members move to org:member)
  ! role_set:legacy (retire: organizations move to role_set:default)

Not in the file (left alone; --prune deletes permissions and roles)
  permissions: org:old:thing

Plan: 1 to create, 3 to change, 0 to delete, 1 to retire (5 requests).
";
    assert_eq!(text, expected, "got:\n{text}");
}

#[test]
fn pruned_objects_show_as_deletions() {
    let text = busy_plan(true).render(false);
    assert!(text.contains("  - org:old:thing (delete)\n"), "{text}");
    assert!(!text.contains("Not in the file"), "{text}");
    assert!(
        text.ends_with("1 to create, 3 to change, 1 to delete, 1 to retire (6 requests).\n"),
        "{text}"
    );
}

#[test]
fn colour_is_only_added_when_asked_for() {
    let plain = busy_plan(false).render(false);
    assert!(!plain.contains('\x1b'));
    let coloured = busy_plan(false).render(true);
    assert!(coloured.contains("\x1b[32m+\x1b[0m"), "{coloured:?}");
    assert!(coloured.contains("\x1b[33m~\x1b[0m"));
    // Without the escapes it is the same text.
    let stripped = strip_ansi(&coloured);
    assert_eq!(stripped, plain);
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn an_empty_plan_says_there_is_nothing_to_do() {
    let text = plan(&seeded(), SEEDED_FILE).render(false);
    assert_eq!(text, "No changes: the instance matches the file.\n");
}

#[test]
fn the_json_has_the_documented_shape() {
    let json: Value = serde_json::from_str(&busy_plan(false).to_json()).unwrap();
    assert_eq!(json["format_version"], PLAN_JSON_VERSION);
    assert_eq!(json["in_sync"], false);
    assert_eq!(
        json["summary"],
        serde_json::json!({"create": 1, "update": 3, "delete": 0, "retire": 1, "requests": 5})
    );
    assert_eq!(json["prune"], false);
    assert_eq!(
        json["unmanaged"]["permissions"],
        serde_json::json!(["org:old:thing"])
    );
    let rename = &json["changes"][0];
    assert_eq!(rename["kind"], "permission");
    assert_eq!(rename["key"], "org:invoices:write");
    assert_eq!(rename["action"], "update");
    assert_eq!(rename["renamed_from"], "org:invoices:edit");
    assert_eq!(
        rename["fields"],
        serde_json::json!([{"field": "name", "old": "Edit invoices", "new": "Write invoices"}])
    );
    let role = &json["changes"][2];
    assert_eq!(
        role["fields"],
        serde_json::json!([{"field": "permissions", "added": ["org:reports:read"], "removed": ["org:invoices:write"]}])
    );
    let retire = &json["changes"][4];
    assert_eq!(
        (retire["action"].as_str(), retire["into"].as_str()),
        (Some("retire"), Some("role_set:default"))
    );
    assert_eq!(json["steps"][0]["op"], "update_permission");
    assert_eq!(json["steps"][0]["new_key"], "org:invoices:write");
    assert!(json["fingerprint"]["permissions"]["org:old:thing"].is_string());
}

#[test]
fn a_plan_reads_back_from_its_json() {
    let plan = busy_plan(true);
    assert_eq!(Plan::from_json(&plan.to_json()).unwrap(), plan);
    let other_version = plan
        .to_json()
        .replace("\"format_version\": 1", "\"format_version\": 99");
    assert!(
        Plan::from_json(&other_version)
            .unwrap_err()
            .to_string()
            .contains("99")
    );
}

#[test]
fn an_in_sync_plan_says_so_in_json() {
    let json: Value = serde_json::from_str(&plan(&seeded(), SEEDED_FILE).to_json()).unwrap();
    assert_eq!(json["in_sync"], true);
    assert_eq!(json["changes"], serde_json::json!([]));
}
