//! The simulator held to the spec: a broad workload (every operation, success and error
//! paths) is recorded, then every response is validated against the fragment's schema for its
//! operation and status, and every request the simulator accepted against the request schema.
//! Statuses the fragment does not document for an operation are allowed only where the
//! simulator models something the fragment leaves out (rate limits, body limits, injected
//! faults), and must still carry Clerk's error body.

use std::{collections::BTreeSet, time::Duration};

use clerk_rbac::{
    AddRoles, CreatePermission, CreateRole, CreateRoleSet, ReplaceRole, ReplaceRoleSet,
    UpdatePermission, UpdateRole, UpdateRoleSet,
};
use clerk_rbac_simulator::{Fault, RateLimits, RecordedRequest, Simulator};
use serde_json::{Value, json};

use super::support::{builder, creator_permission_ids, no_retries, permission_id, role_id};
// The client suite's reader of the fragment and validator, shared rather than written twice.
#[path = "../../../../tests/suite/contract/fragment.rs"]
#[allow(dead_code)] // the client suite uses the rest
mod fragment;

use fragment::{Direction, Fragment, Operation, Validator};

/// Operations of the fragment the simulator does not serve yet (it answers 404, a status they
/// document). The breadth check holds each to exactly that, so it fails, asking for the entry to
/// go, once the simulator serves the operation.
const NOT_SERVED_YET: &[&str] = &[];

/// Statuses the fragment documents for no operation, which the simulator still answers.
const CROSS_CUTTING: [u16; 6] = [405, 413, 415, 429, 500, 503];

/// The fragment operation a recorded request was for, if any.
fn operation_of<'a>(
    operations: &'a [Operation],
    record: &RecordedRequest,
) -> Option<&'a Operation> {
    let parts: Vec<&str> = record.path.trim_start_matches('/').split('/').collect();
    operations.iter().find(|op| {
        let template: Vec<&str> = op.template.trim_start_matches('/').split('/').collect();
        op.method == record.method
            && template.len() == parts.len()
            && template
                .iter()
                .zip(&parts)
                .all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
    })
}

/// Checks every recorded exchange; returns the (operation, status) pairs seen.
fn validate_exchanges(log: &[RecordedRequest]) -> BTreeSet<(String, u16)> {
    let fragment = Fragment::load();
    let mut validator = Validator::new(&fragment);
    let operations = fragment.operations();
    let clerk_errors = json!({"$ref": "#/components/schemas/ClerkErrors"});
    let mut seen = BTreeSet::new();
    let mut failures = Vec::new();
    for record in log {
        let what = format!("{} {} -> {:?}", record.method, record.path, record.status);
        let Some(status) = record.status else {
            continue;
        };
        let body: Value = match record.response_body.as_deref().map(serde_json::from_str) {
            Some(Ok(body)) => body,
            other => {
                failures.push(format!("{what}: response body is not JSON: {other:?}"));
                continue;
            }
        };
        let operation = operation_of(&operations, record);
        let documented = operation.and_then(|op| op.responses.get(&status));
        let outcome = match (operation, documented) {
            (Some(op), Some(schema)) => {
                seen.insert((op.id.clone(), status));
                validator.validate(schema, Direction::Response, &body)
            }
            _ if CROSS_CUTTING.contains(&status) || (operation.is_none() && status == 404) => {
                validator.validate(&clerk_errors, Direction::Response, &body)
            }
            _ => Err(format!(
                "status {status} is not documented for this operation"
            )),
        };
        if let Err(e) = outcome {
            failures.push(format!("{what}: response: {e}\n{body}"));
        }
        if let (Some(op), 200) = (operation, status) {
            if let Some(schema) = &op.request_body {
                let sent: Value = record
                    .request_body
                    .as_deref()
                    .and_then(|b| serde_json::from_str(b).ok())
                    .unwrap_or(Value::Null);
                if let Err(e) = validator.validate(schema, Direction::Request, &sent) {
                    failures.push(format!("{what}: accepted request: {e}\n{sent}"));
                }
            }
            let declared: Vec<&str> = op.parameters_in("query").map(|p| p.name.as_str()).collect();
            for (name, _) in &record.query {
                if !declared.contains(&name.as_str()) {
                    failures.push(format!(
                        "{what}: accepted undeclared query parameter {name}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} exchanges break the fragment:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    seen
}

/// Sends a request by hand, for what the facade refuses to send.
async fn raw(
    sim: &Simulator,
    method: &str,
    path_and_query: &str,
    auth: Option<&str>,
    body: Option<&str>,
) {
    let mut request = reqwest::Client::new().request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{}/v1{path_and_query}", sim.base_url()),
    );
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    request.send().await.unwrap();
}

/// Every operation, its success and the refusals the simulator models.
async fn workload(sim: &Simulator) {
    let clerk = no_retries(sim);
    let (perms, roles, sets) = (
        clerk.organization_permissions(),
        clerk.organization_roles(),
        clerk.role_sets(),
    );
    let key = format!("Bearer {}", sim.secret_key());

    // The instance's settings; the simulator never refuses them on its own, so a scripted
    // 404 (an instance without organizations) stands for the documented refusal.
    sim.inject(
        clerk_rbac_simulator::Fault::on("GET", "/instance/organization_settings").status(404),
    );
    clerk.instance().organization_settings().await.unwrap_err();
    let settings = clerk.instance().organization_settings().await.unwrap();
    assert_eq!(settings.creator_role, "org:admin");

    // Permissions.
    let read = perms
        .create(CreatePermission::new("Read", "org:inv:read").description("Reads"))
        .await
        .unwrap();
    let write = perms
        .create(CreatePermission::new("Write", "org:inv:write"))
        .await
        .unwrap();
    perms
        .create(CreatePermission::new("Bad", "org:inv"))
        .await
        .unwrap_err();
    perms
        .create(CreatePermission::new("Dup", "org:inv:read"))
        .await
        .unwrap_err();
    perms
        .create(CreatePermission::new("Sys", "org:sys_x:y"))
        .await
        .unwrap_err();
    perms.list().send().await.unwrap();
    perms
        .list()
        .query("inv")
        .order_by("-key")
        .limit(1)
        .offset(1)
        .send()
        .await
        .unwrap();
    perms.list().order_by("sideways").send().await.unwrap_err();
    perms.get(&read.id).await.unwrap();
    perms.get("perm_missing").await.unwrap_err();
    perms
        .update(
            &read.id,
            UpdatePermission::new().name("Read all").description("All"),
        )
        .await
        .unwrap();
    perms
        .update(&write.id, UpdatePermission::new().key("org:inv:read"))
        .await
        .unwrap_err();
    perms
        .update(&write.id, UpdatePermission::new().key("nope"))
        .await
        .unwrap_err();
    perms
        .update("perm_missing", UpdatePermission::new().name("x"))
        .await
        .unwrap_err();
    let system = permission_id(&clerk, "org:sys_domains:read").await;
    perms
        .update(&system, UpdatePermission::new().name("x"))
        .await
        .unwrap_err();
    perms.delete(&system).await.unwrap_err();
    raw(
        sim,
        "GET",
        "/organization_permissions?limit=501",
        Some(&key),
        None,
    )
    .await;
    raw(
        sim,
        "POST",
        "/organization_permissions",
        Some(&key),
        Some("{"),
    )
    .await;
    raw(
        sim,
        "POST",
        "/organization_permissions",
        Some(&key),
        Some(r#"{"name":"x"}"#),
    )
    .await;

    // Roles.
    let creator_ids = creator_permission_ids(&clerk).await;
    let mut founder_permissions: Vec<&str> = creator_ids.iter().map(String::as_str).collect();
    founder_permissions.push(&read.id);
    let founder = roles
        .create(
            CreateRole::new("Founder", "org:founder")
                .permissions(founder_permissions)
                .description("Starts orgs"),
        )
        .await
        .unwrap();
    let clerk_role = roles
        .create(CreateRole::new("Clerk", "org:clerk").permissions([read.id.as_str()]))
        .await
        .unwrap();
    let temp = roles
        .create(CreateRole::new("Temp", "org:temp").include_in_initial_role_set(true))
        .await
        .unwrap();
    roles
        .create(CreateRole::new("Bad", "clerk"))
        .await
        .unwrap_err();
    roles
        .create(CreateRole::new("Dup", "org:clerk"))
        .await
        .unwrap_err();
    roles
        .create(CreateRole::new("Ghost", "org:ghost").permissions(["perm_missing"]))
        .await
        .unwrap_err();
    roles.list().send().await.unwrap();
    roles
        .list()
        .query("org:")
        .order_by("name")
        .limit(2)
        .send()
        .await
        .unwrap();
    roles.list().order_by("id").send().await.unwrap_err();
    roles.get(&founder.id).await.unwrap();
    roles.get("role_missing").await.unwrap_err();
    roles
        .update(
            &clerk_role.id,
            UpdateRole::new().name("Clerks").clear_description(),
        )
        .await
        .unwrap();
    roles
        .update(&clerk_role.id, UpdateRole::new().key("org:founder"))
        .await
        .unwrap_err();
    roles
        .update(&clerk_role.id, UpdateRole::new().key("Clerk"))
        .await
        .unwrap_err();
    roles
        .update("role_missing", UpdateRole::new().name("x"))
        .await
        .unwrap_err();
    roles
        .assign_permission(&clerk_role.id, &write.id)
        .await
        .unwrap();
    roles
        .assign_permission(&clerk_role.id, &write.id)
        .await
        .unwrap_err();
    roles
        .assign_permission("role_missing", &write.id)
        .await
        .unwrap_err();
    roles
        .remove_permission(&clerk_role.id, &write.id)
        .await
        .unwrap();
    roles
        .remove_permission(&clerk_role.id, &write.id)
        .await
        .unwrap_err();
    let admin = role_id(&clerk, "org:admin").await;
    roles
        .remove_permission(&admin, &creator_ids[0])
        .await
        .unwrap_err();
    roles.delete(&admin).await.unwrap_err();
    roles.delete("role_missing").await.unwrap_err();

    // Role sets.
    let team = sets
        .create(
            CreateRoleSet::new(
                "Team",
                ["org:founder", "org:clerk", "org:temp"],
                "org:clerk",
                "org:founder",
            )
            .key("role_set:team")
            .description("A team"),
        )
        .await
        .unwrap();
    sets.create(CreateRoleSet::new(
        "Auto key",
        ["org:founder"],
        "org:founder",
        "org:founder",
    ))
    .await
    .unwrap();
    sets.create(CreateRoleSet::new(
        "Bad",
        ["org:clerk"],
        "org:clerk",
        "org:clerk",
    ))
    .await
    .unwrap_err();
    sets.create(CreateRoleSet::new(
        "Bad",
        Vec::<String>::new(),
        "org:clerk",
        "org:clerk",
    ))
    .await
    .unwrap_err();
    sets.create(
        CreateRoleSet::new("Dup", ["org:founder"], "org:founder", "org:founder")
            .key("role_set:team"),
    )
    .await
    .unwrap_err();
    sets.list().send().await.unwrap();
    sets.list()
        .query("team")
        .order_by("+created_at")
        .send()
        .await
        .unwrap();
    sets.list().order_by("x").send().await.unwrap_err();
    sets.get(&team.id).await.unwrap();
    sets.get("role_set:missing").await.unwrap_err();
    sets.update(
        "role_set:team",
        UpdateRoleSet::new()
            .name("Team A")
            .clear_description()
            .default_role_key("org:temp"),
    )
    .await
    .unwrap();
    sets.update(
        "role_set:team",
        UpdateRoleSet::new().creator_role_key("org:clerk"),
    )
    .await
    .unwrap_err();
    sets.update("role_set:missing", UpdateRoleSet::new().name("x"))
        .await
        .unwrap_err();
    sets.add_roles(
        "role_set:team",
        AddRoles::new(["org:member"]).default_role_key("org:member"),
    )
    .await
    .unwrap();
    sets.add_roles("role_set:team", AddRoles::new(["org:member"]))
        .await
        .unwrap_err();
    sets.add_roles("role_set:missing", AddRoles::new(["org:member"]))
        .await
        .unwrap_err();
    sim.set_members("role_set:team", "org:temp", 2).unwrap();
    sets.replace_role("role_set:team", ReplaceRole::new("org:temp", "org:clerk"))
        .await
        .unwrap();
    sets.replace_role("role_set:team", ReplaceRole::new("org:temp", "org:clerk"))
        .await
        .unwrap_err();
    sets.replace_role(
        "role_set:missing",
        ReplaceRole::new("org:temp", "org:clerk"),
    )
    .await
    .unwrap_err();
    roles.delete(&temp.id).await.unwrap();
    sim.set_members("role_set:team", "org:clerk", 3).unwrap();
    sets.replace("role_set:team", ReplaceRoleSet::new("role_set:default"))
        .await
        .unwrap_err();
    sets.replace("role_set:team", ReplaceRoleSet::new("role_set:missing"))
        .await
        .unwrap_err();
    sets.replace("role_set:missing", ReplaceRoleSet::new("role_set:default"))
        .await
        .unwrap_err();
    sets.replace(
        "role_set:team",
        ReplaceRoleSet::new("role_set:default")
            .reassign("org:clerk", "org:member")
            .reassign("org:founder", "org:admin"),
    )
    .await
    .unwrap();
    // Mid-migration answers carry the migration object.
    tokio::time::advance(Duration::from_secs(5)).await;
    let during = sets.get("role_set:team").await.unwrap();
    assert_eq!(during.role_set_migration.unwrap().status, "in_progress");
    sets.list().send().await.unwrap();
    sets.update("role_set:team", UpdateRoleSet::new().name("x"))
        .await
        .unwrap_err();
    tokio::time::advance(Duration::from_secs(10)).await;
    sets.get("role_set:team").await.unwrap_err();

    perms.delete(&write.id).await.unwrap();
    perms.delete("perm_missing").await.unwrap_err();

    // Cross-cutting answers.
    raw(sim, "GET", "/role_sets", None, None).await;
    raw(sim, "GET", "/role_sets", Some("Bearer pk_test_x"), None).await;
    raw(sim, "PUT", "/role_sets", Some(&key), None).await;
    raw(sim, "GET", "/nowhere", Some(&key), None).await;
    sim.inject(Fault::on("GET", "/organization_roles").status(503));
    roles.list().send().await.unwrap_err();
    sim.inject(Fault::on("GET", "/organization_roles").status(500));
    roles.list().send().await.unwrap_err();
}

#[tokio::test(start_paused = true)]
async fn every_exchange_of_a_broad_workload_fits_the_fragment() {
    let sim = builder()
        .migration_duration(Duration::from_secs(10))
        .record_exchanges(true)
        .start()
        .await
        .unwrap();
    workload(&sim).await;
    let log = sim.requests();
    let seen = validate_exchanges(&log);

    // Breadth: every operation answered 200, and most of their documented errors occurred.
    let fragment = Fragment::load();
    for op in fragment.operations() {
        if NOT_SERVED_YET.contains(&op.id.as_str()) {
            let statuses: Vec<u16> = seen
                .iter()
                .filter(|(id, _)| *id == op.id)
                .map(|p| p.1)
                .collect();
            assert_eq!(
                statuses,
                [404],
                "{} is served now: take it off NOT_SERVED_YET",
                op.id
            );
            continue;
        }
        assert!(
            seen.contains(&(op.id.clone(), 200)),
            "{} never succeeded",
            op.id
        );
        assert!(
            seen.iter().any(|(id, s)| *id == op.id && *s >= 400),
            "{} never refused",
            op.id
        );
    }
    assert!(
        seen.len() >= 50,
        "only {} (operation, status) pairs",
        seen.len()
    );
    assert!(
        log.iter().all(|r| r.answered),
        "every request got its answer"
    );
}

#[tokio::test(start_paused = true)]
async fn rate_limited_and_plan_gated_answers_fit_the_fragment_too() {
    let sim = builder()
        .custom_roles(false)
        .rate_limits(RateLimits::new(5, 5, Duration::from_secs(10)))
        .record_exchanges(true)
        .start()
        .await
        .unwrap();
    let clerk = no_retries(&sim);
    clerk
        .organization_permissions()
        .create(CreatePermission::new("P", "org:p:q"))
        .await
        .unwrap_err();
    clerk
        .organization_roles()
        .create(CreateRole::new("R", "org:r"))
        .await
        .unwrap_err();
    clerk
        .role_sets()
        .create(CreateRoleSet::new(
            "S",
            ["org:admin"],
            "org:admin",
            "org:admin",
        ))
        .await
        .unwrap_err();
    for _ in 0..4 {
        clerk.role_sets().list().send().await.ok();
    }
    let log = sim.requests();
    let seen = validate_exchanges(&log);
    for id in [
        "CreateOrganizationPermission",
        "CreateOrganizationRole",
        "CreateRoleSet",
    ] {
        assert!(seen.contains(&(id.to_owned(), 402)), "{id}: {seen:?}");
    }
    assert!(log.iter().any(|r| r.status == Some(429)));
}

#[test]
fn the_cross_cutting_statuses_are_really_undocumented() {
    // If the fragment starts documenting one of them, the allowance above should go.
    let fragment = Fragment::load();
    for op in fragment.operations() {
        for status in CROSS_CUTTING {
            assert!(
                !op.responses.contains_key(&status),
                "{} now documents {status}",
                op.id
            );
        }
    }
}
