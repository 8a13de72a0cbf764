//! Running the sync engine against the simulator: a quick simulator, a client, apply options
//! with short waits, and views of what the simulator was sent.

#![allow(dead_code)]

use std::time::Duration;

use clerk_rbac::{Clerk, RetryPolicy};
use clerk_rbac_simulator::{RateLimits, RecordedRequest, Simulator, Snapshot};
use clerk_rbac_sync::{self as sync, ApplyOptions, ApplyReport, DesiredState, Plan, PlanOptions};
use serde_json::{Value, json};

/// A simulator with no rate limit, quick migrations, and room for more custom roles and role
/// sets than Clerk's default quotas (the preflight's tests set their own).
pub async fn simulator() -> Simulator {
    Simulator::builder()
        .rate_limits(RateLimits::off())
        .max_custom_roles(1_000)
        .max_role_sets(1_000)
        .migration_duration(Duration::from_millis(60))
        .start()
        .await
        .expect("a loopback port")
}

/// A client that sends each request once, so that a fault is seen as it is.
pub fn single_shot(sim: &Simulator) -> Clerk {
    sim.client_builder()
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Short waits for migrations.
pub fn options() -> ApplyOptions {
    ApplyOptions::new()
        .poll_interval(Duration::from_millis(10))
        .migration_timeout(Duration::from_secs(20))
}

pub fn desired(text: &str) -> DesiredState {
    DesiredState::from_toml(text, "rbac.toml").unwrap_or_else(|e| panic!("{e}"))
}

pub async fn plan_text(clerk: &Clerk, text: &str, prune: bool) -> Plan {
    sync::plan(clerk, &desired(text), &PlanOptions::new().prune(prune))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Plans and applies `text`; panics if planning or the staleness check fails.
pub async fn apply_text(clerk: &Clerk, text: &str, prune: bool) -> (Plan, ApplyReport) {
    let plan = plan_text(clerk, text, prune).await;
    let report = sync::apply(clerk, &plan, &options())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (plan, report)
}

/// The requests that may change something (everything but GET), as "METHOD path".
pub fn mutations(requests: &[RecordedRequest]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// Changes the simulator refused (a 4xx to anything but a read): none, when apply breaks no
/// rule. A read answered 404 is not a refusal: after a lost answer, apply reads the object back
/// to learn whether its change happened, and "not there" is a possible answer.
pub fn refused_changes(requests: &[RecordedRequest]) -> Vec<String> {
    refusals(requests)
        .into_iter()
        .filter(|line| !line.starts_with("GET "))
        .collect()
}

/// Requests answered with a 4xx, reads included: none, when apply breaks no rule and the
/// instance answers every request.
pub fn refusals(requests: &[RecordedRequest]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.status.is_some_and(|s| (400..500).contains(&s)))
        .map(|r| format!("{} {} → {:?}", r.method, r.path, r.status))
        .collect()
}

/// The simulator's instance as JSON, to edit before restoring.
pub fn snapshot_json(sim: &Simulator) -> Value {
    serde_json::from_str(&sim.snapshot().to_json()).unwrap()
}

pub fn restore_json(sim: &Simulator, snapshot: &Value) {
    let snapshot = Snapshot::from_json(&snapshot.to_string()).unwrap();
    sim.restore(&snapshot).unwrap_or_else(|e| panic!("{e}"));
}

/// A permission entry for a snapshot.
pub fn permission_json(id: &str, key: &str, name: &str) -> Value {
    json!({
        "id": id, "key": key, "name": name, "description": "", "system": false,
        "created_at": 1_767_225_600_000_i64, "updated_at": 1_767_225_600_000_i64,
    })
}

/// Adds `count` custom permissions (`org:bulk<i/100>:p<i>`) to the simulator's instance and
/// gives the first `held` of them to a new role `org:bulk_holder`.
pub fn grow(sim: &Simulator, count: usize, held: usize) {
    let mut snapshot = snapshot_json(sim);
    let permissions = snapshot["permissions"].as_array_mut().unwrap();
    let mut keys = Vec::new();
    for i in 0..count {
        let key = format!("org:bulk{}:p{i}", i / 100);
        permissions.push(permission_json(
            &format!("perm_bulk{i}"),
            &key,
            &format!("Bulk {i}"),
        ));
        keys.push(key);
    }
    snapshot["roles"].as_array_mut().unwrap().push(json!({
        "id": "role_bulkholder", "key": "org:bulk_holder", "name": "Bulk holder", "description": null,
        "permissions": keys[..held], "invitations": 0,
        "created_at": 1_767_225_600_000_i64, "updated_at": 1_767_225_600_000_i64,
    }));
    restore_json(sim, &snapshot);
}
