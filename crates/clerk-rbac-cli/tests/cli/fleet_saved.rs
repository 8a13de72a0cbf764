//! `plan --fleet FLEET -o PLAN` and `apply --fleet FLEET PLAN` on several simulators: the
//! saved plans carried out exactly, a target changed since refused alone with nothing sent to
//! it, `--target` picking some, no secret in the file.

use clerk_rbac::CreateRole;
use clerk_rbac_simulator::Simulator;
use clerk_rbac_sync::fleet::SavedFleetPlan;
use serde_json::Value;

use super::{
    fleet::{fleet_file, futures_join},
    path, run, temp_dir,
};

/// Requests that change something, as one simulator saw them.
fn changes(sim: &Simulator) -> usize {
    sim.requests().iter().filter(|r| r.method != "GET").count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_fleet_plan_is_applied_exactly_and_a_changed_target_is_refused_alone() {
    let sims = futures_join(3).await;
    let names = ["dev", "acme", "globex"];
    let dir = temp_dir("fleet-saved");
    let fleet = fleet_file(
        &dir,
        &[
            ("dev", "development", sims[0].base_url()),
            ("acme", "production", sims[1].base_url()),
            ("globex", "production", sims[2].base_url()),
        ],
        "",
    );
    let keys: Vec<(String, String)> = names
        .iter()
        .zip(&sims)
        .map(|(n, s)| {
            (
                format!("KEY_{}", n.to_uppercase()),
                s.secret_key().to_owned(),
            )
        })
        .collect();
    let env: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = dir.join("fleet-plan.json");
    let out = path(&out);

    let plan = run(&env, &["plan", "--fleet", &fleet, "-o", out]).await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout
            .contains(&format!("Saved these 3 plans to {out}")),
        "{}",
        plan.stdout
    );
    let text = std::fs::read_to_string(out).unwrap();
    for sim in &sims {
        assert!(!text.contains(sim.secret_key()), "a key in the saved plan");
    }
    assert!(!text.contains("sk_test_") && !text.contains("sk_live_"));
    let saved = SavedFleetPlan::from_json(&text).unwrap();
    assert!(saved.fleet.ends_with("fleet.toml"));
    assert_eq!(saved.targets.len(), 3);
    // Planning sent nothing that changes anything.
    assert!(sims.iter().all(|s| changes(s) == 0));

    // globex is changed by hand after the review.
    sims[2]
        .client()
        .organization_roles()
        .create(CreateRole::new("Extra", "org:extra"))
        .await
        .unwrap();
    let globex_before = changes(&sims[2]);

    let apply = run(&env, &["apply", "--fleet", &fleet, out, "--yes"]).await;
    assert_eq!(apply.code, 1, "{}\n{}", apply.stdout, apply.stderr);
    assert!(
        apply
            .stdout
            .contains("2 applied, 0 in sync, 0 incomplete, 1 failed"),
        "{}",
        apply.stdout
    );
    assert!(apply.stderr.contains("globex: failed"), "{}", apply.stderr);
    for (name, sim) in names.iter().zip(&sims).take(2) {
        let planned = saved.targets[*name].plan.summary().requests;
        assert!(planned > 0);
        assert_eq!(changes(sim), planned, "{name}: exactly the saved steps");
    }
    assert_eq!(changes(&sims[2]), globex_before, "nothing sent to globex");
    for sim in &sims {
        assert!(!apply.stdout.contains(sim.secret_key()));
        assert!(!apply.stderr.contains(sim.secret_key()));
    }

    // --target picks one; dev has changed since (by the apply), so its plan is refused too.
    let again = run(
        &env,
        &[
            "apply", "--fleet", &fleet, out, "--target", "dev", "--yes", "--json",
        ],
    )
    .await;
    assert_eq!(again.code, 1, "{}", again.stderr);
    let document: Value = serde_json::from_str(&again.stdout).unwrap();
    let targets = document["report"]["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0]["target"], "dev");
    assert_eq!(targets[0]["error"]["kind"], "stale");
    assert_eq!(
        changes(&sims[0]),
        saved.targets["dev"].plan.summary().requests
    );

    // A saved plan is applied as it is; a name the plan lacks is an error.
    let prune = run(&env, &["apply", "--fleet", &fleet, out, "--yes", "--prune"]).await;
    assert_eq!(prune.code, 1);
    assert!(
        prune.stderr.contains("--prune is decided"),
        "{}",
        prune.stderr
    );
    let unknown = run(
        &env,
        &["apply", "--fleet", &fleet, out, "--target", "nope", "--yes"],
    )
    .await;
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("nope"), "{}", unknown.stderr);
}
