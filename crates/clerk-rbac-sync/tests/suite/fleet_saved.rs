//! Saved fleet plans (`clerk_rbac_sync::fleet::SavedFleetPlan`) on several simulated instances:
//! applied exactly as planned, each target refused on its own (nothing sent to it) when its
//! instance changed since or is another instance, no secret in the file.

use clerk_rbac::CreateRole;
use clerk_rbac_sync::{
    SyncError,
    fleet::{self, Fleet, SavedFleetPlan, TargetErrorKind, TargetOutcome},
};

use super::fleet::{Instances, temp_dir, write_fleet};

const NAMES: [&str; 4] = ["dev", "staging", "acme", "globex"];

fn layout() -> [(&'static str, &'static str, &'static str); 4] {
    [
        ("dev", "development", ""),
        ("staging", "staging", ""),
        (
            "acme",
            "production",
            "[targets.acme.overlay.roles.\"org:auditor\"]\nname = \"Auditor\"\npermissions = [\"org:invoices:read\"]\n",
        ),
        ("globex", "production", ""),
    ]
}

/// Plans every target, saves the plans and reads the file back.
async fn saved_plan(fleet: &Fleet, instances: &Instances) -> (SavedFleetPlan, String) {
    let picked = fleet.select(&[]).unwrap();
    let plans = fleet::plan(fleet, &picked, &instances.options()).await;
    assert!(plans.failed().is_empty(), "{}", plans.render(false));
    let saved = SavedFleetPlan::new(&plans).unwrap();
    let text = saved.to_json();
    let read = SavedFleetPlan::from_json(&text).unwrap();
    assert_eq!(read, saved, "a saved fleet plan reads back as written");
    (read, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_fleet_plan_is_applied_exactly_and_a_changed_target_alone_is_refused() {
    let instances = Instances::start(&NAMES).await;
    let dir = temp_dir("saved");
    let fleet = write_fleet(&dir, &instances, &layout());
    let (saved, text) = saved_plan(&fleet, &instances).await;

    // The file names the fleet and every target, and holds no key.
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["format"], "clerk-rbac-saved-fleet-plan");
    assert_eq!(json["format_version"], 1);
    assert!(json["fleet"].as_str().unwrap().ends_with("fleet.toml"));
    let mut keys: Vec<&str> = saved.targets.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["acme", "dev", "globex", "staging"]);
    for secret in instances.env.values() {
        assert!(!text.contains(secret.as_str()), "a secret key in the file");
    }
    assert!(!text.contains("sk_test_") && !text.contains("sk_live_"));
    // The overlay reached acme's plan only.
    assert!(text.matches("org:auditor").count() >= 1);
    assert!(
        saved.targets["acme"].plan.summary().requests
            > saved.targets["globex"].plan.summary().requests
    );

    // Someone changes globex by hand after the plan was made.
    instances.sims["globex"]
        .client()
        .organization_roles()
        .create(CreateRole::new("Extra", "org:extra"))
        .await
        .unwrap();
    let before = instances.changes("globex");

    let plans = saved
        .to_fleet_plan(&fleet, &[], &instances.options())
        .unwrap();
    let stages: Vec<&str> = plans.targets.iter().map(|t| t.target.as_str()).collect();
    assert_eq!(stages, ["dev", "staging", "acme", "globex"], "stage order");
    let report = fleet::apply(&plans, &instances.options()).await;
    assert_eq!(report.exit_code(), 1);
    for target in &report.targets {
        match target.target.as_str() {
            "globex" => {
                let TargetOutcome::Failed(error) = &target.outcome else {
                    panic!("globex: {:?}", target.outcome)
                };
                assert_eq!(error.kind, TargetErrorKind::Stale, "{error}");
                assert_eq!(
                    instances.changes("globex"),
                    before,
                    "no changing request to a stale target"
                );
            }
            name => {
                assert!(saved.targets[name].plan.summary().requests > 0, "{name}");
                assert!(
                    matches!(target.outcome, TargetOutcome::Applied(_)),
                    "{name}: {:?}",
                    target.outcome
                );
                assert_eq!(
                    instances.changes(name),
                    saved.targets[name].plan.summary().requests,
                    "{name}: exactly the plan's changing requests"
                );
            }
        }
    }
    let totals = report.totals();
    assert_eq!((totals.applied, totals.failed), (3, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_target_is_refused_alone_and_a_subset_can_be_picked() {
    let instances = Instances::start(&["dev", "acme", "other"]).await;
    let dir = temp_dir("saved-foreign");
    let fleet = write_fleet(
        &dir,
        &instances,
        &[("dev", "development", ""), ("acme", "production", "")],
    );
    let (saved, _) = saved_plan(&fleet, &instances).await;

    // The fleet file now points acme at another instance.
    let other = format!("@{}", instances.sims["other"].base_url());
    let moved = write_fleet(
        &dir,
        &instances,
        &[("dev", "development", ""), ("acme", "production", &other)],
    );
    let plans = saved
        .to_fleet_plan(&moved, &[], &instances.options())
        .unwrap();
    let report = fleet::apply(&plans, &instances.options()).await;
    let outcome = |name: &str| {
        report
            .targets
            .iter()
            .find(|t| t.target == name)
            .unwrap()
            .outcome
            .clone()
    };
    assert!(matches!(outcome("dev"), TargetOutcome::Applied(_)));
    let TargetOutcome::Failed(error) = outcome("acme") else {
        panic!("acme: {:?}", outcome("acme"))
    };
    assert_eq!(error.kind, TargetErrorKind::ForeignTarget, "{error}");
    assert_eq!(instances.changes("acme"), 0);
    assert_eq!(instances.changes("other"), 0);
    assert!(
        instances.sims["other"].requests().is_empty(),
        "nothing sent"
    );

    // --target picks some of the saved targets; a name the plan lacks is refused.
    let plans = saved
        .to_fleet_plan(&fleet, &["acme".to_owned()], &instances.options())
        .unwrap();
    assert_eq!(plans.targets.len(), 1);
    let report = fleet::apply(&plans, &instances.options()).await;
    assert!(report.is_success(), "{}", report.render(false));
    assert_eq!(
        instances.changes("acme"),
        saved.targets["acme"].plan.summary().requests
    );
    let error = saved
        .to_fleet_plan(&fleet, &["nope".to_owned()], &instances.options())
        .unwrap_err();
    assert!(matches!(error, SyncError::IncompatiblePlan(_)));
    assert!(error.to_string().contains("nope"), "{error}");
}

#[test]
fn another_format_or_a_single_plan_is_refused() {
    let error = SavedFleetPlan::from_json(r#"{"format":"clerk-rbac-saved-plan"}"#).unwrap_err();
    assert!(error.to_string().contains("without --fleet"), "{error}");
    let error = SavedFleetPlan::from_json(
        r#"{"format":"clerk-rbac-saved-fleet-plan","format_version":9,"fleet":"f","targets":{}}"#,
    )
    .unwrap_err();
    assert!(error.to_string().contains("format version is 9"), "{error}");
    let error = SavedFleetPlan::from_json(
        r#"{"format":"clerk-rbac-saved-fleet-plan","format_version":1,"fleet":"f","targets":{"a":{"format":"x"}}}"#,
    )
    .unwrap_err();
    assert!(error.to_string().contains("target `a`"), "{error}");
    assert!(SavedFleetPlan::from_json("[not json").is_err());
}
