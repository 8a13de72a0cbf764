//! The `regen` command: read a spec, normalize it, carry our descriptions into it, report what
//! changes, and write or check the fragment.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;
use similar::TextDiff;

use crate::descriptions::{DESCRIPTIONS_FILE_NAME, Descriptions, describe};
use crate::error::{Context, Error, Result};
use crate::json_text::to_fragment_text;
use crate::normalize::{Provenance, normalize};
use crate::report::compare;
use crate::source::{SpecSource, load, published_spec_url};

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
    /// Our descriptions of the fragment's schemas, properties, operations and parameters
    /// (by default [`DESCRIPTIONS_FILE_NAME`] beside `out`, see [`descriptions_beside`]).
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

/// The descriptions file that goes with a fragment: [`DESCRIPTIONS_FILE_NAME`] in the same
/// directory, so a fragment and the words it carries travel together.
pub fn descriptions_beside(fragment: &Path) -> PathBuf {
    fragment.with_file_name(DESCRIPTIONS_FILE_NAME)
}

/// Runs `regen`, writing the change report and messages to `out`. Errors leave the fragment file
/// as it was: the new text is only written, atomically, once everything else has succeeded.
///
/// A fragment that would have something without a description, or a descriptions file with an
/// entry for something the fragment lacks, is an error naming each one (after the change report,
/// which says what is new).
pub fn run(options: &Options, out: &mut dyn Write) -> Result<Outcome> {
    let shown = display_path(&options.out);
    let current = CurrentFragment::read(&options.out)?;
    // Read first: a broken descriptions file should not cost a download.
    let descriptions_shown = display_path(&options.descriptions);
    let descriptions = Descriptions::read(&options.descriptions, &descriptions_shown)?;

    let (document, provenance, source_name) = match &options.spec {
        Some(source) => {
            let loaded = load(source)?;
            (loaded.document, loaded.provenance, source.to_string())
        }
        // Offline check: the committed fragment must already be a fixed point of the rules.
        None if options.check => {
            let fragment = current.parsed().map_err(|why| {
                Error::new(format!(
                    "--check without --spec re-normalizes {shown}, but it {why}"
                ))
            })?;
            let provenance = Provenance::recorded_in(fragment)
                .map_err(|e| Error::new(format!("{shown}: {e}")))?;
            (
                fragment.clone(),
                provenance,
                format!("{shown} itself (offline check)"),
            )
        }
        None => {
            let source = SpecSource::Url(published_spec_url(&pinned_version(&current, &shown)?));
            writeln!(out, "Downloading {source}").context(stdout_error)?;
            let loaded = load(&source)?;
            (loaded.document, loaded.provenance, source.to_string())
        }
    };

    let mut fragment =
        normalize(&document, &provenance).map_err(|e| Error::new(format!("{source_name}: {e}")))?;
    let described = describe(&mut fragment, &descriptions, &descriptions_shown);
    let text = to_fragment_text(&fragment);

    writeln!(
        out,
        "regen: {shown} from {source_name}, with the descriptions in {descriptions_shown}"
    )
    .context(stdout_error)?;
    if let (Some(_), Err(why)) = (&current.text, current.parsed()) {
        writeln!(out, "note: the current {shown} {why}").context(stdout_error)?;
    }
    write!(out, "{}", compare(current.parsed().ok(), &fragment)).context(stdout_error)?;
    described.map_err(|problems| Error::new(problems.to_string()))?;

    if current.text.as_deref() == Some(text.as_str()) {
        writeln!(out, "{shown} is up to date.").context(stdout_error)?;
        return Ok(Outcome::Unchanged);
    }
    if options.check {
        let old = current.text.as_deref().unwrap_or("");
        write!(out, "{}", bounded_diff(old, &text, &shown)).context(stdout_error)?;
        writeln!(
            out,
            "{shown} is not what `cargo xtask regen` would write from its spec and \
             {descriptions_shown}; regenerate it (add `--spec <file>` to work offline) and \
             commit the result."
        )
        .context(stdout_error)?;
        return Ok(Outcome::Stale);
    }
    write_atomically(&options.out, &text)?;
    writeln!(out, "Wrote {shown}.").context(stdout_error)?;
    Ok(Outcome::Written)
}

fn stdout_error() -> String {
    "writing the report".to_string()
}

/// The fragment file as found before the run.
struct CurrentFragment {
    /// Its text; `None` if there is no such file.
    text: Option<String>,
    /// Its content, or why it has none (phrased to follow "it ").
    parsed: std::result::Result<Value, String>,
}

impl CurrentFragment {
    fn read(path: &Path) -> Result<CurrentFragment> {
        let text = match fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::new(format!("reading {}: {e}", display_path(path)))),
        };
        let parsed = match &text {
            None => Err("does not exist".to_string()),
            Some(text) => {
                serde_json::from_str(text).map_err(|e| format!("is not valid JSON ({e})"))
            }
        };
        Ok(CurrentFragment { text, parsed })
    }

    fn parsed(&self) -> std::result::Result<&Value, &str> {
        self.parsed.as_ref().map_err(String::as_str)
    }
}

/// The API version the fragment is pinned to: its `info.version`.
fn pinned_version(current: &CurrentFragment, shown: &str) -> Result<String> {
    let explain = |why: &str| {
        Error::new(format!(
            "cannot tell which Clerk API version to download: {shown} {why}; \
             pass --spec <file or URL>"
        ))
    };
    let fragment = current.parsed().map_err(explain)?;
    fragment["info"]["version"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| explain("has no info.version"))
}

/// A unified diff from the current to the regenerated text, cut after [`MAX_DIFF_LINES`].
fn bounded_diff(old: &str, new: &str, shown: &str) -> String {
    let diff = TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{shown} (committed)"),
            &format!("{shown} (regenerated)"),
        )
        .to_string();
    let total = diff.lines().count();
    if total <= MAX_DIFF_LINES {
        return diff;
    }
    let mut cut: String = diff
        .lines()
        .take(MAX_DIFF_LINES)
        .flat_map(|line| [line, "\n"])
        .collect();
    cut.push_str(&format!(
        "... ({} more diff lines)\n",
        total - MAX_DIFF_LINES
    ));
    cut
}

/// Writes through a temporary file in the same directory and a rename, so that an interrupted
/// run never leaves a half-written fragment behind.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::new(format!("{} is not a file path", path.display())))?;
    let temporary = path.with_file_name(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    fs::write(&temporary, text).context(|| format!("writing {}", temporary.display()))?;
    fs::rename(&temporary, path).map_err(|e| {
        let _ = fs::remove_file(&temporary);
        Error::new(format!("replacing {}: {e}", display_path(path)))
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
