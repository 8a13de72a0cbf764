//! The preflight's promise, property-tested on the simulator over random instances, files and
//! instance settings (quotas, a plan without custom roles, members, creator and default roles,
//! a stale-read window): a plan without errors applies with zero failed steps and no refused
//! request; a plan with errors makes apply send nothing that changes anything; and after an
//! apply, planning again finds nothing to do and a second apply sends nothing.
//!
//! A failure prints the seed; rerun one case with `CLERK_RBAC_PREFLIGHT_SEED=<seed>`, more
//! cases with `CLERK_RBAC_PREFLIGHT_CASES=<n>`.

use std::time::Duration;

use clerk_rbac_simulator::{RateLimits, Simulator};
use clerk_rbac_sync::{self as sync, DesiredState, PlanOptions, SyncError};

use super::{
    convergence::{desired_state, starting_instance},
    live::*,
};

/// The instance's rules for one case.
#[derive(Debug)]
struct Rules {
    max_custom_roles: u32,
    max_role_sets: u32,
    custom_roles: bool,
    stale_reads: Duration,
}

fn rules(rng: &mut fastrand::Rng) -> Rules {
    Rules {
        max_custom_roles: rng.u32(2..14),
        max_role_sets: rng.u32(2..8),
        custom_roles: rng.u8(..6) != 0,
        stale_reads: if rng.u8(..3) == 0 {
            Duration::from_millis(rng.u64(10..60))
        } else {
            Duration::ZERO
        },
    }
}

async fn simulator(rules: &Rules) -> Simulator {
    Simulator::builder()
        .rate_limits(RateLimits::off())
        .migration_duration(Duration::from_millis(15))
        .max_custom_roles(rules.max_custom_roles)
        .max_role_sets(rules.max_role_sets)
        .custom_roles(rules.custom_roles)
        .stale_reads(rules.stale_reads)
        .start()
        .await
        .unwrap()
}

fn quick() -> sync::ApplyOptions {
    sync::ApplyOptions::new()
        .poll_interval(Duration::from_millis(5))
        .migration_timeout(Duration::from_secs(20))
}

/// How a case ended.
#[derive(Debug, PartialEq, Eq)]
enum Ending {
    /// The planner refused the file (a problem of the file); nothing was sent.
    Unplannable,
    /// The preflight found errors; apply sent nothing.
    Refused,
    /// Applied, with zero failed steps, and converged.
    Applied,
}

async fn run_case(seed: u64) -> Ending {
    let mut rng = fastrand::Rng::with_seed(seed);
    let rules = rules(&mut rng);
    let sim = simulator(&rules).await;
    let base = snapshot_json(&sim);
    let permissions = rng.usize(0..10);
    restore_json(&sim, &starting_instance(&mut rng, &base, permissions));
    let clerk = sim.client();
    let start = sync::export(&clerk).await.unwrap();
    let mut serial = 0;
    let (file, prune) = desired_state(&mut rng, &start, &mut serial);
    let text = file.to_toml();
    let file = DesiredState::from_toml(&text, "random.toml").unwrap();
    let options = PlanOptions::new().prune(prune);
    let context = |what: &str| format!("seed {seed} ({rules:?}): {what}\nfile:\n{text}");

    sim.clear_requests();
    let plan = match sync::plan(&clerk, &file, &options).await {
        Ok(plan) => plan,
        Err(SyncError::Unplannable(_)) => {
            assert!(mutations(&sim.requests()).is_empty(), "{}", context("sent"));
            return Ending::Unplannable;
        }
        Err(e) => panic!("{}", context(&e.to_string())),
    };
    if !plan.errors().is_empty() {
        let outcome = sync::apply(&clerk, &plan, &quick()).await;
        assert!(
            matches!(outcome, Err(SyncError::Refused(_))),
            "{}",
            context("a plan with errors was not refused")
        );
        assert_eq!(
            mutations(&sim.requests()),
            Vec::<String>::new(),
            "{}",
            context("a refused plan sent something")
        );
        return Ending::Refused;
    }
    let report = sync::apply(&clerk, &plan, &quick())
        .await
        .unwrap_or_else(|e| panic!("{}", context(&e.to_string())));
    assert!(
        report.is_success(),
        "{}\n{}\nplan:\n{}",
        context("an accepted plan failed"),
        report.render(false),
        plan.render(false)
    );
    assert_eq!(
        refused_changes(&sim.requests()),
        Vec::<String>::new(),
        "{}",
        context("the simulator refused a change")
    );
    // Reads within the stale window may not show the apply yet: a new plan is made after it,
    // as the next run of a pipeline would be.
    tokio::time::sleep(rules.stale_reads).await;
    let again = sync::plan(&clerk, &file, &options).await.unwrap();
    assert!(
        again.is_empty(),
        "{}\nstill:\n{}",
        context("not converged"),
        again.render(false)
    );
    sim.clear_requests();
    let second = sync::apply(&clerk, &again, &quick()).await.unwrap();
    assert!(second.steps.is_empty());
    assert!(
        mutations(&sim.requests()).is_empty(),
        "{}",
        context("re-apply sent")
    );
    Ending::Applied
}

fn cases(default: u64) -> Vec<u64> {
    if let Some(seed) = std::env::var("CLERK_RBAC_PREFLIGHT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return vec![seed];
    }
    let count = std::env::var("CLERK_RBAC_PREFLIGHT_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    (1..=count).collect()
}

#[tokio::test]
async fn an_accepted_plan_applies_cleanly_and_a_refused_one_sends_nothing() {
    let mut endings = Vec::new();
    for seed in cases(60) {
        endings.push(run_case(seed).await);
    }
    // Both sides of the promise must be exercised, or this test would prove little.
    let applied = endings.iter().filter(|e| **e == Ending::Applied).count();
    let refused = endings.iter().filter(|e| **e == Ending::Refused).count();
    eprintln!(
        "{} cases: {applied} applied, {refused} refused by the preflight, {} unplannable",
        endings.len(),
        endings.len() - applied - refused
    );
    if endings.len() >= 20 {
        assert!(
            applied * 4 >= endings.len(),
            "only {applied} applied: {endings:?}"
        );
        assert!(
            refused * 10 >= endings.len(),
            "only {refused} refused: {endings:?}"
        );
    }
}
