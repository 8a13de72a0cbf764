//! Reading a fleet file: TOML syntax, a scan for secret keys written in it, field names against
//! the published schema (every typo at once, with a suggestion), value types, the fleet's own
//! rules (stages, variable names, API roots), then every desired-state file and overlay. Every
//! problem names the file, line and key; no message or quoted line ever shows a secret key.

use std::{
    collections::{BTreeMap, HashMap},
    ops::Range,
    path::Path,
    sync::{Arc, OnceLock},
};

use serde::Deserialize;
use serde_json::Value;
use toml::{
    Spanned,
    de::{DeTable, DeValue},
};

use crate::{
    DesiredState, SyncError,
    keys::closest,
    parse::unknown_fields,
    problem::{Location, Problem, Problems},
    source::{index_path, key_path},
    validate,
};

use super::{DEFAULT_PARALLELISM, DEFAULT_STAGES, Fleet, FleetFile, FleetTarget, overlay};

/// The prefixes of Clerk's secret keys, looked for anywhere in a fleet file.
const SECRET_PREFIXES: [&str; 2] = ["sk_test_", "sk_live_"];

/// The length of the key characters at the start of `tail` (what may follow a key's prefix).
fn key_chars(tail: &str) -> usize {
    tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(tail.len())
}

/// Replaces every secret key in `text` (a prefix followed by at least one character a key
/// holds) by its prefix and `<redacted>`; a bare prefix, as in `sk_test_...`, is left as it is.
pub(crate) fn mask_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = SECRET_PREFIXES
            .iter()
            .filter_map(|prefix| rest.find(prefix).map(|at| (at, *prefix)))
            .min();
        let Some((at, prefix)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        out.push_str(prefix);
        let tail = &rest[at + prefix.len()..];
        let end = key_chars(tail);
        if end > 0 {
            out.push_str("<redacted>");
        }
        rest = &tail[end..];
    }
}

/// Whether `text` holds a secret key: a prefix followed by a character a key holds.
fn contains_secret(text: &str) -> bool {
    SECRET_PREFIXES.iter().any(|prefix| {
        text.match_indices(prefix)
            .any(|(at, _)| key_chars(&text[at + prefix.len()..]) > 0)
    })
}

/// A problem whose message and quoted line cannot show a secret key.
fn masked(mut problem: Problem) -> Problem {
    problem.message = mask_secrets(&problem.message);
    problem.key = mask_secrets(&problem.key);
    problem.help = problem.help.map(|h| mask_secrets(&h));
    if let Some(at) = &mut problem.location {
        at.line_text = mask_secrets(&at.line_text);
    }
    problem
}

/// The fleet file's text and where each key is.
struct Source {
    path: String,
    text: String,
    /// Key path → (span of the key, span of its value).
    spans: HashMap<String, (Range<usize>, Range<usize>)>,
}

impl Source {
    fn location(&self, offset: usize) -> Location {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[offset..]
            .find('\n')
            .map_or(self.text.len(), |i| offset + i);
        Location {
            path: self.path.clone(),
            line: before.matches('\n').count() + 1,
            column: self.text[line_start..offset].chars().count() + 1,
            line_text: mask_secrets(self.text[line_start..line_end].trim_end_matches('\r')),
        }
    }

    fn key(&self, path: &str) -> Option<Location> {
        self.spans
            .get(path)
            .map(|(key, _)| self.location(key.start))
    }

    fn value(&self, path: &str) -> Option<Location> {
        self.spans
            .get(path)
            .map(|(_, value)| self.location(value.start))
    }

    /// The key path whose value most tightly holds `span`.
    fn path_of(&self, span: &Range<usize>) -> Option<&str> {
        self.spans
            .iter()
            .filter(|(_, (key, value))| {
                (value.start <= span.start && span.end <= value.end) || key == span
            })
            .min_by_key(|(path, (_, value))| (value.len(), std::cmp::Reverse(path.len())))
            .map(|(path, _)| path.as_str())
    }

    fn problem_at_key(&self, path: &str, message: String, help: Option<String>) -> Problem {
        Problem {
            location: self.key(path),
            key: path.to_owned(),
            message,
            help,
        }
    }

    fn problem_at_value(&self, path: &str, message: String, help: Option<String>) -> Problem {
        Problem {
            location: self.value(path),
            key: path.to_owned(),
            message,
            help,
        }
    }
}

fn index_table(
    spans: &mut HashMap<String, (Range<usize>, Range<usize>)>,
    prefix: &str,
    table: &DeTable<'_>,
) {
    for (key, value) in table {
        let path = join(prefix, key.get_ref());
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

/// `prefix.segment`, quoting the segment as TOML needs.
fn join(prefix: &str, segment: &str) -> String {
    let tail = key_path(&[segment]);
    if prefix.is_empty() {
        tail
    } else {
        format!("{prefix}.{tail}")
    }
}

/// Every string (key or value) that holds a secret key: one problem each, never quoting it.
fn secrets(source: &Source, prefix: &str, table: &DeTable<'_>, problems: &mut Vec<Problem>) {
    for (key, value) in table {
        let path = join(prefix, key.get_ref());
        if contains_secret(key.get_ref()) {
            problems.push(secret_problem(source, key.span().start, &path));
        }
        secret_value(source, &path, value, problems);
    }
}

fn secret_value(
    source: &Source,
    path: &str,
    value: &Spanned<DeValue<'_>>,
    problems: &mut Vec<Problem>,
) {
    match value.get_ref() {
        DeValue::String(text) if contains_secret(text) => {
            problems.push(secret_problem(source, value.span().start, path));
        }
        DeValue::Table(table) => secrets(source, path, table, problems),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                secret_value(source, &index_path(path, i), item, problems);
            }
        }
        _ => {}
    }
}

fn secret_problem(source: &Source, offset: usize, path: &str) -> Problem {
    Problem {
        location: Some(source.location(offset)),
        key: path.to_owned(),
        message: "a secret key is written in the fleet file; it is refused, since this file is \
                  meant to be committed and shared"
            .to_owned(),
        help: Some(
            "put the key in an environment variable and name that variable in `secret_key_env`; \
             then revoke this key, since it may already have been shared"
                .to_owned(),
        ),
    }
}

/// The fleet file format's JSON Schema, parsed once.
fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::from_str(&Fleet::json_schema())
            .unwrap_or_else(|e| unreachable!("the generated schema is JSON: {e}"))
    })
}

/// Reads a fleet file: see [`Fleet::load`].
pub(crate) fn fleet(text: &str, path: &str, base: &Path) -> Result<Fleet, Problems> {
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
            let message = e.message().lines().next().unwrap_or("").trim();
            return Err(Problems(vec![masked(Problem {
                location,
                key: String::new(),
                message: format!("not valid TOML: {message}"),
                help: None,
            })]));
        }
    };
    index_table(&mut source.spans, "", table.get_ref());

    let mut problems = Vec::new();
    secrets(&source, "", table.get_ref(), &mut problems);
    let mut table = table;
    let schema = schema();
    unknown_fields(
        &|offset| source.location(offset),
        schema,
        schema,
        "",
        table.get_mut(),
        &mut problems,
    );

    let file = match FleetFile::deserialize(toml::de::Deserializer::from(table)) {
        Ok(file) => file,
        Err(_) if !problems.is_empty() => return Err(finish(problems)),
        Err(e) => {
            let span = e.span();
            let key = span
                .as_ref()
                .and_then(|span| source.path_of(span))
                .unwrap_or_default()
                .to_owned();
            let location = span.map(|span| source.location(span.start));
            problems.push(Problem {
                location,
                key,
                message: e.message().lines().next().unwrap_or("").trim().to_owned(),
                help: None,
            });
            return Err(finish(problems));
        }
    };
    // A secret in the file stops here: nothing else is worth reading in it.
    if !problems.is_empty() {
        return Err(finish(problems));
    }

    let stages: Vec<String> = file
        .stages
        .clone()
        .unwrap_or_else(|| DEFAULT_STAGES.iter().map(|s| (*s).to_owned()).collect());
    check_stages(&source, &stages, file.stages.is_some(), &mut problems);
    if file.targets.is_empty() {
        problems.push(Problem {
            location: None,
            key: "targets".to_owned(),
            message: "the fleet names no targets".to_owned(),
            help: Some("add a `[targets.NAME]` table for each instance".to_owned()),
        });
    }
    if file.parallelism == Some(0) {
        problems.push(source.problem_at_value(
            "parallelism",
            "parallelism must be at least 1".to_owned(),
            None,
        ));
    }

    // Each desired-state file once, however many targets share it.
    let mut shared: BTreeMap<String, Option<Arc<DesiredState>>> = BTreeMap::new();
    let mut targets = BTreeMap::new();
    for (name, spec) in &file.targets {
        let at = key_path(&["targets", name]);
        if !regex_like_name(name) {
            problems.push(source.problem_at_key(
                &at,
                format!("`{name}` is not a valid target name"),
                Some(
                    "use letters, digits, `_`, `-` and `.`, starting with a letter or digit".into(),
                ),
            ));
        }
        if !is_env_name(&spec.secret_key_env) {
            problems.push(source.problem_at_value(
                &join(&at, "secret_key_env"),
                format!(
                    "`{}` is not an environment variable name",
                    spec.secret_key_env
                ),
                Some(
                    "name the variable that holds the key, such as `CLERK_PROD_SECRET_KEY`".into(),
                ),
            ));
        }
        if let Some(url) = &spec.api_url
            && let Err(e) = clerk_rbac::Clerk::builder()
                .secret_key("sk_test_placeholder")
                .base_url(url)
                .build()
        {
            problems.push(source.problem_at_value(&join(&at, "api_url"), e.to_string(), None));
        }
        let stage = spec
            .stage
            .clone()
            .unwrap_or_else(|| stages.last().cloned().unwrap_or_default());
        let stage_index = match stages.iter().position(|s| *s == stage) {
            Some(i) => i,
            None => {
                let help = closest(&stage, stages.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| {
                        format!(
                            "the stages are {}",
                            stages
                                .iter()
                                .map(|s| format!("`{s}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    });
                problems.push(source.problem_at_value(
                    &join(&at, "stage"),
                    format!("unknown stage `{stage}`"),
                    Some(help),
                ));
                0
            }
        };
        let file_path = base.join(&spec.file);
        let shown = file_path.display().to_string();
        let desired = shared
            .entry(shown.clone())
            .or_insert_with(|| match DesiredState::load(&file_path) {
                Ok(state) => Some(Arc::new(state)),
                Err(SyncError::InvalidFile(found)) => {
                    problems.extend(found.0);
                    None
                }
                Err(e) => {
                    problems.push(source.problem_at_value(
                        &join(&at, "file"),
                        format!("cannot read the desired-state file: {e}"),
                        None,
                    ));
                    None
                }
            })
            .clone();
        let Some(desired) = desired else { continue };
        let desired = match &spec.overlay {
            None => desired,
            Some(over) => match with_overlay(&source, name, &desired, over, &shown) {
                Ok(state) => Arc::new(state),
                Err(found) => {
                    problems.extend(found);
                    continue;
                }
            },
        };
        targets.insert(
            name.clone(),
            FleetTarget {
                name: name.clone(),
                stage,
                stage_index,
                secret_key_env: spec.secret_key_env.clone(),
                api_url: spec.api_url.clone(),
                file: file_path,
                has_overlay: spec.overlay.is_some(),
                desired,
            },
        );
    }
    if !problems.is_empty() {
        return Err(finish(problems));
    }
    Ok(Fleet {
        path: path.to_owned(),
        stages,
        parallelism: file.parallelism.unwrap_or(DEFAULT_PARALLELISM),
        targets,
    })
}

fn finish(problems: Vec<Problem>) -> Problems {
    Problems(problems.into_iter().map(masked).collect()).sorted()
}

fn regex_like_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_stages(source: &Source, stages: &[String], written: bool, problems: &mut Vec<Problem>) {
    if written && stages.is_empty() {
        problems.push(source.problem_at_value(
            "stages",
            "`stages` is empty".to_owned(),
            Some("name at least one stage, or remove the line for the default order".into()),
        ));
    }
    for (i, stage) in stages.iter().enumerate() {
        let at = index_path("stages", i);
        if !regex_like_name(stage) {
            problems.push(source.problem_at_value(
                &at,
                format!("`{stage}` is not a valid stage name"),
                None,
            ));
        }
        if stages[..i].contains(stage) {
            problems.push(source.problem_at_value(
                &at,
                format!("stage `{stage}` is listed twice"),
                None,
            ));
        }
    }
}

/// The target's description: the shared state with its overlay, checked by the same rules as
/// a desired-state file. Problems about what the overlay wrote are located in the fleet file.
fn with_overlay(
    source: &Source,
    name: &str,
    base: &DesiredState,
    over: &overlay::Overlay,
    file: &str,
) -> Result<DesiredState, Vec<Problem>> {
    let prefix = key_path(&["targets", name, "overlay"]);
    let merged = overlay::merge(base, over, file).map_err(|found| {
        found
            .into_iter()
            .map(|p| {
                let mut path = p
                    .path
                    .iter()
                    .fold(prefix.clone(), |path, segment| join(&path, segment));
                if let Some(i) = p.index {
                    path = index_path(&path, i);
                }
                if p.index.is_some() {
                    source.problem_at_value(&path, p.message, None)
                } else {
                    source.problem_at_key(&path, p.message, None)
                }
            })
            .collect::<Vec<_>>()
    })?;
    let found = validate::check(&merged);
    if found.is_empty() {
        return Ok(merged);
    }
    Err(found
        .into_iter()
        .map(|mut problem| {
            // What the overlay wrote is found in the fleet file; the rest stays located in
            // the shared file, said to be about this target.
            if let Some(at) = deepest(source, &prefix, &problem.key) {
                problem.location = Some(at);
                problem.key = format!("{prefix}.{}", problem.key);
            }
            problem.message = format!("target `{name}` (with its overlay): {}", problem.message);
            problem
        })
        .collect())
}

/// The location of `key` under `prefix` in the fleet file, or of its nearest enclosing key,
/// provided the object itself (a kind's table entry) is written in the overlay.
fn deepest(source: &Source, prefix: &str, key: &str) -> Option<Location> {
    let mut candidates = vec![key.to_owned()];
    let mut cut = key.to_owned();
    while let Some(end) = last_separator(&cut) {
        cut.truncate(end);
        candidates.push(cut.clone());
    }
    // Candidates run from the full key down to the kind (`roles`): the kind alone is not the
    // object, so it does not count.
    candidates.pop();
    candidates
        .iter()
        .find_map(|candidate| source.key(&format!("{prefix}.{candidate}")))
        .filter(|_| !key.is_empty())
}

/// The byte index of the last `.` or `[` outside quotes.
fn last_separator(path: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    let mut last = None;
    for (i, c) in path.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '.' | '[' if !quoted => last = Some(i),
            _ => {}
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_wherever_they_appear() {
        assert_eq!(
            mask_secrets("key = \"sk_live_AbC123\" and sk_test_x-y,z sk_test_<redacted>"),
            "key = \"sk_live_<redacted>\" and sk_test_<redacted>,z sk_test_<redacted>"
        );
        assert_eq!(mask_secrets("nothing here"), "nothing here");
        assert_eq!(
            mask_secrets("(sk_test_... or sk_live_...)"),
            "(sk_test_... or sk_live_...)"
        );
        assert!(contains_secret("x sk_live_a1"));
        assert!(!contains_secret(
            "keys look like sk_test_... and sk_live_..."
        ));
    }

    #[test]
    fn separators_inside_quotes_do_not_count() {
        let path = "roles.\"org:a.b\".permissions[2]";
        assert_eq!(last_separator(path), Some(path.len() - 3));
        assert_eq!(last_separator("roles.\"org:a.b\""), Some(5));
        assert_eq!(last_separator("roles"), None);
    }

    #[test]
    fn names_and_variables_have_their_shapes() {
        assert!(regex_like_name("acme-prod.eu_1"));
        assert!(!regex_like_name("-x") && !regex_like_name("") && !regex_like_name("a b"));
        assert!(is_env_name("CLERK_SECRET_KEY") && is_env_name("_x1"));
        assert!(!is_env_name("1X") && !is_env_name("A-B") && !is_env_name(""));
    }
}
