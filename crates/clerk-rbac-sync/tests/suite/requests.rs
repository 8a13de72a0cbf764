//! Apply sends the fewest requests a diff needs, each with only what changes, and stays
//! within the client's rate limit.

use std::time::Duration;

use clerk_rbac::RateLimit;
use clerk_rbac_simulator::{RateLimits, RecordedRequest, Simulator};
use clerk_rbac_sync as sync;
use serde_json::{Value, json};

use super::live::*;

const EXAMPLE: &str = include_str!("../../examples/rbac.toml");

/// "METHOD path" with IDs replaced by `{id}`, sorted, for requests that change something.
fn shapes(requests: &[RecordedRequest]) -> Vec<String> {
    let mut shapes: Vec<String> = requests
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| {
            let path: Vec<&str> = r
                .path
                .split('/')
                .map(|segment| {
                    if segment.starts_with("perm_")
                        || segment.starts_with("role_") && !segment.starts_with("role_set")
                    {
                        "{id}"
                    } else {
                        segment
                    }
                })
                .collect();
            format!("{} {}", r.method, path.join("/"))
        })
        .collect();
    shapes.sort();
    shapes
}

fn body(request: &RecordedRequest) -> Value {
    serde_json::from_str(request.request_body.as_deref().unwrap_or("null")).unwrap()
}

async fn recording_simulator() -> Simulator {
    Simulator::builder()
        .rate_limits(RateLimits::off())
        .max_custom_roles(1_000)
        .migration_duration(Duration::from_millis(30))
        .record_exchanges(true)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn each_changed_object_gets_one_request_with_only_its_changes() {
    let sim = recording_simulator().await;
    let clerk = sim.client();
    apply_text(&clerk, EXAMPLE, false).await;

    let mut text = EXAMPLE
        // A permission: new name only.
        .replace("name = \"Read reports\"", "name = \"Read every report\"")
        // A permission renamed in place (every reference follows).
        .replace("\"org:invoices:write\"", "\"org:invoices:edit\"")
        .replace(
            "[permissions.\"org:invoices:edit\"]\n",
            "[permissions.\"org:invoices:edit\"]\nrenamed_from = \"org:invoices:write\"\n",
        )
        // A role: new name, no description, one permission fewer.
        .replace(
            "name = \"Accountant\"\ndescription = \"Keeps the books: invoices and reports, no member management.\"",
            "name = \"Bookkeeper\"",
        );
    text = text.replacen(
        "  \"org:reports:read\",\n]\n\n# --- Role sets",
        "]\n\n# --- Role sets",
        1,
    );
    // Twelve new roles join the finance set: two add-roles calls.
    let mut joining = Vec::new();
    for i in 0..12 {
        text.push_str(&format!(
            "\n[roles.\"org:team{i:02}\"]\nname = \"Team {i}\"\n"
        ));
        joining.push(format!("\"org:team{i:02}\""));
    }
    text = text.replace(
        "roles = [\"org:admin\", \"org:accountant\"]",
        &format!(
            "roles = [\"org:admin\", \"org:accountant\", {}]",
            joining.join(", ")
        ),
    );
    sim.clear_requests();
    let (plan, report) = apply_text(&clerk, &text, false).await;
    assert!(report.is_success(), "{}", report.render(false));

    let mut expected = vec![
        "PATCH /organization_permissions/{id}".to_owned(), // name
        "PATCH /organization_permissions/{id}".to_owned(), // key
        "PATCH /organization_roles/{id}".to_owned(),       // accountant, every change at once
        "POST /role_sets/role_set:finance/roles".to_owned(),
        "POST /role_sets/role_set:finance/roles".to_owned(),
    ];
    expected.extend((0..12).map(|_| "POST /organization_roles".to_owned()));
    expected.sort();
    assert_eq!(shapes(&sim.requests()), expected);
    assert_eq!(plan.summary().requests, expected.len());

    let requests = sim.requests();
    let patches: Vec<Value> = requests
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(body)
        .collect();
    assert!(
        patches.contains(&json!({"name": "Read every report"})),
        "{patches:?}"
    );
    assert!(
        patches.contains(&json!({"key": "org:invoices:edit"})),
        "{patches:?}"
    );
    let role_patch = patches
        .iter()
        .find(|p| p.get("permissions").is_some())
        .unwrap();
    assert_eq!(role_patch["name"], "Bookkeeper");
    assert_eq!(role_patch["description"], Value::Null);
    assert_eq!(
        role_patch.as_object().unwrap().len(),
        3,
        "name, description, permissions: {role_patch}"
    );
    assert_eq!(
        role_patch["permissions"].as_array().unwrap().len(),
        3,
        "the whole new list"
    );
    let adds: Vec<usize> = requests
        .iter()
        .filter(|r| r.path.ends_with("/roles") && r.method == "POST")
        .map(|r| body(r)["role_keys"].as_array().unwrap().len())
        .collect();
    let mut adds = adds;
    adds.sort();
    assert_eq!(adds, [2, 10]);
}

#[tokio::test]
async fn a_new_set_with_many_roles_takes_one_create_and_one_call_per_ten_more() {
    let sim = recording_simulator().await;
    let clerk = sim.client();
    let mut text = String::new();
    let mut keys = Vec::new();
    for i in 0..23 {
        text.push_str(&format!("[roles.\"org:r{i:02}\"]\nname = \"R{i}\"\n"));
        if i == 0 {
            text.push_str("permissions = [\"org:sys_memberships:manage\", \"org:sys_memberships:read\", \"org:sys_profile:delete\"]\n");
        }
        text.push('\n');
        keys.push(format!("\"org:r{i:02}\""));
    }
    text.push_str(&format!(
        "[role_sets.\"role_set:big\"]\nname = \"Big\"\ndefault_role = \"org:r22\"\ncreator_role = \"org:r00\"\nroles = [{}]\n",
        keys.join(", ")
    ));
    sim.clear_requests();
    let (_, report) = apply_text(&clerk, &text, false).await;
    assert!(report.is_success(), "{}", report.render(false));
    let requests = sim.requests();
    let create = requests
        .iter()
        .find(|r| r.method == "POST" && r.path == "/role_sets")
        .unwrap();
    let create = body(create);
    assert_eq!(create["roles"].as_array().unwrap().len(), 10);
    assert_eq!(create["roles"][0], "org:r22");
    assert_eq!(create["roles"][1], "org:r00");
    assert_eq!(create["key"], "role_set:big");
    let adds = requests
        .iter()
        .filter(|r| r.path == "/role_sets/role_set:big/roles")
        .count();
    assert_eq!(adds, 2, "13 more roles: 10 then 3");
    assert_eq!(shapes(&requests).len(), 23 + 1 + 2);
}

#[tokio::test]
async fn a_role_leaving_and_a_set_retired_take_one_request_each() {
    let sim = recording_simulator().await;
    let clerk = sim.client();
    apply_text(&clerk, EXAMPLE, false).await;
    sim.set_members("role_set:default", "org:accountant", 4)
        .unwrap();
    let text = EXAMPLE[..EXAMPLE.find("[role_sets.\"role_set:finance\"]").unwrap()].replace(
        "roles = [\"org:admin\", \"org:member\", \"org:accountant\"]",
        "roles = [\"org:admin\", \"org:member\"]",
    ) + "\n[role_sets.\"role_set:default\".move_members]\n\"org:accountant\" = \"org:member\"\n\n[retired_role_sets.\"role_set:finance\"]\ninto = \"role_set:default\"\n[retired_role_sets.\"role_set:finance\".move_members]\n\"org:accountant\" = \"org:member\"\n";
    sim.clear_requests();
    let (_, report) = apply_text(&clerk, &text, false).await;
    assert!(report.is_success(), "{}", report.render(false));
    assert_eq!(
        shapes(&sim.requests()),
        [
            "POST /role_sets/role_set:default/roles/replace",
            "POST /role_sets/role_set:finance/replace"
        ]
    );
    let replace = sim
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/roles/replace"))
        .unwrap();
    assert_eq!(
        body(&replace),
        json!({"role_key": "org:accountant", "to_role_key": "org:member"})
    );
    let retire = sim
        .requests()
        .into_iter()
        .find(|r| r.path == "/role_sets/role_set:finance/replace")
        .unwrap();
    assert_eq!(
        body(&retire),
        json!({"dest_role_set_key": "role_set:default", "reassignment_mappings": {"org:accountant": "org:member"}})
    );
}

#[tokio::test]
async fn apply_stays_within_the_rate_limit_and_never_meets_a_429() {
    // A scaled-down development limit (20 per 500 ms) so that the test is quick; the
    // benchmark runs Clerk's 100 per 10 s.
    let window = Duration::from_millis(500);
    let sim = Simulator::builder()
        .rate_limits(RateLimits::new(20, 200, window))
        .max_custom_roles(1_000)
        .migration_duration(Duration::from_millis(30))
        .start()
        .await
        .unwrap();
    let clerk = sim
        .client_builder()
        .rate_limit(RateLimit::new(20, window))
        .build()
        .unwrap();
    let mut text = EXAMPLE.to_owned();
    for i in 0..45 {
        text.push_str(&format!(
            "\n[permissions.\"org:paced:p{i}\"]\nname = \"Paced {i}\"\n"
        ));
    }
    let (plan, report) = apply_text(&clerk, &text, false).await;
    assert!(report.is_success(), "{}", report.render(false));
    assert!(
        plan.summary().requests > 40,
        "more requests than one window allows"
    );
    let limited: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.status == Some(429))
        .collect();
    assert!(limited.is_empty(), "{} answers were 429", limited.len());
    assert!(
        sync::plan(&clerk, &desired(&text), &sync::PlanOptions::new())
            .await
            .unwrap()
            .is_empty()
    );
}
