//! How fleet plans and reports read: a summary table, then each target's plan or report, for
//! people; one JSON document for machines.

use std::{fmt::Write as _, time::Duration};

use serde_json::{Value, json};

use super::{
    FLEET_JSON_VERSION,
    run::{FleetPlan, FleetReport, KeyKind, TargetOutcome, TargetPlan},
};

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// `12s`, `2m05s`, `<1s`.
fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0 => "<1s".to_owned(),
        1..=59 => format!("{secs}s"),
        _ => format!("{}m{:02}s", secs / 60, secs % 60),
    }
}

fn key_label(key: Option<KeyKind>) -> &'static str {
    match key {
        Some(KeyKind::Live) => "live key",
        Some(KeyKind::Test) => "test key",
        None => "no key",
    }
}

/// Rows of cells, left-aligned in columns (numbers right-aligned).
fn table(rows: &[Vec<String>], numeric: &[bool]) -> String {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[c] - cell.chars().count());
            if c > 0 {
                line.push_str("  ");
            }
            if numeric.get(c).copied().unwrap_or(false) {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&pad);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

impl TargetPlan {
    /// What the summary table says about this target beyond its counts.
    pub fn findings(&self) -> Vec<String> {
        let plan = match &self.result {
            Err(e) => return vec![format!("FAILED ({}): see below", kind_word(e))],
            Ok(plan) => plan,
        };
        let mut found = Vec::new();
        if plan.is_empty() {
            found.push("in sync".to_owned());
        }
        let summary = plan.summary();
        if summary.retire > 0 {
            found.push(format!("retires {} role set(s)", summary.retire));
        }
        let unmanaged = plan.unmanaged.permissions.len()
            + plan.unmanaged.roles.len()
            + plan.unmanaged.role_sets.len();
        if unmanaged > 0 {
            found.push(format!("{unmanaged} not in the file"));
        }
        if self.key == Some(KeyKind::Live) && !plan.is_empty() {
            found.push("production (live key)".to_owned());
        }
        found
    }

    /// The line that introduces this target's section: name, stage, host and key kind.
    pub fn heading(&self) -> String {
        format!(
            "== {} (stage {}, {}, {}) ==",
            self.target,
            self.stage,
            self.host,
            key_label(self.key)
        )
    }
}

fn kind_word(error: &super::TargetError) -> &'static str {
    match error.kind {
        super::TargetErrorKind::Configuration => "configuration",
        super::TargetErrorKind::Read => "read",
        super::TargetErrorKind::Refused => "refused",
        super::TargetErrorKind::Stale => "stale",
        super::TargetErrorKind::ForeignTarget => "foreign target",
    }
}

impl FleetPlan {
    /// The summary table: one row per target with its creates, changes, deletes, requests,
    /// estimated apply time at its rate limit, and findings; then a total line.
    pub fn render_summary(&self, color: bool) -> String {
        let mut rows = vec![
            [
                "TARGET",
                "STAGE",
                "CREATES",
                "CHANGES",
                "DELETES",
                "REQUESTS",
                "EST. TIME",
                "FINDINGS",
            ]
            .map(str::to_owned)
            .to_vec(),
        ];
        for target in &self.targets {
            let mut row = vec![target.target.clone(), target.stage.clone()];
            match &target.result {
                Ok(plan) => {
                    let s = plan.summary();
                    row.extend([
                        s.create.to_string(),
                        (s.update + s.retire).to_string(),
                        s.delete.to_string(),
                        s.requests.to_string(),
                        if plan.is_empty() {
                            "-".to_owned()
                        } else {
                            duration(target.estimate())
                        },
                    ]);
                }
                Err(_) => row.extend(["-", "-", "-", "-", "-"].map(str::to_owned)),
            }
            row.push(target.findings().join("; "));
            rows.push(row);
        }
        let mut out = table(&rows, &[false, false, true, true, true, true, true, false]);
        let header_end = out.find('\n').unwrap_or(0);
        let header = paint(color, "1", &out[..header_end]);
        out.replace_range(..header_end, &header);
        let drifted = self.drifted();
        let failed = self.failed();
        let _ = writeln!(
            out,
            "\n{} targets: {} in sync, {} with changes, {} failed.",
            self.targets.len(),
            self.targets.len() - drifted.len() - failed.len(),
            drifted.len(),
            failed.len()
        );
        out
    }

    /// The summary table, then each target's section: its plan, or its error.
    pub fn render(&self, color: bool) -> String {
        let mut out = self.render_summary(color);
        for target in &self.targets {
            let _ = writeln!(out, "\n{}", paint(color, "1", &target.heading()));
            match &target.result {
                Ok(plan) => out.push_str(&plan.render(color)),
                Err(e) => {
                    let _ = writeln!(out, "{} {e}", paint(color, "31", "FAILED:"));
                }
            }
        }
        out
    }

    /// The plans as JSON: `format_version`, `fleet`, `stages`, `drifted`, `failed`, and
    /// `targets`, each with `target`, `stage`, `host`, `key` (`test`/`live`/null), `status`
    /// (`in_sync`, `changes` or `failed`), `summary`, `estimated_seconds`, `findings`, and
    /// either `plan` (as `plan --json` prints it) or `error` (`kind`, `message`).
    pub fn to_json(&self) -> String {
        let targets: Vec<Value> = self
            .targets
            .iter()
            .map(|t| {
                let (status, summary, plan, error) = match &t.result {
                    Ok(plan) => (
                        if plan.is_empty() {
                            "in_sync"
                        } else {
                            "changes"
                        },
                        json!(plan.summary()),
                        serde_json::from_str::<Value>(&plan.to_json()).unwrap_or(Value::Null),
                        Value::Null,
                    ),
                    Err(e) => ("failed", Value::Null, Value::Null, json!(e)),
                };
                json!({
                    "target": t.target,
                    "stage": t.stage,
                    "host": t.host,
                    "key": t.key,
                    "status": status,
                    "summary": summary,
                    "estimated_seconds": t.estimate().as_secs(),
                    "findings": t.findings(),
                    "plan": plan,
                    "error": error,
                })
            })
            .collect();
        let document = json!({
            "format_version": FLEET_JSON_VERSION,
            "fleet": self.fleet,
            "stages": self.stages,
            "drifted": self.drifted(),
            "failed": self.failed(),
            "targets": targets,
        });
        pretty(&document)
    }
}

fn pretty(document: &Value) -> String {
    let mut text = serde_json::to_string_pretty(document)
        .unwrap_or_else(|e| unreachable!("JSON values always serialize: {e}"));
    text.push('\n');
    text
}

impl FleetReport {
    /// One section per target (its apply report, error or why it did not start), then a
    /// table of every target's outcome and the totals.
    pub fn render(&self, color: bool) -> String {
        let mut out = String::new();
        for target in &self.targets {
            let _ = writeln!(
                out,
                "{}",
                paint(
                    color,
                    "1",
                    &format!(
                        "== {} (stage {}, {}) ==",
                        target.target, target.stage, target.host
                    )
                )
            );
            match &target.outcome {
                TargetOutcome::InSync => out.push_str("Nothing to do: in sync.\n"),
                TargetOutcome::Applied(report) | TargetOutcome::Incomplete(report) => {
                    out.push_str(&report.render(color));
                }
                TargetOutcome::Failed(e) => {
                    let _ = writeln!(out, "{} {e}", paint(color, "31", "FAILED:"));
                }
                TargetOutcome::NotStarted { reason } => {
                    let _ = writeln!(out, "{} {reason}.", paint(color, "33", "NOT STARTED:"));
                }
            }
            out.push('\n');
        }
        let mut rows = vec![
            [
                "TARGET", "STAGE", "OUTCOME", "DONE", "FAILED", "SKIPPED", "TIME",
            ]
            .map(str::to_owned)
            .to_vec(),
        ];
        for target in &self.targets {
            let (done, failed, skipped) = target
                .outcome
                .report()
                .map_or((0, 0, 0), crate::ApplyReport::counts);
            rows.push(vec![
                target.target.clone(),
                target.stage.clone(),
                target.outcome.status().replace('_', " "),
                done.to_string(),
                failed.to_string(),
                skipped.to_string(),
                duration(target.elapsed),
            ]);
        }
        out.push_str(&table(
            &rows,
            &[false, false, false, true, true, true, true],
        ));
        let t = self.totals();
        let _ = writeln!(
            out,
            "\nFleet apply {}: {} targets: {} applied, {} in sync, {} incomplete, {} failed, {} not started; {} steps done, {} failed, {} skipped ({}).",
            if self.is_success() {
                "complete"
            } else {
                "incomplete"
            },
            t.targets,
            t.applied,
            t.in_sync,
            t.incomplete,
            t.failed,
            t.not_started,
            t.steps_done,
            t.steps_failed,
            t.steps_skipped,
            duration(self.elapsed),
        );
        if !self.is_success() {
            out.push_str(
                "Fix the causes and apply again: what is done stays done, and targets in sync are left alone.\n",
            );
        }
        out
    }

    /// The report as JSON: `format_version`, `fleet`, `success`, `totals`, `elapsed_seconds`
    /// and `targets`, each with `target`, `stage`, `host`, `status`, `elapsed_seconds`, and
    /// `report` (as `apply --json` prints it), `error` or `reason` as they apply.
    pub fn to_json(&self) -> String {
        let targets: Vec<Value> = self
            .targets
            .iter()
            .map(|t| {
                let report = t
                    .outcome
                    .report()
                    .and_then(|r| serde_json::from_str::<Value>(&r.to_json()).ok())
                    .unwrap_or(Value::Null);
                let error = match &t.outcome {
                    TargetOutcome::Failed(e) => json!(e),
                    _ => Value::Null,
                };
                let reason = match &t.outcome {
                    TargetOutcome::NotStarted { reason } => json!(reason),
                    _ => Value::Null,
                };
                json!({
                    "target": t.target,
                    "stage": t.stage,
                    "host": t.host,
                    "status": t.outcome.status(),
                    "elapsed_seconds": t.elapsed.as_secs_f64(),
                    "report": report,
                    "error": error,
                    "reason": reason,
                })
            })
            .collect();
        pretty(&json!({
            "format_version": FLEET_JSON_VERSION,
            "fleet": self.fleet,
            "success": self.is_success(),
            "totals": self.totals(),
            "elapsed_seconds": self.elapsed.as_secs_f64(),
            "targets": targets,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(Duration::ZERO), "<1s");
        assert_eq!(duration(Duration::from_secs(20)), "20s");
        assert_eq!(duration(Duration::from_secs(125)), "2m05s");
    }

    #[test]
    fn tables_align_columns_and_right_align_numbers() {
        let rows = vec![
            vec!["A".to_owned(), "N".to_owned()],
            vec!["long".to_owned(), "12".to_owned()],
        ];
        assert_eq!(table(&rows, &[false, true]), "A      N\nlong  12\n");
    }
}
