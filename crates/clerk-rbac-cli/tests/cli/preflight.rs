//! The preflight end to end, adversarially: `clerk-rbac` run as its own process against a
//! simulator started from the simulator process's own command line (`ProcessOptions`, the
//! flags `--max-custom-roles`, `--max-role-sets`, `--no-custom-roles`, `--stale-reads-ms`).

use std::time::Duration;

use clerk_rbac_simulator::{Fault, ProcessOptions, Simulator};

use super::{EXAMPLE, changes_sent, env, path, run, temp_dir};

/// A simulator configured as the process would be by these flags.
async fn simulator_process(flags: &[&str]) -> Simulator {
    let mut args = vec!["--no-rate-limit", "--migration-ms", "20"];
    args.extend_from_slice(flags);
    ProcessOptions::parse(args.iter().map(|a| a.to_string()))
        .expect("the flags are the simulator's")
        .builder()
        .unwrap()
        .start()
        .await
        .unwrap()
}

/// The example file plus `n` more roles, written to a file of its own.
fn example_plus_roles(name: &str, n: usize) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(EXAMPLE).unwrap();
    for i in 0..n {
        text.push_str(&format!("\n[roles.\"org:more{i}\"]\nname = \"More {i}\"\n"));
    }
    let file = temp_dir(name).join("rbac.toml");
    std::fs::write(&file, text).unwrap();
    file
}

#[tokio::test(flavor = "multi_thread")]
async fn max_custom_roles_the_plan_shows_the_quota_and_apply_sends_nothing() {
    let sim = simulator_process(&["--max-custom-roles", "2"]).await;
    let env = env(&sim);
    let file = example_plus_roles("quota", 2);
    let plan = run(&env, &["plan", path(&file)]).await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(plan.stdout.contains("Preflight"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("needs 3 custom roles") && plan.stdout.contains("allows 2"),
        "{}",
        plan.stdout
    );
    // Located in the file: path, line and column.
    assert!(plan.stdout.contains("rbac.toml:"), "{}", plan.stdout);
    let json = run(&env, &["plan", path(&file), "--json"]).await;
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["findings"][0]["code"], "custom_role_quota");
    assert_eq!(document["findings"][0]["severity"], "error");

    let apply = run(&env, &["apply", path(&file), "--yes"]).await;
    assert_eq!(apply.code, 1, "{}", apply.stdout);
    assert!(
        apply.stderr.contains("nothing was sent"),
        "{}",
        apply.stderr
    );
    assert_eq!(changes_sent(&sim), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn max_role_sets_a_second_set_is_refused_before_any_write() {
    let sim = simulator_process(&["--max-role-sets", "1"]).await;
    let apply = run(&env(&sim), &["apply", EXAMPLE, "--yes"]).await;
    assert_eq!(apply.code, 1, "{}", apply.stdout);
    assert!(apply.stderr.contains("role sets"), "{}", apply.stderr);
    assert_eq!(changes_sent(&sim), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_custom_roles_the_gate_is_known_from_the_settings() {
    let sim = simulator_process(&["--no-custom-roles"]).await;
    let apply = run(&env(&sim), &["apply", EXAMPLE, "--yes"]).await;
    assert_eq!(apply.code, 1, "{}", apply.stdout);
    assert!(apply.stderr.contains("402"), "{}", apply.stderr);
    assert_eq!(changes_sent(&sim), 0);
    assert!(sim.requests().iter().all(|r| r.status != Some(402)));
}

#[tokio::test(flavor = "multi_thread")]
async fn no_custom_roles_hidden_from_the_settings_stops_at_the_first_402() {
    let sim = simulator_process(&["--no-custom-roles"]).await;
    sim.inject(
        Fault::on("GET", "/instance/organization_settings")
            .status(403)
            .times(u64::MAX),
    );
    let apply = run(&env(&sim), &["apply", EXAMPLE, "--yes"]).await;
    assert_eq!(apply.code, 1, "{}", apply.stdout);
    assert_eq!(
        apply.stdout.matches("Stopped:").count(),
        1,
        "one clear message: {}",
        apply.stdout
    );
    assert!(apply.stdout.contains("not sent"), "{}", apply.stdout);
    let gated = sim
        .requests()
        .iter()
        .filter(|r| r.status == Some(402))
        .count();
    // Only steps already in flight (at most the apply's concurrency) meet the gate.
    assert!((1..=8).contains(&gated), "{gated} requests answered 402");
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_reads_ms_apply_survives_a_lost_answer_read_back_through_a_stale_window() {
    let sim = simulator_process(&["--stale-reads-ms", "300"]).await;
    // The create of the role happens but its answer is lost; the read-back meets stale reads.
    sim.inject(
        Fault::on("POST", "/organization_roles")
            .act_then_drop()
            .times(1),
    );
    let env = env(&sim);
    let apply = run(&env, &["apply", EXAMPLE, "--yes"]).await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert!(
        apply.stdout.contains("0 failed, 0 skipped"),
        "{}",
        apply.stdout
    );
    let creates = sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/organization_roles" && r.status == Some(200))
        .count();
    assert_eq!(creates, 1, "the role was created once");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let check = run(&env, &["check", EXAMPLE]).await;
    assert_eq!(check.code, 0, "{}", check.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_of_an_empty_or_comment_only_file_warns_instead_of_a_silent_in_sync() {
    let sim = simulator_process(&[]).await;
    let dir = temp_dir("empty");
    for (name, text) in [("empty.toml", ""), ("comments.toml", "# nothing yet\n")] {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        let check = run(&env(&sim), &["check", path(&file)]).await;
        assert_eq!(check.code, 0, "{}", check.stderr);
        assert!(
            check.stdout.contains("names no permission"),
            "{}",
            check.stdout
        );
        assert!(
            !check.stdout.starts_with("In sync: the instance matches"),
            "{}",
            check.stdout
        );
    }
}

/// A `clerk-rbac simulator` process started with `flags`; stopped (SIGTERM) when dropped.
struct SimulatorProcess {
    child: std::process::Child,
    url: String,
}

impl SimulatorProcess {
    fn start(flags: &[&str]) -> SimulatorProcess {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_clerk-rbac"))
            .args([
                "simulator",
                "--port",
                "0",
                "--no-rate-limit",
                "--migration-ms",
                "20",
            ])
            .args(flags)
            .env_clear()
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the program starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        SimulatorProcess {
            child,
            url: line.trim_end().to_owned(),
        }
    }

    fn env(&self) -> [(&str, &str); 2] {
        [
            ("CLERK_SECRET_KEY", "sk_test_preflightProcessKey0123"),
            ("CLERK_API_URL", self.url.as_str()),
        ]
    }

    async fn roles(&self) -> i64 {
        let clerk = clerk_rbac::Clerk::builder()
            .base_url(&self.url)
            .secret_key("sk_test_preflightProcessKey0123")
            .build()
            .unwrap();
        clerk
            .organization_roles()
            .list()
            .send()
            .await
            .unwrap()
            .total_count
    }
}

impl Drop for SimulatorProcess {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_simulator_process_with_each_flag_against_the_cli() {
    // Each refusing flag: the plan is refused before any write; the instance keeps its two
    // seeded roles.
    let over = example_plus_roles("process-quota", 2);
    for (flags, file, says) in [
        (&["--max-custom-roles", "2"][..], path(&over), "allows 2"),
        (&["--max-role-sets", "1"][..], EXAMPLE, "role sets"),
        (&["--no-custom-roles"][..], EXAMPLE, "402"),
    ] {
        let sim = SimulatorProcess::start(flags);
        let apply = run(&sim.env(), &["apply", file, "--yes"]).await;
        assert_eq!(apply.code, 1, "{flags:?}: {}", apply.stdout);
        assert!(apply.stderr.contains(says), "{flags:?}: {}", apply.stderr);
        assert_eq!(sim.roles().await, 2, "{flags:?}: something was created");
    }
    // The stale-read window: apply completes, and once the window has passed the instance is
    // in sync.
    let sim = SimulatorProcess::start(&["--stale-reads-ms", "200"]);
    let apply = run(&sim.env(), &["apply", EXAMPLE, "--yes"]).await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert!(
        apply.stdout.contains("0 failed, 0 skipped"),
        "{}",
        apply.stdout
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let check = run(&sim.env(), &["check", EXAMPLE]).await;
    assert_eq!(check.code, 0, "{}", check.stdout);
}
