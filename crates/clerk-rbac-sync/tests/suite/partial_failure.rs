//! Faults in the middle of an apply: the report says exactly what was done, what failed and
//! what was skipped (checked against the simulator's state, not the engine's word), and
//! applying again converges.

use std::time::Duration;

use clerk_rbac::RetryPolicy;
use clerk_rbac_simulator::{Fault, Simulator, Snapshot};
use clerk_rbac_sync::{self as sync, Action, ApplyReport, StepOutcome};

use super::live::*;

const EXAMPLE: &str = include_str!("../../examples/rbac.toml");

/// Whether the simulator's state shows what `action` does; written from the snapshot, apart
/// from the engine's own read-back.
fn holds(snapshot: &Snapshot, action: &Action) -> bool {
    let permission = |key: &str| snapshot.permissions.iter().find(|p| p.key == key);
    let role = |key: &str| snapshot.roles.iter().find(|r| r.key == key);
    let set = |key: &str| snapshot.role_sets.iter().find(|s| s.key == key);
    let sorted = |keys: &[String]| {
        let mut keys = keys.to_vec();
        keys.sort();
        keys
    };
    let in_set = |set: &clerk_rbac_simulator::RoleSetSnapshot, roles: &[String]| {
        roles.iter().all(|r| set.roles.iter().any(|m| m.role == *r))
    };
    match action {
        Action::CreatePermission {
            key,
            name,
            description,
        } => permission(key).is_some_and(|p| {
            p.name == *name && p.description == description.clone().unwrap_or_default()
        }),
        Action::UpdatePermission {
            key,
            new_key,
            name,
            description,
        } => permission(new_key.as_deref().unwrap_or(key)).is_some_and(|p| {
            name.as_ref().is_none_or(|n| p.name == *n)
                && description.as_ref().is_none_or(|d| p.description == *d)
        }),
        Action::DeletePermission { key } => permission(key).is_none(),
        Action::CreateRole {
            key,
            name,
            permissions,
            ..
        } => role(key)
            .is_some_and(|r| r.name == *name && sorted(&r.permissions) == sorted(permissions)),
        Action::UpdateRole {
            key,
            new_key,
            name,
            description,
            permissions,
        } => role(new_key.as_deref().unwrap_or(key)).is_some_and(|r| {
            name.as_ref().is_none_or(|n| r.name == *n)
                && description
                    .as_ref()
                    .is_none_or(|d| r.description.as_deref().unwrap_or("") == d)
                && permissions
                    .as_ref()
                    .is_none_or(|p| sorted(&r.permissions) == sorted(p))
        }),
        Action::DeleteRole { key } => role(key).is_none(),
        Action::CreateRoleSet { key, roles, .. } => set(key).is_some_and(|s| in_set(s, roles)),
        Action::AddRoles {
            set: key,
            roles,
            default_role,
            creator_role,
        } => set(key).is_some_and(|s| {
            in_set(s, roles)
                && default_role.as_ref().is_none_or(|d| s.default_role == *d)
                && creator_role.as_ref().is_none_or(|c| s.creator_role == *c)
        }),
        Action::UpdateRoleSet {
            set: key,
            new_key,
            name,
            default_role,
            creator_role,
            ..
        } => set(new_key.as_deref().unwrap_or(key)).is_some_and(|s| {
            name.as_ref().is_none_or(|n| s.name == *n)
                && default_role.as_ref().is_none_or(|d| s.default_role == *d)
                && creator_role.as_ref().is_none_or(|c| s.creator_role == *c)
        }),
        Action::RemoveRole { set: key, role, .. } => {
            set(key).is_some_and(|s| s.roles.iter().all(|m| m.role != *role))
        }
        Action::RetireRoleSet { set: key, .. } | Action::AwaitMigration { set: key } => {
            set(key).is_none()
        }
        other => panic!("no check for {other:?}"),
    }
}

/// Every step reported done shows on the instance; every step failed or skipped does not.
fn assert_exact(report: &ApplyReport, snapshot: &Snapshot) {
    for step in &report.steps {
        let on_instance = holds(snapshot, &step.step.action);
        assert_eq!(
            on_instance,
            step.outcome.is_done(),
            "step {} ({}) is reported {:?} but the instance {} it\n{}",
            step.step.id,
            sync::describe(&step.step.action),
            step.outcome,
            if on_instance {
                "shows"
            } else {
                "does not show"
            },
            report.render(false)
        );
    }
}

async fn converges(sim: &Simulator, clerk: &clerk_rbac::Clerk, text: &str) {
    sim.clear_faults();
    let (_, report) = apply_text(clerk, text, false).await;
    assert!(report.is_success(), "{}", report.render(false));
    assert_exact(&report, &sim.snapshot());
    assert!(plan_text(clerk, text, false).await.is_empty());
}

#[tokio::test]
async fn a_failed_creation_skips_only_what_needs_it() {
    let sim = simulator().await;
    let clerk = sim.client();
    sim.inject(
        Fault::on("POST", "/organization_roles")
            .status(503)
            .times(10),
    );
    let (plan, report) = apply_text(&clerk, EXAMPLE, false).await;
    assert_exact(&report, &sim.snapshot());

    let outcome = |matches: &dyn Fn(&Action) -> bool| {
        report
            .steps
            .iter()
            .find(|s| matches(&s.step.action))
            .map(|s| s.outcome.clone())
            .unwrap()
    };
    let StepOutcome::Failed { status, error, .. } =
        outcome(&|a| matches!(a, Action::CreateRole { .. }))
    else {
        panic!("{}", report.render(false))
    };
    assert_eq!(status, Some(503));
    assert!(error.contains("503"), "{error}");
    let create_role = plan
        .steps
        .iter()
        .position(|s| matches!(s.action, Action::CreateRole { .. }))
        .unwrap();
    assert_eq!(
        outcome(&|a| matches!(a, Action::CreateRoleSet { .. })),
        StepOutcome::Skipped {
            because_of: create_role
        }
    );
    assert!(matches!(
        outcome(&|a| matches!(a, Action::AddRoles { .. })),
        StepOutcome::Skipped { .. }
    ));
    // Everything that does not need the new role went through.
    assert!(outcome(&|a| matches!(a, Action::CreatePermission { .. })).is_done());
    assert!(
        outcome(&|a| matches!(a, Action::UpdateRole { key, .. } if key == "org:admin")).is_done()
    );
    let (done, failed, skipped) = report.counts();
    assert_eq!((failed, skipped), (1, 2));
    assert_eq!(done, plan.steps.len() - 3);
    let text = report.render(false);
    assert!(
        text.contains("FAILED  create role org:accountant: "),
        "{text}"
    );
    assert!(
        text.contains("(it needs \"create role org:accountant\", which failed)"),
        "{text}"
    );
    assert!(text.contains("Apply incomplete: "), "{text}");

    converges(&sim, &clerk, EXAMPLE).await;
}

#[tokio::test]
async fn a_creation_whose_answer_is_lost_is_confirmed_and_its_dependents_go_on() {
    let sim = simulator().await;
    let clerk = sim.client();
    sim.inject(Fault::on("POST", "/organization_roles").act_then_drop());
    let (_, report) = apply_text(&clerk, EXAMPLE, false).await;
    assert!(report.is_success(), "{}", report.render(false));
    assert_exact(&report, &sim.snapshot());
    let confirmed: Vec<_> = report
        .steps
        .iter()
        .filter(|s| {
            matches!(
                s.outcome,
                StepOutcome::Done {
                    confirmed_after: Some(_)
                }
            )
        })
        .collect();
    assert_eq!(confirmed.len(), 1);
    assert!(matches!(
        confirmed[0].step.action,
        Action::CreateRole { .. }
    ));
    assert!(
        sim.requests()
            .iter()
            .any(|r| r.method == "POST" && r.path == "/organization_roles" && !r.answered)
    );
    assert!(plan_text(&clerk, EXAMPLE, false).await.is_empty());
}

#[tokio::test]
async fn a_lost_connection_before_anything_happened_is_a_failure() {
    let sim = simulator().await;
    let clerk = single_shot(&sim);
    // The second permission creation never reaches the instance.
    sim.inject(
        Fault::on("POST", "/organization_permissions")
            .after(1)
            .drop_connection(),
    );
    let (_, report) = apply_text(&clerk, EXAMPLE, false).await;
    assert_exact(&report, &sim.snapshot());
    let (_, failed, skipped) = report.counts();
    assert_eq!(failed, 1);
    assert!(
        skipped >= 1,
        "roles holding the missing permission wait for it"
    );
    converges(&sim, &clerk, EXAMPLE).await;
}

#[tokio::test]
async fn ambiguous_updates_and_deletions_are_read_back() {
    let sim = simulator().await;
    let clerk = single_shot(&sim);
    apply_text(&clerk, EXAMPLE, false).await;
    // A PATCH whose answer is lost, and a DELETE whose answer is lost.
    let renamed = EXAMPLE.replace("name = \"Read reports\"", "name = \"Read every report\"");
    sim.inject(Fault::on("PATCH", "/organization_permissions").act_then_drop());
    let (_, report) = apply_text(&clerk, &renamed, false).await;
    assert!(
        matches!(
            report.steps[0].outcome,
            StepOutcome::Done {
                confirmed_after: Some(_)
            }
        ),
        "{report:?}"
    );
    assert_exact(&report, &sim.snapshot());

    clerk
        .organization_permissions()
        .create(clerk_rbac::CreatePermission::new(
            "Stray",
            "org:stray:thing",
        ))
        .await
        .unwrap();
    sim.inject(Fault::on("DELETE", "/organization_permissions").act_then_drop());
    let (_, report) = apply_text(&clerk, &renamed, true).await;
    assert!(
        matches!(report.steps[..], [ref only] if matches!(only.outcome, StepOutcome::Done { confirmed_after: Some(_) })),
        "{report:?}"
    );
    assert_exact(&report, &sim.snapshot());
}

#[tokio::test]
async fn a_refusal_from_clerk_is_reported_with_its_code_and_the_rest_is_done() {
    let sim = simulator().await;
    let clerk = sim.client();
    apply_text(&clerk, EXAMPLE, false).await;
    clerk
        .organization_roles()
        .create(clerk_rbac::CreateRole::new("Temp", "org:temp"))
        .await
        .unwrap();
    clerk
        .organization_permissions()
        .create(clerk_rbac::CreatePermission::new(
            "Stray",
            "org:stray:thing",
        ))
        .await
        .unwrap();
    // Invitations keep a role from being deleted: a rule the plan cannot see.
    sim.set_invitations("org:temp", 1).unwrap();
    let (_, report) = apply_text(&clerk, EXAMPLE, true).await;
    assert_exact(&report, &sim.snapshot());
    let failed: Vec<_> = report
        .steps
        .iter()
        .filter(|s| !s.outcome.is_done())
        .collect();
    assert_eq!(failed.len(), 1, "{}", report.render(false));
    let StepOutcome::Failed { status, code, .. } = &failed[0].outcome else {
        panic!()
    };
    assert_eq!(
        (*status, code.as_deref()),
        (Some(422), Some("organization_role_in_use"))
    );
    assert!(report.steps.iter().any(
        |s| matches!(&s.step.action, Action::DeletePermission { key } if key == "org:stray:thing")
            && s.outcome.is_done()
    ));
}

#[tokio::test]
async fn under_random_server_errors_each_report_is_exact_and_applying_again_converges() {
    let sim = simulator().await;
    let clerk = sim
        .client_builder()
        .retry(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(5))
                .max_delay(Duration::from_millis(20)),
        )
        .build()
        .unwrap();
    let mut text = EXAMPLE.to_owned();
    for i in 0..30 {
        text.push_str(&format!(
            "\n[permissions.\"org:extra:p{i}\"]\nname = \"Extra {i}\"\n"
        ));
        text.push_str(&format!(
            "\n[roles.\"org:extra{i}\"]\nname = \"Extra {i}\"\npermissions = [\"org:extra:p{i}\"]\n"
        ));
    }
    let extra: Vec<String> = (0..30).map(|i| format!("\"org:extra{i}\"")).collect();
    text = text.replace(
        "roles = [\"org:admin\", \"org:accountant\"]",
        &format!(
            "roles = [\"org:admin\", \"org:accountant\", {}]",
            extra.join(", ")
        ),
    );
    for seed in [3, 11] {
        sim.restore(&Simulator::start().await.unwrap().snapshot())
            .unwrap();
        sim.clear_faults();
        sim.inject(Fault::any().share(0.25).status(503).seed(seed));
        let mut rounds = 0;
        loop {
            rounds += 1;
            assert!(rounds <= 10, "seed {seed}: no convergence after 10 applies");
            let plan = match sync::plan(&clerk, &desired(&text), &sync::PlanOptions::new()).await {
                Ok(plan) => plan,
                Err(sync::SyncError::Read(_)) => continue, // reading failed three times: try again
                Err(e) => panic!("seed {seed}: {e}"),
            };
            if plan.is_empty() {
                break;
            }
            match sync::apply(&clerk, &plan, &options()).await {
                Ok(report) => assert_exact(&report, &sim.snapshot()),
                Err(sync::SyncError::Read(_)) => {}
                Err(e) => panic!("seed {seed}: {e}"),
            }
        }
        assert!(
            refused_changes(&sim.requests()).is_empty(),
            "seed {seed}: {:?}",
            refused_changes(&sim.requests())
        );
    }
}

/// A creation refused as `duplicate_record` because another writer made the same object
/// between the apply's check and its request: the object is read back, and since it is
/// exactly what the file wants, the step is done (as `check` would say), not failed.
#[tokio::test(flavor = "multi_thread")]
async fn a_creation_someone_else_made_identically_meanwhile_is_done_not_failed() {
    let sim = simulator().await;
    let clerk = single_shot(&sim);
    let text = "[permissions.\"org:race:won\"]\nname = \"Raced\"\n";
    let plan = plan_text(&clerk, text, false).await;
    // Hold the creation long enough for the other writer to go first.
    sim.inject(
        Fault::on("POST", "/organization_permissions")
            .times(1)
            .delay(Duration::from_millis(1500)),
    );
    sim.clear_requests();
    let apply = {
        let clerk = clerk.clone();
        let plan = plan.clone();
        tokio::spawn(async move { sync::apply(&clerk, &plan, &options()).await })
    };
    // Once the apply has read the instance (three lists), the other writer creates it.
    while sim.requests().iter().filter(|r| r.method == "GET").count() < 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    sim.client()
        .organization_permissions()
        .create(clerk_rbac::CreatePermission::new("Raced", "org:race:won"))
        .await
        .unwrap();
    let report = apply.await.unwrap().unwrap();
    let codes: Vec<Option<u16>> = sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.status)
        .collect();
    assert_eq!(codes.len(), 2, "the other writer's and ours");
    assert!(
        codes.iter().any(|c| *c != Some(200)),
        "ours was refused as a duplicate: {codes:?}"
    );
    assert!(report.is_success(), "{}", report.render(false));
    assert!(
        matches!(
            &report.steps[0].outcome,
            StepOutcome::Done { confirmed_after: Some(error) } if error.contains("duplicate")
                || error.contains("taken") || error.contains("exists")
        ),
        "{:?}",
        report.steps[0].outcome
    );
}
