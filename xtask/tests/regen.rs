//! End-to-end tests of `cargo xtask regen`: the real binary, run on small synthetic specs, writing
//! only below Cargo's per-target temporary directory.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;

use xtask::descriptions::{Descriptions, describe};
use xtask::normalize::{Provenance, normalize};
use xtask::regen::to_fragment_text;
use xtask::regen::{default_fragment_path, descriptions_beside};

const SPEC: &str = "tests/fixtures/mini-spec.yml";
const GOLDEN: &str = "tests/fixtures/mini-fragment.json";
/// Our descriptions of what regen makes of `SPEC`; regen carries them into `GOLDEN`.
const DESCRIPTIONS: &str = "tests/fixtures/mini-descriptions.toml";

fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A fresh directory for one test, holding only `descriptions.toml` (a copy of
/// [`DESCRIPTIONS`]), where regen looks for the descriptions of a fragment written there.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("xtask-regen")
        .join(test);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    fs::copy(fixture(DESCRIPTIONS), dir.join("descriptions.toml")).unwrap();
    dir
}

/// Replaces `from` by `to` in the scratch directory's descriptions, which must contain it.
fn edit_descriptions(dir: &Path, from: &str, to: &str) {
    let path = dir.join("descriptions.toml");
    let text = read(&path);
    assert!(text.contains(from), "{from:?} is not in the descriptions");
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// Runs the xtask binary from `cwd` (the scratch directory unless the test needs another).
fn xtask(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("running the xtask binary")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn spec_arg() -> String {
    fixture(SPEC).display().to_string()
}

#[test]
fn regen_writes_the_expected_fragment_and_a_second_run_changes_nothing() {
    let dir = scratch("idempotent");
    let out = dir.join("fragment.json");
    let out_arg = out.display().to_string();

    let first = xtask(&dir, &["regen", "--spec", &spec_arg(), "--out", &out_arg]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(read(&out), read(&fixture(GOLDEN)));
    assert!(
        stdout(&first)
            .contains("No current fragment to compare with: 6 operations and 12 schemas are new.")
    );
    assert!(stdout(&first).contains("Wrote "));

    let written_at = fs::metadata(&out).unwrap().modified().unwrap();
    let second = xtask(&dir, &["regen", "--spec", &spec_arg(), "--out", &out_arg]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(stdout(&second).contains("No changes to operations or schemas."));
    assert!(stdout(&second).contains("is up to date."));
    assert_eq!(read(&out), read(&fixture(GOLDEN)));
    // Not even rewritten with the same bytes: build.rs reruns on a newer modification time.
    assert_eq!(fs::metadata(&out).unwrap().modified().unwrap(), written_at);
}

#[test]
fn regen_reads_a_json_spec_too() {
    let dir = scratch("json-spec");
    // The fragment is itself a JSON spec: regenerating from it keeps everything but provenance.
    let spec = dir.join("spec.json");
    fs::copy(fixture(GOLDEN), &spec).unwrap();
    let out = dir.join("fragment.json");
    let run = xtask(
        &dir,
        &["regen", "--spec", "spec.json", "--out", "fragment.json"],
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let written = read(&out);
    assert!(written.contains("\"source\": \"spec.json\""), "{written}");
    let golden_without_info = |text: &str| text.split("\"info\"").next().unwrap().to_string();
    assert_eq!(
        golden_without_info(&written),
        golden_without_info(&read(&fixture(GOLDEN)))
    );
}

#[test]
fn check_passes_when_the_fragment_is_current() {
    let dir = scratch("check-pass");
    let out = dir.join("fragment.json");
    fs::copy(fixture(GOLDEN), &out).unwrap();
    let out_arg = out.display().to_string();

    let with_spec = xtask(
        &dir,
        &["regen", "--check", "--spec", &spec_arg(), "--out", &out_arg],
    );
    assert_eq!(
        with_spec.status.code(),
        Some(0),
        "{}{}",
        stdout(&with_spec),
        stderr(&with_spec)
    );
    assert!(stdout(&with_spec).contains("is up to date."));

    let offline = xtask(&dir, &["regen", "--check", "--out", &out_arg]);
    assert_eq!(
        offline.status.code(),
        Some(0),
        "{}{}",
        stdout(&offline),
        stderr(&offline)
    );
    assert!(stdout(&offline).contains("is up to date."));
}

#[test]
fn check_fails_with_a_report_and_a_diff_and_writes_nothing() {
    let dir = scratch("check-fail");
    let out = dir.join("fragment.json");
    // A committed fragment that predates a new property in the spec.
    let stale = read(&fixture(GOLDEN)).replace(
        "          \"id\": {\n            \"description\": \"Its ID.\",\n            \"type\": \"string\"\n          },\n          \"migration_status\"",
        "          \"migration_status\"",
    );
    assert_ne!(stale, read(&fixture(GOLDEN)), "the fixture edit must apply");
    fs::write(&out, &stale).unwrap();
    let out_arg = out.display().to_string();

    let run = xtask(
        &dir,
        &["regen", "--check", "--spec", &spec_arg(), "--out", &out_arg],
    );
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let text = stdout(&run);
    assert!(
        text.contains("  ~ RoleSet (object)\n      + property id: string, required\n"),
        "{text}"
    );
    assert!(
        text.contains("descriptions: 1 added, 0 removed, 0 changed (56 in all)\n  + RoleSet.id\n"),
        "{text}"
    );
    assert!(text.contains("(committed)\n+++ "), "{text}");
    assert!(text.contains("\n+          \"id\": {\n"), "{text}");
    assert!(
        text.contains("is not what `cargo xtask regen` would write"),
        "{text}"
    );
    assert_eq!(read(&out), stale);
}

#[test]
fn offline_check_rejects_a_fragment_that_is_not_normalized() {
    let dir = scratch("check-not-normalized");
    let out = dir.join("fragment.json");
    // Prose slipped in by hand, and a required list out of order.
    let edited = read(&fixture(GOLDEN))
        .replace(
            "    \"title\": \"Clerk Backend API: organization RBAC fragment\",",
            "    \"title\": \"Clerk Backend API: organization RBAC fragment\",\n    \"x-note\": \"hand-edited\",",
        )
        .replace("\"code\",\n          \"message\"", "\"message\",\n          \"code\"");
    fs::write(&out, &edited).unwrap();

    let run = xtask(
        &dir,
        &["regen", "--check", "--out", &out.display().to_string()],
    );
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let text = stdout(&run);
    assert!(text.contains("-    \"x-note\": \"hand-edited\","), "{text}");
    assert!(
        text.contains("-          \"message\",\n-          \"code\"\n"),
        "{text}"
    );
    assert_eq!(read(&out), edited);
}

#[test]
fn the_report_lists_operations_and_properties_that_changed() {
    let dir = scratch("report");
    let out = dir.join("fragment.json");
    fs::copy(fixture(GOLDEN), &out).unwrap();
    // A newer spec: one operation gone, one new, one changed; a property added and one changed.
    let newer = read(&fixture(SPEC))
        .replace(
            "    delete:\n      operationId: DeleteOrganizationPermission\n",
            "    put:\n      operationId: ReplaceOrganizationPermission\n",
        )
        .replace(
            "  /role_sets:\n    get:\n      operationId: ListRoleSets\n      parameters:\n        - $ref: '#/components/parameters/LimitParameter'\n",
            "  /role_sets:\n    post:\n      operationId: CreateRoleSet\n      responses:\n        '200':\n          $ref: '#/components/responses/RoleSets'\n    get:\n      operationId: ListRoleSets\n      parameters:\n",
        )
        .replace(
            "        deleted:\n          type: boolean\n",
            "        deleted:\n          type: boolean\n        slug:\n          type: string\n",
        )
        .replace("          enum: [initial, custom]\n", "          enum: [initial, custom, system]\n");
    fs::write(dir.join("newer.yml"), newer).unwrap();
    // The descriptions follow the spec, as a reviewer would make them follow.
    edit_descriptions(
        &dir,
        "[operations.DeleteOrganizationPermission]\nsummary = \"Delete a permission\"",
        "[operations.ReplaceOrganizationPermission]\nsummary = \"Replace a permission\"\n\n\
         [operations.CreateRoleSet]\nsummary = \"Create a role set\"",
    );
    edit_descriptions(
        &dir,
        "properties.deleted = \"Whether it was.\"",
        "properties.deleted = \"Whether it was.\"\nproperties.slug = \"Its slug.\"",
    );

    let run = xtask(
        &dir,
        &["regen", "--spec", "newer.yml", "--out", "fragment.json"],
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let text = stdout(&run);
    let expected = "\
operations: 2 added, 1 removed, 1 changed (7 in all)
  + CreateRoleSet: POST /role_sets
  + ReplaceOrganizationPermission: PUT /organization_permissions/{permission_id}
  - DeleteOrganizationPermission: DELETE /organization_permissions/{permission_id}
  ~ ListRoleSets: GET /role_sets
      - parameter query limit
schemas: 0 added, 0 removed, 2 changed (12 in all)
  ~ DeletedObject (object)
      + property slug: string
  ~ RoleSetType (string)
      ~ enum +system
descriptions: 3 added, 1 removed, 0 changed (58 in all)
  + CreateRoleSet
  + DeletedObject.slug
  + ReplaceOrganizationPermission
  - DeleteOrganizationPermission
";
    assert!(text.contains(expected), "{text}");
    assert!(text.contains("info: source mini-spec.yml"), "{text}");
    assert!(read(&out).contains("\"system\""));
}

// ---- descriptions ----

/// The fixture spec with a new `DeletedObject.slug` property and a new operation, as a newer
/// Clerk spec might bring them.
fn spec_with_new_things() -> String {
    let spec = read(&fixture(SPEC));
    let newer = spec
        .replace(
            "        deleted:\n          type: boolean\n",
            "        deleted:\n          type: boolean\n        slug:\n          type: string\n",
        )
        .replace(
            "  /role_sets:\n    get:\n",
            "  /role_sets:\n    post:\n      operationId: CreateRoleSet\n      responses: {}\n    get:\n",
        );
    assert_ne!(newer, spec, "the fixture edits must apply");
    newer
}

#[test]
fn a_new_field_without_a_description_is_refused_by_name_and_nothing_is_written() {
    let dir = scratch("missing-description");
    let out = dir.join("fragment.json");
    fs::copy(fixture(GOLDEN), &out).unwrap();
    fs::write(dir.join("newer.yml"), spec_with_new_things()).unwrap();

    let run = xtask(
        &dir,
        &["regen", "--spec", "newer.yml", "--out", "fragment.json"],
    );
    assert_eq!(run.status.code(), Some(2), "{}", stdout(&run));
    let err = stderr(&run);
    assert!(
        err.contains(
            "2 missing description(s): describe each in descriptions.toml, in our own words"
        ),
        "{err}"
    );
    assert!(
        err.contains("\n  DeletedObject.slug  [schemas.DeletedObject] properties.slug = \"...\"\n"),
        "{err}"
    );
    assert!(
        err.ends_with("\n  CreateRoleSet       [operations.CreateRoleSet] summary = \"...\"\n"),
        "{err}"
    );
    assert!(!err.contains("stale"), "{err}");
    // The report still says what is new, so the reviewer knows what to describe.
    assert!(
        stdout(&run).contains("  ~ DeletedObject (object)\n      + property slug: string\n"),
        "{}",
        stdout(&run)
    );
    assert_eq!(read(&out), read(&fixture(GOLDEN)));
}

#[test]
fn a_description_of_something_the_fragment_lacks_is_reported_as_stale() {
    let dir = scratch("stale-description");
    let out = dir.join("fragment.json");
    fs::copy(fixture(GOLDEN), &out).unwrap();
    // A typo in a property name, and an operation Clerk has dropped.
    edit_descriptions(&dir, "properties.weight =", "properties.wieght =");
    edit_descriptions(
        &dir,
        "[operations.ListRoleSets]",
        "[operations.ListRoles]\nsummary = \"List roles\"\n\n[operations.ListRoleSets]",
    );

    let run = xtask(
        &dir,
        &["regen", "--spec", &spec_arg(), "--out", "fragment.json"],
    );
    assert_eq!(run.status.code(), Some(2), "{}", stdout(&run));
    let err = stderr(&run);
    assert!(
        err.contains("1 missing description(s)")
            && err.contains(
                "\n  Permission.weight  [schemas.Permission] properties.weight = \"...\"\n"
            ),
        "{err}"
    );
    assert!(
        err.ends_with(
            "2 stale description(s), for things the fragment does not have: remove them or \
             correct their names:\n  \
             line 41: schemas.Permission.properties.wieght (the property Permission.wieght)\n  \
             line 103: operations.ListRoles.summary (the operation ListRoles)\n"
        ),
        "{err}"
    );
    assert_eq!(read(&out), read(&fixture(GOLDEN)));
}

#[test]
fn check_fails_when_the_fragment_does_not_carry_the_current_descriptions() {
    let dir = scratch("check-descriptions");
    let out = dir.join("fragment.json");
    fs::copy(fixture(GOLDEN), &out).unwrap();
    let out_arg = out.display().to_string();
    // Someone rewords a description and forgets to regenerate.
    edit_descriptions(&dir, "\"Its weight.\"", "\"How heavy it is, in grams.\"");

    for args in [
        vec!["regen", "--check", "--out", &out_arg],
        vec!["regen", "--check", "--spec", SPEC, "--out", &out_arg],
    ] {
        let run = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(1), "{args:?}: {}", stderr(&run));
        let text = stdout(&run);
        assert!(
            text.contains(
                "No changes to operations or schemas.\n\
                 descriptions: 0 added, 0 removed, 1 changed (56 in all)\n  ~ Permission.weight\n"
            ),
            "{args:?}: {text}"
        );
        assert!(
            text.contains("-            \"description\": \"Its weight.\",\n"),
            "{text}"
        );
        assert!(
            text.contains("+            \"description\": \"How heavy it is, in grams.\",\n"),
            "{text}"
        );
        assert_eq!(read(&out), read(&fixture(GOLDEN)));
    }

    // A description dropped from the fragment by hand is caught the same way.
    fs::copy(fixture(DESCRIPTIONS), dir.join("descriptions.toml")).unwrap();
    let edited =
        read(&fixture(GOLDEN)).replace("            \"description\": \"Its weight.\",\n", "");
    assert_ne!(edited, read(&fixture(GOLDEN)));
    fs::write(&out, &edited).unwrap();
    let run = xtask(&dir, &["regen", "--check", "--out", &out_arg]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(
        stdout(&run).contains("  + Permission.weight\n"),
        "{}",
        stdout(&run)
    );
}

#[test]
fn the_descriptions_file_can_be_named() {
    let dir = scratch("named-descriptions");
    fs::rename(dir.join("descriptions.toml"), dir.join("words.toml")).unwrap();
    let run = xtask(
        &dir,
        &[
            "regen",
            "--spec",
            &spec_arg(),
            "--out",
            "fragment.json",
            "--descriptions",
            "words.toml",
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert_eq!(read(&dir.join("fragment.json")), read(&fixture(GOLDEN)));
}

#[test]
fn a_missing_or_unusable_descriptions_file_is_a_clear_error() {
    let dir = scratch("no-descriptions");
    fs::remove_file(dir.join("descriptions.toml")).unwrap();
    let run = xtask(
        &dir,
        &["regen", "--spec", &spec_arg(), "--out", "fragment.json"],
    );
    assert_eq!(run.status.code(), Some(2), "{}", stdout(&run));
    let err = stderr(&run);
    assert!(
        err.starts_with("error: reading descriptions.toml: "),
        "{err}"
    );
    assert!(!dir.join("fragment.json").exists());

    let dir = scratch("bad-description");
    edit_descriptions(&dir, "\"Its weight.\"", "\"Between <1> and <9>.\"");
    let run = xtask(
        &dir,
        &["regen", "--spec", &spec_arg(), "--out", "fragment.json"],
    );
    assert_eq!(run.status.code(), Some(2), "{}", stdout(&run));
    assert!(
        stderr(&run).contains(
            "descriptions.toml has 1 unusable entry:\n  line 41: \
             schemas.Permission.properties.weight: has `<` outside backticks"
        ),
        "{}",
        stderr(&run)
    );
    assert!(!dir.join("fragment.json").exists());
}

/// Runs regen on a bad input and checks that it fails clearly and leaves the fragment alone.
fn assert_refused(test: &str, spec_text: Option<&str>, spec_arg: &str, message: &str) {
    let dir = scratch(test);
    let out = dir.join("fragment.json");
    fs::copy(fixture(GOLDEN), &out).unwrap();
    if let Some(text) = spec_text {
        fs::write(dir.join(spec_arg), text).unwrap();
    }
    let run = xtask(
        &dir,
        &["regen", "--spec", spec_arg, "--out", "fragment.json"],
    );
    assert_eq!(run.status.code(), Some(2), "{test}: {}", stdout(&run));
    let err = stderr(&run);
    assert!(err.starts_with("error: "), "{test}: {err}");
    assert!(
        err.contains(message),
        "{test}: expected {message:?} in {err}"
    );
    assert_eq!(
        read(&out),
        read(&fixture(GOLDEN)),
        "{test}: the fragment was touched"
    );
    let leftovers: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    // The fragment, its descriptions and the spec, if the test wrote one.
    assert!(leftovers.len() <= 3, "{test}: stray files {leftovers:?}");
}

#[test]
fn a_missing_spec_file_is_a_clear_error() {
    assert_refused(
        "missing",
        None,
        "no-such-spec.yml",
        "reading spec no-such-spec.yml: ",
    );
}

#[test]
fn invalid_yaml_is_a_clear_error() {
    assert_refused(
        "invalid-yaml",
        Some("openapi: 3.0.3\npaths:\n  /role_sets: {get: [\n"),
        "broken.yml",
        "broken.yml: invalid YAML: ",
    );
}

#[test]
fn a_spec_without_rbac_paths_is_a_clear_error() {
    assert_refused(
        "no-paths",
        Some(
            "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /users:\n    get: {responses: {}}\n",
        ),
        "users-only.yml",
        "users-only.yml: the spec has no operations under /organization_permissions, /organization_roles, /role_sets",
    );
}

#[test]
fn a_dangling_ref_is_a_clear_error() {
    assert_refused(
        "dangling",
        Some(concat!(
            "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n",
            "  /role_sets:\n    get:\n      responses:\n",
            "        '200': {$ref: '#/components/responses/RoleSets'}\n",
            "components: {responses: {}}\n",
        )),
        "dangling.yml",
        "dangling $ref \"#/components/responses/RoleSets\" at paths./role_sets.get.responses.200.$ref",
    );
}

#[test]
fn an_unreachable_url_is_a_clear_error() {
    // A port that was just free: nothing listens there, so the connection is refused at once.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/bapi/2030-01-01.yml");
    assert_refused(
        "unreachable",
        None,
        &url,
        &format!("downloading {url} failed: "),
    );
}

/// Serves `body` once over HTTP on the loopback interface with the given status line, and
/// returns the URL to fetch it from.
fn serve_once(status: &'static str, body: Vec<u8>) -> (String, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/bapi/2030-01-01.yml",
        listener.local_addr().unwrap()
    );
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buffer = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let read = stream.read(&mut buffer).unwrap();
            if read == 0 {
                break;
            }
            request.extend_from_slice(&buffer[..read]);
        }
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&body).unwrap();
    });
    (url, server)
}

#[test]
fn a_spec_url_is_downloaded_and_recorded_as_the_source() {
    let dir = scratch("url");
    let (url, server) = serve_once("200 OK", fs::read(fixture(SPEC)).unwrap());
    let run = xtask(&dir, &["regen", "--spec", &url, "--out", "fragment.json"]);
    server.join().unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let expected = read(&fixture(GOLDEN)).replace(
        "\"source\": \"mini-spec.yml\"",
        &format!("\"source\": \"{url}\""),
    );
    assert_eq!(read(&dir.join("fragment.json")), expected);
}

#[test]
fn an_http_error_status_is_a_clear_error() {
    let (url, server) = serve_once("404 Not Found", b"404: Not Found".to_vec());
    assert_refused("http-404", None, &url, "the server answered 404 Not Found");
    server.join().unwrap();
}

#[test]
fn check_finds_the_committed_fragment_from_any_directory() {
    let dir = scratch("any-cwd");
    let run = xtask(&dir, &["regen", "--check"]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        stdout(&run),
        stderr(&run)
    );
    assert!(
        stdout(&run).contains("openapi/clerk-rbac.json is up to date."),
        "{}",
        stdout(&run)
    );
}

#[test]
fn the_committed_fragment_is_a_fixed_point() {
    let path = default_fragment_path();
    let committed = read(&path);
    let fragment: serde_json::Value = serde_json::from_str(&committed).unwrap();
    let provenance = Provenance::recorded_in(&fragment).unwrap();
    let mut again = normalize(&fragment, &provenance).unwrap();
    let descriptions_path = descriptions_beside(&path);
    let descriptions = Descriptions::read(&descriptions_path, "descriptions.toml").unwrap();
    describe(&mut again, &descriptions, "descriptions.toml").unwrap();
    assert_eq!(to_fragment_text(&again), committed);
}
