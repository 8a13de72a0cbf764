//! Rule 8: our own descriptions, carried into the fragment.
//!
//! Rule 3 strips every word of Clerk's prose, so that nothing of it ships in our docs. What
//! replaces it is written by us in `openapi/descriptions.toml`, next to the fragment: one entry
//! for every schema, schema property, operation and parameter. [`Descriptions::parse`] reads that
//! file; [`describe`] writes each entry where progenitor and typify turn it into a doc comment,
//! and fails, naming them, when the fragment has something without an entry ([`Problems`]'s
//! `missing`) or the file has an entry for something the fragment lacks (`stale`), so that a new
//! field cannot ship undocumented and the file cannot rot.
//!
//! The file's layout (keys are the fragment's own names):
//!
//! ```toml
//! [schemas.Role]
//! description = "What a role is."
//! properties.created_at = "When it was created, in Unix milliseconds."
//!
//! [operations.ListOrganizationRoles]
//! summary = "One line."
//! description = "Optional: more about what the call does."
//! parameters.query = "What the query parameter filters on."
//!
//! [operations.CreateOrganizationRole]
//! summary = "..."
//! body = "What the request body carries (for operations that take one)."
//!
//! [parameters.LimitParameter]        # a parameter shared through components/parameters
//! description = "..."
//!
//! [paths."/role_sets/{id}"]          # a parameter declared once for every operation of a path
//! parameters.id = "..."
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde_json::{Map, Value, json};
use toml::de::{DeTable, DeValue};

use crate::error::{Error, Result};
use crate::openapi::operations;

/// The descriptions file's name; it sits in the fragment's directory.
pub const DESCRIPTIONS_FILE_NAME: &str = "descriptions.toml";

/// A description's place in the descriptions file: its keys from the top, such as
/// `["schemas", "Role", "properties", "created_at"]`.
pub type Key = Vec<String>;

/// The descriptions file, read and checked for form (not yet against a fragment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptions {
    entries: BTreeMap<Key, Entry>,
}

/// One description and where the file has it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    text: String,
    /// 1-based line of the value, for messages.
    line: usize,
}

impl Descriptions {
    /// Reads and parses a descriptions file; messages name it as `shown`.
    pub fn read(path: &Path, shown: &str) -> Result<Descriptions> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(format!(
                "reading {shown}: {e} (our descriptions of the fragment's schemas, properties, \
                 operations and parameters live there; `cargo xtask regen` needs it)"
            ))
        })?;
        Descriptions::parse(&text, shown)
    }

    /// Parses the text of a descriptions file. Every value must be a non-empty string that
    /// rustdoc renders as plain prose (see [`prose_problem`]); every problem is reported at once,
    /// with its line.
    pub fn parse(text: &str, shown: &str) -> Result<Descriptions> {
        let document = DeTable::parse(text).map_err(|e| Error::new(format!("{shown}: {e}")))?;
        let lines = LineIndex::new(text);
        let mut entries = BTreeMap::new();
        let mut problems = Vec::new();
        collect_entries(
            document.get_ref(),
            &mut Vec::new(),
            &lines,
            &mut entries,
            &mut problems,
        );
        if problems.is_empty() {
            Ok(Descriptions { entries })
        } else {
            Err(Error::new(format!(
                "{shown} has {} unusable entr{}:\n  {}",
                problems.len(),
                if problems.len() == 1 { "y" } else { "ies" },
                problems.join("\n  ")
            )))
        }
    }

    /// How many descriptions the file holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the file holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The description at `key`, if the file has one.
    pub fn get(&self, key: &[&str]) -> Option<&str> {
        let key: Key = key.iter().map(|k| k.to_string()).collect();
        self.entries.get(&key).map(|e| e.text.as_str())
    }
}

fn collect_entries(
    table: &DeTable<'_>,
    prefix: &mut Key,
    lines: &LineIndex,
    entries: &mut BTreeMap<Key, Entry>,
    problems: &mut Vec<String>,
) {
    for (key, value) in table.iter() {
        prefix.push(key.get_ref().to_string());
        let line = lines.line_of(value.span().start);
        match value.get_ref() {
            DeValue::Table(inner) => collect_entries(inner, prefix, lines, entries, problems),
            DeValue::String(text) => match prose_problem(text) {
                Some(why) => problems.push(format!("line {line}: {}: {why}", dotted(prefix))),
                None => {
                    let text = text.trim().to_string();
                    entries.insert(prefix.clone(), Entry { text, line });
                }
            },
            other => problems.push(format!(
                "line {line}: {}: is {}, but a description is a string",
                dotted(prefix),
                kind_of(other)
            )),
        }
        prefix.pop();
    }
}

fn kind_of(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// Why a description cannot go into a doc comment as it is, if it cannot.
///
/// The text becomes rustdoc Markdown on a generated item, so outside `code spans` a `<` would
/// open an HTML tag, `[` a link and a bare URL draw a lint (all warnings, which CI denies), and
/// an indented or fenced block would be compiled as a doctest. Formats such as `org:<feature>:<action>` belong in
/// backticks anyway.
pub fn prose_problem(text: &str) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Some("is empty".into());
    }
    for line in trimmed.lines() {
        if line.starts_with("    ") || line.starts_with('\t') {
            return Some(
                "has an indented line, which rustdoc would compile as a code example".into(),
            );
        }
        if line.trim_start().starts_with("```") {
            return Some(
                "has a fenced block, which rustdoc would compile as a code example".into(),
            );
        }
    }
    let mut in_code = false;
    let mut prose = String::new();
    for c in trimmed.chars() {
        match c {
            '`' => in_code = !in_code,
            '<' | '[' | ']' if !in_code => {
                return Some(format!(
                    "has `{c}` outside backticks, which rustdoc reads as {}; put formats and \
                     examples in `code spans`",
                    if c == '<' { "an HTML tag" } else { "a link" }
                ));
            }
            _ if !in_code => prose.push(c),
            _ => {}
        }
    }
    if in_code {
        return Some("has an unclosed code span (an odd number of backticks)".into());
    }
    if prose.contains("://") {
        return Some("has a bare URL, which rustdoc warns about; put it in backticks".into());
    }
    None
}

fn dotted(key: &[String]) -> String {
    key.iter()
        .map(|k| toml_key(k))
        .collect::<Vec<_>>()
        .join(".")
}

/// A key as TOML wants it written: bare when it can be, quoted otherwise.
pub fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// Byte offsets to line numbers.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(at, _)| at + 1));
        LineIndex { starts }
    }

    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|start| *start <= offset)
    }
}

/// Something in the fragment that takes one of our descriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// How messages name it: `Role`, `Role.created_at`, `ListOrganizationRoles`,
    /// `ListOrganizationRoles(query)`, `CreateRoleSet(body)`, `LimitParameter`,
    /// `/role_sets/{id}(id)`.
    pub name: String,
    /// Where its description sits in the descriptions file.
    pub key: Key,
    /// JSON pointer tokens of the fragment object that receives it.
    pub at: Vec<String>,
    /// The keyword it fills in that object: `description` or `summary`.
    pub keyword: &'static str,
    /// Whether the fragment may not ship without it (an operation's longer `description` is
    /// optional; its one-line `summary` is not).
    pub required: bool,
}

impl Target {
    /// The line to add to the descriptions file, with its table, e.g.
    /// `[schemas.Role] properties.color = "..."`.
    pub fn hint(&self) -> String {
        let (table, rest) = self.key.split_at(2);
        format!("[{}] {} = \"...\"", dotted(table), dotted(rest))
    }
}

/// Everything in `fragment` that takes a description, in a stable order, or the parts of the
/// fragment that no entry of the file can describe (with the reason).
pub fn targets(fragment: &Value) -> std::result::Result<Vec<Target>, Vec<String>> {
    let mut found = Vec::new();
    let mut undescribable = Vec::new();
    let schemas = fragment["components"]["schemas"].as_object();
    for (name, schema) in schemas.into_iter().flatten() {
        schema_targets(name, schema, &mut found, &mut undescribable);
    }
    let shared = fragment["components"]["parameters"].as_object();
    for (name, parameter) in shared.into_iter().flatten() {
        let name_in_api = parameter["name"].as_str().unwrap_or("?");
        found.push(Target {
            name: format!("{name} (the shared parameter `{name_in_api}`)"),
            key: key(&["parameters", name, "description"]),
            at: key(&["components", "parameters", name]),
            keyword: "description",
            required: true,
        });
    }
    if let Some(paths) = fragment["paths"].as_object() {
        for (path, item) in paths {
            let listed = item["parameters"].as_array().into_iter().flatten();
            for (i, parameter) in listed.enumerate() {
                if let Some(name) = inline_parameter_name(parameter) {
                    found.push(Target {
                        name: format!("{path}({name})"),
                        key: key(&["paths", path, "parameters", name]),
                        at: key(&["paths", path, "parameters", &i.to_string()]),
                        keyword: "description",
                        required: true,
                    });
                }
            }
        }
        for (path, method, operation) in operations(paths) {
            let Some(id) = operation["operationId"].as_str() else {
                undescribable.push(format!(
                    "{} {path} has no operationId to file its description under",
                    method.to_uppercase()
                ));
                continue;
            };
            let at = key(&["paths", path, method]);
            for (keyword, required) in [("summary", true), ("description", false)] {
                found.push(Target {
                    name: id.to_string(),
                    key: key(&["operations", id, keyword]),
                    at: at.clone(),
                    keyword,
                    required,
                });
            }
            // progenitor lists the body among the method's arguments, with this description.
            match operation.get("requestBody") {
                Some(body) if body.get("$ref").is_some() => undescribable.push(format!(
                    "{id} takes a shared request body (a `$ref`); the descriptions file \
                     describes request bodies written out in their operation"
                )),
                Some(_) => {
                    let mut body_at = at.clone();
                    body_at.push("requestBody".to_string());
                    found.push(Target {
                        name: format!("{id}(body)"),
                        key: key(&["operations", id, "body"]),
                        at: body_at,
                        keyword: "description",
                        required: true,
                    });
                }
                None => {}
            }
            let listed = operation["parameters"].as_array().into_iter().flatten();
            for (i, parameter) in listed.enumerate() {
                if let Some(name) = inline_parameter_name(parameter) {
                    let mut at = at.clone();
                    at.extend(["parameters".to_string(), i.to_string()]);
                    found.push(Target {
                        name: format!("{id}({name})"),
                        key: key(&["operations", id, "parameters", name]),
                        at,
                        keyword: "description",
                        required: true,
                    });
                }
            }
        }
    }
    // Two inline parameters of one name (say in path and in query) would share one entry.
    let mut seen = BTreeSet::new();
    for target in &found {
        if target.key.len() == 4 && target.key[2] == "parameters" && !seen.insert(&target.key) {
            undescribable.push(format!(
                "{} names two parameters; one entry cannot describe both",
                target.name
            ));
        }
    }
    if undescribable.is_empty() {
        Ok(found)
    } else {
        Err(undescribable)
    }
}

fn key(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

/// The name of a parameter written out in place; `None` for a `$ref` to a shared one, which is
/// described where it is defined.
fn inline_parameter_name(parameter: &Value) -> Option<&str> {
    if parameter.get("$ref").is_some() {
        return None;
    }
    Some(parameter["name"].as_str().unwrap_or("?"))
}

/// A schema and its properties. The properties are the schema's own and those of the inline
/// members of a top-level `allOf`/`anyOf`/`oneOf` (typify folds those into the same type).
fn schema_targets(
    name: &str,
    schema: &Value,
    found: &mut Vec<Target>,
    undescribable: &mut Vec<String>,
) {
    let at = key(&["components", "schemas", name]);
    found.push(Target {
        name: name.to_string(),
        key: key(&["schemas", name, "description"]),
        at: at.clone(),
        keyword: "description",
        required: true,
    });
    let mut sites = vec![(at.clone(), schema)];
    for combinator in ["allOf", "anyOf", "oneOf"] {
        let members = schema[combinator].as_array().into_iter().flatten();
        for (i, member) in members.enumerate() {
            if member.get("$ref").is_none() {
                let mut member_at = at.clone();
                member_at.extend([combinator.to_string(), i.to_string()]);
                sites.push((member_at, member));
            }
        }
    }
    for (site_at, site) in sites {
        for (property, property_schema) in site["properties"].as_object().into_iter().flatten() {
            let mut property_at = site_at.clone();
            property_at.extend(["properties".to_string(), property.clone()]);
            let full_name = format!("{name}.{property}");
            if property_schema.get("$ref").is_some() && property_schema.get("allOf").is_some() {
                undescribable.push(format!(
                    "{full_name} has both `$ref` and `allOf`; a description cannot be put \
                     beside it where progenitor reads it"
                ));
            }
            if has_nested_properties(property_schema) {
                undescribable.push(format!(
                    "{full_name} is an inline object with properties of its own; the \
                     descriptions file describes one level of properties, so make it a named \
                     schema in xtask/src/normalize.rs first"
                ));
            }
            found.push(Target {
                name: full_name,
                key: key(&["schemas", name, "properties", property]),
                at: property_at,
                keyword: "description",
                required: true,
            });
        }
    }
}

/// Whether an inline schema holds `properties` anywhere inside (not following `$ref`s): typify
/// would make a type of it whose fields the file has no place for.
fn has_nested_properties(schema: &Value) -> bool {
    let Some(object) = schema.as_object() else {
        return false;
    };
    if object.get("properties").is_some_and(Value::is_object) {
        return true;
    }
    ["items", "additionalProperties", "not"]
        .iter()
        .filter_map(|k| object.get(*k))
        .any(has_nested_properties)
        || ["allOf", "anyOf", "oneOf"]
            .iter()
            .filter_map(|k| object.get(*k).and_then(Value::as_array))
            .flatten()
            .any(has_nested_properties)
}

/// Why the descriptions and the fragment do not match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Problems {
    /// The file's name as shown to the user.
    pub file: String,
    /// Things the fragment has that the file does not describe (one per name).
    pub missing: Vec<Target>,
    /// Entries for things the fragment does not have: (line, where in the file, what it names).
    pub stale: Vec<(usize, String, String)>,
    /// Parts of the fragment the file's layout cannot describe.
    pub undescribable: Vec<String>,
}

impl Problems {
    fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.stale.is_empty() && self.undescribable.is_empty()
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = &self.file;
        write!(f, "{file} does not match the fragment")?;
        if !self.undescribable.is_empty() {
            write!(
                f,
                "\n{} part(s) of the fragment cannot be described:",
                self.undescribable.len()
            )?;
            for why in &self.undescribable {
                write!(f, "\n  {why}")?;
            }
        }
        if !self.missing.is_empty() {
            write!(
                f,
                "\n{} missing description(s): describe each in {file}, in our own words (read \
                 Clerk's spec to learn the facts, never to copy its sentences):",
                self.missing.len()
            )?;
            let width = self.missing.iter().map(|t| t.name.len()).max().unwrap_or(0);
            for target in &self.missing {
                write!(f, "\n  {:width$}  {}", target.name, target.hint())?;
            }
        }
        if !self.stale.is_empty() {
            write!(
                f,
                "\n{} stale description(s), for things the fragment does not have: remove them \
                 or correct their names:",
                self.stale.len()
            )?;
            for (line, place, names) in &self.stale {
                write!(f, "\n  line {line}: {place} ({names})")?;
            }
        }
        Ok(())
    }
}

/// Carries `descriptions` into `fragment` (a normalized fragment, whose prose rule 3 removed):
/// each one lands in its schema, property, operation or parameter. A property that is a bare
/// `$ref` becomes a one-member `allOf` so the description is not a sibling of `$ref`, which
/// OpenAPI 3.0 (and so progenitor) ignores.
///
/// On a mismatch the fragment keeps every description that could be placed, and the error
/// lists everything that is missing, stale or cannot be described.
pub fn describe(
    fragment: &mut Value,
    descriptions: &Descriptions,
    file: &str,
) -> std::result::Result<(), Problems> {
    let mut problems = Problems {
        file: file.to_string(),
        ..Problems::default()
    };
    let targets = match targets(fragment) {
        Ok(targets) => targets,
        Err(undescribable) => {
            problems.undescribable = undescribable;
            return Err(problems);
        }
    };
    let mut used = BTreeSet::new();
    let mut missing_names = BTreeSet::new();
    for target in &targets {
        match descriptions.entries.get(&target.key) {
            Some(entry) => {
                used.insert(&target.key);
                place(fragment, target, &entry.text);
            }
            None if target.required && missing_names.insert(target.name.clone()) => {
                problems.missing.push(target.clone());
            }
            None => {}
        }
    }
    for (key, entry) in &descriptions.entries {
        if !used.contains(key) {
            problems
                .stale
                .push((entry.line, dotted(key), name_of_key(key)));
        }
    }
    problems.stale.sort();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// What an entry of the file would describe, named as messages name targets.
fn name_of_key(key: &[String]) -> String {
    let parts: Vec<&str> = key.iter().map(String::as_str).collect();
    match parts.as_slice() {
        ["schemas", schema, "description"] => format!("the schema {schema}"),
        ["schemas", schema, "properties", property] => format!("the property {schema}.{property}"),
        ["operations", id, "summary" | "description"] => format!("the operation {id}"),
        ["operations", id, "parameters", name] => format!("the parameter {id}({name})"),
        ["operations", id, "body"] => format!("the request body of {id}"),
        ["parameters", name, "description"] => format!("the shared parameter {name}"),
        ["paths", path, "parameters", name] => format!("the path parameter {path}({name})"),
        _ => "nothing: the file has no such kind of entry".to_string(),
    }
}

fn place(fragment: &mut Value, target: &Target, text: &str) {
    // Targets are found in this same fragment, so the place exists.
    let Some(Value::Object(object)) = fragment.pointer_mut(&pointer(&target.at)) else {
        return;
    };
    if let Some(reference) = object.remove("$ref") {
        let mut wrapped = Map::new();
        wrapped.insert("allOf".into(), json!([{ "$ref": reference }]));
        wrapped.extend(std::mem::take(object));
        *object = wrapped;
    }
    object.insert(target.keyword.into(), Value::String(text.to_string()));
}

/// The descriptions a fragment carries, by target name (an operation's summary and description
/// joined), for the change report.
pub fn carried(fragment: &Value) -> BTreeMap<String, String> {
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    let Ok(targets) = targets(fragment) else {
        return found;
    };
    for target in targets {
        let text = fragment
            .pointer(&pointer(&target.at))
            .and_then(|node| node.get(target.keyword))
            .and_then(Value::as_str);
        if let Some(text) = text {
            let slot = found.entry(target.name).or_default();
            if !slot.is_empty() {
                slot.push('\n');
            }
            slot.push_str(text);
        }
    }
    found
}

/// A JSON pointer from its tokens.
fn pointer(tokens: &[String]) -> String {
    tokens
        .iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::strip_prose;

    /// A fragment with one of each kind of thing that takes a description.
    fn fragment() -> Value {
        json!({
            "paths": {
                "/roles": {"get": {
                    "operationId": "ListRoles",
                    "parameters": [
                        {"name": "query", "in": "query", "schema": {"type": "string"}},
                        {"$ref": "#/components/parameters/Limit"}
                    ],
                    "responses": {"200": {}}
                }},
                "/roles/{id}": {
                    "parameters": [{"name": "id", "in": "path", "required": true,
                                    "schema": {"type": "string"}}],
                    "patch": {
                        "operationId": "UpdateRole",
                        "requestBody": {"content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/UpdateRoleBody"}}}},
                        "responses": {"200": {}}
                    }
                }
            },
            "components": {
                "parameters": {"Limit": {"name": "limit", "in": "query",
                                         "schema": {"type": "integer"}}},
                "schemas": {
                    "Role": {"type": "object", "properties": {
                        "key": {"type": "string"},
                        "kind": {"$ref": "#/components/schemas/Kind", "nullable": true}
                    }},
                    "Kind": {"type": "string", "enum": ["a", "b"]},
                    "UpdateRoleBody": {"allOf": [
                        {"$ref": "#/components/schemas/Role"},
                        {"type": "object", "properties": {"note": {"type": "string"}}}
                    ]}
                }
            }
        })
    }

    const COMPLETE: &str = r#"
[schemas.Role]
description = "A role."
properties.key = "Its key."
properties.kind = "Its kind."

[schemas.Kind]
description = """
The kinds, \
on one line."""

[schemas.UpdateRoleBody]
description = "Changes."
properties.note = "A note."

[parameters.Limit]
description = "Page size."

[paths."/roles/{id}"]
parameters.id = "The role's ID."

[operations.ListRoles]
summary = "List roles"
parameters.query = "A filter, such as `org:<name>`."

[operations.UpdateRole]
summary = "Change a role"
description = "Only what is sent changes."
body = "The changes."
"#;

    fn parsed(text: &str) -> Descriptions {
        Descriptions::parse(text, "d.toml").unwrap()
    }

    fn parse_error(text: &str) -> String {
        Descriptions::parse(text, "d.toml")
            .unwrap_err()
            .message()
            .to_string()
    }

    #[test]
    fn entries_are_read_by_key_with_continued_lines_joined() {
        let descriptions = parsed(COMPLETE);
        assert_eq!(descriptions.len(), 13);
        assert_eq!(
            descriptions.get(&["schemas", "Kind", "description"]),
            Some("The kinds, on one line.")
        );
        assert_eq!(
            descriptions.get(&["paths", "/roles/{id}", "parameters", "id"]),
            Some("The role's ID.")
        );
        assert_eq!(descriptions.get(&["schemas", "Kind", "summary"]), None);
        assert!(parsed("# nothing yet\n").is_empty());
    }

    #[test]
    fn unusable_entries_are_all_named_with_their_lines() {
        let message = parse_error(
            "[schemas.Role]\ndescription = 3\nproperties.key = \"  \"\n\
             properties.kind = \"one of <a, b>\"\nproperties.x = \"see [Role]\"\n\
             properties.y = [\"a\"]\n",
        );
        assert_eq!(
            message,
            "d.toml has 5 unusable entries:\n  \
             line 2: schemas.Role.description: is an integer, but a description is a string\n  \
             line 3: schemas.Role.properties.key: is empty\n  \
             line 4: schemas.Role.properties.kind: has `<` outside backticks, which rustdoc \
             reads as an HTML tag; put formats and examples in `code spans`\n  \
             line 5: schemas.Role.properties.x: has `[` outside backticks, which rustdoc reads \
             as a link; put formats and examples in `code spans`\n  \
             line 6: schemas.Role.properties.y: is an array, but a description is a string"
        );
    }

    #[test]
    fn a_toml_syntax_error_names_the_file_and_the_line() {
        let message = parse_error("[schemas.Role]\ndescription = \"unterminated\n");
        assert!(
            message.starts_with("d.toml: TOML parse error at line 2"),
            "{message}"
        );
    }

    #[test]
    fn prose_must_render_as_plain_markdown() {
        assert_eq!(
            prose_problem("Keys look like `org:<feature>:<action>`."),
            None
        );
        assert_eq!(prose_problem("Two `a` and `b [c]` spans."), None);
        assert_eq!(prose_problem("At `https://api.clerk.com`."), None);
        for (text, problem) in [
            ("", "is empty"),
            ("\n \n", "is empty"),
            ("Odd `tick.", "has an unclosed code span"),
            ("A\n    let x = 1;", "has an indented line"),
            ("A\n\tlet x = 1;", "has an indented line"),
            ("A\n```\nlet x = 1;\n```", "has a fenced block"),
            ("a ] b", "has `]` outside backticks"),
            ("See https://clerk.com.", "has a bare URL"),
        ] {
            let found = prose_problem(text).unwrap_or_else(|| panic!("{text:?} passed"));
            assert!(found.starts_with(problem), "{text:?}: {found}");
        }
    }

    #[test]
    fn keys_are_quoted_only_when_toml_needs_it() {
        assert_eq!(toml_key("created_at"), "created_at");
        assert_eq!(toml_key("x-internal-note"), "x-internal-note");
        assert_eq!(toml_key("/roles/{id}"), "\"/roles/{id}\"");
        assert_eq!(toml_key("a.b"), "\"a.b\"");
        assert_eq!(toml_key(""), "\"\"");
    }

    #[test]
    fn every_kind_of_target_is_found_with_its_place() {
        let targets = targets(&fragment()).unwrap();
        let listed: Vec<(String, String, &str, bool)> = targets
            .iter()
            .map(|t| (t.name.clone(), t.at.join("/"), t.keyword, t.required))
            .collect();
        let expected = [
            ("Kind", "components/schemas/Kind", "description", true),
            ("Role", "components/schemas/Role", "description", true),
            (
                "Role.key",
                "components/schemas/Role/properties/key",
                "description",
                true,
            ),
            (
                "Role.kind",
                "components/schemas/Role/properties/kind",
                "description",
                true,
            ),
            (
                "UpdateRoleBody",
                "components/schemas/UpdateRoleBody",
                "description",
                true,
            ),
            (
                "UpdateRoleBody.note",
                "components/schemas/UpdateRoleBody/allOf/1/properties/note",
                "description",
                true,
            ),
            (
                "Limit (the shared parameter `limit`)",
                "components/parameters/Limit",
                "description",
                true,
            ),
            (
                "/roles/{id}(id)",
                "paths//roles/{id}/parameters/0",
                "description",
                true,
            ),
            ("ListRoles", "paths//roles/get", "summary", true),
            ("ListRoles", "paths//roles/get", "description", false),
            (
                "ListRoles(query)",
                "paths//roles/get/parameters/0",
                "description",
                true,
            ),
            ("UpdateRole", "paths//roles/{id}/patch", "summary", true),
            (
                "UpdateRole",
                "paths//roles/{id}/patch",
                "description",
                false,
            ),
            (
                "UpdateRole(body)",
                "paths//roles/{id}/patch/requestBody",
                "description",
                true,
            ),
        ];
        let expected: Vec<(String, String, &str, bool)> = expected
            .iter()
            .map(|(n, a, k, r)| (n.to_string(), a.to_string(), *k, *r))
            .collect();
        assert_eq!(listed, expected);
    }

    #[test]
    fn what_the_file_cannot_describe_is_refused_with_the_reason() {
        let mut fragment = fragment();
        fragment["components"]["schemas"]["Role"]["properties"]["nested"] =
            json!({"type": "array", "items": {"type": "object", "properties": {"a": {}}}});
        fragment["paths"]["/roles"]["post"] = json!({"responses": {}});
        fragment["paths"]["/roles"]["get"]["parameters"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "query", "in": "header"}));
        fragment["paths"]["/roles/{id}"]["patch"]["requestBody"] =
            json!({"$ref": "#/components/requestBodies/Shared"});
        let problems = targets(&fragment).unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].starts_with("Role.nested is an inline object with properties"));
        assert!(problems[1].starts_with("POST /roles has no operationId"));
        assert!(problems[2].starts_with("UpdateRole takes a shared request body"));
        assert_eq!(
            problems[3],
            "ListRoles(query) names two parameters; one entry cannot describe both"
        );
    }

    #[test]
    fn describing_fills_every_place_and_wraps_a_bare_reference() {
        let mut fragment = fragment();
        describe(&mut fragment, &parsed(COMPLETE), "d.toml").unwrap();
        let schemas = &fragment["components"]["schemas"];
        assert_eq!(schemas["Kind"]["description"], "The kinds, on one line.");
        assert_eq!(
            schemas["Role"]["properties"]["key"]["description"],
            "Its key."
        );
        // OpenAPI 3.0 ignores siblings of `$ref`; the sibling `nullable` is kept.
        assert_eq!(
            schemas["Role"]["properties"]["kind"],
            json!({"allOf": [{"$ref": "#/components/schemas/Kind"}], "nullable": true,
                   "description": "Its kind."})
        );
        assert_eq!(
            schemas["UpdateRoleBody"]["allOf"][1]["properties"]["note"]["description"],
            "A note."
        );
        assert_eq!(
            fragment["components"]["parameters"]["Limit"]["description"],
            "Page size."
        );
        let paths = &fragment["paths"];
        assert_eq!(
            paths["/roles/{id}"]["parameters"][0]["description"],
            "The role's ID."
        );
        assert_eq!(paths["/roles"]["get"]["summary"], "List roles");
        assert!(paths["/roles"]["get"].get("description").is_none());
        assert_eq!(
            paths["/roles"]["get"]["parameters"][0]["description"],
            "A filter, such as `org:<name>`."
        );
        // The shared parameter is described once, where it is defined.
        assert_eq!(
            paths["/roles"]["get"]["parameters"][1],
            json!({"$ref": "#/components/parameters/Limit"})
        );
        let update = &paths["/roles/{id}"]["patch"];
        assert_eq!(update["summary"], "Change a role");
        assert_eq!(update["description"], "Only what is sent changes.");
        assert_eq!(update["requestBody"]["description"], "The changes.");
    }

    #[test]
    fn stripping_and_describing_again_gives_the_same_fragment() {
        let mut once = fragment();
        describe(&mut once, &parsed(COMPLETE), "d.toml").unwrap();
        let mut twice = once.clone();
        strip_prose(&mut twice);
        assert_ne!(twice, once, "stripping removed nothing");
        describe(&mut twice, &parsed(COMPLETE), "d.toml").unwrap();
        assert_eq!(twice, once);
    }

    #[test]
    fn missing_and_stale_entries_are_all_reported_by_name() {
        let text = COMPLETE
            .replace(
                "properties.key = \"Its key.\"\n",
                "properties.colour = \"Its colour.\"\n",
            )
            .replace("summary = \"Change a role\"\n", "")
            .replace("[parameters.Limit]", "[parameters.Limt]");
        let mut fragment = fragment();
        let problems = describe(&mut fragment, &parsed(&text), "d.toml").unwrap_err();
        let names: Vec<&str> = problems.missing.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Role.key",
                "Limit (the shared parameter `limit`)",
                "UpdateRole"
            ]
        );
        assert_eq!(
            problems.stale,
            [
                (
                    4,
                    "schemas.Role.properties.colour".to_string(),
                    "the property Role.colour".to_string()
                ),
                (
                    17,
                    "parameters.Limt.description".to_string(),
                    "the shared parameter Limt".to_string()
                ),
            ]
        );
        // What could be placed was placed, even though the whole run fails.
        assert_eq!(
            fragment["components"]["schemas"]["Role"]["description"],
            "A role."
        );
        assert_eq!(
            problems.to_string(),
            "d.toml does not match the fragment\n\
             3 missing description(s): describe each in d.toml, in our own words (read Clerk's \
             spec to learn the facts, never to copy its sentences):\n  \
             Role.key                              [schemas.Role] properties.key = \"...\"\n  \
             Limit (the shared parameter `limit`)  [parameters.Limit] description = \"...\"\n  \
             UpdateRole                            [operations.UpdateRole] summary = \"...\"\n\
             2 stale description(s), for things the fragment does not have: remove them or \
             correct their names:\n  \
             line 4: schemas.Role.properties.colour (the property Role.colour)\n  \
             line 17: parameters.Limt.description (the shared parameter Limt)"
        );
    }

    #[test]
    fn entries_of_no_known_kind_are_stale_too() {
        let text =
            format!("{COMPLETE}\n[schemas.Role.properties.key]\nnote = \"x\"\n[misc]\na = \"b\"\n");
        // A table where a string belongs is a TOML error already; an unknown table is stale.
        assert!(Descriptions::parse(&text, "d.toml").is_err());
        let text = format!("{COMPLETE}\n[misc]\na = \"b\"\n");
        let problems = describe(&mut fragment(), &parsed(&text), "d.toml").unwrap_err();
        assert!(problems.missing.is_empty());
        assert_eq!(
            problems.stale,
            [(
                32,
                "misc.a".to_string(),
                "nothing: the file has no such kind of entry".to_string()
            )]
        );
    }

    #[test]
    fn carried_descriptions_are_read_back_by_name() {
        let mut fragment = fragment();
        assert!(carried(&fragment).is_empty());
        describe(&mut fragment, &parsed(COMPLETE), "d.toml").unwrap();
        let carried = carried(&fragment);
        assert_eq!(carried.len(), 12);
        assert_eq!(carried["Role.kind"], "Its kind.");
        assert_eq!(
            carried["UpdateRole"],
            "Change a role\nOnly what is sent changes."
        );
        assert_eq!(carried["ListRoles"], "List roles");
    }
}
