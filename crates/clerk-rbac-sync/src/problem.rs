//! A problem with a desired-state file, or with what it asks of an instance, located on its
//! line when the file says where: the bottom of the sync engine's modules (it uses none of them).

use std::fmt;

/// Where in a desired-state file a problem is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file as it was named when read (a path, or a label such as `<stdin>`).
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// The text of that line, to show under the message.
    pub line_text: String,
}

/// One thing wrong with a file, or with what it asks of an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where it is, when the state was read from a file.
    pub location: Option<Location>,
    /// The key in the file it is about, written as a TOML dotted path such as
    /// `roles."org:admin".permissions[2]`; empty for the file as a whole.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// What probably fixes it, such as "did you mean `name`?".
    pub help: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(at) = &self.location {
            write!(f, "{}:{}:{}: ", at.path, at.line, at.column)?;
        }
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, " ({help})")?;
        }
        if let Some(at) = &self.location {
            let number = at.line.to_string();
            write!(f, "\n  {number} | {}", at.line_text)?;
            let pad = " ".repeat(number.len() + at.column.saturating_sub(1));
            write!(f, "\n  {pad}   ^")?;
        }
        Ok(())
    }
}

/// Every problem found, in file order where the file says where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl Problems {
    /// Sorts by position in the file (problems without one last), then by key.
    pub(crate) fn sorted(mut self) -> Self {
        self.0.sort_by(|a, b| {
            let position = |p: &Problem| {
                p.location
                    .as_ref()
                    .map_or((usize::MAX, usize::MAX), |l| (l.line, l.column))
            };
            position(a)
                .cmp(&position(b))
                .then_with(|| a.key.cmp(&b.key))
                .then_with(|| a.message.cmp(&b.message))
        });
        self.0.dedup();
        self
    }
}
