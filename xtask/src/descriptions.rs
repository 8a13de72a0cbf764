//! Rule 8: our own descriptions, carried into the fragment.
//!
//! Rule 3 strips every word of Clerk's prose. What replaces it is ours, in
//! `openapi/descriptions.toml` beside the fragment (its header explains the layout): one entry
//! for every schema, property, operation and parameter, keyed by the fragment's own names.
//! [`describe`] puts each entry where progenitor turns it into a doc comment, and fails, naming
//! them, when the fragment has something without an entry or the file has an entry for
//! something the fragment lacks: a new field cannot ship undocumented, and the file cannot rot.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde_json::{Value, json};
use toml::de::{DeTable, DeValue};

use crate::Result;
use crate::targets::{Target, targets};

/// The descriptions file's name; it sits in the fragment's directory.
pub const DESCRIPTIONS_FILE_NAME: &str = "descriptions.toml";

/// The descriptions file, checked for form: each entry's keys from the top (such as
/// `["schemas", "Role", "properties", "created_at"]`) to its text and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptions(pub(crate) BTreeMap<Vec<String>, (String, usize)>);

impl Descriptions {
    /// Reads and parses a descriptions file; messages name it as `shown`.
    pub fn read(path: &Path, shown: &str) -> Result<Descriptions> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "reading {shown}: {e} (our descriptions of the fragment's schemas, properties, \
                 operations and parameters live there; `cargo xtask regen` needs it)"
            )
        })?;
        Descriptions::parse(&text, shown)
    }

    /// Parses a descriptions file. Every value must be a string that rustdoc renders as plain
    /// prose (see [`prose_problem`]); every problem is reported at once, with its line.
    pub fn parse(text: &str, shown: &str) -> Result<Descriptions> {
        let document = DeTable::parse(text).map_err(|e| format!("{shown}: {e}"))?;
        let mut entries = BTreeMap::new();
        let mut problems = Vec::new();
        let mut pending = vec![(Vec::new(), document.get_ref())];
        while let Some((prefix, table)) = pending.pop() {
            for (key, value) in table.iter() {
                let mut key_path: Vec<String> = prefix.clone();
                key_path.push(key.get_ref().to_string());
                let line = text[..value.span().start].matches('\n').count() + 1;
                let problem = match value.get_ref() {
                    DeValue::Table(inner) => {
                        pending.push((key_path, inner));
                        continue;
                    }
                    DeValue::String(text) => prose_problem(text),
                    other => Some(format!(
                        "is a TOML {}, but a description is a string",
                        other.type_str()
                    )),
                };
                match problem {
                    Some(why) => {
                        problems.push((line, format!("line {line}: {}: {why}", dotted(&key_path))))
                    }
                    None => {
                        let text = value.get_ref().as_str().unwrap_or_default().trim();
                        entries.insert(key_path, (text.to_string(), line));
                    }
                }
            }
        }
        if problems.is_empty() {
            return Ok(Descriptions(entries));
        }
        problems.sort();
        let count = problems.len();
        let lines: Vec<String> = problems.into_iter().map(|(_, problem)| problem).collect();
        Err(format!(
            "{shown} has {count} unusable entr{}:\n  {}",
            if count == 1 { "y" } else { "ies" },
            lines.join("\n  ")
        ))
    }
}

/// Why a description cannot go into a doc comment as it is, if it cannot: outside `code spans`
/// rustdoc reads `<` as HTML, `[` as a link and warns about a bare URL (CI denies warnings), and
/// an indented or fenced block would be compiled as a doctest.
pub fn prose_problem(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return Some("is empty".into());
    }
    if text
        .lines()
        .any(|line| line.starts_with("    ") || line.starts_with('\t'))
    {
        return Some("has an indented line, which rustdoc would compile as a code example".into());
    }
    if text
        .lines()
        .any(|line| line.trim_start().starts_with("```"))
    {
        return Some("has a fenced block, which rustdoc would compile as a code example".into());
    }
    // The parts outside backticks are the even-numbered ones.
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return Some("has an unclosed code span (an odd number of backticks)".into());
    }
    let prose: String = parts.iter().step_by(2).copied().collect();
    if let Some(c) = prose.chars().find(|c| matches!(c, '<' | '[' | ']')) {
        let read_as = if c == '<' { "an HTML tag" } else { "a link" };
        return Some(format!(
            "has `{c}` outside backticks, which rustdoc reads as {read_as}; put formats and \
             examples in `code spans`"
        ));
    }
    if prose.contains("://") {
        return Some("has a bare URL, which rustdoc warns about; put it in backticks".into());
    }
    None
}

/// Keys joined with dots, each bare when TOML allows it and quoted otherwise.
pub(crate) fn dotted(key: &[String]) -> String {
    let bare = |k: &str| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
    };
    let keys: Vec<String> = key
        .iter()
        .map(|k| if bare(k) { k.clone() } else { format!("{k:?}") })
        .collect();
    keys.join(".")
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

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = &self.file;
        write!(f, "{file} does not match the fragment")?;
        if !self.undescribable.is_empty() {
            let count = self.undescribable.len();
            write!(f, "\n{count} part(s) of the fragment cannot be described:")?;
            self.undescribable
                .iter()
                .try_for_each(|why| write!(f, "\n  {why}"))?;
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

/// Carries `descriptions` into a normalized `fragment`. A property that is a bare `$ref` becomes
/// a one-member `allOf`, since OpenAPI 3.0 (and so progenitor) ignores the siblings of `$ref`.
///
/// On a mismatch the fragment keeps every description that could be placed, and the error lists
/// everything missing, stale or undescribable.
pub fn describe(
    fragment: &mut Value,
    descriptions: &Descriptions,
    file: &str,
) -> Result<(), Problems> {
    let mut problems = Problems {
        file: file.to_string(),
        ..Problems::default()
    };
    let targets = targets(fragment).map_err(|undescribable| Problems {
        undescribable,
        ..problems.clone()
    })?;
    let mut used = BTreeSet::new();
    for target in &targets {
        let Some((text, _)) = descriptions.0.get(&target.key) else {
            if target.required && problems.missing.iter().all(|t| t.name != target.name) {
                problems.missing.push(target.clone());
            }
            continue;
        };
        used.insert(&target.key);
        if let Some(Value::Object(object)) = fragment.pointer_mut(&target.at) {
            if let Some(reference) = object.remove("$ref") {
                let rest = std::mem::take(object);
                object.insert("allOf".into(), json!([{ "$ref": reference }]));
                object.extend(rest);
            }
            object.insert(target.keyword.into(), json!(text));
        }
    }
    for (key, (_, line)) in &descriptions.0 {
        if !used.contains(key) {
            problems.stale.push((*line, dotted(key), name_of_key(key)));
        }
    }
    problems.stale.sort();
    let matches = problems.missing.is_empty() && problems.stale.is_empty();
    if matches { Ok(()) } else { Err(problems) }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::{Slot, clean};
    use crate::targets::tests::fragment;

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

    #[test]
    fn entries_are_read_by_key_and_unusable_ones_are_all_named_with_their_lines() {
        let descriptions = parsed(COMPLETE);
        assert_eq!(descriptions.0.len(), 13);
        let key = |k: &[&str]| k.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        let kind = &descriptions.0[&key(&["schemas", "Kind", "description"])];
        assert_eq!(kind, &("The kinds, on one line.".to_string(), 8));
        let err = Descriptions::parse(
            "[schemas.Role]\ndescription = 3\nproperties.key = \"  \"\n\
             properties.kind = \"one of <a, b>\"\nproperties.y = [\"a\"]\n",
            "d.toml",
        )
        .unwrap_err();
        assert_eq!(
            err,
            "d.toml has 4 unusable entries:\n  \
             line 2: schemas.Role.description: is a TOML integer, but a description is a string\n  \
             line 3: schemas.Role.properties.key: is empty\n  \
             line 4: schemas.Role.properties.kind: has `<` outside backticks, which rustdoc \
             reads as an HTML tag; put formats and examples in `code spans`\n  \
             line 5: schemas.Role.properties.y: is a TOML array, but a description is a string"
        );
        let err =
            Descriptions::parse("[schemas.Role]\ndescription = \"open\n", "d.toml").unwrap_err();
        assert!(
            err.starts_with("d.toml: TOML parse error at line 2"),
            "{err}"
        );
    }

    #[test]
    fn prose_must_render_as_plain_markdown() {
        for fine in [
            "Keys look like `org:<feature>:<action>`.",
            "Two `a` and `b [c]`.",
            "At `https://x.test`.",
        ] {
            assert_eq!(prose_problem(fine), None);
        }
        for (text, problem) in [
            ("\n \n", "is empty"),
            ("Odd `tick.", "has an unclosed code span"),
            ("A\n    let x = 1;", "has an indented line"),
            ("A\n\tlet x = 1;", "has an indented line"),
            ("A\n```\nlet x = 1;\n```", "has a fenced block"),
            (
                "a ] b",
                "has `]` outside backticks, which rustdoc reads as a link",
            ),
            ("See https://clerk.com.", "has a bare URL"),
        ] {
            let found = prose_problem(text).unwrap_or_else(|| panic!("{text:?} passed"));
            assert!(found.starts_with(problem), "{text:?}: {found}");
        }
        let key = |k: &[&str]| k.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        assert_eq!(
            dotted(&key(&["paths", "/roles/{id}", "x-note", "a.b"])),
            "paths.\"/roles/{id}\".x-note.\"a.b\""
        );
    }

    #[test]
    fn describing_fills_every_place_and_describing_again_changes_nothing() {
        let mut once = fragment();
        describe(&mut once, &parsed(COMPLETE), "d.toml").unwrap();
        let schemas = &once["components"]["schemas"];
        assert_eq!(schemas["Kind"]["description"], "The kinds, on one line.");
        // OpenAPI 3.0 ignores siblings of `$ref`; the sibling `nullable` is kept.
        assert_eq!(
            schemas["Role"]["properties"]["kind"],
            json!({"allOf": [{"$ref": "#/components/schemas/Kind"}], "nullable": true,
                   "description": "Its kind."})
        );
        let paths = &once["paths"];
        assert_eq!(
            paths["/roles/{id}"]["parameters"][0]["description"],
            "The role's ID."
        );
        assert_eq!(paths["/roles"]["get"]["summary"], "List roles");
        assert_eq!(paths["/roles"]["get"].get("description"), None);
        assert_eq!(
            paths["/roles"]["get"]["parameters"][1],
            json!({"$ref": "#/components/parameters/Limit"})
        );
        assert_eq!(
            paths["/roles/{id}"]["patch"]["requestBody"]["description"],
            "The changes."
        );
        assert_eq!(
            once["components"]["parameters"]["Limit"]["description"],
            "Page size."
        );
        let mut twice = once.clone();
        clean(&mut twice, Slot::Structure);
        assert_ne!(twice, once, "cleaning removed nothing");
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
            .replace("[parameters.Limit]", "[parameters.Limt]")
            + "\n[misc]\na = \"b\"\n";
        let mut fragment = fragment();
        let problems = describe(&mut fragment, &parsed(&text), "d.toml").unwrap_err();
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
             3 stale description(s), for things the fragment does not have: remove them or \
             correct their names:\n  \
             line 4: schemas.Role.properties.colour (the property Role.colour)\n  \
             line 17: parameters.Limt.description (the shared parameter Limt)\n  \
             line 31: misc.a (nothing: the file has no such kind of entry)"
        );
    }
}
