//! `clerk-rbac simulator` as a process: the base URL first, served until SIGTERM or SIGINT,
//! its state in the same file the other commands keep their embedded simulator in.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, ExitStatus, Stdio},
};

use clerk_rbac::{Clerk, CreateRole};

use super::{EXAMPLE, path, run, temp_dir};

/// A key for the process's clients; it must never show in the output.
const KEY: &str = "sk_test_processTestKey0123456789";

struct Process {
    child: Child,
    url: String,
}

fn start(args: &[&str]) -> Process {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clerk-rbac"))
        .arg("simulator")
        .args(args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the program starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    Process {
        child,
        url: line.trim_end().to_owned(),
    }
}

/// Sends `signal` (TERM, INT) and waits for the exit; returns the status and stderr.
fn stop(mut process: Process, signal: &str) -> (ExitStatus, String) {
    let sent = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(process.child.id().to_string())
        .status()
        .unwrap();
    assert!(sent.success());
    let status = process.child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut process.child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status, stderr)
}

fn client(url: &str) -> Clerk {
    Clerk::builder()
        .base_url(url)
        .secret_key(KEY)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn it_serves_the_state_file_the_other_commands_keep_and_saves_it_at_sigterm() {
    let dir = temp_dir("process");
    let state = dir.join("sim.json");
    let state = path(&state);
    let apply = run(&[], &["apply", EXAMPLE, "--yes", "--state", state]).await;
    assert_eq!(apply.code, 0, "{}", apply.stderr);

    let process = start(&["--port", "0", "--state", state, "--no-rate-limit"]);
    assert!(
        process.url.starts_with("http://127.0.0.1:"),
        "{}",
        process.url
    );
    let clerk = client(&process.url);
    assert!(clerk.role_sets().get("role_set:finance").await.is_ok());
    clerk
        .organization_roles()
        .create(CreateRole::new("From the process", "org:from_process"))
        .await
        .unwrap();
    let (status, stderr) = stop(process, "TERM");
    assert!(status.success(), "{status}: {stderr}");
    assert!(!stderr.contains(KEY));

    // The next command sees what the process did.
    let export = run(&[], &["export", "--state", state]).await;
    assert!(
        export.stdout.contains("org:from_process"),
        "{}",
        export.stdout
    );

    // Options in any order; SIGINT stops it as cleanly.
    let process = start(&["--state", state, "--seed", "3"]);
    let roles = client(&process.url)
        .organization_roles()
        .list()
        .limit(100)
        .send()
        .await
        .unwrap();
    assert!(roles.data.iter().any(|r| r.key == "org:from_process"));
    let (status, _) = stop(process, "INT");
    assert!(status.success(), "{status}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn its_usage_is_its_own_and_mistakes_exit_1() {
    let help = run(&[], &["simulator", "--help"]).await;
    assert_eq!(help.code, 0);
    assert!(
        help.stdout.contains("--instance-per-key"),
        "{}",
        help.stdout
    );
    assert!(help.stdout.contains("--admin-token"));
    let bad = run(&[], &["simulator", "--port", "http"]).await;
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("--port takes a number"),
        "{}",
        bad.stderr
    );
    let listed = run(&[], &["--help"]).await;
    assert!(listed.stdout.contains("simulator"), "{}", listed.stdout);
}
