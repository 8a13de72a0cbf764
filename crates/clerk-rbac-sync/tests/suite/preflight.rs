//! The preflight: Clerk's limits foreseen before the first write, every finding at once,
//! located in the file, and nothing sent when any is an error.

use std::time::Duration;

use clerk_rbac_simulator::{Fault, RateLimits, Simulator};
use clerk_rbac_sync::{
    self as sync, FindingCode, InstanceSettings, PlanOptions, Severity, StepOutcome, SyncError,
};

use super::{fixtures, live};

/// `SEEDED_FILE` plus `n` new roles `org:extra0`, `org:extra1`, ...
fn with_roles(n: usize) -> String {
    let mut text = fixtures::SEEDED_FILE.to_owned();
    for i in 0..n {
        text.push_str(&format!(
            "\n[roles.\"org:extra{i}\"]\nname = \"Extra {i}\"\n"
        ));
    }
    text
}

fn plan_with(
    instance: &sync::Instance,
    text: &str,
    settings: Option<InstanceSettings>,
) -> sync::Plan {
    let mut options = PlanOptions::new();
    options.settings = settings;
    sync::planner::plan(instance, &fixtures::desired(text), &options)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn codes(plan: &sync::Plan) -> Vec<(Severity, FindingCode)> {
    plan.findings.iter().map(|f| (f.severity, f.code)).collect()
}

#[test]
fn the_custom_role_quota_is_an_error_located_on_the_first_role_beyond_it() {
    let plan = plan_with(
        &fixtures::seeded(),
        &with_roles(3),
        Some(InstanceSettings::new().max_custom_roles(2)),
    );
    assert_eq!(
        codes(&plan),
        [(Severity::Error, FindingCode::CustomRoleQuota)]
    );
    let finding = &plan.findings[0];
    assert_eq!(finding.key, "roles.\"org:extra2\"");
    let at = finding.location.as_ref().expect("located in the file");
    assert_eq!(at.path, "rbac.toml");
    assert!(at.line > 10, "{at:?}");
    assert!(
        finding.message.contains("needs 3 custom roles"),
        "{finding}"
    );
    assert!(finding.message.contains("allows 2"), "{finding}");
    assert!(
        finding
            .help
            .as_deref()
            .unwrap()
            .contains("ask Clerk support"),
        "{finding}"
    );
    assert!(
        plan.render(false).contains("Refused:"),
        "{}",
        plan.render(false)
    );
    // Within the quota: nothing to say.
    let fits = plan_with(
        &fixtures::seeded(),
        &with_roles(2),
        Some(InstanceSettings::new().max_custom_roles(2)),
    );
    assert!(fits.findings.is_empty(), "{:?}", fits.findings);
}

#[test]
fn without_settings_clerks_documented_quota_is_a_warning() {
    let plan = plan_with(&fixtures::seeded(), &with_roles(11), None);
    assert_eq!(
        codes(&plan),
        [(Severity::Warning, FindingCode::CustomRoleQuota)]
    );
    assert!(plan.errors().is_empty());
    assert!(
        plan.findings[0]
            .message
            .contains("documented default allows 10")
    );
}

#[test]
fn the_role_set_quota_counts_the_sets_already_there() {
    let text = format!(
        "{}\n[role_sets.\"role_set:two\"]\nname = \"Two\"\ndefault_role = \"org:member\"\ncreator_role = \"org:admin\"\nroles = [\"org:admin\", \"org:member\"]\n",
        fixtures::SEEDED_FILE
    );
    let plan = plan_with(
        &fixtures::seeded(),
        &text,
        Some(InstanceSettings::new().max_role_sets(1)),
    );
    assert_eq!(codes(&plan), [(Severity::Error, FindingCode::RoleSetQuota)]);
    assert_eq!(plan.findings[0].key, "role_sets.\"role_set:two\"");
    assert!(plan.findings[0].message.contains("needs 2 role sets"));
}

#[test]
fn settings_that_allow_no_custom_role_are_the_plan_gate_for_every_create() {
    let text = format!(
        "{}\n[permissions.\"org:a:b\"]\nname = \"P\"\n",
        with_roles(2)
    );
    let plan = plan_with(
        &fixtures::seeded(),
        &text,
        Some(InstanceSettings::new().max_custom_roles(0)),
    );
    assert_eq!(codes(&plan), [(Severity::Error, FindingCode::PlanGate)]);
    let finding = &plan.findings[0];
    assert!(finding.message.contains("the 3 creates"), "{finding}");
    assert_eq!(finding.key, "permissions.\"org:a:b\"");
}

#[test]
fn deleting_the_creator_or_domain_default_role_of_the_settings_is_an_error() {
    let mut instance = fixtures::seeded();
    fixtures::add_role(&mut instance, "org:boss", "Boss", &fixtures::CREATOR);
    let settings = InstanceSettings::new()
        .creator_role("org:boss")
        .domains_default_role("org:boss");
    let mut options = PlanOptions::new().prune(true);
    options.settings = Some(settings);
    let plan = sync::planner::plan(
        &instance,
        &fixtures::desired(fixtures::SEEDED_FILE),
        &options,
    )
    .unwrap();
    let mut found = codes(&plan);
    found.sort();
    assert_eq!(
        found,
        [
            (Severity::Error, FindingCode::CreatorRole),
            (Severity::Error, FindingCode::DomainDefaultRole)
        ]
    );
}

#[test]
fn every_member_move_says_how_many_members_move() {
    let mut instance = fixtures::seeded();
    fixtures::add_role(&mut instance, "org:temp", "Temp", &[]);
    let set = &mut instance.role_sets[0];
    set.roles.push("org:temp".into());
    set.members.insert("org:temp".into(), 7);
    let text = fixtures::SEEDED_FILE.replace(
        "roles = [\"org:admin\", \"org:member\"]",
        "roles = [\"org:admin\", \"org:member\"]\nmove_members = { \"org:temp\" = \"org:member\" }",
    ) + "\n[roles.\"org:temp\"]\nname = \"Temp\"\n";
    let plan = plan_with(&instance, &text, None);
    assert_eq!(codes(&plan), [(Severity::Note, FindingCode::MembersMove)]);
    let finding = &plan.findings[0];
    assert_eq!(finding.members, Some(7));
    assert!(finding.message.contains("7 member(s)"), "{finding}");
    assert!(finding.message.contains("move to org:member"), "{finding}");
    assert!(finding.location.is_some());
    let json = plan.to_json();
    assert!(json.contains("\"members_move\""), "{json}");
    assert_eq!(sync::Plan::from_json(&json).unwrap(), plan);
}

#[test]
fn a_file_that_manages_nothing_is_warned_about() {
    for text in ["", "# only a comment\n"] {
        let plan = plan_with(&fixtures::seeded(), text, None);
        assert!(plan.is_empty());
        assert_eq!(
            codes(&plan),
            [(Severity::Warning, FindingCode::ManagesNothing)]
        );
        assert!(plan.render(false).contains("names no permission"));
    }
}

#[test]
fn every_finding_is_reported_at_once() {
    let mut instance = fixtures::seeded();
    fixtures::add_role(&mut instance, "org:boss", "Boss", &fixtures::CREATOR);
    let text = format!(
        "{}\n[role_sets.\"role_set:two\"]\nname = \"Two\"\ndefault_role = \"org:member\"\ncreator_role = \"org:admin\"\nroles = [\"org:admin\", \"org:member\"]\n",
        with_roles(2)
    );
    let mut options = PlanOptions::new().prune(true);
    options.settings = Some(
        InstanceSettings::new()
            .max_custom_roles(1)
            .max_role_sets(1)
            .creator_role("org:boss"),
    );
    let plan = sync::planner::plan(&instance, &fixtures::desired(&text), &options).unwrap();
    let mut found: Vec<FindingCode> = plan.errors().iter().map(|f| f.code).collect();
    found.sort();
    assert_eq!(
        found,
        [
            FindingCode::CustomRoleQuota,
            FindingCode::RoleSetQuota,
            FindingCode::CreatorRole
        ]
    );
}

// ---- against the simulator -------------------------------------------------------------------

/// The instance as it is, plus `n` new roles.
async fn instance_plus_roles(clerk: &clerk_rbac::Clerk, n: usize) -> sync::DesiredState {
    let mut file = sync::export(clerk).await.unwrap();
    for i in 0..n {
        file.roles.insert(
            format!("org:extra{i}"),
            sync::RoleSpec {
                name: format!("Extra {i}"),
                ..Default::default()
            },
        );
    }
    file
}

async fn plan_roles(clerk: &clerk_rbac::Clerk, n: usize) -> sync::Plan {
    sync::plan(
        clerk,
        &instance_plus_roles(clerk, n).await,
        &PlanOptions::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn simulator(builder: clerk_rbac_simulator::SimulatorBuilder) -> Simulator {
    builder
        .rate_limits(RateLimits::off())
        .migration_duration(Duration::from_millis(20))
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_plan_over_the_quota_is_refused_by_apply_with_nothing_sent() {
    let sim = simulator(Simulator::builder().max_custom_roles(2)).await;
    let clerk = sim.client();
    let plan = plan_roles(&clerk, 3).await;
    assert_eq!(plan.errors().len(), 1, "{}", plan.render(false));
    sim.clear_requests();
    let err = sync::apply(&clerk, &plan, &live::options())
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Refused(_)), "{err}");
    assert!(err.to_string().contains("allows 2"), "{err}");
    assert!(live::mutations(&sim.requests()).is_empty());
    // A saved plan stripped of its findings is checked again on the instance.
    let mut stripped = plan.clone();
    stripped.findings.clear();
    let err = sync::apply(&clerk, &stripped, &live::options())
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Refused(_)), "{err}");
    assert!(live::mutations(&sim.requests()).is_empty());
}

#[tokio::test]
async fn a_plan_gate_the_settings_hide_stops_apply_at_the_first_402() {
    let sim = simulator(Simulator::builder().custom_roles(false)).await;
    // Nothing readable reveals the gate.
    sim.inject(
        Fault::on("GET", "/instance/organization_settings")
            .status(404)
            .times(u64::MAX),
    );
    let clerk = live::single_shot(&sim);
    let plan = plan_roles(&clerk, 6).await;
    assert!(plan.errors().is_empty(), "{}", plan.render(false));
    sim.clear_requests();
    let report = sync::apply(&clerk, &plan, &live::options().concurrency(1))
        .await
        .unwrap();
    let gated: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.status == Some(402))
        .collect();
    assert_eq!(gated.len(), 1, "one 402, then nothing more is sent");
    assert_eq!(live::mutations(&sim.requests()).len(), 1);
    let not_sent = report
        .steps
        .iter()
        .filter(|s| matches!(s.outcome, StepOutcome::NotAttempted { .. }))
        .count();
    assert_eq!(not_sent, 5);
    let text = report.render(false);
    assert!(text.contains("refused with 402"), "{text}");
    assert_eq!(text.matches("Stopped:").count(), 1, "{text}");
    assert!(report.to_json().contains("\"not_attempted\": 5"));
}

#[tokio::test]
async fn a_plan_gate_the_settings_show_is_refused_before_anything_is_sent() {
    let sim = simulator(Simulator::builder().custom_roles(false)).await;
    let clerk = sim.client();
    let plan = plan_roles(&clerk, 6).await;
    assert_eq!(
        plan.errors().iter().map(|f| f.code).collect::<Vec<_>>(),
        [FindingCode::PlanGate]
    );
    sim.clear_requests();
    assert!(matches!(
        sync::apply(&clerk, &plan, &live::options()).await,
        Err(SyncError::Refused(_))
    ));
    assert!(live::mutations(&sim.requests()).is_empty());
}

#[tokio::test]
async fn read_back_waits_out_a_stale_read_instead_of_reporting_a_false_failure() {
    let sim = simulator(Simulator::builder().stale_reads(Duration::from_millis(300))).await;
    // The create happens, but its answer is lost: apply must read the role back, and the first
    // reads still show the instance before the create.
    sim.inject(
        Fault::on("POST", "/organization_roles")
            .act_then_drop()
            .times(1),
    );
    let clerk = live::single_shot(&sim);
    let plan = plan_roles(&clerk, 1).await;
    let report = sync::apply(&clerk, &plan, &live::options()).await.unwrap();
    assert!(report.is_success(), "{}", report.render(false));
    let creates = live::mutations(&sim.requests())
        .into_iter()
        .filter(|m| m == "POST /organization_roles")
        .count();
    assert_eq!(creates, 1, "never written again");
    // Without the patience, the same read-back reports a failure.
    let sim = simulator(Simulator::builder().stale_reads(Duration::from_millis(300))).await;
    sim.inject(
        Fault::on("POST", "/organization_roles")
            .act_then_drop()
            .times(1),
    );
    let clerk = live::single_shot(&sim);
    let plan = plan_roles(&clerk, 1).await;
    let report = sync::apply(
        &clerk,
        &plan,
        &live::options().read_back_window(Duration::ZERO),
    )
    .await
    .unwrap();
    assert!(!report.is_success(), "{}", report.render(false));
}
