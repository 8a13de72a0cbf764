//! Sync engine benchmark on the simulator with Clerk's development rate limit (100 requests per
//! 10 s on both sides): apply a file of 2,000 permissions, 300 roles and 20 role sets to a fresh
//! instance, plan it again (how long reading the whole instance takes), then apply a change to a
//! tenth of it. Each apply is compared with its floor, requests ÷ rate limit, measured in the
//! same run; 429 answers are counted at the simulator and in the report. See `docs/benchmarks.md`.
//!
//! `cargo bench -p clerk-rbac-sync --bench sync` (about ten minutes: the floor is most of
//! it). `CLERK_RBAC_BENCH_SCALE=0.1` shrinks the instance (and the wait) for a quick look.

use std::time::{Duration, Instant};

use clerk_rbac::RateLimit;
use clerk_rbac_simulator::{RateLimits, Simulator};
use clerk_rbac_sync::{
    self as sync, self, ApplyOptions, ApplyReport, DesiredState, PermissionSpec, Plan, PlanOptions,
    RoleSetKind, RoleSetSpec, RoleSpec, StepOutcome,
};

const CREATOR: [&str; 3] = [
    "org:sys_memberships:manage",
    "org:sys_memberships:read",
    "org:sys_profile:delete",
];

/// The instance the benchmark builds, at `scale` (1.0: 2,000 permissions, 300 roles, 20 sets).
fn desired(scale: f64) -> DesiredState {
    let permissions = ((2_000.0 * scale) as usize).max(20);
    let roles = ((300.0 * scale) as usize).max(6);
    let sets = ((20.0 * scale) as usize).max(2);
    let mut rng = fastrand::Rng::with_seed(2026);
    let mut state = DesiredState::new();
    let keys: Vec<String> = (0..permissions)
        .map(|i| format!("org:feature{}:action{i}", i / 50))
        .collect();
    for (i, key) in keys.iter().enumerate() {
        state.permissions.insert(
            key.clone(),
            PermissionSpec {
                name: format!("Action {i}"),
                description: (i % 3 == 0).then(|| format!("Lets a member do action {i}")),
                renamed_from: None,
            },
        );
    }
    let role_keys: Vec<String> = (0..roles).map(|i| format!("org:role{i:03}")).collect();
    for (i, key) in role_keys.iter().enumerate() {
        let mut held: Vec<String> = (0..20)
            .map(|_| keys[rng.usize(..keys.len())].clone())
            .collect();
        // Every tenth role can be a creator role.
        if i % 10 == 0 {
            held.extend(CREATOR.iter().map(|p| p.to_string()));
        }
        held.sort();
        held.dedup();
        state.roles.insert(
            key.clone(),
            RoleSpec {
                name: format!("Role {i}"),
                description: None,
                permissions: held,
                renamed_from: None,
            },
        );
    }
    for s in 0..sets {
        // 15 roles per set, the first one creator-eligible.
        let creator = role_keys[(s * 10) % roles].clone();
        let mut members = vec![creator.clone()];
        while members.len() < 15.min(roles) {
            let role = role_keys[rng.usize(..roles)].clone();
            if !members.contains(&role) {
                members.push(role);
            }
        }
        state.role_sets.insert(
            format!("role_set:team{s:02}"),
            RoleSetSpec {
                name: format!("Team {s}"),
                description: None,
                type_: RoleSetKind::Custom,
                default_role: members[1].clone(),
                creator_role: creator,
                roles: members,
                move_members: Default::default(),
                renamed_from: None,
            },
        );
    }
    state
}

/// A tenth of the objects changed: names of permissions, permission lists of roles, a
/// description and two new roles per set.
fn changed(base: &DesiredState) -> DesiredState {
    let mut state = base.clone();
    for (i, spec) in state.permissions.values_mut().enumerate() {
        if i % 10 == 0 {
            spec.name = format!("{} (renamed)", spec.name);
        }
    }
    let keys: Vec<String> = base.permissions.keys().cloned().collect();
    for (i, spec) in state.roles.values_mut().enumerate() {
        if i % 10 == 5 {
            spec.permissions
                .retain(|p| p.starts_with("org:sys_") || p.len() % 2 == 0);
            spec.permissions.push(keys[i % keys.len()].clone());
            spec.permissions.sort();
            spec.permissions.dedup();
        }
    }
    let role_keys: Vec<String> = base.roles.keys().cloned().collect();
    for (s, spec) in state.role_sets.values_mut().enumerate() {
        spec.description = Some(format!("Team {s}, reorganised"));
        for role in role_keys.iter().skip(s * 7 + 3).step_by(13).take(2) {
            if !spec.roles.contains(role) {
                spec.roles.push(role.clone());
            }
        }
    }
    state
}

struct Measured {
    plan: Plan,
    report: ApplyReport,
    elapsed: Duration,
}

async fn plan_and_apply(clerk: &clerk_rbac::Clerk, desired: &DesiredState) -> Measured {
    let started = Instant::now();
    let plan = sync::plan(clerk, desired, &PlanOptions::new())
        .await
        .expect("plan");
    let report = sync::apply(clerk, &plan, &ApplyOptions::new())
        .await
        .expect("apply");
    Measured {
        plan,
        report,
        elapsed: started.elapsed(),
    }
}

fn limited(report: &ApplyReport) -> usize {
    report
        .steps
        .iter()
        .filter(|s| {
            matches!(
                s.outcome,
                StepOutcome::Failed {
                    status: Some(429),
                    ..
                }
            )
        })
        .count()
}

fn print_apply(what: &str, sim: &Simulator, measured: &Measured, limit: RateLimit) {
    let requests = sim.requests();
    let sent = requests.len();
    let too_many = requests.iter().filter(|r| r.status == Some(429)).count();
    let per_second = f64::from(limit.requests) / limit.window.as_secs_f64();
    let floor = sent as f64 / per_second;
    let (done, failed, skipped) = measured.report.counts();
    println!("{what}:");
    println!(
        "  changes: {} steps ({} changing requests); done {done}, failed {failed}, skipped {skipped}",
        measured.plan.steps.len(),
        measured.plan.summary().requests
    );
    println!(
        "  requests sent (reads included): {sent}; floor {floor:.1} s at {} per {} s",
        limit.requests,
        limit.window.as_secs()
    );
    println!(
        "  plan + apply: {:.1} s = {:.3} × the floor",
        measured.elapsed.as_secs_f64(),
        measured.elapsed.as_secs_f64() / floor
    );
    println!(
        "  429 answers: {too_many} at the simulator, {} surfaced in the report",
        limited(&measured.report)
    );
}

fn main() {
    let scale: f64 = std::env::var("CLERK_RBAC_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let limit = RateLimit::clerk_development();
        let sim = Simulator::builder()
            .rate_limits(RateLimits::clerk())
            .max_custom_roles(1_000)
            .max_role_sets(1_000)
            .start()
            .await
            .expect("simulator");
        let clerk = sim.client_builder().rate_limit(limit).build().expect("client");
        let full = desired(scale);
        println!(
            "instance: {} permissions, {} roles, {} role sets; development rate limit {} per {} s on both sides",
            full.permissions.len(),
            full.roles.len(),
            full.role_sets.len(),
            limit.requests,
            limit.window.as_secs()
        );

        let created = plan_and_apply(&clerk, &full).await;
        print_apply("1. apply to a fresh instance", &sim, &created, limit);

        // The same client: its limiter still holds the last window's requests, as a run would.
        sim.clear_requests();
        let started = Instant::now();
        let read = sync::read(&clerk).await.expect("read");
        let read_time = started.elapsed();
        let reads = sim.requests().len();
        let started = Instant::now();
        let again = sync::planner::plan(&read, &full, &PlanOptions::new()).expect("plan");
        let diff_time = started.elapsed();
        assert!(again.is_empty(), "the instance matches the file");
        println!("2. plan the same file:");
        println!(
            "  reading the instance ({} permissions, {} roles, {} role sets): {reads} requests, {:.0} ms",
            read.permissions.len(),
            read.roles.len(),
            read.role_sets.len(),
            read_time.as_secs_f64() * 1000.0
        );
        println!("  diffing: {:.1} ms; no changes", diff_time.as_secs_f64() * 1000.0);

        sim.clear_requests();
        let change = plan_and_apply(&clerk, &changed(&full)).await;
        print_apply("3. apply a change to a tenth of it", &sim, &change, limit);
    });
}
