//! The program as a CI pipeline runs it (issue 17): saved plans applied exactly or refused,
//! the target named, step lines as they happen, interruption, one run per state file.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, Command, Stdio},
    sync::mpsc::{self, Receiver},
    time::Duration,
};

use clerk_rbac_simulator::{RateLimits, Simulator};
use serde_json::Value;

use super::{EXAMPLE, changes_sent, env, path, run, simulator, temp_dir};

/// A file creating `n` permissions, each one request with no dependency.
fn many_permissions(n: usize) -> String {
    (0..n)
        .map(|i| format!("[permissions.\"org:bulk:p{i:03}\"]\nname = \"P{i}\"\n\n"))
        .collect()
}

/// A simulator whose every answer takes `latency`, so that an apply lasts a while.
async fn slow_simulator(latency: Duration) -> Simulator {
    Simulator::builder()
        .rate_limits(RateLimits::off())
        .latency(latency)
        .start()
        .await
        .unwrap()
}

/// The changing requests a simulator received, as (method, path), sorted.
fn changing_requests(sim: &Simulator) -> Vec<(String, String)> {
    let mut requests: Vec<(String, String)> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| (r.method, r.path))
        .collect();
    requests.sort();
    requests
}

/// A run of the program whose stdout is read line by line while it runs.
struct Live {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    errors: Receiver<String>,
    seen_errors: Vec<String>,
}

impl Live {
    fn start(env: &[(&str, &str)], args: &[&str]) -> Live {
        let mut child = Command::new(env!("CARGO_BIN_EXE_clerk-rbac"))
            .args(args)
            .env_clear()
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the program runs");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        Live {
            child,
            lines: read_lines(stdout),
            seen: Vec::new(),
            errors: read_lines(stderr),
            seen_errors: Vec::new(),
        }
    }

    /// Reads stderr lines until one satisfies `wanted`; panics if stderr ends.
    fn wait_for_error_line(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        loop {
            match self.errors.recv() {
                Ok(line) => {
                    self.seen_errors.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(_) => panic!("stderr ended first:\n{}", self.seen_errors.join("\n")),
            }
        }
    }

    /// Reads lines until one satisfies `wanted`; panics (showing what came) if stdout ends.
    fn wait_for_line(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        loop {
            match self.lines.recv() {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(_) => panic!("stdout ended first:\n{}", self.seen.join("\n")),
            }
        }
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the end: (exit code, all of stdout, stderr).
    fn finish(mut self) -> (i32, String, String) {
        while let Ok(line) = self.lines.recv() {
            self.seen.push(line);
        }
        while let Ok(line) = self.errors.recv() {
            self.seen_errors.push(line);
        }
        let code = self
            .child
            .wait()
            .unwrap()
            .code()
            .expect("exited, not killed");
        (code, self.seen.join("\n"), self.seen_errors.join("\n"))
    }
}

/// The lines of a pipe, as they come.
fn read_lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_applied_exactly_even_when_the_file_changed_since() {
    let saved_on = Simulator::builder()
        .rate_limits(RateLimits::off())
        .seed(7)
        .start()
        .await
        .unwrap();
    let dir = temp_dir("saved");
    let file = dir.join("rbac.toml");
    std::fs::copy(EXAMPLE, &file).unwrap();
    let plan_file = dir.join("plan.json");

    let plan = run(
        &env(&saved_on),
        &["plan", path(&file), "-o", path(&plan_file)],
    )
    .await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout
            .starts_with(&format!("Target: {} (test instance)\n", saved_on.addr())),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("Estimated duration: about"));
    assert!(
        plan.stdout.contains("Saved this plan to"),
        "{}",
        plan.stdout
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    assert_eq!(saved["format"], "clerk-rbac-saved-plan");
    assert_eq!(saved["format_version"], 1);
    assert_eq!(saved["target"]["environment"], "test");
    assert_eq!(changes_sent(&saved_on), 0, "planning changes nothing");

    // What was reviewed is what runs: the file changing afterwards does not matter.
    std::fs::write(&file, "").unwrap();
    let apply = run(&env(&saved_on), &["apply", path(&plan_file), "--yes"]).await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert!(
        apply
            .stdout
            .contains("Apply complete: 8 done, 0 failed, 0 skipped."),
        "{}",
        apply.stdout
    );

    // The same requests as applying the file directly on an identical instance.
    let direct = Simulator::builder()
        .rate_limits(RateLimits::off())
        .seed(7)
        .start()
        .await
        .unwrap();
    assert_eq!(
        run(&env(&direct), &["apply", EXAMPLE, "--yes"]).await.code,
        0
    );
    assert_eq!(changing_requests(&saved_on), changing_requests(&direct));
    assert_eq!(changing_requests(&saved_on).len(), 8);
    assert_eq!(run(&env(&saved_on), &["check", EXAMPLE]).await.code, 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_plan_is_refused_naming_what_changed_and_sends_no_change() {
    let sim = simulator().await;
    let dir = temp_dir("stale");
    let plan_file = dir.join("plan.json");
    let plan = run(&env(&sim), &["plan", EXAMPLE, "--out", path(&plan_file)]).await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);

    // Someone else changes the instance after the review.
    let other = dir.join("other.toml");
    std::fs::write(
        &other,
        "[permissions.\"org:late:comer\"]\nname = \"Late\"\n",
    )
    .unwrap();
    assert_eq!(
        run(&env(&sim), &["apply", path(&other), "--yes"])
            .await
            .code,
        0
    );
    let before = changes_sent(&sim);

    let apply = run(&env(&sim), &["apply", path(&plan_file), "--yes"]).await;
    assert_eq!(apply.code, 1, "{}", apply.stdout);
    assert!(
        apply
            .stderr
            .contains("the instance changed since the plan was computed")
            && apply
                .stderr
                .contains("permission org:late:comer was created"),
        "{}",
        apply.stderr
    );
    assert_eq!(changes_sent(&sim), before, "zero changing requests");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_for_another_target_or_version_is_refused_before_any_request() {
    let planned_on = simulator().await;
    let other = simulator().await;
    let dir = temp_dir("foreign");
    let plan_file = dir.join("plan.json");
    let plan = run(
        &env(&planned_on),
        &["plan", EXAMPLE, "-o", path(&plan_file)],
    )
    .await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);

    let apply = run(&env(&other), &["apply", path(&plan_file), "--yes"]).await;
    assert_eq!(apply.code, 1);
    let expected = format!(
        "this plan was made for {} (test instance), but the target is {} (test instance)",
        planned_on.addr(),
        other.addr()
    );
    assert!(apply.stderr.contains(&expected), "{}", apply.stderr);
    assert!(other.requests().is_empty(), "not a single request");

    // The same host with a live key is another target too.
    let live_env = [
        ("CLERK_SECRET_KEY", "sk_live_simulated"),
        ("CLERK_API_URL", planned_on.base_url()),
    ];
    let before = planned_on.requests().len();
    let live = run(&live_env, &["apply", path(&plan_file), "--yes"]).await;
    assert_eq!(live.code, 1);
    assert!(live.stderr.contains("(LIVE instance)"), "{}", live.stderr);
    assert_eq!(planned_on.requests().len(), before);

    // A plan made by an incompatible version.
    let text = std::fs::read_to_string(&plan_file).unwrap();
    let mut saved: Value = serde_json::from_str(&text).unwrap();
    saved["tool_version"] = Value::from("99.0.0");
    std::fs::write(&plan_file, saved.to_string()).unwrap();
    let old = run(&env(&planned_on), &["apply", path(&plan_file), "--yes"]).await;
    assert_eq!(old.code, 1);
    assert!(old.stderr.contains("clerk-rbac 99.0.0"), "{}", old.stderr);
    assert_eq!(planned_on.requests().len(), before);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn step_lines_arrive_while_the_apply_runs() {
    let sim = slow_simulator(Duration::from_millis(400)).await;
    let dir = temp_dir("lines");
    let file = dir.join("bulk.toml");
    std::fs::write(&file, many_permissions(60)).unwrap();
    let env: Vec<(String, String)> = env(&sim)
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let file_arg = path(&file).to_owned();
    let (running_at_first_line, code, stdout) = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut live = Live::start(&env, &["apply", &file_arg, "--yes"]);
        let first = live.wait_for_line(|l| l.starts_with("[ 1/60] done "));
        assert!(first.contains("create permission org:bulk:p"), "{first}");
        let running = live.is_running();
        let (code, stdout, _) = live.finish();
        (running, code, stdout)
    })
    .await
    .unwrap();
    assert!(
        running_at_first_line,
        "the first step line came while the apply was still running"
    );
    assert_eq!(code, 0, "{stdout}");
    let step_lines = stdout.lines().filter(|l| l.starts_with('[')).count();
    assert_eq!(step_lines, 60, "one line per step: {stdout}");
    assert!(stdout.contains("[60/60] done "));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Interrupts an apply of 60 slow creations with `signal` after its first step line; returns
/// the exit code, stdout and stderr.
async fn interrupted(sim: &Simulator, file: &str, signal: &'static str) -> (i32, String, String) {
    let env: Vec<(String, String)> = env(sim)
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let file = file.to_owned();
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut live = Live::start(&env, &["apply", file.as_str(), "--yes"]);
        live.wait_for_line(|l| l.starts_with("[ 1/60]"));
        live.signal(signal);
        live.finish()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigint_mid_apply_reports_what_is_left_and_a_second_apply_converges() {
    let sim = slow_simulator(Duration::from_millis(400)).await;
    let dir = temp_dir("sigint");
    let file = dir.join("bulk.toml");
    std::fs::write(&file, many_permissions(60)).unwrap();
    let (code, stdout, stderr) = interrupted(&sim, path(&file), "INT").await;
    assert_eq!(code, 130, "{stdout}\n{stderr}");
    assert!(stderr.contains("Interrupted (SIGINT)"), "{stderr}");
    assert!(stdout.contains("Apply interrupted: "), "{stdout}");
    assert!(stdout.contains("not started"), "{stdout}");
    assert!(stdout.contains("Run apply again to finish"), "{stdout}");
    let created = |sim: &Simulator| {
        sim.requests()
            .iter()
            .filter(|r| r.method == "POST" && r.status == Some(200))
            .count()
    };
    let done_before = created(&sim);
    assert!(done_before < 60, "the interrupt stopped it early");

    let again = run(&env(&sim), &["apply", path(&file), "--yes"]).await;
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert_eq!(
        created(&sim),
        60,
        "every permission created once, none twice"
    );
    assert_eq!(run(&env(&sim), &["check", path(&file)]).await.code, 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_mid_apply_gives_the_partial_report_in_json_then_converges() {
    let sim = slow_simulator(Duration::from_millis(400)).await;
    let dir = temp_dir("sigterm");
    let file = dir.join("bulk.toml");
    std::fs::write(&file, many_permissions(60)).unwrap();
    let (code, stdout, stderr) = interrupted(&sim, path(&file), "TERM").await;
    assert_eq!(code, 143, "{stdout}\n{stderr}");
    assert!(stderr.contains("Terminated (SIGTERM)"), "{stderr}");
    assert!(stdout.contains("Apply interrupted: "), "{stdout}");

    // With --json, the partial report is the JSON document.
    let json_sim = slow_simulator(Duration::from_millis(400)).await;
    let live = Live::start(&env(&json_sim), &["apply", path(&file), "--yes", "--json"]);
    // Step lines go to stderr with --json: wait for the simulator to see a creation instead.
    while !json_sim.requests().iter().any(|r| r.method == "POST") {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        live.signal("TERM");
        live.finish()
    })
    .await
    .unwrap();
    assert_eq!(code, 143, "{stdout}\n{stderr}");
    let document: Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    assert_eq!(document["report"]["interrupted"], true);
    assert!(
        document["report"]["counts"]["not_started"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(
        document["report"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["outcome"] == "not_started")
    );

    for sim in [&sim, &json_sim] {
        let again = run(&env(sim), &["apply", path(&file), "--yes"]).await;
        assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
        assert_eq!(run(&env(sim), &["check", path(&file)]).await.code, 0);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_apply_on_the_same_state_file_is_refused_while_the_first_runs() {
    let dir = temp_dir("lock");
    let state = dir.join("sim.json");
    let file = dir.join("bulk.toml");
    // More creations than the development rate limit allows in one window: the first run
    // waits on the rate limit for a while, with the heartbeat saying so.
    std::fs::write(&file, many_permissions(120)).unwrap();
    let (state_arg, file_arg) = (path(&state).to_owned(), path(&file).to_owned());
    let (second, code, stdout) = tokio::task::spawn_blocking(move || {
        let env = [("CLERK_RBAC_HEARTBEAT_SECS", "1")];
        let mut first = Live::start(&env, &["apply", &file_arg, "--yes", "--state", &state_arg]);
        first.wait_for_line(|l| l.starts_with("[  1/120]"));
        let second = Command::new(env!("CARGO_BIN_EXE_clerk-rbac"))
            .args(["apply", &file_arg, "--yes", "--state", &state_arg])
            .env_clear()
            .stdin(Stdio::null())
            .output()
            .unwrap();
        first.wait_for_line(|l| l.starts_with("... "));
        first.signal("INT");
        let (code, stdout, _) = first.finish();
        (second, code, stdout)
    })
    .await
    .unwrap();
    assert_eq!(second.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("is in use by another clerk-rbac run"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&second.stdout).is_empty());
    assert_eq!(code, 130, "{stdout}");
    assert!(
        stdout.contains("waiting on") && stdout.contains("rate limit"),
        "a heartbeat line while waiting: {stdout}"
    );
    // The lock goes with the run: the next one works, and finds the first run's work kept.
    let check = run(&[], &["check", path(&file), "--state", path(&state)]).await;
    assert_eq!(check.code, 2, "{}", check.stderr);
    assert!(
        !check.stdout.contains("org:bulk:p000"),
        "saved: {}",
        check.stdout
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn check_with_drift_has_a_headline_and_state_is_refused_where_unused() {
    let sim = simulator().await;
    let check = run(&env(&sim), &["check", EXAMPLE]).await;
    assert_eq!(check.code, 2);
    let mut lines = check.stdout.lines();
    assert_eq!(
        lines.next(),
        Some(format!("Target: {} (test instance)", sim.addr()).as_str())
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("Drift: the instance differs from "),
        "{}",
        check.stdout
    );
    for args in [
        &["demo", "--state", "x.json"][..],
        &["schema", "--state", "x.json"],
    ] {
        let refused = run(&[], args).await;
        assert_eq!(refused.code, 1, "{args:?}");
        assert!(
            refused.stderr.contains("--state is not used"),
            "{}",
            refused.stderr
        );
    }
    let demo = run(&[], &["demo"]).await;
    assert!(
        demo.stdout
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("Next: "),
        "{}",
        demo.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_json_keeps_the_key_order_of_plan_json() {
    let sim = simulator().await;
    let plan = run(&env(&sim), &["plan", EXAMPLE, "--json"]).await;
    let apply = run(&env(&sim), &["apply", EXAMPLE, "--yes", "--json"]).await;
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let top_keys = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("  \"") && !l.starts_with("   "))
            .map(|l| l.trim().split('"').nth(1).unwrap().to_owned())
            .collect()
    };
    assert_eq!(top_keys(&apply.stdout), ["target", "plan", "report"]);
    let plan_keys: Vec<String> = top_keys(&plan.stdout);
    assert_eq!(plan_keys[0], "target");
    // The plan inside apply's document lists its keys in plan --json's order.
    let nested: Vec<String> = apply
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("  \"plan\""))
        .skip(1)
        .take_while(|l| !l.starts_with("  }"))
        .filter(|l| l.starts_with("    \"") && !l.starts_with("     "))
        .map(|l| l.trim().split('"').nth(1).unwrap().to_owned())
        .collect();
    assert_eq!(nested, plan_keys[1..]);
    let report: Value = serde_json::from_str(&apply.stdout).unwrap();
    assert_eq!(report["report"]["interrupted"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn key_and_url_mistakes_say_what_a_cli_user_can_do() {
    let sim = simulator().await;
    let publishable = run(
        &[
            ("CLERK_SECRET_KEY", "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k"),
            ("CLERK_API_URL", sim.base_url()),
        ],
        &["plan", EXAMPLE],
    )
    .await;
    assert_eq!(publishable.code, 1);
    assert!(
        publishable
            .stderr
            .contains("CLERK_SECRET_KEY holds a publishable key"),
        "{}",
        publishable.stderr
    );
    assert!(!publishable.stderr.contains("Y2xlcmsuZXhhbXBsZS5jb20k"));
    assert!(sim.requests().is_empty(), "refused before sending it");

    let plain = run(
        &[
            ("CLERK_SECRET_KEY", sim.secret_key()),
            ("CLERK_API_URL", "http://api.example.com"),
        ],
        &["plan", EXAMPLE],
    )
    .await;
    assert_eq!(plain.code, 1);
    assert!(
        plain.stderr.contains("CLERK_API_URL uses plain http")
            && !plain.stderr.contains("allow_insecure_http"),
        "{}",
        plain.stderr
    );

    let wrong = run(
        &[
            ("CLERK_SECRET_KEY", "not_a_secret_key"),
            ("CLERK_API_URL", sim.base_url()),
        ],
        &["plan", EXAMPLE],
    )
    .await;
    assert_eq!(wrong.code, 1);
    assert!(
        wrong.stderr.contains("check that CLERK_SECRET_KEY"),
        "{}",
        wrong.stderr
    );
}

/// Runs the program in a pseudo-terminal (util-linux `script` allocates it), typing `input`;
/// returns the exit code and everything the terminal showed.
fn in_terminal(env: &[(&str, &str)], args: &[&str], input: &str) -> (i32, String) {
    use std::io::Write as _;
    let quote = |word: &str| format!("'{}'", word.replace('\'', r"'\''"));
    let command: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_clerk-rbac"))
        .chain(args.iter().copied())
        .map(quote)
        .collect();
    let mut child = Command::new("script")
        .args(["-qefc", &command.join(" "), "/dev/null"])
        .env_clear()
        .envs(env.iter().copied())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs the program in a pseudo-terminal");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let mut shown = String::from_utf8_lossy(&output.stdout).into_owned();
    shown.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.code().expect("exited"), shown)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_a_terminal_the_prompt_names_the_target_and_a_progress_bar_replaces_step_lines() {
    let sim = slow_simulator(Duration::from_millis(50)).await;
    let env_owned: Vec<(String, String)> = env(&sim)
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let target = format!("{} (test instance)", sim.addr());

    let env_no = env_owned.clone();
    let (code, shown) = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env_no
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        in_terminal(&env, &["apply", EXAMPLE], "no\n")
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "{shown}");
    assert!(
        shown.contains(&format!(
            "Apply these changes to {target}? Only 'yes' is accepted"
        )),
        "{shown}"
    );
    assert!(
        shown.contains("apply cancelled; nothing was changed"),
        "{shown}"
    );
    assert_eq!(changes_sent(&sim), 0);

    let (code, shown) = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env_owned
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        in_terminal(&env, &["apply", EXAMPLE], "yes\n")
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{shown}");
    // The terminal echoes what was typed ahead; the program's first line names the target.
    let first = shown
        .lines()
        .find(|l| !l.trim().is_empty() && l.trim() != "yes");
    assert_eq!(
        first.map(str::trim_end),
        Some(format!("Target: {target}").as_str()),
        "{shown}"
    );
    assert!(shown.contains("] 8/8 "), "the bar reaches the end: {shown}");
    assert!(
        !shown.contains("[1/8] done"),
        "step lines are for logs, not terminals: {shown}"
    );
    assert!(shown.contains("\x1b[32m"), "colour on a terminal");
    assert!(shown.contains("Apply complete: 8 done"), "{shown}");
    assert_eq!(changes_sent(&sim), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_ctrl_c_stops_at_once_and_frees_the_state_file() {
    let dir = temp_dir("twice");
    let state = dir.join("sim.json");
    let file = dir.join("bulk.toml");
    // Past the rate limit's first window, so that steps are still waiting when we interrupt.
    std::fs::write(&file, many_permissions(120)).unwrap();
    let (state_arg, file_arg) = (path(&state).to_owned(), path(&file).to_owned());
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        let mut live = Live::start(&[], &["apply", &file_arg, "--yes", "--state", &state_arg]);
        live.wait_for_line(|l| l.starts_with("[ 90/120]"));
        live.signal("INT");
        live.wait_for_error_line(|l| l.starts_with("Interrupted (SIGINT)"));
        live.signal("INT");
        live.finish()
    })
    .await
    .unwrap();
    assert_eq!(code, 130, "{stdout}\n{stderr}");
    assert!(stderr.contains("Stopped at once"), "{stderr}");
    assert!(
        !stdout.contains("Apply interrupted:"),
        "no waiting for the running steps, no report: {stdout}"
    );
    let lock = format!("{}.lock", path(&state));
    assert!(
        !std::path::Path::new(&lock).exists(),
        "the state file is free for the next run"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
