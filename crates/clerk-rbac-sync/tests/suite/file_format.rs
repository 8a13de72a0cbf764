//! The desired-state file: the published JSON Schema, the example file, and export's output.

use std::path::Path;

use clerk_rbac_sync::{DesiredState, SyncError};
use serde_json::Value;

const SCHEMA_PATH: &str = "schema/clerk-rbac.schema.json";
const EXAMPLE_PATH: &str = "examples/rbac.toml";

fn repo_file(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// Checks TOML text against the published schema; the error lists what is wrong.
fn schema_check(text: &str) -> Result<(), String> {
    let schema: Value = serde_json::from_str(&DesiredState::json_schema()).unwrap();
    let document: Value =
        serde_json::to_value(toml::from_str::<toml::Table>(text).unwrap()).unwrap();
    let mut compiler = boon::Compiler::new();
    compiler
        .add_resource("urn:clerk-rbac:file", schema)
        .unwrap();
    let mut schemas = boon::Schemas::new();
    let index = compiler
        .compile("urn:clerk-rbac:file", &mut schemas)
        .unwrap();
    schemas
        .validate(&document, index)
        .map_err(|e| format!("{e:#}"))
}

#[test]
fn the_published_schema_is_up_to_date() {
    let generated = DesiredState::generated_json_schema();
    if std::env::var_os("CLERK_RBAC_UPDATE_SCHEMA").is_some() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(SCHEMA_PATH);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    assert!(
        repo_file(SCHEMA_PATH) == generated,
        "{SCHEMA_PATH} is stale: run `CLERK_RBAC_UPDATE_SCHEMA=1 cargo test -p clerk-rbac-sync --test suite file_format` \
         and commit it"
    );
}

#[test]
fn the_example_file_is_valid_for_the_schema_and_the_parser() {
    let text = repo_file(EXAMPLE_PATH);
    schema_check(&text).unwrap();
    let state = DesiredState::from_toml(&text, EXAMPLE_PATH).unwrap_or_else(|e| panic!("{e}"));
    assert!(state.role_sets.contains_key("role_set:default"));
    assert!(
        text.starts_with("#:schema ../schema/clerk-rbac.schema.json"),
        "editors find the schema"
    );
}

#[test]
fn the_schema_refuses_typos_bad_keys_and_wrong_types() {
    let cases = [
        ("[roles.\"org:a\"]\nnmae = \"A\"\n", "unknown field"),
        ("[rolez.\"org:a\"]\nname = \"A\"\n", "unknown table"),
        (
            "[permissions.\"org:sys_profile:x\"]\nname = \"S\"\n",
            "a system permission key",
        ),
        (
            "[permissions.\"invoices:read\"]\nname = \"S\"\n",
            "a key without org:",
        ),
        ("[roles.\"org:Admin\"]\nname = \"A\"\n", "upper case"),
        ("[roles.\"org:a\"]\nname = 3\n", "a number for a name"),
        ("[roles.\"org:a\"]\nname = \"\"\n", "an empty name"),
        (
            "[roles.\"org:a\"]\nname = \"A\"\npermissions = [\"read\"]\n",
            "a bad permission reference",
        ),
        (
            "[role_sets.\"role_set:x\"]\nname = \"X\"\ntype = \"primary\"\ndefault_role = \"org:a\"\ncreator_role = \"org:a\"\nroles = [\"org:a\"]\n",
            "a bad type",
        ),
        (
            "[role_sets.\"role_set:x\"]\nname = \"X\"\ndefault_role = \"org:a\"\ncreator_role = \"org:a\"\nroles = []\n",
            "no roles",
        ),
        (
            "[role_sets.\"role_set:x\"]\nname = \"X\"\ncreator_role = \"org:a\"\nroles = [\"org:a\"]\n",
            "no default role",
        ),
        (
            "[retired_role_sets.\"role_set:x\"]\nmove_members = {}\n",
            "a retirement without a destination",
        ),
    ];
    for (text, what) in cases {
        assert!(
            schema_check(text).is_err(),
            "the schema accepts {what}:\n{text}"
        );
        assert!(
            matches!(
                DesiredState::from_toml(text, "f.toml"),
                Err(SyncError::InvalidFile(_))
            ),
            "the parser accepts {what}:\n{text}"
        );
    }
}

#[test]
fn the_schema_and_the_parser_agree_on_permission_keys() {
    // The schema spells "not org:sys_" without look-ahead; check it against the parser.
    for key in [
        "org:a:b",
        "org:s:b",
        "org:sy:b",
        "org:sys:b",
        "org:sysx:b",
        "org:sy_s:b",
        "org:sys_:b",
        "org:sys_x:b",
        "org:s_ys:b",
        "org:systems:read",
    ] {
        let text = format!("[permissions.\"{key}\"]\nname = \"P\"\n");
        let schema = schema_check(&text).is_ok();
        let parser = DesiredState::from_toml(&text, "f.toml").is_ok();
        assert_eq!(schema, parser, "{key}: schema {schema}, parser {parser}");
        assert_eq!(parser, !key.starts_with("org:sys_"), "{key}");
    }
}

#[test]
fn the_schema_documents_every_field() {
    let schema: Value = serde_json::from_str(&DesiredState::json_schema()).unwrap();
    let mut undocumented = Vec::new();
    for (name, definition) in schema["definitions"].as_object().unwrap() {
        for (field, property) in definition["properties"].as_object().into_iter().flatten() {
            if property.get("description").is_none() {
                undocumented.push(format!("{name}.{field}"));
            }
        }
    }
    for (table, property) in schema["properties"].as_object().unwrap() {
        if property.get("description").is_none() {
            undocumented.push(table.clone());
        }
    }
    assert!(
        undocumented.is_empty(),
        "fields without a description: {undocumented:?}"
    );
}

#[test]
fn an_exported_file_reads_back_as_the_same_state() {
    let text = repo_file(EXAMPLE_PATH);
    let state = DesiredState::from_toml(&text, EXAMPLE_PATH).unwrap();
    let written = state.to_toml();
    schema_check(&written).unwrap();
    let reread = DesiredState::from_toml(&written, "exported.toml")
        .unwrap_or_else(|e| panic!("{e}\n{written}"));
    assert_eq!(reread, state);
    // Lists are one item per line, so that a pull request shows one line per change.
    assert!(
        written.contains(
            "permissions = [\n  \"org:sys_memberships:read\",\n  \"org:invoices:read\",\n"
        ),
        "{written}"
    );
}

#[test]
fn problems_name_the_file_line_and_key_in_their_message() {
    let err = DesiredState::from_toml(
        "[roles.\"org:a\"]\nname = \"A\"\npermissions = [\"org:nope:read\"]\n",
        "config/rbac.toml",
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("config/rbac.toml:3:16: roles.\"org:a\".permissions[0]: unknown permission `org:nope:read`"), "{message}");
    assert!(
        message.contains("  3 | permissions = [\"org:nope:read\"]"),
        "{message}"
    );
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let err = DesiredState::load("/nonexistent/rbac.toml").unwrap_err();
    assert!(matches!(err, SyncError::Io { .. }));
    assert!(
        err.to_string().starts_with("/nonexistent/rbac.toml: "),
        "{err}"
    );
}

#[test]
fn hostile_files_get_located_errors_and_never_a_panic() {
    let cases: &[(&str, &str)] = &[
        ("[[roles]]\nname = \"A\"\n", "roles[0]"),
        ("roles = 3\n", "roles"),
        (
            "[roles.\"org:a\"]\nname = \"A\"\npermissions = { read = true }\n",
            "roles.\"org:a\".permissions",
        ),
        (
            "[roles.\"org:a\"]\nname = \"A\"\npermissions = [1, 2]\n",
            "roles.\"org:a\".permissions[0]",
        ),
        (
            "[roles.\"org:é\\\"\\\\\"]\nname = \"A\"\n",
            "roles.\"org:é\\\"\\\\\"",
        ),
        (
            "[role_sets.\"role_set:x\"]\nname = \"X\"\ntype = 1979-05-27\ndefault_role = \"org:a\"\ncreator_role = \"org:a\"\nroles = [\"org:a\"]\n",
            "role_sets.\"role_set:x\".type",
        ),
        ("\u{0}\u{1}binary", ""),
        ("{\"roles\": {}}", ""),
    ];
    for (text, key) in cases {
        let err = DesiredState::from_toml(text, "hostile.toml").unwrap_err();
        let SyncError::InvalidFile(problems) = &err else {
            panic!("{err}")
        };
        let first = &problems.0[0];
        assert!(first.location.is_some(), "{text:?}: {err}");
        if !key.is_empty() {
            assert_eq!(first.key, *key, "{text:?}: {err}");
        }
        let _ = err.to_string();
    }
}

#[test]
fn a_file_that_is_not_utf8_is_an_error_naming_it_located_on_its_first_bad_byte() {
    let dir = std::env::temp_dir().join(format!("clerk-rbac-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("latin1.toml");
    std::fs::write(&file, b"[roles.\"org:a\"]\nname = \"Caf\xe9\"\n").unwrap();
    let err = DesiredState::load(&file).unwrap_err();
    assert!(err.to_string().contains("latin1.toml"), "{err}");
    // Located like every other problem of the file (it used to be a bare I/O error).
    let SyncError::InvalidFile(problems) = &err else {
        panic!("{err}");
    };
    let at = problems.0[0].location.as_ref().expect("located");
    assert_eq!((at.line, at.column), (2, 12), "{err}");
    assert!(problems.0[0].message.contains("0xe9"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_large_file_reads_quickly_enough_to_not_matter() {
    let mut text = String::new();
    for i in 0..5_000 {
        text.push_str(&format!(
            "[permissions.\"org:f{}:a{i}\"]\nname = \"P{i}\"\n\n",
            i % 50
        ));
    }
    for i in 0..500 {
        text.push_str(&format!(
            "[roles.\"org:r{i}\"]\nname = \"R{i}\"\npermissions = [{}]\n\n",
            (0..20)
                .map(|j| format!("\"org:f{}:a{}\"", (i * 20 + j) % 50, (i * 20 + j) % 5000))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // Every reference above is valid by construction, so the whole file must read.
    let state = DesiredState::from_toml(&text, "big.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((state.permissions.len(), state.roles.len()), (5_000, 500));
}
