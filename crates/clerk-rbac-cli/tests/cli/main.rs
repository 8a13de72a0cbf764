//! The `clerk-rbac` program end to end: run as a separate process against a simulator (through
//! CLERK_API_URL, as a user would point it at the simulator process) or its embedded one.
//! Exit codes, JSON, colour, the confirmation, files, and the secret key never shown.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

mod ci;

use clerk_rbac_simulator::{RateLimits, Simulator};

mod simulator;
use clerk_rbac_sync::DesiredState;
use serde_json::Value;

mod preflight;

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../clerk-rbac-sync/examples/rbac.toml"
);

/// What a run printed and how it ended.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the program with only the given environment (none of the caller's CLERK_ variables)
/// and stdin closed, so that it is never a terminal.
async fn run(env: &[(&str, &str)], args: &[&str]) -> Run {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let output = Command::new(env!("CARGO_BIN_EXE_clerk-rbac"))
            .args(&args)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .output()
            .expect("the program runs");
        Run {
            code: output.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(output.stdout).expect("UTF-8 output"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8 errors"),
        }
    })
    .await
    .unwrap()
}

async fn simulator() -> Simulator {
    Simulator::builder()
        .rate_limits(RateLimits::off())
        .start()
        .await
        .unwrap()
}

fn env(sim: &Simulator) -> [(&str, &str); 2] {
    [
        ("CLERK_SECRET_KEY", sim.secret_key()),
        ("CLERK_API_URL", sim.base_url()),
    ]
}

fn changes_sent(sim: &Simulator) -> usize {
    sim.requests().iter().filter(|r| r.method != "GET").count()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("clerk-rbac-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_apply_check_through_clerk_api_url_with_the_documented_exit_codes() {
    let sim = simulator().await;
    let env = env(&sim);

    let plan = run(&env, &["plan", EXAMPLE]).await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("Plan: 5 to create, 3 to change"),
        "{}",
        plan.stdout
    );
    assert_eq!(
        run(&env, &["plan", EXAMPLE, "--detailed-exitcode"])
            .await
            .code,
        2
    );
    let check = run(&env, &["check", EXAMPLE]).await;
    assert_eq!(check.code, 2, "drift: {}", check.stderr);
    assert!(check.stdout.contains("+ org:invoices:read"));
    assert_eq!(changes_sent(&sim), 0, "plan and check change nothing");

    let apply = run(&env, &["apply", EXAMPLE, "--yes"]).await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert!(
        apply
            .stdout
            .contains("Apply complete: 8 done, 0 failed, 0 skipped."),
        "{}",
        apply.stdout
    );

    let check = run(&env, &["check", EXAMPLE]).await;
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(
        check.stdout.starts_with(&format!(
            "Target: {} (test instance)\nIn sync: the instance matches ",
            sim.addr()
        )),
        "{}",
        check.stdout
    );
    assert_eq!(
        run(&env, &["plan", EXAMPLE, "--detailed-exitcode"])
            .await
            .code,
        0
    );
    let again = run(&env, &["apply", EXAMPLE]).await;
    assert_eq!(
        again.code, 0,
        "nothing to do needs no confirmation: {}",
        again.stderr
    );
    assert!(again.stdout.contains("No changes"));
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_without_yes_and_without_a_terminal_refuses_and_sends_nothing() {
    let sim = simulator().await;
    let apply = run(&env(&sim), &["apply", EXAMPLE]).await;
    assert_eq!(apply.code, 1);
    assert!(
        apply.stdout.contains("Plan: "),
        "the plan is shown first: {}",
        apply.stdout
    );
    assert!(
        apply.stderr.contains("stdin is not a terminal") && apply.stderr.contains("--yes"),
        "{}",
        apply.stderr
    );
    assert_eq!(changes_sent(&sim), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_output_is_machine_readable() {
    let sim = simulator().await;
    let env = env(&sim);
    let plan = run(&env, &["plan", EXAMPLE, "--json"]).await;
    let document: Value = serde_json::from_str(&plan.stdout).expect("JSON");
    assert_eq!(document["format_version"], 1);
    assert_eq!(document["in_sync"], false);
    assert_eq!(document["summary"]["create"], 5);

    assert_eq!(
        run(&env, &["apply", EXAMPLE, "--json"]).await.code,
        1,
        "--json needs --yes"
    );
    let apply = run(&env, &["apply", EXAMPLE, "--yes", "--json"]).await;
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let document: Value = serde_json::from_str(&apply.stdout).expect("JSON");
    assert_eq!(document["report"]["success"], true);
    assert_eq!(document["report"]["counts"]["done"], 8);
    assert_eq!(document["report"]["steps"][0]["outcome"], "done");
    assert_eq!(document["plan"]["summary"]["requests"], 8);

    let check = run(&env, &["check", EXAMPLE, "--json"]).await;
    assert_eq!(check.code, 0);
    let document: Value = serde_json::from_str(&check.stdout).expect("JSON");
    assert_eq!(document["in_sync"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn colour_only_on_a_terminal_or_when_asked() {
    let sim = simulator().await;
    let env = env(&sim);
    let plain = run(&env, &["plan", EXAMPLE]).await;
    assert!(
        !plain.stdout.contains('\x1b'),
        "piped output has no escapes"
    );
    let coloured = run(&env, &["plan", EXAMPLE, "--color", "always"]).await;
    assert!(coloured.stdout.contains("\x1b[32m+\x1b[0m"));
    let never = run(&env, &["plan", EXAMPLE, "--color", "never"]).await;
    assert_eq!(never.stdout, plain.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn export_writes_a_file_that_plans_no_changes() {
    let sim = simulator().await;
    let env = env(&sim);
    assert_eq!(run(&env, &["apply", EXAMPLE, "--yes"]).await.code, 0);
    let dir = temp_dir("export");
    let file = dir.join("exported.toml");
    let export = run(&env, &["export", "-o", path(&file)]).await;
    assert_eq!(export.code, 0, "{}", export.stderr);
    assert!(export.stdout.is_empty());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with(
            "#:schema ./clerk-rbac.schema.json\n# Organization RBAC of a Clerk instance"
        ),
        "{text}"
    );
    assert_eq!(
        run(&env, &["export"]).await.stdout,
        text,
        "stdout without -o"
    );
    DesiredState::from_toml(&text, "exported.toml").unwrap();
    let plan = run(&env, &["plan", path(&file), "--detailed-exitcode"]).await;
    assert_eq!(plan.code, 0, "{}", plan.stdout);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_file_is_located_and_nothing_is_sent() {
    let sim = simulator().await;
    let dir = temp_dir("invalid");
    let file = dir.join("rbac.toml");
    std::fs::write(
        &file,
        "[roles.\"org:a\"]\nnmae = \"A\"\n\n[permissions.\"org:sys_x:y\"]\nname = \"X\"\n",
    )
    .unwrap();
    let plan = run(&env(&sim), &["plan", path(&file)]).await;
    assert_eq!(plan.code, 1);
    let at = format!(
        "{}:2:1: roles.\"org:a\".nmae: unknown field `nmae` (did you mean `name`?)",
        file.display()
    );
    assert!(plan.stderr.contains(&at), "{}", plan.stderr);
    assert!(
        sim.requests().is_empty(),
        "a bad file sends no request at all"
    );
    let missing = run(&env(&sim), &["check", path(&dir.join("nope.toml"))]).await;
    assert_eq!(missing.code, 1, "an error is 1, not drift");
    assert!(missing.stderr.contains("nope.toml"), "{}", missing.stderr);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_secret_key_never_appears_in_any_output() {
    let sim = simulator().await;
    let key = sim.secret_key().to_owned();
    let tail = &key["sk_test_".len()..];
    let dir = temp_dir("secret");
    let file = dir.join("out.toml");
    let url = sim.base_url().to_owned();
    let wrong_url = "http://127.0.0.1:9".to_owned();
    let runs = [
        run(
            &[("CLERK_SECRET_KEY", &key), ("CLERK_API_URL", &url)],
            &["plan", EXAMPLE, "--json"],
        )
        .await,
        run(
            &[("CLERK_SECRET_KEY", &key), ("CLERK_API_URL", &url)],
            &["apply", EXAMPLE, "--yes", "--json"],
        )
        .await,
        run(
            &[("CLERK_SECRET_KEY", &key), ("CLERK_API_URL", &url)],
            &["export", "-o", path(&file)],
        )
        .await,
        run(
            &[("CLERK_SECRET_KEY", &key), ("CLERK_API_URL", &url)],
            &["check", EXAMPLE],
        )
        .await,
        // Errors: nothing listening, a malformed key the server refuses, a key that is not a
        // header value, an unusable URL.
        run(
            &[("CLERK_SECRET_KEY", &key), ("CLERK_API_URL", &wrong_url)],
            &["plan", EXAMPLE],
        )
        .await,
        run(
            &[
                ("CLERK_SECRET_KEY", &format!("bad_{tail}")),
                ("CLERK_API_URL", &url),
            ],
            &["plan", EXAMPLE],
        )
        .await,
        run(
            &[
                ("CLERK_SECRET_KEY", &format!("{key}\nX")),
                ("CLERK_API_URL", &url),
            ],
            &["plan", EXAMPLE],
        )
        .await,
        run(
            &[("CLERK_SECRET_KEY", &key), ("CLERK_API_URL", "not a url")],
            &["plan", EXAMPLE],
        )
        .await,
    ];
    let exported = std::fs::read_to_string(&file).unwrap();
    for (i, output) in runs.iter().enumerate() {
        for text in [&output.stdout, &output.stderr, &exported] {
            assert!(!text.contains(tail), "run {i} printed the key:\n{text}");
        }
    }
    assert_eq!(runs[4].code, 1, "{}", runs[4].stderr);
    assert_eq!(runs[5].code, 1);
    assert!(runs[5].stderr.contains("401"), "{}", runs[5].stderr);
    assert_eq!(runs[6].code, 1);
    assert_eq!(runs[7].code, 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_key_the_message_says_what_to_do() {
    let run = run(&[], &["plan", EXAMPLE]).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("CLERK_SECRET_KEY is not set") && run.stderr.contains("--simulator"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_embedded_simulator_keeps_its_state_between_runs() {
    let dir = temp_dir("state");
    let state = dir.join("sim.json");
    let state = path(&state);
    assert_eq!(
        run(&[], &["check", EXAMPLE, "--state", state]).await.code,
        2
    );
    let apply = run(&[], &["apply", EXAMPLE, "--yes", "--state", state]).await;
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert_eq!(
        run(&[], &["check", EXAMPLE, "--state", state]).await.code,
        0,
        "the next run sees the change"
    );
    let export = run(&[], &["export", "--state", state]).await;
    assert!(export.stdout.contains("[role_sets.\"role_set:finance\"]"));
    // Without a state file every run starts fresh.
    assert_eq!(run(&[], &["check", EXAMPLE, "--simulator"]).await.code, 2);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_runs_the_whole_loop() {
    let demo = run(&[], &["demo"]).await;
    assert_eq!(demo.code, 0, "{}\n{}", demo.stdout, demo.stderr);
    let plans: Vec<&str> = demo.stdout.split("$ clerk-rbac ").collect();
    assert_eq!(plans.len(), 4, "{}", demo.stdout);
    assert!(
        plans[1].starts_with("plan examples/rbac.toml") && plans[1].contains("Plan: 5 to create")
    );
    assert!(
        plans[2].starts_with("apply examples/rbac.toml --yes")
            && plans[2].contains("Apply complete")
    );
    assert!(plans[3].contains("No changes: the instance matches the file."));
}

#[tokio::test(flavor = "multi_thread")]
async fn schema_prints_the_published_schema() {
    let schema = run(&[], &["schema"]).await;
    assert_eq!(schema.code, 0);
    let published = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../clerk-rbac-sync/schema/clerk-rbac.schema.json"
    ))
    .unwrap();
    assert_eq!(schema.stdout, published);
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_exit_1_not_2_and_help_exits_0() {
    for args in [
        &["plan"][..],
        &["aply", EXAMPLE],
        &["plan", EXAMPLE, "--color", "purple"],
    ] {
        let run = run(&[], args).await;
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
    }
    let help = run(&[], &["--help"]).await;
    assert_eq!(help.code, 0);
    for word in [
        "export",
        "plan",
        "apply",
        "check",
        "CLERK_SECRET_KEY",
        "2 drift",
    ] {
        assert!(help.stdout.contains(word), "{word}: {}", help.stdout);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_that_goes_away_is_no_panic() {
    let output = tokio::task::spawn_blocking(|| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_clerk-rbac"))
            .arg("demo")
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before the program writes anything (`| head -0`).
        drop(child.stdout.take());
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

mod fleet;
mod fleet_saved;
