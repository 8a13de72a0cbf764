//! Issue #3, "After regen": a new response field or enum value needs no code change, only a
//! description of the new field (issue #10: a field cannot ship undocumented).
//!
//! Proved end to end rather than by reading `build.rs`: take the committed fragment as the spec,
//! add `Role.color` and the `RoleSetType` value `system`, run the real `cargo xtask regen` into a
//! throwaway copy of the client crate (refused until the copy's `openapi/descriptions.toml`
//! describes `Role.color`), then build and test that copy with cargo. The copy's test
//! (`tests/fixtures/new_values.rs`) only compiles if the generated code has the new field and the
//! new variant, so nothing in `src/` may need a hand edit for this test to pass; and the
//! generated field carries our description as its doc comment.
//!
//! Cost: the copy builds in the outer target directory, so it reuses every dependency the
//! workspace build has already compiled with the same features (see [`outer_target`]).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use xtask::descriptions::DESCRIPTIONS_FILE_NAME;
use xtask::regen::{FRAGMENT_PATH, workspace_root};

/// What the copy's descriptions file says about the new field once a reviewer has written it.
const COLOR_DESCRIPTION: &str = "The colour the role is shown in; a test-only field.";

/// The outer target directory (whatever `CARGO_TARGET_DIR` says): the parent of Cargo's
/// per-target temporary directory. The nested cargo shares it: `cargo test` releases the build
/// directory lock before it runs test binaries (cargo 1.95), so nothing waits on the outer run,
/// and only what differs from the workspace build gets compiled: reqwest without TLS, the crates
/// above it, and the copy. A directory of its own would cost a full dependency build on every
/// fresh checkout (about 90 s here) for no gain. Another cargo building in the same directory
/// at the same time only makes this one wait its turn ("Blocking waiting for file lock").
fn outer_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target directory")
        .to_path_buf()
}

/// A fresh, empty directory at a fixed place: a fixed crate path keeps the nested target
/// directory from collecting one clerk-rbac build per run.
fn scratch() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("regen-build");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copying {}: {e}", entry.path().display()));
        }
    }
}

fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The committed fragment as a spec, with what a newer Clerk spec might bring: one more `Role`
/// property and one more role-set type.
fn newer_spec() -> Value {
    let mut spec: Value = serde_json::from_str(&read(&workspace_root().join(FRAGMENT_PATH)))
        .expect("the committed fragment is JSON");
    let schemas = &mut spec["components"]["schemas"];
    let role = schemas["Role"]["properties"]
        .as_object_mut()
        .expect("the fragment has a Role schema with properties");
    assert!(
        role.get("color").is_none(),
        "Role.color is not new any more"
    );
    role.insert("color".into(), json!({ "type": "string" }));
    // regen hoists response enums into named schemas; RoleSet.type refers to this one (through
    // a one-member allOf that lets the property carry its description).
    assert_eq!(
        schemas["RoleSet"]["properties"]["type"]["allOf"][0]["$ref"],
        "#/components/schemas/RoleSetType"
    );
    let values = schemas["RoleSetType"]["enum"]
        .as_array_mut()
        .expect("the fragment has a RoleSetType enum");
    assert!(
        !values.contains(&json!("system")),
        "system is not new any more"
    );
    values.push(json!("system"));
    spec
}

/// The `OUT_DIR` of the copy's build script, from cargo's JSON messages (there may be other
/// clerk-rbac build directories in the shared target directory).
fn generated_dir(messages: &str) -> PathBuf {
    messages
        .lines()
        .filter(|line| line.starts_with('{'))
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| message["reason"] == "build-script-executed")
        .find(|message| {
            message["package_id"]
                .as_str()
                .is_some_and(|id| id.contains("clerk-rbac"))
        })
        .and_then(|message| message["out_dir"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo reported no clerk-rbac build script run:\n{messages}"))
}

/// The client crate's manifest, made standalone for a copy that has only the library, its build
/// script and `tests/new_values.rs`: its own workspace without members, and none of the targets
/// and dev-dependencies that belong to files not copied (the nested test needs only
/// `serde_json`, a normal dependency; wiremock and friends would only add to the cold build).
fn standalone_manifest(manifest: &str) -> String {
    let mut kept = String::new();
    let mut table = String::new();
    // Inside a multi-line `members = [` or `exclude = [` array that is being dropped.
    let mut in_dropped_array = false;
    for line in manifest.lines() {
        let trimmed = line.trim();
        if in_dropped_array {
            in_dropped_array = !trimmed.contains(']');
            continue;
        }
        if trimmed.starts_with('[') {
            table = trimmed.to_string();
        }
        let not_copied = table == "[dev-dependencies]"
            || table.starts_with("[dev-dependencies.")
            || table.ends_with(".dev-dependencies]")
            || ["[[bench]]", "[[example]]", "[[test]]"].contains(&table.as_str());
        if not_copied {
            continue;
        }
        if table == "[workspace]"
            && (trimmed.starts_with("members") || trimmed.starts_with("exclude"))
        {
            in_dropped_array = !trimmed.contains(']');
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    if !kept.lines().any(|line| line.trim() == "[workspace]") {
        kept.push_str("\n[workspace]\n");
    }
    kept
}

#[test]
fn a_new_response_field_and_enum_value_need_no_code_change() {
    let scratch = scratch();
    let root = workspace_root();

    // The copy starts with the committed fragment, so regen's report compares against it.
    let copy = scratch.join("clerk-rbac");
    fs::create_dir_all(copy.join("openapi")).unwrap();
    fs::create_dir_all(copy.join("tests")).unwrap();
    for file in ["Cargo.lock", "build.rs", FRAGMENT_PATH] {
        fs::copy(root.join(file), copy.join(file)).unwrap();
    }
    copy_dir(&root.join("src"), &copy.join("src"));
    let manifest = standalone_manifest(&read(&root.join("Cargo.toml")));
    assert!(
        !manifest.lines().any(|line| line.starts_with("members")),
        "{manifest}"
    );
    write(&copy.join("Cargo.toml"), &manifest);
    fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/new_values.rs"),
        copy.join("tests/new_values.rs"),
    )
    .unwrap();

    let descriptions = copy.join("openapi").join(DESCRIPTIONS_FILE_NAME);
    fs::copy(
        root.join("openapi").join(DESCRIPTIONS_FILE_NAME),
        &descriptions,
    )
    .unwrap();

    let spec = scratch.join("newer-spec.json");
    write(&spec, &serde_json::to_string_pretty(&newer_spec()).unwrap());
    let regen = || {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .arg("regen")
            .arg("--spec")
            .arg(&spec)
            .arg("--out")
            .arg(copy.join(FRAGMENT_PATH))
            .output()
            .expect("running the xtask binary")
    };

    // Until someone describes the new field, regen refuses, names it, and writes nothing.
    let refused = regen();
    assert_eq!(refused.status.code(), Some(2), "{}", describe(&refused));
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(
        error.contains("1 missing description(s)")
            && error.contains("\n  Role.color  [schemas.Role] properties.color = \"...\""),
        "{error}"
    );
    assert_eq!(
        read(&copy.join(FRAGMENT_PATH)),
        read(&root.join(FRAGMENT_PATH)),
        "a refused regen must leave the fragment alone"
    );

    let described = read(&descriptions).replacen(
        "[schemas.Role]\n",
        &format!("[schemas.Role]\nproperties.color = {COLOR_DESCRIPTION:?}\n"),
        1,
    );
    assert_ne!(
        described,
        read(&descriptions),
        "the [schemas.Role] table is gone"
    );
    write(&descriptions, &described);
    let regen = regen();
    assert!(regen.status.success(), "{}", describe(&regen));
    let report = String::from_utf8_lossy(&regen.stdout);
    assert!(
        report.contains("  ~ Role (object)\n      + property color: string\n"),
        "{report}"
    );
    assert!(
        report.contains("  ~ RoleSetType (string)\n      ~ enum +system\n"),
        "{report}"
    );
    assert!(
        report.contains("descriptions: 1 added, 0 removed, 0 changed")
            && report.contains("\n  + Role.color\n"),
        "{report}"
    );
    assert!(report.contains("Wrote "), "{report}");

    // Without default features there is no TLS backend to build (rustls would bring aws-lc);
    // offline because the workspace build has already fetched every crate the copy can need.
    let cargo = Command::new(env!("CARGO"))
        .current_dir(&copy)
        .args([
            "test",
            "--offline",
            "--no-default-features",
            "--test",
            "new_values",
        ])
        .args(["--color", "never", "--message-format", "json"])
        .arg("--target-dir")
        .arg(outer_target())
        .output()
        .expect("running cargo");
    assert!(cargo.status.success(), "{}", describe(&cargo));

    // The description reached the generated field as its doc comment.
    let generated =
        read(&generated_dir(&String::from_utf8_lossy(&cargo.stdout)).join("clerk_api.rs"));
    let doc_and_field = format!("///{COLOR_DESCRIPTION}\n");
    let at = generated
        .find(&doc_and_field)
        .unwrap_or_else(|| panic!("no doc comment {doc_and_field:?} in the generated code"));
    let next_item = generated[at + doc_and_field.len()..]
        .lines()
        .map(str::trim)
        .find(|line| !line.starts_with("#["));
    assert_eq!(
        next_item,
        Some("pub color: ::std::option::Option<::std::string::String>,")
    );
    // Passing is not enough: the three tests must have run (no filter, no empty binary).
    let stdout = String::from_utf8_lossy(&cargo.stdout);
    for test in [
        "the_new_role_property_is_a_typed_field",
        "the_new_role_set_type_is_a_known_variant",
        "a_value_newer_still_decodes_to_unknown",
    ] {
        assert!(stdout.contains(&format!("test {test} ... ok")), "{stdout}");
    }
    assert!(stdout.contains("test result: ok. 3 passed"), "{stdout}");
}

#[test]
fn the_standalone_manifest_keeps_the_package_and_drops_the_workspace_members() {
    let manifest = "\
[package]
name = \"clerk-rbac\"

[dependencies]
serde = \"1\"

[dev-dependencies]
wiremock = \"0.6\"

[[bench]]
name = \"client\"
harness = false

[workspace]
members = [
    \"xtask\",
    \"more\"]
exclude = [\"fuzz\"]
resolver = \"3\"

[profile.dev.build-override]
opt-level = 1
";
    assert_eq!(
        standalone_manifest(manifest),
        "\
[package]
name = \"clerk-rbac\"

[dependencies]
serde = \"1\"

[workspace]
resolver = \"3\"

[profile.dev.build-override]
opt-level = 1
"
    );
    assert!(standalone_manifest("[package]\n").ends_with("\n[workspace]\n"));
}
