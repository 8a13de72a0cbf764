//! The verbs against the simulator: export, plan, apply and check as a user runs them.

use clerk_rbac::CreateRole;
use clerk_rbac_sync::{
    self as sync, Action, CheckOutcome, DesiredState, Kind, PlanOptions, StepOutcome, SyncError,
};

use super::live::*;

const EXAMPLE: &str = include_str!("../../examples/rbac.toml");

#[tokio::test]
async fn the_example_applies_on_a_fresh_instance_and_then_nothing_is_left_to_do() {
    let sim = simulator().await;
    let clerk = sim.client();
    let (plan, report) = apply_text(&clerk, EXAMPLE, false).await;
    assert!(!plan.is_empty());
    assert!(report.is_success(), "{}", report.render(false));
    assert_eq!(report.steps.len(), plan.steps.len());
    assert!(
        refusals(&sim.requests()).is_empty(),
        "{:?}",
        refusals(&sim.requests())
    );

    let again = plan_text(&clerk, EXAMPLE, false).await;
    assert!(again.is_empty(), "{}", again.render(false));
    sim.clear_requests();
    let report = sync::apply(&clerk, &again, &options()).await.unwrap();
    assert!(report.steps.is_empty());
    assert_eq!(
        mutations(&sim.requests()),
        Vec::<String>::new(),
        "a second apply changes nothing"
    );
}

#[tokio::test]
async fn export_then_plan_finds_nothing_even_with_thousands_of_permissions() {
    let sim = simulator().await;
    grow(&sim, 2600, 1200);
    let clerk = sim.client();
    sim.clear_requests();
    let exported = sync::export(&clerk).await.unwrap();
    assert_eq!(exported.permissions.len(), 2600, "every page was read");
    assert_eq!(exported.roles["org:bulk_holder"].permissions.len(), 1200);
    // Pages of 500, each asked for once.
    let mut offsets: Vec<String> = sim
        .requests()
        .iter()
        .filter(|r| r.path == "/organization_permissions")
        .map(|r| {
            r.query
                .iter()
                .find(|(k, _)| k == "offset")
                .map_or("0".into(), |(_, v)| v.clone())
        })
        .collect();
    offsets.sort_by_key(|o| o.parse::<u32>().unwrap());
    assert_eq!(offsets, ["0", "500", "1000", "1500", "2000", "2500"]);

    let text = exported.to_toml();
    let plan = sync::plan(&clerk, &desired(&text), &PlanOptions::new())
        .await
        .unwrap();
    assert!(plan.is_empty(), "{}", plan.render(false));
    assert!(plan.unmanaged.is_empty());
}

#[tokio::test]
async fn check_says_in_sync_or_drift() {
    let sim = simulator().await;
    let clerk = sim.client();
    let exported = sync::export(&clerk).await.unwrap();
    let outcome = sync::check(&clerk, &exported, &PlanOptions::new())
        .await
        .unwrap();
    assert_eq!(outcome, CheckOutcome::InSync);
    assert_eq!(outcome.exit_code(), 0);
    clerk
        .organization_roles()
        .create(CreateRole::new("Auditor", "org:auditor"))
        .await
        .unwrap();
    // An unmanaged role is no drift, unless the run prunes.
    let outcome = sync::check(&clerk, &exported, &PlanOptions::new())
        .await
        .unwrap();
    assert_eq!(outcome, CheckOutcome::InSync);
    let pruning = sync::check(&clerk, &exported, &PlanOptions::new().prune(true))
        .await
        .unwrap();
    let CheckOutcome::Drift(plan) = &pruning else {
        panic!("expected drift")
    };
    assert_eq!(plan.summary().delete, 1);
    assert_eq!(pruning.exit_code(), 2);
}

#[tokio::test]
async fn apply_refuses_a_plan_made_for_an_instance_that_changed_since() {
    let sim = simulator().await;
    let clerk = sim.client();
    let plan = plan_text(&clerk, EXAMPLE, false).await;
    clerk
        .organization_roles()
        .create(CreateRole::new("Auditor", "org:auditor"))
        .await
        .unwrap();
    let member = clerk
        .organization_roles()
        .list()
        .query("org:member")
        .collect_all()
        .await
        .unwrap();
    clerk
        .organization_roles()
        .update(&member[0].id, clerk_rbac::UpdateRole::new().name("Members"))
        .await
        .unwrap();
    sim.clear_requests();
    let err = sync::apply(&clerk, &plan, &options()).await.unwrap_err();
    let SyncError::Stale(drift) = &err else {
        panic!("{err}")
    };
    let changed: Vec<(Kind, &str)> = drift
        .changes
        .iter()
        .map(|c| (c.kind, c.key.as_str()))
        .collect();
    assert_eq!(
        changed,
        [(Kind::Role, "org:auditor"), (Kind::Role, "org:member")]
    );
    let message = err.to_string();
    assert!(
        message.contains("role org:auditor was created"),
        "{message}"
    );
    assert!(message.contains("role org:member was changed"), "{message}");
    assert_eq!(
        mutations(&sim.requests()),
        Vec::<String>::new(),
        "nothing was sent that changes anything"
    );
}

#[tokio::test]
async fn a_plan_that_needs_a_decision_sends_nothing() {
    let sim = simulator().await;
    let clerk = sim.client();
    let text = EXAMPLE.replace(
        "roles = [\"org:admin\", \"org:member\", \"org:accountant\"]",
        "roles = [\"org:admin\", \"org:accountant\"]",
    );
    let text = text.replace(
        "default_role = \"org:member\"",
        "default_role = \"org:accountant\"",
    );
    sim.clear_requests();
    let err = sync::plan(&clerk, &desired(&text), &PlanOptions::new())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("role `org:member` leaves role set `role_set:default`"),
        "{err}"
    );
    assert!(sim.requests().iter().all(|r| r.method == "GET"));
}

#[tokio::test]
async fn retiring_a_set_waits_for_its_migration_and_moves_its_members() {
    let sim = simulator().await;
    let clerk = sim.client();
    let (_, report) = apply_text(&clerk, EXAMPLE, false).await;
    assert!(report.is_success());
    sim.set_members("role_set:finance", "org:accountant", 7)
        .unwrap();
    sim.set_members("role_set:finance", "org:admin", 2).unwrap();
    let without_finance =
        EXAMPLE[..EXAMPLE.find("[role_sets.\"role_set:finance\"]").unwrap()].to_owned();
    let text = format!(
        "{without_finance}\n[retired_role_sets.\"role_set:finance\"]\ninto = \"role_set:default\"\n"
    );
    let (plan, report) = apply_text(&clerk, &text, false).await;
    assert!(
        matches!(plan.steps[..], [ref only] if matches!(only.action, Action::RetireRoleSet { .. }))
    );
    assert!(report.is_success(), "{}", report.render(false));
    assert_eq!(
        refusals(&sim.requests()),
        Vec::<String>::new(),
        "waiting meets no error answer"
    );
    let snapshot = sim.snapshot();
    assert!(
        snapshot
            .role_sets
            .iter()
            .all(|s| s.key != "role_set:finance"),
        "the set is gone once apply returns"
    );
    let default = snapshot
        .role_sets
        .iter()
        .find(|s| s.key == "role_set:default")
        .unwrap();
    let members = |role: &str| {
        default
            .roles
            .iter()
            .find(|r| r.role == role)
            .map_or(0, |r| r.members)
    };
    assert_eq!((members("org:accountant"), members("org:admin")), (7, 2));
    assert!(plan_text(&clerk, &text, false).await.is_empty());
}

#[tokio::test]
async fn a_migration_that_outlasts_the_bound_fails_its_step_and_the_next_apply_waits_for_it() {
    let sim = clerk_rbac_simulator::Simulator::builder()
        .rate_limits(clerk_rbac_simulator::RateLimits::off())
        .migration_duration(std::time::Duration::from_millis(800))
        .start()
        .await
        .unwrap();
    let clerk = sim.client();
    apply_text(&clerk, EXAMPLE, false).await;
    let without_finance =
        EXAMPLE[..EXAMPLE.find("[role_sets.\"role_set:finance\"]").unwrap()].to_owned();
    let text = format!(
        "{without_finance}\n[retired_role_sets.\"role_set:finance\"]\ninto = \"role_set:default\"\n"
    );
    let plan = plan_text(&clerk, &text, false).await;
    let impatient = options().migration_timeout(std::time::Duration::from_millis(100));
    let report = sync::apply(&clerk, &plan, &impatient).await.unwrap();
    let StepOutcome::Failed { error, .. } = &report.steps[0].outcome else {
        panic!("{report:?}")
    };
    assert!(
        error.contains("still") && error.contains("applying again waits for it"),
        "{error}"
    );

    // The set is being retired: the next plan only waits.
    let next = plan_text(&clerk, &text, false).await;
    assert!(
        matches!(next.steps[..], [ref only] if matches!(only.action, Action::AwaitMigration { .. })),
        "{:?}",
        next.steps
    );
    assert_eq!(next.summary().requests, 0);
    let report = sync::apply(&clerk, &next, &options()).await.unwrap();
    assert!(report.is_success(), "{}", report.render(false));
    assert!(plan_text(&clerk, &text, false).await.is_empty());
}

#[tokio::test]
async fn progress_is_reported_for_every_step() {
    let sim = simulator().await;
    let clerk = sim.client();
    let plan = plan_text(&clerk, EXAMPLE, false).await;
    let seen = std::sync::Arc::new(std::sync::Mutex::new((0, 0, 0)));
    let record = seen.clone();
    let options = options().progress(move |event| {
        let mut seen = record.lock().unwrap();
        match event {
            sync::Progress::Started(_) => seen.0 += 1,
            sync::Progress::Finished { done, total, .. } => {
                seen.1 += 1;
                seen.2 = seen.2.max(done);
                assert!(done <= total);
            }
            _ => {}
        }
    });
    sync::apply(&clerk, &plan, &options).await.unwrap();
    let seen = *seen.lock().unwrap();
    assert_eq!(seen, (plan.steps.len(), plan.steps.len(), plan.steps.len()));
}

#[tokio::test]
async fn export_writes_a_file_that_reads_back() {
    let sim = simulator().await;
    let clerk = sim.client();
    apply_text(&clerk, EXAMPLE, false).await;
    let text = sync::export(&clerk).await.unwrap().to_toml();
    let exported =
        DesiredState::from_toml(&text, "export.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    let example = DesiredState::from_toml(EXAMPLE, "example").unwrap();
    assert_eq!(exported.permissions, example.permissions);
    assert_eq!(
        exported.roles.keys().collect::<Vec<_>>(),
        example.roles.keys().collect::<Vec<_>>()
    );
    for (key, role) in &example.roles {
        let mut wanted = role.permissions.clone();
        wanted.sort();
        assert_eq!(
            exported.roles[key].permissions, wanted,
            "{key}: lists are written sorted"
        );
        assert_eq!(exported.roles[key].name, role.name);
    }
    assert_eq!(exported.role_sets.len(), example.role_sets.len());
}

#[tokio::test]
async fn a_migration_that_ends_between_plan_and_apply_does_not_make_the_plan_stale() {
    let sim = clerk_rbac_simulator::Simulator::builder()
        .rate_limits(clerk_rbac_simulator::RateLimits::off())
        .migration_duration(std::time::Duration::from_millis(400))
        .start()
        .await
        .unwrap();
    let clerk = sim.client();
    apply_text(&clerk, EXAMPLE, false).await;
    let without_finance =
        EXAMPLE[..EXAMPLE.find("[role_sets.\"role_set:finance\"]").unwrap()].to_owned();
    let text = format!(
        "{without_finance}\n[retired_role_sets.\"role_set:finance\"]\ninto = \"role_set:default\"\n"
    );
    let plan = plan_text(&clerk, &text, false).await;
    let impatient = options().migration_timeout(std::time::Duration::from_millis(20));
    let report = sync::apply(&clerk, &plan, &impatient).await.unwrap();
    assert!(!report.is_success(), "the migration outlasts 20 ms");
    let waiting = plan_text(&clerk, &text, false).await;
    assert!(
        matches!(waiting.steps[..], [ref only] if matches!(only.action, Action::AwaitMigration { .. }))
    );
    // The migration ends before this plan is applied.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let report = sync::apply(&clerk, &waiting, &options())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_success(), "{}", report.render(false));
}

#[tokio::test]
async fn a_plan_saved_as_json_applies_and_an_edited_one_out_of_order_is_refused_unsent() {
    let sim = simulator().await;
    let clerk = sim.client();
    let plan = plan_text(&clerk, EXAMPLE, false).await;
    let saved = sync::Plan::from_json(&plan.to_json()).unwrap();
    assert_eq!(saved, plan);

    let mut edited = saved.clone();
    let last = edited.steps.len() - 1;
    edited.steps[0].after = vec![last];
    sim.clear_requests();
    let err = sync::apply(&clerk, &edited, &options()).await.unwrap_err();
    assert!(matches!(err, SyncError::Unplannable(_)), "{err}");
    assert!(sim.requests().is_empty(), "refused before reading anything");

    let report = sync::apply(&clerk, &saved, &options()).await.unwrap();
    assert!(report.is_success(), "{}", report.render(false));
}
