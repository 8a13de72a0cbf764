//! The text a desired state was read from, and how to point into it: where each key is written,
//! key paths as TOML spells them, and TOML string quoting. Uses nothing of the engine but
//! [`Location`](super::problem::Location).

use std::{collections::HashMap, fmt::Write as _, ops::Range};

use super::problem::Location;

/// The text a state was read from, and where each key of it is, to locate problems.
#[derive(Debug, Default)]
pub(crate) struct Source {
    /// The file's name as given.
    pub(crate) path: String,
    pub(crate) text: String,
    /// Key path → (span of the key, span of its value).
    pub(crate) spans: HashMap<String, (Range<usize>, Range<usize>)>,
}

impl Source {
    /// Where the key at `path` is written, if it is in the file.
    pub(crate) fn locate_key(&self, path: &str) -> Option<Location> {
        self.spans
            .get(path)
            .map(|(key, _)| self.location(key.start))
    }

    /// Where the value of the key at `path` is written, if it is in the file.
    pub(crate) fn locate_value(&self, path: &str) -> Option<Location> {
        self.spans
            .get(path)
            .map(|(_, value)| self.location(value.start))
    }

    /// The key path whose value most tightly holds `span`.
    pub(crate) fn path_of(&self, span: &Range<usize>) -> Option<&str> {
        self.spans
            .iter()
            .filter(|(_, (key, value))| {
                (value.start <= span.start && span.end <= value.end) || key == span
            })
            .min_by_key(|(path, (_, value))| (value.len(), std::cmp::Reverse(path.len())))
            .map(|(path, _)| path.as_str())
    }

    pub(crate) fn location(&self, offset: usize) -> Location {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let before = &self.text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[offset..]
            .find('\n')
            .map_or(self.text.len(), |i| offset + i);
        Location {
            path: self.path.clone(),
            line: before.matches('\n').count() + 1,
            column: self.text[line_start..offset].chars().count() + 1,
            line_text: self.text[line_start..line_end]
                .trim_end_matches('\r')
                .to_owned(),
        }
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A TOML dotted key path: `roles."org:admin".permissions[2]`.
pub(crate) fn key_path(segments: &[&str]) -> String {
    let mut out = String::new();
    for segment in segments {
        push_key(&mut out, segment);
    }
    out
}

pub(crate) fn push_key(out: &mut String, segment: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    let bare = !segment.is_empty()
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        out.push_str(segment);
    } else {
        out.push_str(&toml_string(segment));
    }
}

/// `path[index]`.
pub(crate) fn index_path(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

/// A TOML basic string: quoted, with `"`, `\` and control characters escaped.
pub(crate) fn toml_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
