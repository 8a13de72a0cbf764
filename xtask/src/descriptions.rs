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
/// open an HTML tag and `[` a link (both warnings, which CI denies), and an indented or fenced
/// block would be compiled as a doctest. Formats such as `org:<feature>:<action>` belong in
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
            _ => {}
        }
    }
    if in_code {
        return Some("has an unclosed code span (an odd number of backticks)".into());
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
