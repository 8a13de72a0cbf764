//! Fleets (`clerk_rbac_sync::fleet`): the fleet file (schema, located errors, refused secrets,
//! overlays), then the verbs on many simulated instances at once: per-target overlays, stage
//! order, one failing target among many, drift in one of many.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use clerk_rbac::UpdateRole;
use clerk_rbac_simulator::{RateLimits, Simulator};
use clerk_rbac_sync::{
    ApplyOptions, SyncError,
    fleet::{self, Fleet, FleetEvent, FleetOptions, TargetErrorKind, TargetOutcome},
};
use serde_json::Value;

const SCHEMA_PATH: &str = "schema/clerk-rbac-fleet.schema.json";
const EXAMPLE_FLEET: &str = "examples/fleet.toml";

fn manifest(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("clerk-rbac-fleet-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Checks TOML text against the published fleet schema.
fn schema_check(text: &str) -> Result<(), String> {
    let schema: Value = serde_json::from_str(&Fleet::json_schema()).unwrap();
    let document: Value =
        serde_json::to_value(toml::from_str::<toml::Table>(text).unwrap()).unwrap();
    let mut compiler = boon::Compiler::new();
    compiler
        .add_resource("urn:clerk-rbac:fleet", schema)
        .unwrap();
    let mut schemas = boon::Schemas::new();
    let index = compiler
        .compile("urn:clerk-rbac:fleet", &mut schemas)
        .unwrap();
    schemas
        .validate(&document, index)
        .map_err(|e| format!("{e:#}"))
}

/// The problems of a fleet file that does not load, as text.
fn problems(text: &str, dir: &Path) -> String {
    match Fleet::from_toml(text, "fleet.toml", dir) {
        Ok(_) => panic!("expected problems in:\n{text}"),
        Err(SyncError::InvalidFile(found)) => found.to_string(),
        Err(e) => panic!("unexpected error: {e}"),
    }
}

const SHARED: &str = r#"
[permissions."org:invoices:read"]
name = "Read invoices"

[permissions."org:invoices:write"]
name = "Write invoices"

[roles."org:clerk"]
name = "Clerk"
description = "Shared description"
permissions = ["org:invoices:read"]
"#;

#[test]
fn the_published_fleet_schema_is_up_to_date() {
    let generated = Fleet::generated_json_schema();
    if std::env::var_os("CLERK_RBAC_UPDATE_SCHEMA").is_some() {
        std::fs::write(manifest(SCHEMA_PATH), &generated).unwrap();
    }
    let published = std::fs::read_to_string(manifest(SCHEMA_PATH)).unwrap_or_default();
    assert!(
        published == generated,
        "{SCHEMA_PATH} is stale: run `CLERK_RBAC_UPDATE_SCHEMA=1 cargo test -p clerk-rbac-sync --test suite fleet` and commit it"
    );
}

#[test]
fn the_example_fleet_is_valid_for_the_schema_and_the_loader() {
    let text = std::fs::read_to_string(manifest(EXAMPLE_FLEET)).unwrap();
    schema_check(&text).unwrap();
    assert!(text.starts_with("#:schema ../schema/clerk-rbac-fleet.schema.json"));
    let fleet = Fleet::load(manifest(EXAMPLE_FLEET)).unwrap_or_else(|e| panic!("{e}"));
    let picked: Vec<&str> = fleet
        .select(&[])
        .unwrap()
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(picked, ["dev", "staging", "acme", "globex"], "stage order");
    let acme = &fleet.targets["acme"].desired;
    assert!(acme.roles.contains_key("org:auditor"));
    assert!(
        acme.role_sets["role_set:default"]
            .roles
            .contains(&"org:auditor".to_owned())
    );
    let staging = &fleet.targets["staging"].desired;
    assert!(
        !staging.roles.contains_key("org:auditor"),
        "overlays stay on their target"
    );
    assert_eq!(
        fleet.targets["dev"].desired.roles["org:admin"]
            .description
            .as_deref(),
        Some("Full access (development: test data only).")
    );
    assert_ne!(
        staging.roles["org:admin"].description,
        fleet.targets["dev"].desired.roles["org:admin"].description
    );
    assert!(
        !fleet.targets["globex"]
            .desired
            .role_sets
            .contains_key("role_set:finance")
    );
    // The effective description reads back as the same state.
    let shown = fleet.targets["acme"].effective_toml();
    let again = clerk_rbac_sync::DesiredState::from_toml(&shown, "shown.toml").unwrap();
    assert_eq!(&again, acme.as_ref());
}

#[test]
fn a_secret_key_in_the_file_is_refused_located_and_never_shown() {
    let dir = temp_dir("secret");
    std::fs::write(dir.join("rbac.toml"), SHARED).unwrap();
    let key = "sk_live_9f8e7d6c5b4a39281706";
    let text = format!(
        "[targets.prod]\nsecret_key_env = \"{key}\"\nfile = \"rbac.toml\"\n\n[targets.other]\nsecret_key_env = \"X\"\nfile = \"rbac.toml\"\napi_url = \"https://proxy.example/?token=sk_test_abcdefgh\"\n"
    );
    let message = problems(&text, &dir);
    assert!(!message.contains("9f8e7d6c"), "{message}");
    assert!(!message.contains("abcdefgh"), "{message}");
    assert!(message.contains("fleet.toml:2:18"), "{message}");
    assert!(message.contains("fleet.toml:8:11"), "{message}");
    assert!(message.contains("secret_key_env"), "{message}");
    assert_eq!(
        message.matches("a secret key is written").count(),
        2,
        "{message}"
    );
}

#[test]
fn typos_are_located_with_a_suggestion_all_at_once() {
    let dir = temp_dir("typos");
    std::fs::write(dir.join("rbac.toml"), SHARED).unwrap();
    let text = r#"stages = ["development", "production"]

[targets.dev]
secret_key_en = "DEV_KEY"
secret_key_env = "DEV_KEY"
file = "rbac.toml"
stage = "developmnet"

[targets.prod]
secret_key_env = "PROD_KEY"
file = "rbac.toml"

[targets.prod.overlay.roles."org:clerk"]
add_permission = ["org:invoices:write"]
"#;
    let message = problems(text, &dir);
    assert!(
        message.contains("fleet.toml:4:1: targets.dev.secret_key_en: unknown field `secret_key_en` (did you mean `secret_key_env`?)"),
        "{message}"
    );
    assert!(
        message.contains("fleet.toml:14:1: targets.prod.overlay.roles.\"org:clerk\".add_permission: unknown field `add_permission` (did you mean `add_permissions`?)"),
        "{message}"
    );
    // The stage is checked once the field names are right.
    let fixed = text
        .replace("secret_key_en = \"DEV_KEY\"\n", "")
        .replace("add_permission ", "add_permissions ");
    let message = problems(&fixed, &dir);
    assert!(
        message.contains("fleet.toml:6:9: targets.dev.stage: unknown stage `developmnet` (did you mean `development`?)"),
        "{message}"
    );
}

#[test]
fn overlay_problems_are_located_in_the_fleet_file() {
    let dir = temp_dir("overlay-problems");
    std::fs::write(dir.join("rbac.toml"), SHARED).unwrap();
    let text = r#"[targets.acme]
secret_key_env = "ACME_KEY"
file = "rbac.toml"

[targets.acme.overlay]
without = ["org:nothing"]

[targets.acme.overlay.roles."org:auditor"]
name = "Auditor"
permissions = ["org:invoices:raed"]

[targets.acme.overlay.roles."org:half"]
description = "no name"
"#;
    let message = problems(text, &dir);
    assert!(
        message.contains("fleet.toml:6:12: targets.acme.overlay.without[0]:"),
        "{message}"
    );
    assert!(
        message.contains("has no `org:nothing` to leave out"),
        "{message}"
    );
    assert!(
        message.contains("fleet.toml:12:29: targets.acme.overlay.roles.\"org:half\":"),
        "{message}"
    );
    // The merge succeeds once the incomplete role and the bad key are gone; then the rules
    // of the format apply to the result, located where the overlay wrote it.
    let text = text.replace("without = [\"org:nothing\"]\n", "").replace(
        "\n[targets.acme.overlay.roles.\"org:half\"]\ndescription = \"no name\"\n",
        "",
    );
    let message = problems(&text, &dir);
    assert!(
        message.contains("target `acme` (with its overlay)"),
        "{message}"
    );
    assert!(message.contains("org:invoices:raed"), "{message}");
    assert!(
        message
            .contains("fleet.toml:9:16: targets.acme.overlay.roles.\"org:auditor\".permissions[0]"),
        "{message}"
    );
    assert!(
        message.contains("org:invoices:read"),
        "suggests the right key: {message}"
    );
}

#[test]
fn an_unknown_target_name_gets_a_suggestion() {
    let fleet = Fleet::load(manifest(EXAMPLE_FLEET)).unwrap();
    let error = fleet.select(&["globx".to_owned()]).unwrap_err().to_string();
    assert!(error.contains("no target `globx`"), "{error}");
    assert!(error.contains("did you mean `globex`?"), "{error}");
}

// --- Many simulated instances ---------------------------------------------------------------

/// One simulator per target, its key in a variable of the test's own environment.
pub(crate) struct Instances {
    pub(crate) sims: HashMap<String, Simulator>,
    pub(crate) env: HashMap<String, String>,
}

impl Instances {
    pub(crate) async fn start(names: &[&str]) -> Instances {
        let mut sims = HashMap::new();
        let mut env = HashMap::new();
        for name in names {
            let sim = Simulator::builder()
                .rate_limits(RateLimits::off())
                .migration_duration(Duration::from_millis(50))
                .start()
                .await
                .unwrap();
            env.insert(var(name), sim.secret_key().to_owned());
            sims.insert((*name).to_owned(), sim);
        }
        Instances { sims, env }
    }

    pub(crate) fn options(&self) -> FleetOptions {
        let env = self.env.clone();
        FleetOptions::new()
            .env(move |name| env.get(name).cloned())
            .apply(
                ApplyOptions::new()
                    .poll_interval(Duration::from_millis(10))
                    .migration_timeout(Duration::from_secs(20)),
            )
    }

    /// How many requests that change something each instance was sent.
    pub(crate) fn changes(&self, name: &str) -> usize {
        self.sims[name]
            .requests()
            .iter()
            .filter(|r| r.method != "GET")
            .count()
    }
}

fn var(name: &str) -> String {
    format!("KEY_{}", name.to_uppercase().replace('-', "_"))
}

/// A fleet file with one target per `(name, stage, overlay)`, each on its simulator (or at
/// `api_url` when given in the overlay slot as `@url`).
pub(crate) fn write_fleet(
    dir: &Path,
    instances: &Instances,
    targets: &[(&str, &str, &str)],
) -> Fleet {
    std::fs::write(dir.join("rbac.toml"), SHARED).unwrap();
    let mut text = String::from("stages = [\"development\", \"staging\", \"production\"]\n");
    for (name, stage, extra) in targets {
        let url = match extra.strip_prefix('@') {
            Some(url) => url.to_owned(),
            None => instances.sims[*name].base_url().to_owned(),
        };
        text.push_str(&format!(
            "\n[targets.{name}]\nstage = \"{stage}\"\nsecret_key_env = \"{}\"\napi_url = \"{url}\"\nfile = \"rbac.toml\"\n",
            var(name)
        ));
        if !extra.starts_with('@') && !extra.is_empty() {
            text.push_str(extra);
        }
    }
    std::fs::write(dir.join("fleet.toml"), &text).unwrap();
    Fleet::load(dir.join("fleet.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlays_reach_only_their_target_and_every_target_converges() {
    let names = ["dev", "staging", "acme", "globex"];
    let instances = Instances::start(&names).await;
    let dir = temp_dir("overlays");
    let fleet = write_fleet(
        &dir,
        &instances,
        &[
            (
                "dev",
                "development",
                "\n[targets.dev.overlay.roles.\"org:clerk\"]\ndescription = \"Development copy\"\n",
            ),
            ("staging", "staging", ""),
            (
                "acme",
                "production",
                "\n[targets.acme.overlay.roles.\"org:auditor\"]\nname = \"Auditor\"\npermissions = [\"org:invoices:read\"]\n\n[targets.acme.overlay.roles.\"org:clerk\"]\nadd_permissions = [\"org:invoices:write\"]\n",
            ),
            (
                "globex",
                "production",
                "\n[targets.globex.overlay]\nwithout = [\"org:invoices:write\"]\n",
            ),
        ],
    );
    let options = instances.options();
    let targets = fleet.select(&[]).unwrap();
    let plans = fleet::plan(&fleet, &targets, &options).await;
    assert_eq!(plans.drifted(), ["dev", "staging", "acme", "globex"]);
    let report = fleet::apply(&plans, &options).await;
    assert!(report.is_success(), "{}", report.render(false));
    assert_eq!(report.exit_code(), 0);
    let totals = report.totals();
    assert_eq!((totals.applied, totals.failed), (4, 0));

    let role = |name: &str, key: &str| {
        instances.sims[name]
            .snapshot()
            .roles
            .into_iter()
            .find(|r| r.key == key)
    };
    let clerk_role = |name: &str| role(name, "org:clerk").expect("org:clerk everywhere");
    assert_eq!(
        clerk_role("dev").description.as_deref(),
        Some("Development copy")
    );
    assert_eq!(
        clerk_role("staging").description.as_deref(),
        Some("Shared description")
    );
    assert!(role("acme", "org:auditor").is_some());
    for other in ["dev", "staging", "globex"] {
        assert!(
            role(other, "org:auditor").is_none(),
            "{other} has no auditor"
        );
    }
    let perms = |name: &str| -> Vec<String> {
        instances.sims[name]
            .snapshot()
            .permissions
            .into_iter()
            .map(|p| p.key)
            .filter(|k| !k.starts_with("org:sys_"))
            .collect()
    };
    assert!(perms("acme").contains(&"org:invoices:write".to_owned()));
    assert!(!perms("globex").contains(&"org:invoices:write".to_owned()));

    // Planned again, every target is in sync.
    let again = fleet::plan(&fleet, &targets, &options).await;
    assert!(again.drifted().is_empty(), "{}", again.render(false));
    assert_eq!(again.check_exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stages_run_in_order_each_finished_before_the_next_starts() {
    let names = ["d1", "d2", "s1", "p1", "p2", "p3"];
    let instances = Instances::start(&names).await;
    let dir = temp_dir("stage-order");
    let fleet = write_fleet(
        &dir,
        &instances,
        &[
            ("p1", "production", ""),
            ("s1", "staging", ""),
            ("d1", "development", ""),
            ("p2", "production", ""),
            ("d2", "development", ""),
            ("p3", "production", ""),
        ],
    );
    let log: Arc<Mutex<Vec<(String, &'static str)>>> = Arc::default();
    let seen = Arc::clone(&log);
    let options = instances.options().events(move |event| {
        let entry = match event {
            FleetEvent::Started { target } => (target.to_owned(), "start"),
            FleetEvent::Finished { target, .. } => (target.to_owned(), "end"),
            _ => return,
        };
        seen.lock().unwrap().push(entry);
    });
    let targets = fleet.select(&[]).unwrap();
    let plans = fleet::plan(&fleet, &targets, &options).await;
    let report = fleet::apply(&plans, &options).await;
    assert!(report.is_success(), "{}", report.render(false));
    let order: Vec<&str> = report.targets.iter().map(|t| t.target.as_str()).collect();
    assert_eq!(order, ["d1", "d2", "s1", "p1", "p2", "p3"]);

    let log = log.lock().unwrap();
    let stage = |name: &str| fleet.targets[name].stage_index;
    for (i, (name, what)) in log.iter().enumerate() {
        if *what != "start" {
            continue;
        }
        // Every target of an earlier stage has ended before this one starts.
        for earlier in names.iter().filter(|n| stage(n) < stage(name)) {
            let ended = log[..i].iter().any(|(n, w)| n == earlier && *w == "end");
            assert!(ended, "{name} started before {earlier} ended: {log:?}");
        }
    }
    assert_eq!(log.iter().filter(|(_, w)| *w == "start").count(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_target_is_reported_alone_and_stops_later_stages_only() {
    let names = ["dev", "staging", "prod-a", "prod-b", "prod-c"];
    let instances = Instances::start(&names).await;
    // A port nothing listens on: the instance is unreachable.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let dir = temp_dir("one-fails");
    let unreachable = format!("@http://{closed}");
    let fleet = write_fleet(
        &dir,
        &instances,
        &[
            ("dev", "development", ""),
            ("staging", "staging", ""),
            ("prod-a", "production", &unreachable),
            ("prod-b", "production", ""),
            ("prod-c", "production", ""),
        ],
    );
    let mut options = instances.options();
    // prod-c's key is missing from the environment.
    let mut env = instances.env.clone();
    env.remove(&var("prod-c"));
    options = options.env(move |name| env.get(name).cloned());

    let targets = fleet.select(&[]).unwrap();
    let plans = fleet::plan(&fleet, &targets, &options).await;
    assert_eq!(plans.failed(), ["prod-a", "prod-c"]);
    assert_eq!(
        plans.drifted(),
        ["dev", "staging", "prod-b"],
        "the others are planned"
    );
    let a = plans.targets.iter().find(|t| t.target == "prod-a").unwrap();
    assert_eq!(a.result.as_ref().unwrap_err().kind, TargetErrorKind::Read);
    let c = plans.targets.iter().find(|t| t.target == "prod-c").unwrap();
    let error = c.result.as_ref().unwrap_err();
    assert_eq!(error.kind, TargetErrorKind::Configuration);
    assert!(error.message.contains("KEY_PROD_C is not set"), "{error}");
    assert_eq!(plans.check_exit_code(), 1, "an error outranks drift");

    let report = fleet::apply(&plans, &options).await;
    let status: Vec<(&str, &str)> = report
        .targets
        .iter()
        .map(|t| (t.target.as_str(), t.outcome.status()))
        .collect();
    assert_eq!(
        status,
        [
            ("dev", "applied"),
            ("staging", "applied"),
            ("prod-a", "failed"),
            ("prod-b", "applied"),
            ("prod-c", "failed"),
        ]
    );
    assert_eq!(report.exit_code(), 1);
    let text = report.render(false);
    assert!(text.contains("2 failed, 0 not started"), "{text}");
    assert!(instances.changes("prod-b") > 0);

    // Now the failure is in development: nothing later starts, nothing is sent there.
    let fresh = Instances::start(&["dev", "staging", "prod-b"]).await;
    let dir = temp_dir("early-fails");
    let fleet = write_fleet(
        &dir,
        &fresh,
        &[
            ("dev", "development", &unreachable),
            ("staging", "staging", ""),
            ("prod-b", "production", ""),
        ],
    );
    let options = fresh.options();
    let plans = fleet::plan(&fleet, &fleet.select(&[]).unwrap(), &options).await;
    let report = fleet::apply(&plans, &options).await;
    let status: Vec<&str> = report.targets.iter().map(|t| t.outcome.status()).collect();
    assert_eq!(status, ["failed", "not_started", "not_started"]);
    let TargetOutcome::NotStarted { reason } = &report.targets[1].outcome else {
        panic!()
    };
    assert!(
        reason.contains("stage `development` did not end well (dev)"),
        "{reason}"
    );
    assert_eq!(fresh.changes("staging") + fresh.changes("prod-b"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_in_one_of_many_is_named() {
    let names: Vec<String> = (0..8).map(|i| format!("t{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let instances = Instances::start(&refs).await;
    let dir = temp_dir("drift");
    let targets: Vec<(&str, &str, &str)> = refs.iter().map(|n| (*n, "production", "")).collect();
    let fleet = write_fleet(&dir, &instances, &targets);
    let options = instances.options();
    let picked = fleet.select(&[]).unwrap();
    let report = fleet::apply(&fleet::plan(&fleet, &picked, &options).await, &options).await;
    assert!(report.is_success());

    // Someone renames a role by hand on one instance.
    let sim = &instances.sims["t5"];
    let clerk = sim.client();
    let role = clerk
        .organization_roles()
        .list()
        .collect_all()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.key == "org:clerk")
        .unwrap();
    clerk
        .organization_roles()
        .update(&role.id, UpdateRole::new().name("Renamed by hand"))
        .await
        .unwrap();

    let check = fleet::plan(&fleet, &picked, &options).await;
    assert_eq!(check.drifted(), ["t5"]);
    assert_eq!(check.check_exit_code(), 2);
    let json: Value = serde_json::from_str(&check.to_json()).unwrap();
    assert_eq!(json["drifted"], serde_json::json!(["t5"]));
    let t5 = json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == "t5")
        .unwrap();
    assert_eq!(t5["status"], "changes");
    assert_eq!(t5["summary"]["update"], 1);
    let summary = check.render_summary(false);
    assert!(
        summary.contains("8 targets: 7 in sync, 1 with changes, 0 failed."),
        "{summary}"
    );

    // Only the picked targets are looked at.
    let some = fleet.select(&["t1".to_owned(), "t2".to_owned()]).unwrap();
    let check = fleet::plan(&fleet, &some, &options).await;
    assert_eq!(check.targets.len(), 2);
    assert_eq!(check.check_exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_live_targets_compare_in_the_plan_vocabulary() {
    let instances = Instances::start(&["staging", "prod"]).await;
    let dir = temp_dir("compare");
    let fleet = write_fleet(
        &dir,
        &instances,
        &[
            (
                "staging",
                "staging",
                "\n[targets.staging.overlay.roles.\"org:beta\"]\nname = \"Beta tester\"\npermissions = [\"org:invoices:read\"]\n",
            ),
            ("prod", "production", ""),
        ],
    );
    let options = instances.options();
    let picked = fleet.select(&[]).unwrap();
    let report = fleet::apply(&fleet::plan(&fleet, &picked, &options).await, &options).await;
    assert!(report.is_success());

    let comparison = fleet::compare(
        &fleet.targets["staging"],
        &fleet.targets["prod"],
        &options.env,
    )
    .await
    .unwrap();
    let text = comparison.render(false);
    assert!(
        text.starts_with("To make `prod` hold what `staging` holds:"),
        "{text}"
    );
    assert!(text.contains("+ org:beta"), "{text}");
    assert!(
        text.contains("1 only in `staging`, 0 different, 0 only in `prod`"),
        "{text}"
    );
    let json: Value = serde_json::from_str(&comparison.to_json()).unwrap();
    assert_eq!(json["changes"][0]["key"], "org:beta");
    assert_eq!(json["changes"][0]["action"], "create");

    let same = fleet::compare(&fleet.targets["prod"], &fleet.targets["prod"], &options.env)
        .await
        .unwrap();
    assert!(same.is_same());
}
