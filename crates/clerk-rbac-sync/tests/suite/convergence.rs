//! Convergence, property-tested on the simulator: for many random (starting instance, desired
//! file) pairs, apply never breaks a simulator rule, a plan afterwards finds nothing to do, and
//! a second apply sends nothing that changes anything. A failure prints the seed; rerun one
//! case with `CLERK_RBAC_SYNC_SEED=<seed>`, more cases with `CLERK_RBAC_SYNC_CASES=<n>`.

use clerk_rbac_sync as sync;
use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use clerk_rbac_simulator::{RateLimits, Simulator};
use clerk_rbac_sync::{
    self, DesiredState, PermissionSpec, PlanOptions, RetiredRoleSet, RoleSetKind, RoleSetSpec,
    RoleSpec, SyncError,
};
use serde_json::{Value, json};

use super::live::*;

const CREATOR: [&str; 3] = [
    "org:sys_memberships:manage",
    "org:sys_memberships:read",
    "org:sys_profile:delete",
];
const SYSTEM: [&str; 9] = [
    "org:sys_profile:manage",
    "org:sys_profile:delete",
    "org:sys_memberships:read",
    "org:sys_memberships:manage",
    "org:sys_domains:read",
    "org:sys_domains:manage",
    "org:sys_billing:read",
    "org:sys_billing:manage",
    "org:sys_entconns:manage",
];
const T: i64 = 1_767_225_600_000;

/// A random starting instance, as a snapshot of the simulator's seeded instance plus
/// permissions, roles, role sets and members.
pub(super) fn starting_instance(
    rng: &mut fastrand::Rng,
    base: &Value,
    permissions: usize,
) -> Value {
    let mut snapshot = base.clone();
    let mut custom = Vec::new();
    for i in 0..permissions {
        let key = format!("org:f{}:a{i}", rng.usize(..6));
        let mut p = permission_json(&format!("perm_s{i}"), &key, &format!("Permission {i}"));
        if rng.bool() {
            p["description"] = json!(format!("Lets one do {i}"));
        }
        snapshot["permissions"].as_array_mut().unwrap().push(p);
        custom.push(key);
    }
    let mut roles: Vec<(String, bool)> =
        vec![("org:admin".into(), true), ("org:member".into(), false)];
    for i in 0..rng.usize(0..7) {
        let key = format!("org:r{i}");
        let eligible = rng.u8(..3) == 0;
        let mut held: BTreeSet<String> = BTreeSet::new();
        for _ in 0..rng.usize(0..5) {
            if let Some(p) = pick(rng, &custom) {
                held.insert(p);
            }
        }
        if rng.bool() {
            held.insert(SYSTEM[rng.usize(..SYSTEM.len())].to_owned());
        }
        if eligible {
            held.extend(CREATOR.iter().map(|p| p.to_string()));
        }
        snapshot["roles"].as_array_mut().unwrap().push(json!({
            "id": format!("role_s{i}"), "key": key, "name": format!("Role {i}"),
            "description": if rng.bool() { json!(format!("Role number {i}")) } else { Value::Null },
            "permissions": held, "invitations": 0, "created_at": T, "updated_at": T,
        }));
        roles.push((key, eligible));
    }
    for i in 0..rng.usize(0..4) {
        let mut members: Vec<String> = Vec::new();
        for _ in 0..rng.usize(1..5) {
            let role = roles[rng.usize(..roles.len())].0.clone();
            if !members.contains(&role) {
                members.push(role);
            }
        }
        let creator = match members
            .iter()
            .find(|r| roles.iter().any(|(k, e)| k == *r && *e))
        {
            Some(role) => role.clone(),
            None => {
                members.push("org:admin".into());
                "org:admin".into()
            }
        };
        let default = members[rng.usize(..members.len())].clone();
        let entries: Vec<Value> = members
            .iter()
            .map(|r| json!({"role": r, "members": if rng.u8(..3) == 0 { rng.u64(1..20) } else { 0 }}))
            .collect();
        snapshot["role_sets"].as_array_mut().unwrap().push(json!({
            "id": format!("rs_s{i}"), "key": format!("role_set:s{i}"), "name": format!("Set {i}"),
            "description": Value::Null, "initial": false, "roles": entries,
            "default_role": default, "creator_role": creator, "created_at": T, "updated_at": T,
        }));
    }
    snapshot
}

fn pick(rng: &mut fastrand::Rng, items: &[String]) -> Option<String> {
    (!items.is_empty()).then(|| items[rng.usize(..items.len())].clone())
}

/// A random desired state derived from what the instance holds, and whether to prune.
pub(super) fn desired_state(
    rng: &mut fastrand::Rng,
    start: &DesiredState,
    serial: &mut usize,
) -> (DesiredState, bool) {
    let prune = rng.u8(..10) < 3;
    let mut fresh = |prefix: &str| {
        *serial += 1;
        format!("{prefix}{serial}")
    };
    let mut file = DesiredState::new();

    // Permissions: keep, change, rename, drop, add.
    let mut permission_keys: BTreeMap<String, Option<String>> = BTreeMap::new(); // old → new (None: dropped)
    for (key, spec) in &start.permissions {
        let roll = rng.u8(..20);
        if roll < 2 {
            permission_keys.insert(key.clone(), None);
            continue;
        }
        let mut spec = spec.clone();
        let mut new_key = key.clone();
        if roll < 4 {
            new_key = format!("org:renamed:{}", fresh("p"));
            spec.renamed_from = Some(key.clone());
        }
        if rng.u8(..5) == 0 {
            spec.name = format!("Renamed {}", fresh("n"));
        }
        match rng.u8(..6) {
            0 => spec.description = None,
            1 => spec.description = Some(format!("About {}", fresh("d"))),
            _ => {}
        }
        permission_keys.insert(key.clone(), Some(new_key.clone()));
        file.permissions.insert(new_key, spec);
    }
    for _ in 0..rng.usize(0..4) {
        file.permissions.insert(
            format!("org:new:{}", fresh("p")),
            PermissionSpec {
                name: "New".into(),
                description: rng.bool().then(|| "Fresh".into()),
                renamed_from: None,
            },
        );
    }
    let file_permissions: Vec<String> = file.permissions.keys().cloned().collect();

    // Roles: keep (with changes), rename, drop, add.
    let mut role_keys: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (key, spec) in &start.roles {
        let roll = rng.u8(..20);
        if roll < 2 {
            role_keys.insert(key.clone(), None);
            continue;
        }
        let mut spec = spec.clone();
        spec.permissions = spec
            .permissions
            .iter()
            .filter_map(|p| match permission_keys.get(p) {
                None => Some(p.clone()), // a system permission
                Some(new) => new.clone(),
            })
            .collect();
        let mut new_key = key.clone();
        if roll < 4 {
            new_key = format!("org:{}", fresh("renamed"));
            spec.renamed_from = Some(key.clone());
        }
        if rng.u8(..4) == 0 {
            spec.permissions.retain(|_| rng.bool());
            if let Some(p) = pick(rng, &file_permissions) {
                spec.permissions.push(p);
            }
        }
        if rng.u8(..5) == 0 {
            spec.name = format!("Role {}", fresh("n"));
        }
        if rng.u8(..5) == 0 {
            spec.description = if rng.bool() {
                None
            } else {
                Some(format!("Does {}", fresh("d")))
            };
        }
        role_keys.insert(key.clone(), Some(new_key.clone()));
        file.roles.insert(new_key, spec);
    }
    for _ in 0..rng.usize(0..4) {
        let mut permissions = Vec::new();
        for _ in 0..rng.usize(0..4) {
            if let Some(p) = pick(rng, &file_permissions) {
                permissions.push(p);
            }
        }
        file.roles.insert(
            format!("org:{}", fresh("new")),
            RoleSpec {
                name: "New role".into(),
                description: None,
                permissions,
                renamed_from: None,
            },
        );
    }

    // Role sets: manage (with changes), leave unmanaged, retire, create.
    let initial_key = start
        .role_sets
        .iter()
        .find(|(_, s)| s.type_ == RoleSetKind::Initial)
        .map(|(k, _)| k.clone());
    let mut fates: BTreeMap<String, u8> = BTreeMap::new(); // 0 managed, 1 unmanaged, 2 retired
    for key in start.role_sets.keys() {
        let roll = rng.u8(..10);
        let fate = if roll < 2 {
            1
        } else if roll < 4 && Some(key) != initial_key.as_ref() {
            2
        } else {
            0
        };
        fates.insert(key.clone(), fate);
    }
    // Every retirement needs a managed set to go to.
    if !fates.values().any(|f| *f == 0)
        && let Some(first) = fates.values_mut().next()
    {
        *first = 0;
    }
    // Roles that unmanaged sets hold stay in the file when pruning (prune refuses otherwise),
    // and roles that are some set's creator keep the creator permissions.
    let renamed_role = |old: &str| {
        role_keys
            .get(old)
            .cloned()
            .flatten()
            .unwrap_or_else(|| old.to_owned())
    };
    for (key, set) in &start.role_sets {
        for role in &set.roles {
            if prune && fates[key] == 1 && role_keys.get(role) == Some(&None) {
                let mut spec = start.roles[role].clone();
                spec.permissions
                    .retain(|p| permission_keys.get(p).is_none_or(Option::is_some));
                spec.permissions = spec
                    .permissions
                    .iter()
                    .map(|p| {
                        permission_keys
                            .get(p)
                            .cloned()
                            .flatten()
                            .unwrap_or_else(|| p.clone())
                    })
                    .collect();
                file.roles.insert(role.clone(), spec);
            }
        }
    }
    let mut set_keys: BTreeMap<String, String> = BTreeMap::new();
    if file.roles.is_empty() {
        file.roles.insert(
            format!("org:{}", fresh("only")),
            RoleSpec {
                name: "Only role".into(),
                description: None,
                permissions: Vec::new(),
                renamed_from: None,
            },
        );
    }
    let file_roles: Vec<String> = file.roles.keys().cloned().collect();
    for (key, spec) in &start.role_sets {
        if fates[key] != 0 {
            continue;
        }
        let mut spec = spec.clone();
        let current: Vec<String> = spec.roles.iter().map(|r| renamed_role(r)).collect();
        // Roles no longer in the file must leave; some others leave too; some join.
        let mut roles: Vec<String> = current
            .iter()
            .filter(|r| file.roles.contains_key(*r) && rng.u8(..6) != 0)
            .cloned()
            .collect();
        let joining = if rng.u8(..8) == 0 {
            rng.usize(5..14)
        } else {
            rng.usize(0..3)
        };
        for _ in 0..joining {
            if let Some(role) = pick(rng, &file_roles)
                && !roles.contains(&role)
            {
                roles.push(role);
            }
        }
        if roles.is_empty() {
            roles.push(pick(rng, &file_roles).unwrap());
        }
        spec.default_role = roles[rng.usize(..roles.len())].clone();
        spec.creator_role = roles[rng.usize(..roles.len())].clone();
        spec.move_members = current
            .iter()
            .filter(|r| !roles.contains(r))
            .map(|r| (r.clone(), roles[rng.usize(..roles.len())].clone()))
            .collect();
        spec.roles = roles;
        if rng.u8(..5) == 0 {
            spec.name = format!("Set {}", fresh("n"));
        }
        if rng.u8(..5) == 0 {
            spec.description = Some(format!("For {}", fresh("d")));
        }
        let mut new_key = key.clone();
        if rng.u8(..8) == 0 {
            new_key = format!("role_set:{}", fresh("renamed"));
            spec.renamed_from = Some(key.clone());
        }
        set_keys.insert(key.clone(), new_key.clone());
        file.role_sets.insert(new_key, spec);
    }
    for _ in 0..rng.usize(0..3) {
        let mut roles = Vec::new();
        for _ in 0..rng.usize(1..16) {
            if let Some(role) = pick(rng, &file_roles)
                && !roles.contains(&role)
            {
                roles.push(role);
            }
        }
        if roles.is_empty() {
            continue;
        }
        file.role_sets.insert(
            format!("role_set:{}", fresh("new")),
            RoleSetSpec {
                name: "New set".into(),
                description: None,
                type_: RoleSetKind::Custom,
                default_role: roles[rng.usize(..roles.len())].clone(),
                creator_role: roles[rng.usize(..roles.len())].clone(),
                roles,
                move_members: BTreeMap::new(),
                renamed_from: None,
            },
        );
    }
    // Sometimes another set becomes the initial one.
    let managed: Vec<String> = file.role_sets.keys().cloned().collect();
    if rng.u8(..5) == 0 {
        for spec in file.role_sets.values_mut() {
            spec.type_ = RoleSetKind::Custom;
        }
        let chosen = &managed[rng.usize(..managed.len())];
        file.role_sets.get_mut(chosen).unwrap().type_ = RoleSetKind::Initial;
    }
    for (key, spec) in &start.role_sets {
        if fates[key] != 2 {
            continue;
        }
        let into = set_keys
            .values()
            .nth(rng.usize(..set_keys.len()))
            .unwrap()
            .clone();
        let destination = &file.role_sets[&into];
        let move_members = spec
            .roles
            .iter()
            .map(|r| renamed_role(r))
            .filter(|r| !destination.roles.contains(r))
            .map(|r| {
                (
                    r,
                    destination.roles[rng.usize(..destination.roles.len())].clone(),
                )
            })
            .collect();
        file.retired_role_sets
            .insert(key.clone(), RetiredRoleSet { into, move_members });
    }
    // Creator roles (of managed and unmanaged sets) hold the creator permissions.
    let mut creators: BTreeSet<String> = file
        .role_sets
        .values()
        .map(|s| s.creator_role.clone())
        .collect();
    for (key, set) in &start.role_sets {
        if fates[key] == 1 {
            creators.insert(renamed_role(&set.creator_role));
        }
    }
    for creator in creators {
        if let Some(role) = file.roles.get_mut(&creator) {
            for p in CREATOR {
                if !role.permissions.iter().any(|h| h == p) {
                    role.permissions.push(p.to_owned());
                }
            }
        }
    }
    for role in file.roles.values_mut() {
        let mut seen = BTreeSet::new();
        role.permissions.retain(|p| seen.insert(p.clone()));
    }
    (file, prune)
}

/// Names the seed of a case that panics, wherever it panics.
struct SeedOnPanic(u64);

impl Drop for SeedOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "the failing case is seed {} (CLERK_RBAC_SYNC_SEED={0})",
                self.0
            );
        }
    }
}

/// Runs one case; returns whether the file was planned (false: refused, nothing sent).
async fn run_case(sim: &Simulator, base: &Value, seed: u64, permissions: usize) -> bool {
    let _guard = SeedOnPanic(seed);
    let mut rng = fastrand::Rng::with_seed(seed);
    restore_json(sim, &starting_instance(&mut rng, base, permissions));
    let clerk = sim.client();
    let start = sync::export(&clerk)
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: export: {e}"));
    let mut serial = 0;
    let (file, prune) = desired_state(&mut rng, &start, &mut serial);
    // Through the text, as a user's file would come.
    let text = file.to_toml();
    let file = DesiredState::from_toml(&text, "random.toml")
        .unwrap_or_else(|e| panic!("seed {seed}: the generated file is invalid: {e}\n{text}"));
    let options = PlanOptions::new().prune(prune);
    sim.clear_requests();
    let plan = match sync::plan(&clerk, &file, &options).await {
        Ok(plan) => plan,
        Err(SyncError::Unplannable(problems)) => {
            assert!(
                !problems.to_string().contains("clerk-rbac bug"),
                "seed {seed}: {problems}\nstart:\n{}\nfile:\n{text}",
                start.to_toml()
            );
            assert_eq!(
                mutations(&sim.requests()),
                Vec::<String>::new(),
                "seed {seed}: a refused plan sent something"
            );
            eprintln!("seed {seed}: refused: {problems}");
            return false;
        }
        Err(e) => panic!("seed {seed}: {e}"),
    };
    let report = sync::apply(&clerk, &plan, &quick())
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    assert!(
        report.is_success(),
        "seed {seed}: apply failed\n{}\nfile:\n{text}\nplan:\n{}",
        report.render(false),
        plan.render(false)
    );
    let refused = refusals(&sim.requests());
    assert!(
        refused.is_empty(),
        "seed {seed}: the simulator refused {refused:?}\n{text}"
    );

    let again = sync::plan(&clerk, &file, &options)
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    assert!(
        again.is_empty(),
        "seed {seed}: not converged, still:\n{}\nfirst plan:\n{}\nfile:\n{text}",
        again.render(false),
        plan.render(false)
    );
    sim.clear_requests();
    let second = sync::apply(&clerk, &again, &quick())
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    assert!(second.steps.is_empty());
    assert_eq!(
        mutations(&sim.requests()),
        Vec::<String>::new(),
        "seed {seed}: a second apply changed something"
    );
    true
}

fn quick() -> sync::ApplyOptions {
    sync::ApplyOptions::new()
        .poll_interval(Duration::from_millis(5))
        .migration_timeout(Duration::from_secs(20))
}

async fn fast_simulator() -> Simulator {
    Simulator::builder()
        .rate_limits(RateLimits::off())
        // Convergence, not quotas, is tested here (`preflight_property` covers those).
        .max_custom_roles(1_000)
        .max_role_sets(1_000)
        .migration_duration(Duration::from_millis(15))
        .start()
        .await
        .unwrap()
}

fn cases(default: u64) -> Vec<u64> {
    if let Some(seed) = std::env::var("CLERK_RBAC_SYNC_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return vec![seed];
    }
    let count = std::env::var("CLERK_RBAC_SYNC_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    (1..=count).collect()
}

#[tokio::test]
async fn random_files_converge_on_random_instances() {
    let sim = fast_simulator().await;
    let base = snapshot_json(&sim);
    let seeds = cases(60);
    let mut planned = 0;
    for &seed in &seeds {
        let permissions = fastrand::Rng::with_seed(seed ^ 0xABCD).usize(0..14);
        if run_case(&sim, &base, seed, permissions).await {
            planned += 1;
        }
    }
    // The generator aims at files that can be applied; refusals must stay the exception, or
    // this test would prove little.
    assert!(
        planned * 10 >= seeds.len() * 8,
        "only {planned} of {} cases could be planned",
        seeds.len()
    );
}

#[tokio::test]
async fn random_files_converge_on_instances_with_thousands_of_permissions() {
    let sim = fast_simulator().await;
    let base = snapshot_json(&sim);
    for seed in cases(3) {
        let permissions = 1_200 + 700 * (seed as usize % 3);
        run_case(&sim, &base, 10_000 + seed, permissions).await;
    }
}
