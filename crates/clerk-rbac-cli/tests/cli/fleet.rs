//! `--fleet`: the verbs on many simulated instances, each target's key in its own variable
//! passed to the program: the summary table, check naming the drifted target, apply across
//! stages, show, diff, one failing target, and no secret ever printed (even by a server that
//! echoes the key back).

use std::path::Path;

use clerk_rbac::UpdateRole;
use clerk_rbac_simulator::Simulator;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{EXAMPLE, path, run, simulator, temp_dir};

/// Writes a fleet of `targets` (name, stage, api_url) following a copy of the example file;
/// `extra` goes at the end (overlays).
pub(super) fn fleet_file(dir: &Path, targets: &[(&str, &str, &str)], extra: &str) -> String {
    std::fs::copy(EXAMPLE, dir.join("rbac.toml")).unwrap();
    let mut text = String::new();
    for (name, stage, url) in targets {
        text.push_str(&format!(
            "[targets.{name}]\nstage = \"{stage}\"\nsecret_key_env = \"KEY_{}\"\napi_url = \"{url}\"\nfile = \"rbac.toml\"\n\n",
            name.to_uppercase()
        ));
    }
    text.push_str(extra);
    let file = dir.join("fleet.toml");
    std::fs::write(&file, text).unwrap();
    path(&file).to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_apply_check_show_and_diff_on_a_fleet_of_simulators() {
    let sims: Vec<Simulator> = futures_join(3).await;
    let names = ["dev", "acme", "globex"];
    let dir = temp_dir("fleet-loop");
    let fleet = fleet_file(
        &dir,
        &[
            ("dev", "development", sims[0].base_url()),
            ("acme", "production", sims[1].base_url()),
            ("globex", "production", sims[2].base_url()),
        ],
        "[targets.acme.overlay.roles.\"org:auditor\"]\nname = \"Auditor\"\npermissions = [\"org:invoices:read\"]\n",
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

    let plan = run(&env, &["plan", "--fleet", &fleet]).await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let header = plan.stdout.lines().next().unwrap();
    for column in [
        "TARGET",
        "STAGE",
        "CREATES",
        "CHANGES",
        "DELETES",
        "REQUESTS",
        "EST. TIME",
        "FINDINGS",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let row = |name: &str| {
        plan.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{}", plan.stdout))
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    // The example file creates 5 objects; acme's overlay adds a sixth.
    assert_eq!(row("dev")[..3], ["dev", "development", "5"]);
    assert_eq!(row("acme")[..3], ["acme", "production", "6"]);
    assert!(
        plan.stdout
            .contains("== acme (stage production, 127.0.0.1:"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("+ org:auditor"));
    let check = run(&env, &["check", "--fleet", &fleet, "--target", "dev"]).await;
    assert_eq!(check.code, 2, "{}", check.stderr);
    assert!(
        check.stdout.contains("Drift in 1 of 1 targets: dev."),
        "{}",
        check.stdout
    );

    let apply = run(&env, &["apply", "--fleet", &fleet, "--yes"]).await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert!(
        apply
            .stdout
            .contains("Fleet apply complete: 3 targets: 3 applied"),
        "{}",
        apply.stdout
    );
    // Stage order shows in the progress lines: dev ends before a production target starts.
    let lines: Vec<&str> = apply.stderr.lines().collect();
    let at = |line: &str| {
        lines
            .iter()
            .position(|l| *l == line)
            .unwrap_or_else(|| panic!("{line}: {lines:?}"))
    };
    assert!(at("dev: applied") < at("acme: applying"));
    assert!(at("dev: applied") < at("globex: applying"));

    let check = run(&env, &["check", "--fleet", &fleet]).await;
    assert_eq!(check.code, 0, "{}", check.stdout);
    assert!(
        check
            .stdout
            .contains("In sync: every target matches its description.")
    );

    // Drift on one instance of three: check names it, in text and JSON.
    let clerk = sims[2].client();
    let member = clerk
        .organization_roles()
        .list()
        .collect_all()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.key == "org:member")
        .unwrap();
    clerk
        .organization_roles()
        .update(&member.id, UpdateRole::new().description("edited by hand"))
        .await
        .unwrap();
    let check = run(&env, &["check", "--fleet", &fleet]).await;
    assert_eq!(check.code, 2);
    assert!(
        check.stdout.contains("Drift in 1 of 3 targets: globex."),
        "{}",
        check.stdout
    );
    let json = run(&env, &["check", "--fleet", &fleet, "--json"]).await;
    assert_eq!(json.code, 2);
    let document: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["drifted"], serde_json::json!(["globex"]));
    assert_eq!(document["targets"].as_array().unwrap().len(), 3);

    // A target's effective description, and two live targets compared.
    let show = run(&env, &["show", "--fleet", &fleet, "--target", "acme"]).await;
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(
        show.stdout.contains("[roles.\"org:auditor\"]"),
        "{}",
        show.stdout
    );
    let shown = run(
        &env,
        &["show", "--fleet", &fleet, "--target", "acme", "--json"],
    )
    .await;
    let shown: Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(shown[0]["target"], "acme");
    assert_eq!(
        shown[0]["desired"]["roles"]["org:auditor"]["name"],
        "Auditor"
    );
    let diff = run(&env, &["diff", "--fleet", &fleet, "acme", "globex"]).await;
    assert_eq!(diff.code, 2, "{}", diff.stderr);
    assert!(
        diff.stdout
            .starts_with("To make `globex` hold what `acme` holds:"),
        "{}",
        diff.stdout
    );
    assert!(diff.stdout.contains("+ org:auditor"), "{}", diff.stdout);
    assert!(diff.stdout.contains("~ org:member"), "{}", diff.stdout);
    assert!(
        diff.stdout.contains("\"edited by hand\" → "),
        "{}",
        diff.stdout
    );
}

pub(super) async fn futures_join(n: usize) -> Vec<Simulator> {
    let mut sims = Vec::new();
    for _ in 0..n {
        sims.push(simulator().await);
    }
    sims
}

#[tokio::test(flavor = "multi_thread")]
async fn one_failing_target_is_reported_and_the_others_still_run() {
    let sims = futures_join(2).await;
    let dir = temp_dir("fleet-one-fails");
    let fleet = fleet_file(
        &dir,
        &[
            ("a", "production", sims[0].base_url()),
            ("b", "production", sims[1].base_url()),
            ("c", "production", sims[1].base_url()),
        ],
        "",
    );
    // c's key is not set at all.
    let env = [
        ("KEY_A", sims[0].secret_key()),
        ("KEY_B", sims[1].secret_key()),
    ];
    let apply = run(&env, &["apply", "--fleet", &fleet, "--yes"]).await;
    assert_eq!(apply.code, 1, "{}", apply.stdout);
    assert!(
        apply.stdout.contains("KEY_C is not set"),
        "{}",
        apply.stdout
    );
    assert!(
        apply
            .stdout
            .contains("2 applied, 0 in sync, 0 incomplete, 1 failed"),
        "{}",
        apply.stdout
    );
    let json = run(&env, &["plan", "--fleet", &fleet, "--json"]).await;
    assert_eq!(json.code, 1);
    let document: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["failed"], serde_json::json!(["c"]));
    assert_eq!(document["targets"][2]["error"]["kind"], "configuration");
    let unknown = run(&env, &["plan", "--fleet", &fleet, "--target", "d"]).await;
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("no target `d`"),
        "{}",
        unknown.stderr
    );
}

/// A server that answers every request with an error quoting the bearer token it was sent, in
/// the message, the long message, the trace ID and a header.
async fn echo_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request);
                let token = text
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .starts_with("authorization:")
                            .then(|| l.split_whitespace().last().unwrap_or("").to_owned())
                    })
                    .unwrap_or_default();
                let body = format!(
                    "{{\"errors\":[{{\"message\":\"key {token} refused\",\"long_message\":\"The key {token} is not valid\",\"code\":\"authentication_invalid\",\"meta\":{{\"key\":\"{token}\"}}}}],\"clerk_trace_id\":\"{token}\"}}"
                );
                let answer = format!(
                    "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\nx-echo: {token}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_never_printed_even_when_a_server_echoes_them() {
    let echo = echo_server().await;
    let sim = simulator().await;
    let dir = temp_dir("fleet-secrets");
    let fleet = fleet_file(
        &dir,
        &[
            ("good", "development", sim.base_url()),
            ("echo", "production", &echo),
        ],
        "",
    );
    let echoed = "sk_live_Echo1234567890abcdef";
    let env = [("KEY_GOOD", sim.secret_key()), ("KEY_ECHO", echoed)];
    let good_tail = &sim.secret_key()["sk_test_".len()..];
    let runs = [
        run(&env, &["plan", "--fleet", &fleet]).await,
        run(&env, &["plan", "--fleet", &fleet, "--json"]).await,
        run(&env, &["check", "--fleet", &fleet]).await,
        run(&env, &["apply", "--fleet", &fleet, "--yes"]).await,
        run(&env, &["apply", "--fleet", &fleet, "--yes", "--json"]).await,
        run(&env, &["diff", "--fleet", &fleet, "good", "echo"]).await,
    ];
    for (i, output) in runs.iter().enumerate() {
        assert_eq!(
            output.code, 1,
            "run {i}: {}\n{}",
            output.stdout, output.stderr
        );
        for text in [&output.stdout, &output.stderr] {
            assert!(
                !text.contains("Echo1234567890"),
                "run {i} printed the echoed key:\n{text}"
            );
            assert!(!text.contains(good_tail), "run {i} printed a key:\n{text}");
        }
    }
    assert!(runs[0].stdout.contains("401"), "{}", runs[0].stdout);

    // A key written in the fleet file is refused before anything is sent, and not repeated.
    let literal = std::fs::read_to_string(&fleet).unwrap().replace(
        "secret_key_env = \"KEY_ECHO\"",
        "secret_key_env = \"sk_live_Literal99887766\"",
    );
    std::fs::write(&fleet, literal).unwrap();
    let refused = run(&env, &["plan", "--fleet", &fleet]).await;
    assert_eq!(refused.code, 1);
    assert!(
        refused
            .stderr
            .contains("a secret key is written in the fleet file"),
        "{}",
        refused.stderr
    );
    assert!(
        !refused.stderr.contains("Literal99887766"),
        "{}",
        refused.stderr
    );
    assert!(!refused.stdout.contains("Literal99887766"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unconfirmed_fleet_apply_sends_nothing_and_usage_errors_exit_1() {
    let sims = futures_join(2).await;
    let dir = temp_dir("fleet-unconfirmed");
    let fleet = fleet_file(
        &dir,
        &[
            ("dev", "development", sims[0].base_url()),
            ("prod", "production", sims[1].base_url()),
        ],
        "",
    );
    let env = [
        ("KEY_DEV", sims[0].secret_key()),
        ("KEY_PROD", sims[1].secret_key()),
    ];
    // stdin is not a terminal: nobody can confirm.
    let apply = run(&env, &["apply", "--fleet", &fleet]).await;
    assert_eq!(apply.code, 1);
    assert!(
        apply.stderr.contains("run again with --yes"),
        "{}",
        apply.stderr
    );
    for sim in &sims {
        assert_eq!(super::changes_sent(sim), 0, "nothing was changed");
    }
    // A fleet option without --fleet, or a positional file in fleet mode, is a usage error.
    let stray = run(&env, &["plan", "--fleet", &fleet, "rbac.toml"]).await;
    assert_eq!(stray.code, 1, "{}", stray.stderr);
    let help = run(&env, &["plan", "--fleet", &fleet, "--help"]).await;
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("--target <NAME>"), "{}", help.stdout);
    let top = run(&env, &["--help"]).await;
    assert!(top.stdout.contains("--fleet <FILE>"), "{}", top.stdout);
}
