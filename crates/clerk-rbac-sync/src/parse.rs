//! Reading a desired-state file: TOML syntax, then field names (checked against the published
//! JSON Schema, so that every typo is reported at once with a suggestion), then value types,
//! then the rules of `validate.rs`. Every problem names the file, line and key.

use std::{collections::HashMap, ops::Range, path::Path, sync::Arc, sync::OnceLock};

use serde::Deserialize;
use serde_json::Value;
use toml::{
    Spanned,
    de::{DeTable, DeValue},
};

use super::{
    error::SyncError,
    file::DesiredState,
    keys::closest,
    problem::{Location, Problem, Problems},
    source::{Source, index_path, push_key},
    validate,
};

impl DesiredState {
    /// Reads a desired-state file's text; `path` names the file in problems.
    ///
    /// Fails with [`SyncError::InvalidFile`] listing every problem found, each with the file,
    /// line, column and key: TOML syntax, unknown fields (with a suggestion), wrong value types,
    /// bad key shapes, unknown or duplicate references, system permissions defined as managed
    /// permissions, and the other rules of the file format (`docs/rbac-as-code.md`).
    ///
    /// ```
    /// use clerk_rbac_sync::DesiredState;
    /// let text = r#"
    /// [permissions."org:invoices:read"]
    /// name = "Read invoices"
    ///
    /// [roles."org:accountant"]
    /// name = "Accountant"
    /// permissions = ["org:invoices:read"]
    /// "#;
    /// let state = DesiredState::from_toml(text, "rbac.toml")?;
    /// assert_eq!(state.roles["org:accountant"].permissions, ["org:invoices:read"]);
    ///
    /// let typo = DesiredState::from_toml("[roles.\"org:a\"]\nnmae = \"A\"\n", "rbac.toml");
    /// let message = typo.unwrap_err().to_string();
    /// assert!(message.contains("rbac.toml:2:1"), "{message}");
    /// assert!(message.contains("did you mean `name`?"), "{message}");
    /// # Ok::<(), clerk_rbac_sync::SyncError>(())
    /// ```
    pub fn from_toml(text: &str, path: &str) -> Result<Self, SyncError> {
        parse(text, path).map_err(|problems| SyncError::InvalidFile(problems.sorted()))
    }

    /// Reads and checks the desired-state file at `path`; see [`from_toml`](Self::from_toml).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, SyncError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| SyncError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let name = path.display().to_string();
        let text = String::from_utf8(bytes).map_err(|e| not_utf8(&name, &e))?;
        Self::from_toml(&text, &name)
    }
}

/// The problem of a file that is not UTF-8, located on its first bad byte.
fn not_utf8(path: &str, error: &std::string::FromUtf8Error) -> SyncError {
    let bytes = error.as_bytes();
    let valid = error.utf8_error().valid_up_to();
    let before = String::from_utf8_lossy(&bytes[..valid]);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = bytes[valid..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| valid + i);
    SyncError::InvalidFile(Problems(vec![Problem {
        location: Some(Location {
            path: path.to_owned(),
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            line_text: String::from_utf8_lossy(
                &bytes[valid - (before.len() - line_start)..line_end],
            )
            .trim_end_matches('\r')
            .to_owned(),
        }),
        key: String::new(),
        message: format!(
            "the file is not UTF-8 text: byte 0x{:02x} here cannot start a character",
            bytes[valid]
        ),
        help: Some("save the file as UTF-8".into()),
    }]))
}

fn parse(text: &str, path: &str) -> Result<DesiredState, Problems> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut source = Source {
        path: path.to_owned(),
        text: text.to_owned(),
        spans: HashMap::new(),
    };
    let table = match DeTable::parse(text) {
        Ok(table) => table,
        Err(e) => {
            let location = e.span().map(|span| source.location(span.start));
            // Name what the error points at (a duplicate key, say), when it is short.
            let at = e
                .span()
                .and_then(|span| text.get(span))
                .map(str::trim)
                .filter(|t| !t.is_empty() && t.len() <= 80 && !t.contains('\n'));
            return Err(Problems(vec![Problem {
                location,
                key: String::new(),
                message: match at {
                    Some(at) => format!("not valid TOML: {} (at `{at}`)", first_line(e.message())),
                    None => format!("not valid TOML: {}", first_line(e.message())),
                },
                help: None,
            }]));
        }
    };
    index_table(&mut source.spans, "", table.get_ref());

    // Unknown fields are reported, then left out, so that the rest of the file is still
    // checked and every problem is reported at once.
    let mut table = table;
    let mut unknown = Vec::new();
    let schema = schema();
    unknown_fields(
        &|offset| source.location(offset),
        schema,
        schema,
        "",
        table.get_mut(),
        &mut unknown,
    );

    let (mut state, missing, filled) =
        match DesiredState::deserialize(toml::de::Deserializer::from(table)) {
            Ok(state) => (state, Vec::new(), Vec::new()),
            // A field left out may be a typo of a required one: its suggestion says it all.
            Err(_) if !unknown.is_empty() => return Err(Problems(unknown)),
            Err(e) => recover(text, &source, e)?,
        };
    state.source = Some(Arc::new(source));
    let mut problems = unknown;
    problems.extend(missing);
    // What the stand-ins for missing fields break is not news.
    problems.extend(
        validate::check(&state)
            .into_iter()
            .filter(|p| !filled.iter().any(|f| p.key.starts_with(f.as_str()))),
    );
    if problems.is_empty() {
        Ok(state)
    } else {
        Err(Problems(problems))
    }
}

/// The problem a deserialization error makes, and the missing required field it names (with
/// the key path of its table), if that is what it is.
fn type_problem(source: &Source, e: &toml::de::Error) -> (Problem, Option<(String, String)>) {
    let span = e.span();
    let key = span
        .as_ref()
        .and_then(|span| source.path_of(span))
        .unwrap_or_default()
        .to_owned();
    let location = span.map(|span| source.location(span.start));
    let message = first_line(e.message()).to_owned();
    let field = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
        .map(|field| (key.clone(), field.to_owned()));
    let problem = Problem {
        location,
        key,
        message,
        help: None,
    };
    (problem, field)
}

/// A file missing required fields: each is reported, then given a stand-in so that the rest
/// of the file is still read and checked (a missing name must not hide a rename conflict
/// elsewhere). Returns the state with stand-ins, the problems, and the key paths filled.
fn recover(
    text: &str,
    source: &Source,
    first: toml::de::Error,
) -> Result<(DesiredState, Vec<Problem>, Vec<String>), Problems> {
    let mut problems = Vec::new();
    let mut filled: Vec<(String, String)> = Vec::new();
    let mut error = first;
    // Bounded: each round fills one more field.
    for _ in 0..200 {
        let (problem, field) = type_problem(source, &error);
        problems.push(problem);
        let Some((table_path, field)) = field.filter(|(_, f)| placeholder(f).is_some()) else {
            return Err(Problems(problems));
        };
        if filled.contains(&(table_path.clone(), field.clone())) {
            return Err(Problems(problems));
        }
        filled.push((table_path, field));
        let Ok(mut table) = DeTable::parse(text) else {
            return Err(Problems(problems));
        };
        for (path, field) in &filled {
            if !fill(table.get_mut(), "", path, field) {
                return Err(Problems(problems));
            }
        }
        match DesiredState::deserialize(toml::de::Deserializer::from(table)) {
            Ok(state) => {
                let filled = filled
                    .into_iter()
                    .map(|(path, field)| {
                        let mut path = path;
                        push_key(&mut path, &field);
                        path
                    })
                    .collect();
                return Ok((state, problems, filled));
            }
            Err(e) => error = e,
        }
    }
    Err(Problems(problems))
}

/// A stand-in value for a required field, or `None` for a field this does not know.
fn placeholder(field: &str) -> Option<DeValue<'static>> {
    match field {
        "name" | "default_role" | "creator_role" | "into" => {
            Some(DeValue::String(std::borrow::Cow::Borrowed("")))
        }
        "type" => Some(DeValue::String(std::borrow::Cow::Borrowed("custom"))),
        "roles" | "permissions" => Some(DeValue::Array(toml::de::DeArray::default())),
        _ => None,
    }
}

/// Adds a stand-in for `field` to the table at key path `path`; false if there is none.
fn fill(table: &mut DeTable<'_>, prefix: &str, path: &str, field: &str) -> bool {
    if prefix == path {
        let Some(value) = placeholder(field) else {
            return false;
        };
        let span = 0..0;
        table.insert(
            Spanned::new(span.clone(), std::borrow::Cow::Owned(field.to_owned())),
            Spanned::new(span, value),
        );
        return true;
    }
    for (key, value) in table.iter_mut() {
        let mut child = prefix.to_owned();
        push_key(&mut child, key.get_ref());
        if (path == child || path.starts_with(&format!("{child}.")))
            && let DeValue::Table(inner) = value.get_mut()
            && fill(inner, &child, path, field)
        {
            return true;
        }
    }
    false
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or(message).trim()
}

/// Records the spans of every key and array item under `prefix`.
fn index_table(
    spans: &mut HashMap<String, (Range<usize>, Range<usize>)>,
    prefix: &str,
    table: &DeTable<'_>,
) {
    for (key, value) in table {
        let mut path = prefix.to_owned();
        push_key(&mut path, key.get_ref());
        spans.insert(path.clone(), (key.span(), value.span()));
        index_value(spans, &path, value);
    }
}

fn index_value(
    spans: &mut HashMap<String, (Range<usize>, Range<usize>)>,
    path: &str,
    value: &Spanned<DeValue<'_>>,
) {
    match value.get_ref() {
        DeValue::Table(table) => index_table(spans, path, table),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let item_path = index_path(path, i);
                spans.insert(item_path.clone(), (item.span(), item.span()));
                index_value(spans, &item_path, item);
            }
        }
        _ => {}
    }
}

/// The file format's JSON Schema, parsed once.
fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::from_str(&DesiredState::json_schema())
            .unwrap_or_else(|e| unreachable!("the generated schema is JSON: {e}"))
    })
}

/// Follows a `$ref` to `#/definitions/...`, and into the non-null branch of an optional.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return reference
            .strip_prefix("#/definitions/")
            .and_then(|name| root["definitions"].get(name))
            .map_or(schema, |target| resolve(root, target));
    }
    for combinator in ["anyOf", "allOf", "oneOf"] {
        if let Some(branches) = schema.get(combinator).and_then(Value::as_array)
            && let Some(branch) = branches
                .iter()
                .find(|b| b.get("type") != Some(&"null".into()))
        {
            return resolve(root, branch);
        }
    }
    schema
}

/// Reports every key the schema does not allow, with the closest allowed name, and removes it
/// so that the rest of the file is still checked (the desired-state file and the fleet file).
pub(crate) fn unknown_fields(
    locate: &dyn Fn(usize) -> Location,
    root: &Value,
    schema: &Value,
    prefix: &str,
    table: &mut DeTable<'_>,
    problems: &mut Vec<Problem>,
) {
    let schema = resolve(root, schema);
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties");
    let mut unknown = Vec::new();
    for (key, value) in table.iter_mut() {
        let mut path = prefix.to_owned();
        push_key(&mut path, key.get_ref());
        let child = match (
            properties.and_then(|p| p.get(key.get_ref().as_ref())),
            additional,
        ) {
            (Some(child), _) => child,
            (None, Some(Value::Bool(false))) => {
                let allowed = properties
                    .into_iter()
                    .flat_map(|p| p.keys().map(String::as_str));
                let help = closest(key.get_ref(), allowed)
                    .map(|suggestion| format!("did you mean `{suggestion}`?"))
                    .or_else(|| {
                        let names: Vec<String> = properties
                            .into_iter()
                            .flat_map(|p| p.keys().map(|k| format!("`{k}`")))
                            .collect();
                        (!names.is_empty()).then(|| format!("expected one of {}", names.join(", ")))
                    });
                problems.push(Problem {
                    location: Some(locate(key.span().start)),
                    key: path,
                    message: format!("unknown field `{}`", key.get_ref()),
                    help,
                });
                unknown.push(key.clone());
                continue;
            }
            (None, Some(child)) if child.is_object() => child,
            _ => continue,
        };
        if let DeValue::Table(inner) = value.get_mut() {
            unknown_fields(locate, root, child, &path, inner, problems);
        }
    }
    for key in &unknown {
        table.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::key_path;

    fn problems(text: &str) -> Vec<Problem> {
        match parse(text, "rbac.toml") {
            Ok(_) => panic!("expected problems in:\n{text}"),
            Err(problems) => problems.sorted().0,
        }
    }

    #[test]
    fn key_paths_quote_only_what_toml_needs_quoted() {
        assert_eq!(
            key_path(&["roles", "org:admin", "name"]),
            "roles.\"org:admin\".name"
        );
        assert_eq!(key_path(&["role_sets"]), "role_sets");
        assert_eq!(
            index_path("roles.\"org:a\".permissions", 2),
            "roles.\"org:a\".permissions[2]"
        );
    }

    #[test]
    fn a_syntax_error_names_its_line() {
        let found = problems("[roles.\"org:a\"]\nname = \"A\nx = 1\n");
        assert_eq!(found.len(), 1);
        let at = found[0].location.as_ref().expect("located");
        assert_eq!((at.path.as_str(), at.line), ("rbac.toml", 2));
        assert!(
            found[0].message.starts_with("not valid TOML"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn every_unknown_field_is_reported_with_a_suggestion() {
        let text = "\
[roles.\"org:a\"]
nmae = \"A\"
permisions = []

[role_set.\"role_set:x\"]
name = \"X\"
";
        let found = problems(text);
        assert_eq!(found.len(), 3, "{found:#?}");
        assert_eq!(found[0].key, "roles.\"org:a\".nmae");
        assert_eq!(found[0].location.as_ref().unwrap().line, 2);
        assert_eq!(found[0].help.as_deref(), Some("did you mean `name`?"));
        assert_eq!(
            found[1].help.as_deref(),
            Some("did you mean `permissions`?")
        );
        assert_eq!(found[2].key, "role_set");
        assert_eq!(found[2].location.as_ref().unwrap().line, 5);
        assert_eq!(found[2].help.as_deref(), Some("did you mean `role_sets`?"));
    }

    #[test]
    fn an_unknown_field_far_from_every_name_lists_the_names() {
        let found = problems("[permissions.\"org:a:b\"]\nname = \"B\"\ncolour = \"red\"\n");
        assert_eq!(
            found[0].help.as_deref(),
            Some("expected one of `description`, `name`, `renamed_from`")
        );
    }

    #[test]
    fn unknown_fields_in_inline_tables_are_found_too() {
        let text =
            "retired_role_sets = { \"role_set:old\" = { into = \"role_set:new\", moves = {} } }\n";
        let found = problems(text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key, "retired_role_sets.\"role_set:old\".moves");
        assert_eq!(
            found[0].help.as_deref(),
            Some("expected one of `into`, `move_members`")
        );
    }

    #[test]
    fn a_wrong_type_names_the_key_and_line() {
        let found = problems("\n[roles.\"org:a\"]\nname = 3\n");
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].key, "roles.\"org:a\".name");
        assert_eq!(found[0].location.as_ref().unwrap().line, 3);
        assert!(found[0].message.contains("string"), "{}", found[0].message);
    }

    #[test]
    fn a_missing_field_names_the_table() {
        let found = problems("[permissions.\"org:a:b\"]\ndescription = \"d\"\n");
        assert_eq!(found[0].key, "permissions.\"org:a:b\"");
        assert!(
            found[0].message.contains("missing field `name`"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn a_bad_role_set_type_is_located() {
        let text = "[roles.\"org:a\"]\nname = \"A\"\n\n[role_sets.\"role_set:x\"]\nname = \"X\"\ntype = \"default\"\ndefault_role = \"org:a\"\ncreator_role = \"org:a\"\nroles = [\"org:a\"]\n";
        let found = problems(text);
        assert_eq!(found[0].key, "role_sets.\"role_set:x\".type");
        assert_eq!(found[0].location.as_ref().unwrap().line, 6);
    }

    #[test]
    fn duplicate_tables_are_refused_by_toml_itself() {
        let found = problems("[roles.\"org:a\"]\nname = \"A\"\n[roles.\"org:a\"]\nname = \"B\"\n");
        assert_eq!(found[0].location.as_ref().unwrap().line, 3);
        assert!(
            found[0].message.contains("duplicate key (at `\"org:a\"`)"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let found = problems("[roles.\"org:a\"]\nname = \"é\"\nnmae = 1\n");
        assert_eq!(found[0].location.as_ref().unwrap().column, 1);
        let found = problems("[roles.\"org:a\"]\nname = \"é\" ; x = 1\n");
        assert_eq!(found[0].location.as_ref().unwrap().line, 2);
    }

    #[test]
    fn unknown_fields_and_broken_rules_are_reported_together() {
        let found = problems(
            "[roles.\"org:a\"]\nname = \"A\"\ncolour = \"red\"\npermissions = [\"org:nope:x\"]\n",
        );
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].message.starts_with("unknown field `colour`"));
        assert!(
            found[1]
                .message
                .starts_with("unknown permission `org:nope:x`")
        );
    }

    #[test]
    fn a_typo_of_a_required_field_is_reported_once() {
        let found = problems("[roles.\"org:a\"]\nnmae = \"A\"\n");
        assert_eq!(found.len(), 1, "no extra 'missing field': {found:#?}");
    }

    #[test]
    fn a_byte_order_mark_is_ignored() {
        assert!(parse("\u{feff}[permissions.\"org:a:b\"]\nname = \"B\"\n", "f").is_ok());
    }

    #[test]
    fn an_empty_file_manages_nothing() {
        let state = parse("# nothing yet\n", "f").unwrap();
        assert_eq!(state, DesiredState::new());
    }
}
