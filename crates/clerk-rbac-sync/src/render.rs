//! How a plan reads: text for people (grouped by kind, `+` create, `~` change with `old → new`,
//! `-` delete, `!` retire, a summary line) and JSON for machines.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{
    keys::Kind,
    plan::{Change, ChangeAction, FieldChange, Plan, Summary},
    source::toml_string,
};

/// The version of the JSON shape of [`Plan::to_json`]; it changes only when a field is removed
/// or changes meaning (new fields may appear without it changing).
pub const PLAN_JSON_VERSION: u32 = 1;

/// The JSON document `plan --json` prints.
#[derive(Serialize, Deserialize)]
struct PlanDocument {
    format_version: u32,
    in_sync: bool,
    summary: Summary,
    #[serde(flatten)]
    plan: Plan,
}

/// ANSI styles, or nothing when colour is off.
struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
    fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }
    fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }
    fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }
    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
}

impl Plan {
    /// The plan as a person reads it; `color` adds ANSI colours (for terminals).
    ///
    /// Changes are grouped by kind (permissions, roles, role sets), sorted by key, each with
    /// its fields: `name: "Old" → "New"`, list fields as `+ added` / `- removed` keys. Unmanaged
    /// objects follow, then one summary line.
    pub fn render(&self, color: bool) -> String {
        let style = Style { on: color };
        let mut out = String::new();
        for (kind, title) in [
            (Kind::Permission, "Permissions"),
            (Kind::Role, "Roles"),
            (Kind::RoleSet, "Role sets"),
        ] {
            let changes: Vec<&Change> = self.changes.iter().filter(|c| c.kind == kind).collect();
            if changes.is_empty() {
                continue;
            }
            let _ = writeln!(out, "{}", style.bold(title));
            for change in changes {
                render_change(&mut out, &style, change);
            }
            out.push('\n');
        }
        if !self.unmanaged.is_empty() {
            let what = if self.prune {
                "kept"
            } else {
                "left alone; --prune deletes permissions and roles"
            };
            let _ = writeln!(out, "{}", style.bold(&format!("Not in the file ({what})")));
            for (label, keys) in [
                ("permissions", &self.unmanaged.permissions),
                ("roles", &self.unmanaged.roles),
                ("role sets", &self.unmanaged.role_sets),
            ] {
                if !keys.is_empty() {
                    let _ = writeln!(out, "  {label}: {}", style.dim(&keys.join(", ")));
                }
            }
            out.push('\n');
        }
        if !self.findings.is_empty() {
            let _ = writeln!(out, "{}", style.bold("Preflight"));
            for finding in &self.findings {
                let text = finding.to_string();
                let text = match finding.severity {
                    crate::Severity::Error => style.red(&text),
                    crate::Severity::Warning => style.yellow(&text),
                    crate::Severity::Note => text,
                };
                let _ = writeln!(out, "  {text}");
            }
            out.push('\n');
        }
        let summary = self.summary();
        if self.changes.is_empty() {
            out.push_str("No changes: the instance matches the file.\n");
        } else {
            let _ = writeln!(
                out,
                "{} {} to create, {} to change, {} to delete, {} to retire ({} request{}).",
                style.bold("Plan:"),
                summary.create,
                summary.update,
                summary.delete,
                summary.retire,
                summary.requests,
                if summary.requests == 1 { "" } else { "s" },
            );
        }
        let errors = self.errors().len();
        if errors > 0 {
            let _ = writeln!(
                out,
                "{} {errors} finding(s) above would make Clerk refuse part of this plan; apply sends nothing until they are resolved.",
                style.red("Refused:")
            );
        }
        out
    }

    /// The plan as JSON, in the documented, stable shape `plan --json` prints:
    /// `format_version` (see [`PLAN_JSON_VERSION`]), `in_sync`, `summary`, `changes`,
    /// `unmanaged`, `steps`, `prune`, `fingerprint` and, when the preflight found anything,
    /// `findings` (each with `severity`, `code`, `key`, `location`, `message`, `help`,
    /// `members`).
    pub fn to_json(&self) -> String {
        let document = PlanDocument {
            format_version: PLAN_JSON_VERSION,
            in_sync: self.is_empty(),
            summary: self.summary(),
            plan: self.clone(),
        };
        let mut text = serde_json::to_string_pretty(&document)
            .unwrap_or_else(|e| unreachable!("a plan always serializes: {e}"));
        text.push('\n');
        text
    }

    /// Reads a plan written by [`to_json`](Self::to_json).
    pub fn from_json(text: &str) -> Result<Plan, serde_json::Error> {
        let document: PlanDocument = serde_json::from_str(text)?;
        if document.format_version != PLAN_JSON_VERSION {
            return Err(serde::de::Error::custom(format!(
                "plan format version {} is not {PLAN_JSON_VERSION}",
                document.format_version
            )));
        }
        Ok(document.plan)
    }
}

fn render_change(out: &mut String, style: &Style, change: &Change) {
    let (sign, paint): (&str, fn(&Style, &str) -> String) = match change.action {
        ChangeAction::Create => ("+", Style::green),
        ChangeAction::Update => ("~", Style::yellow),
        ChangeAction::Delete => ("-", Style::red),
        ChangeAction::Retire => ("!", Style::red),
    };
    let mut head = format!("  {} {}", paint(style, sign), style.bold(&change.key));
    match change.action {
        ChangeAction::Delete => head.push_str(&style.dim(" (delete)")),
        ChangeAction::Retire => {
            let into = change.into.as_deref().unwrap_or("?");
            head.push_str(&format!(" (retire: organizations move to {into})"));
        }
        _ => {}
    }
    if let Some(old) = &change.renamed_from {
        head.push_str(&format!(" (renamed from {old})"));
    }
    let _ = writeln!(out, "{head}");
    let width = change
        .fields
        .iter()
        .map(|f| match f {
            FieldChange::Value { field, .. } | FieldChange::List { field, .. } => field.len(),
        })
        .max()
        .unwrap_or(0);
    for field in &change.fields {
        match field {
            FieldChange::Value { field, old, new } => {
                let label = format!("{field}:{}", " ".repeat(width - field.len()));
                let shown = match (change.action, old) {
                    (ChangeAction::Create, _) => show(new),
                    _ => format!("{} → {}", show(old), show(new)),
                };
                let _ = writeln!(out, "      {label} {shown}");
            }
            FieldChange::List {
                field,
                added,
                removed,
            } => {
                let label = format!("{field}:{}", " ".repeat(width - field.len()));
                let indent = " ".repeat(label.len());
                let mut first = true;
                let lines =
                    added
                        .iter()
                        .map(|k| style.green(&format!("+ {k}")))
                        .chain(removed.iter().map(|k| {
                            let moved = change
                                .moves
                                .get(k)
                                .map(|to| format!(" (members move to {to})"))
                                .unwrap_or_default();
                            style.red(&format!("- {k}{moved}"))
                        }));
                for line in lines {
                    let lead = if first { &label } else { &indent };
                    first = false;
                    let _ = writeln!(out, "      {lead} {line}");
                }
            }
        }
    }
    if change.action == ChangeAction::Retire {
        for (from, to) in &change.moves {
            let _ = writeln!(out, "      members of {from} move to {to}");
        }
    }
}

fn show(value: &Option<String>) -> String {
    match value {
        Some(text) => toml_string(text),
        None => "(none)".to_owned(),
    }
}
