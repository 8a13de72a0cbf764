//! What apply reports: every step of the plan with how it ended, for people (text) and
//! machines (JSON).

use std::fmt::Write as _;

use serde::Serialize;

use super::plan::{Action, Step};

/// What apply did, step by step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// Every step of the plan with how it ended, in plan order.
    pub steps: Vec<StepReport>,
}

/// One step and how it ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepReport {
    /// The step.
    #[serde(flatten)]
    pub step: Step,
    /// How it ended (in JSON, `outcome` and its fields sit beside the step's).
    #[serde(flatten)]
    pub outcome: StepOutcome,
}

/// How one step ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StepOutcome {
    /// The change is on the instance.
    Done {
        /// Set when the request failed (e.g. the connection dropped after Clerk acted) but
        /// reading the object back showed the change is there: the error, for the record.
        #[serde(skip_serializing_if = "Option::is_none")]
        confirmed_after: Option<String>,
    },
    /// The change is not on the instance (or, for a retirement, not finished).
    Failed {
        /// What went wrong, with Clerk's error message and code.
        error: String,
        /// The HTTP status, when there was an answer.
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        /// Clerk's error code, when Clerk said one.
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    /// Not sent, because a step it waits for failed.
    Skipped {
        /// The failed step it waits for (directly or not).
        because_of: usize,
    },
    /// Not sent, because the apply was interrupted before it could start.
    NotStarted,
    /// Not sent, because an earlier step was refused by the instance's plan (402): once one
    /// create is refused for the plan, the others would be too, so apply stops sending.
    NotAttempted {
        /// The step answered 402.
        because_of: usize,
    },
    /// Still running when the interrupted apply stopped waiting: the change may or may not be
    /// on the instance (applying again reads the instance first, so it finds out).
    Interrupted,
}

impl StepOutcome {
    /// Whether the change is on the instance.
    pub fn is_done(&self) -> bool {
        matches!(self, StepOutcome::Done { .. })
    }
}

impl ApplyReport {
    /// Whether every step was done.
    pub fn is_success(&self) -> bool {
        self.steps.iter().all(|s| s.outcome.is_done())
    }

    /// Whether the apply was interrupted (some steps not started or cut short).
    pub fn is_interrupted(&self) -> bool {
        self.steps.iter().any(|s| {
            matches!(
                s.outcome,
                StepOutcome::NotStarted | StepOutcome::Interrupted
            )
        })
    }

    /// Counts: (done, failed, skipped); a step cut short by an interrupt counts as failed, one
    /// never started is in none of them (see [`not_started`](Self::not_started)).
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for step in &self.steps {
            match step.outcome {
                StepOutcome::Done { .. } => counts.0 += 1,
                StepOutcome::Failed { .. } | StepOutcome::Interrupted => counts.1 += 1,
                StepOutcome::Skipped { .. } | StepOutcome::NotAttempted { .. } => counts.2 += 1,
                StepOutcome::NotStarted => {}
            }
        }
        counts
    }

    /// How many steps were never started because the apply was interrupted.
    pub fn not_started(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| s.outcome == StepOutcome::NotStarted)
            .count()
    }

    /// The report as JSON, keys in this order: `format_version` (1), `success`,
    /// `interrupted`, `counts` (`done`, `failed`, `skipped`, `not_started`) and `steps`, each a
    /// plan step (`id`, `op` and its fields, `after`) with its `outcome` (`done`, `failed` with
    /// `error`, `status`, `code`, `skipped` with `because_of`, `not_started`, or `interrupted`).
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Counts {
            done: usize,
            failed: usize,
            skipped: usize,
            not_started: usize,
            not_attempted: usize,
        }
        #[derive(Serialize)]
        struct Document<'a> {
            format_version: u32,
            success: bool,
            interrupted: bool,
            counts: Counts,
            steps: &'a [StepReport],
        }
        let (done, failed, skipped) = self.counts();
        let document = Document {
            format_version: 1,
            success: self.is_success(),
            interrupted: self.is_interrupted(),
            counts: Counts {
                done,
                failed,
                skipped,
                not_started: self.not_started(),
                not_attempted: self
                    .steps
                    .iter()
                    .filter(|s| matches!(s.outcome, StepOutcome::NotAttempted { .. }))
                    .count(),
            },
            steps: &self.steps,
        };
        let mut text = serde_json::to_string_pretty(&document)
            .unwrap_or_else(|e| unreachable!("a report always serializes: {e}"));
        text.push('\n');
        text
    }

    /// The report as a person reads it: what failed (with Clerk's error) and what was skipped
    /// (and why) in full, what was done one line each, and a summary line.
    pub fn render(&self, color: bool) -> String {
        let paint = |code: &str, text: &str| {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_owned()
            }
        };
        let mut out = String::new();
        for report in &self.steps {
            let what = describe(&report.step.action);
            match &report.outcome {
                StepOutcome::Done {
                    confirmed_after: None,
                } => {
                    let _ = writeln!(out, "{} {what}", paint("32", "done   "));
                }
                StepOutcome::Done {
                    confirmed_after: Some(error),
                } => {
                    let _ = writeln!(
                        out,
                        "{} {what} (the request failed: {error}; reading it back shows the change is there)",
                        paint("32", "done   ")
                    );
                }
                StepOutcome::Failed { error, .. } => {
                    let _ = writeln!(out, "{} {what}: {error}", paint("31", "FAILED "));
                }
                StepOutcome::Skipped { because_of } => {
                    let cause = self
                        .steps
                        .get(*because_of)
                        .map(|s| describe(&s.step.action))
                        .unwrap_or_else(|| format!("step {because_of}"));
                    let _ = writeln!(
                        out,
                        "{} {what} (it needs \"{cause}\", which failed)",
                        paint("33", "skipped")
                    );
                }
                StepOutcome::NotStarted => {
                    let _ = writeln!(out, "{} {what}", paint("33", "not started"));
                }
                StepOutcome::NotAttempted { because_of } => {
                    let cause = self
                        .steps
                        .get(*because_of)
                        .map(|s| describe(&s.step.action))
                        .unwrap_or_else(|| format!("step {because_of}"));
                    let _ = writeln!(
                        out,
                        "{} {what} (not attempted: \"{cause}\" was refused for the instance's plan)",
                        paint("33", "not sent")
                    );
                }
                StepOutcome::Interrupted => {
                    let _ = writeln!(
                        out,
                        "{} {what} (still running when apply stopped: it may or may not have happened)",
                        paint("31", "INTERRUPTED")
                    );
                }
            }
        }
        let (done, failed, skipped) = self.counts();
        if self.is_interrupted() {
            let _ = writeln!(
                out,
                "Apply interrupted: {done} done, {failed} failed, {skipped} skipped, {} not started.",
                self.not_started()
            );
            out.push_str("Run apply again to finish: it reads the instance first, and what is done stays done.\n");
            return out;
        }
        let _ = writeln!(
            out,
            "Apply {}: {done} done, {failed} failed, {skipped} skipped.",
            if failed + skipped == 0 {
                "complete"
            } else {
                "incomplete"
            }
        );
        let stopped = self.steps.iter().find_map(|s| match s.outcome {
            StepOutcome::NotAttempted { because_of } => Some(because_of),
            _ => None,
        });
        if let Some(gate) = stopped {
            let not_sent = self
                .steps
                .iter()
                .filter(|s| matches!(s.outcome, StepOutcome::NotAttempted { .. }))
                .count();
            let cause = self
                .steps
                .get(gate)
                .map(|s| describe(&s.step.action))
                .unwrap_or_else(|| format!("step {gate}"));
            let _ = writeln!(
                out,
                "Stopped: \"{cause}\" was refused with 402, so the instance's plan lacks custom roles; {not_sent} step(s) were not attempted. Enable the feature on the instance's plan, then apply again."
            );
        }
        if failed + skipped > 0 {
            out.push_str("Fix the cause and apply again: what is done stays done.\n");
        }
        out
    }
}

/// One line saying what a step does, as a person would say it.
pub fn describe(action: &Action) -> String {
    match action {
        Action::CreatePermission { key, .. } => format!("create permission {key}"),
        Action::UpdatePermission {
            key,
            new_key: Some(new),
            ..
        } => {
            format!("update permission {key} (renamed to {new})")
        }
        Action::UpdatePermission { key, .. } => format!("update permission {key}"),
        Action::DeletePermission { key } => format!("delete permission {key}"),
        Action::CreateRole { key, .. } => format!("create role {key}"),
        Action::UpdateRole {
            key,
            new_key: Some(new),
            ..
        } => {
            format!("update role {key} (renamed to {new})")
        }
        Action::UpdateRole { key, .. } => format!("update role {key}"),
        Action::DeleteRole { key } => format!("delete role {key}"),
        Action::CreateRoleSet { key, roles, .. } => {
            format!("create role set {key} with {}", roles.join(", "))
        }
        Action::AddRoles { set, roles, .. } => {
            format!("add {} to role set {set}", roles.join(", "))
        }
        Action::UpdateRoleSet {
            set,
            new_key: Some(new),
            ..
        } => {
            format!("update role set {set} (renamed to {new})")
        }
        Action::UpdateRoleSet { set, .. } => format!("update role set {set}"),
        Action::RemoveRole {
            set,
            role,
            members_to,
        } => {
            format!("remove {role} from role set {set} (members move to {members_to})")
        }
        Action::RetireRoleSet { set, into, .. } => {
            format!("retire role set {set} into {into} and wait for the migration")
        }
        Action::AwaitMigration { set } => format!("wait for the migration of role set {set}"),
    }
}
