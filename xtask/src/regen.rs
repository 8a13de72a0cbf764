//! The `regen` command: read a spec, normalize it, carry our descriptions into it, report what
//! changes, and write or check the fragment.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;
use similar::TextDiff;

use crate::Result;
use crate::descriptions::{DESCRIPTIONS_FILE_NAME, Descriptions, describe};
use crate::normalize::{Provenance, normalize};
use crate::report::compare;
use crate::spec::{SpecSource, published_spec_url};

/// The fragment's place in the workspace.
pub const FRAGMENT_PATH: &str = "openapi/clerk-rbac.json";

/// How many diff lines `--check` prints before cutting the diff short.
const MAX_DIFF_LINES: usize = 200;

/// What `regen` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The spec to read; `None` means Clerk's published spec for the fragment's pinned version
    /// (or, with `check`, the fragment itself).
    pub spec: Option<SpecSource>,
    /// Compare only; never write.
    pub check: bool,
    /// The fragment file to replace or check.
    pub out: PathBuf,
    /// Our descriptions of what the fragment holds (by default [`descriptions_beside`] `out`).
    pub descriptions: PathBuf,
}

/// How a run ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The fragment already had the regenerated content; nothing was written.
    Unchanged,
    /// The fragment was (re)written.
    Written,
    /// `--check` found that the fragment differs from what regen would write.
    Stale,
}

/// The workspace root: the parent of this crate's directory, whatever the current directory.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// The committed fragment's absolute path.
pub fn default_fragment_path() -> PathBuf {
    workspace_root().join(FRAGMENT_PATH)
}

/// The descriptions file that goes with a fragment: [`DESCRIPTIONS_FILE_NAME`] in its directory,
/// so that a fragment and the words it carries travel together.
pub fn descriptions_beside(fragment: &Path) -> PathBuf {
    fragment.with_file_name(DESCRIPTIONS_FILE_NAME)
}

/// Runs `regen`, writing the change report and messages to `out`. A failure (including a missing
/// or stale description, each named after the change report) leaves the fragment as it was: the
/// new text is only written, atomically, once everything else has succeeded.
pub fn run(options: &Options, out: &mut dyn Write) -> Result<Outcome> {
    let shown = display_path(&options.out);
    let current = match fs::read_to_string(&options.out) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("reading {shown}: {e}")),
    };
    // The current fragment's content, or why it has none (to follow "it ").
    let parsed: Result<Value> = match &current {
        None => Err("does not exist".into()),
        Some(text) => serde_json::from_str(text).map_err(|e| format!("is not valid JSON ({e})")),
    };
    // Read first: a broken descriptions file should not cost a download.
    let descriptions_shown = display_path(&options.descriptions);
    let descriptions = Descriptions::read(&options.descriptions, &descriptions_shown)?;

    let (document, provenance, source_name) = match &options.spec {
        // Offline check: the committed fragment must already be a fixed point of the rules.
        None if options.check => {
            let fragment = parsed.as_ref().map_err(|why| {
                format!("--check without --spec re-normalizes {shown}, but it {why}")
            })?;
            let provenance =
                Provenance::recorded_in(fragment).map_err(|e| format!("{shown}: {e}"))?;
            (
                fragment.clone(),
                provenance,
                format!("{shown} itself (offline check)"),
            )
        }
        spec => {
            let source = match spec {
                Some(source) => source.clone(),
                None => {
                    let version = parsed
                        .as_ref()
                        .map_err(String::as_str)
                        .and_then(|fragment| {
                            fragment["info"]["version"]
                                .as_str()
                                .ok_or("has no info.version")
                        });
                    let version = version.map_err(|why| {
                        format!(
                            "cannot tell which Clerk API version to download: {shown} {why}; \
                             pass --spec <file or URL>"
                        )
                    })?;
                    let source = SpecSource::Url(published_spec_url(version));
                    writeln!(out, "Downloading {source}").map_err(report_error)?;
                    source
                }
            };
            let (document, provenance) = source.load()?;
            (document, provenance, source.to_string())
        }
    };

    let mut fragment =
        normalize(&document, &provenance).map_err(|e| format!("{source_name}: {e}"))?;
    let described = describe(&mut fragment, &descriptions, &descriptions_shown);
    let text = to_fragment_text(&fragment);

    let mut report = format!(
        "regen: {shown} from {source_name}, with the descriptions in {descriptions_shown}\n"
    );
    if let (Some(_), Err(why)) = (&current, &parsed) {
        writeln!(report, "note: the current {shown} {why}").ok();
    }
    report.push_str(&compare(parsed.as_ref().ok(), &fragment));
    out.write_all(report.as_bytes()).map_err(report_error)?;
    described.map_err(|problems| problems.to_string())?;

    if current.as_deref() == Some(text.as_str()) {
        writeln!(out, "{shown} is up to date.").map_err(report_error)?;
        return Ok(Outcome::Unchanged);
    }
    if options.check {
        let diff = TextDiff::from_lines(current.as_deref().unwrap_or(""), &text)
            .unified_diff()
            .header(
                &format!("{shown} (committed)"),
                &format!("{shown} (regenerated)"),
            )
            .to_string();
        let lines: Vec<&str> = diff.lines().collect();
        for line in lines.iter().take(MAX_DIFF_LINES) {
            writeln!(out, "{line}").map_err(report_error)?;
        }
        if lines.len() > MAX_DIFF_LINES {
            let more = lines.len() - MAX_DIFF_LINES;
            writeln!(out, "... ({more} more diff lines)").map_err(report_error)?;
        }
        writeln!(
            out,
            "{shown} is not what `cargo xtask regen` would write from its spec and \
             {descriptions_shown}; regenerate it (add `--spec <file>` to work offline) and \
             commit the result."
        )
        .map_err(report_error)?;
        return Ok(Outcome::Stale);
    }
    write_atomically(&options.out, &text)?;
    writeln!(out, "Wrote {shown}.").map_err(report_error)?;
    Ok(Outcome::Written)
}

fn report_error(e: io::Error) -> String {
    format!("writing the report: {e}")
}

/// The fragment file's exact text: the layout of Python's `json.dump(indent=2, sort_keys=True)`,
/// which first wrote it (keys sorted by code point, everything outside printable ASCII escaped
/// as `\uXXXX`), ending with a newline. Keys are sorted here rather than left to serde_json,
/// whose map order depends on a feature any crate in the build may switch on.
pub fn to_fragment_text(value: &Value) -> String {
    let mut sorted = value.clone();
    sorted.sort_all_objects();
    // A `Value` always serializes: its map keys are strings.
    let pretty = serde_json::to_string_pretty(&sorted).unwrap_or_default();
    let mut text = String::with_capacity(pretty.len() + 1);
    // Outside strings the text is ASCII already, so this only touches string contents.
    for c in pretty.chars() {
        match c {
            ' '..='~' | '\n' => text.push(c),
            _ => c.encode_utf16(&mut [0; 2]).iter().for_each(|unit| {
                write!(text, "\\u{unit:04x}").ok();
            }),
        }
    }
    text.push('\n');
    text
}

/// Writes through a temporary file in the same directory and a rename, so that an interrupted
/// run never leaves a half-written fragment behind.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("{} is not a file path", path.display()))?;
    let temporary = path.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    fs::write(&temporary, text).map_err(|e| format!("writing {}: {e}", temporary.display()))?;
    fs::rename(&temporary, path).map_err(|e| {
        let _ = fs::remove_file(&temporary);
        format!("replacing {}: {e}", display_path(path))
    })
}

/// A path relative to the workspace root when it lies inside it, for shorter messages.
fn display_path(path: &Path) -> String {
    let root = workspace_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_text_has_python_json_dump_layout_with_keys_sorted_by_code_point() {
        let value = json!({"b": [1, {"y": null, "x": true}], "a": {}, "c": [], "B": -2.5, "é": 3});
        assert_eq!(
            to_fragment_text(&value),
            "{\n  \"B\": -2.5,\n  \"a\": {},\n  \"b\": [\n    1,\n    {\n      \"x\": true,\n      \
             \"y\": null\n    }\n  ],\n  \"c\": [],\n  \"\\u00e9\": 3\n}\n"
        );
    }

    #[test]
    fn strings_are_escaped_as_ensure_ascii_escapes_them() {
        let value = json!("q\"b\\n\nr\rt\tb\u{8}f\u{c}c\u{1}d\u{7f}é€😀/");
        assert_eq!(
            to_fragment_text(&value),
            "\"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\fc\\u0001d\\u007f\\u00e9\\u20ac\\ud83d\\ude00/\"\n"
        );
    }
}
