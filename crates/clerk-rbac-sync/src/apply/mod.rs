//! Carrying a plan out on an instance: check that the instance is still what the plan saw, send
//! each step's request through the public facade (IDs looked up by key), wait for role-set
//! migrations, and say how each step ended (see `report.rs`; errors that may hide a success
//! are read back, see `verify.rs`).

use std::{fmt, sync::Arc, time::Duration};

mod send;

use clerk_rbac::{Clerk, Error};
use futures::FutureExt;

use send::{Failure, await_migration, send};

use super::{
    dag::{self, Dag, Interrupt, Outcome},
    error::SyncError,
    fingerprint::{DriftChange, Fingerprint},
    instance::{Instance, read},
    keys::Kind,
    plan::{Action, Plan, Step},
    problem::{Problem, Problems},
    report::{ApplyReport, StepOutcome, StepReport},
    verify::Ids,
};

/// A callback told about each step's progress.
pub type ProgressFn = Arc<dyn Fn(Progress<'_>) + Send + Sync>;

/// How to apply a plan.
#[derive(Clone)]
#[non_exhaustive]
pub struct ApplyOptions {
    /// How many steps may run at once (default 8). The client's rate limit still paces every
    /// request; this only bounds how many wait at once.
    pub concurrency: usize,
    /// How long to wait for a role-set migration to finish before giving up on that step
    /// (default 10 minutes). The migration goes on at Clerk; applying again waits for it.
    pub migration_timeout: Duration,
    /// How often to look at a migration's progress (default 2 s).
    pub poll_interval: Duration,
    /// Told when each step starts and ends, for progress displays.
    pub progress: Option<ProgressFn>,
    /// How long a read-back that does not show a step's change yet is repeated before the step
    /// counts as failed ([`DEFAULT_READ_BACK_WINDOW`](crate::DEFAULT_READ_BACK_WINDOW)):
    /// Clerk may answer a read right after a write with the previous value.
    pub read_back_window: Duration,
    /// Stops the apply early when triggered: no new step starts, running ones get
    /// [`grace`](Self::grace) to finish, and the report says what was not started.
    pub interrupt: Option<Interrupt>,
    /// How long running steps may go on after an interrupt (default 30 s); a step still
    /// running then is reported as interrupted (its outcome unknown).
    pub grace: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            concurrency: 8,
            migration_timeout: Duration::from_secs(600),
            poll_interval: Duration::from_secs(2),
            progress: None,
            read_back_window: crate::DEFAULT_READ_BACK_WINDOW,
            interrupt: None,
            grace: Duration::from_secs(30),
        }
    }
}

impl fmt::Debug for ApplyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApplyOptions")
            .field("concurrency", &self.concurrency)
            .field("migration_timeout", &self.migration_timeout)
            .field("poll_interval", &self.poll_interval)
            .field("progress", &self.progress.as_ref().map(|_| "callback"))
            .field("interrupt", &self.interrupt)
            .field("grace", &self.grace)
            .field("read_back_window", &self.read_back_window)
            .finish()
    }
}

impl ApplyOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`concurrency`](Self::concurrency) (`0` is taken as `1`).
    pub fn concurrency(mut self, steps: usize) -> Self {
        self.concurrency = steps.max(1);
        self
    }

    /// Sets [`interrupt`](Self::interrupt).
    pub fn interrupt(mut self, interrupt: Interrupt) -> Self {
        self.interrupt = Some(interrupt);
        self
    }

    /// Sets [`grace`](Self::grace).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Sets [`migration_timeout`](Self::migration_timeout).
    pub fn migration_timeout(mut self, timeout: Duration) -> Self {
        self.migration_timeout = timeout;
        self
    }

    /// Sets [`poll_interval`](Self::poll_interval).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Sets [`read_back_window`](Self::read_back_window).
    pub fn read_back_window(mut self, window: Duration) -> Self {
        self.read_back_window = window;
        self
    }

    /// Sets [`progress`](Self::progress).
    pub fn progress(mut self, report: impl Fn(Progress<'_>) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(report));
        self
    }
}

/// A step starting or ending, for [`ApplyOptions::progress`].
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// The step is about to send its request.
    Started(&'a Step),
    /// The step ended (done, failed or skipped); `done` of `total` steps have ended.
    Finished {
        /// The step.
        step: &'a Step,
        /// How it ended.
        outcome: &'a StepOutcome,
        /// Steps ended so far, this one included.
        done: usize,
        /// Steps in the plan.
        total: usize,
    },
}

/// Checks that the instance is what `plan` saw, then carries the plan out.
///
/// Refuses with [`SyncError::Stale`] (sending nothing that changes anything) when any object
/// was created, changed or deleted since the plan was computed. Otherwise every step runs once
/// the steps it waits for have succeeded; a failed step skips what depends on it and nothing
/// else. The report says how every step ended; applying a fresh plan again converges.
///
/// Use a client with the instance's rate limit (see [`client_from_env`](super::client_from_env))
/// so that a long apply does not meet 429 answers.
pub fn apply<'a>(
    clerk: &'a Clerk,
    plan: &'a Plan,
    options: &'a ApplyOptions,
) -> impl Future<Output = Result<ApplyReport, SyncError>> + Send + 'a {
    async move {
        check_steps(plan)?;
        let now = read(clerk).await.map_err(SyncError::Read)?;
        if let Some(mut drift) = plan.fingerprint.drift(&Fingerprint::of(&now)) {
            // A set whose migration the plan waits for may have finished meanwhile: that is the
            // awaited outcome, not a change behind the plan's back.
            drift.changes.retain(|item| {
                !(item.kind == Kind::RoleSet
                    && item.change == DriftChange::Removed
                    && plan.steps.iter().any(
                        |s| matches!(&s.action, Action::AwaitMigration { set } if *set == item.key),
                    ))
            });
            if !drift.changes.is_empty() {
                return Err(SyncError::Stale(drift));
            }
        }
        // The preflight, again on what the instance holds now: a plan read from JSON may carry no
        // findings, or have been made with settings that changed since.
        let errors: Vec<_> = plan.errors().into_iter().cloned().collect();
        let errors = if errors.is_empty() {
            let settings = crate::read_settings(clerk).await;
            crate::preflight::check(&now, plan, None, settings.as_ref())
                .into_iter()
                .filter(|f| f.severity == crate::Severity::Error)
                .collect()
        } else {
            errors
        };
        if !errors.is_empty() {
            return Err(SyncError::Refused(crate::Findings(errors)));
        }
        Ok(execute(clerk, plan, &now, options).await)
    }
    .boxed()
}

/// A plan read from JSON may have been edited: every step must wait only for earlier ones.
fn check_steps(plan: &Plan) -> Result<(), SyncError> {
    for (i, step) in plan.steps.iter().enumerate() {
        if step.id != i || step.after.iter().any(|&b| b >= i) {
            return Err(SyncError::Unplannable(Problems(vec![Problem {
                location: None,
                key: String::new(),
                message: format!("step {i} of the plan is out of order; plan again"),
                help: None,
            }])));
        }
    }
    Ok(())
}

/// Runs the steps of `plan` on an instance known to be what the plan saw.
async fn execute(
    clerk: &Clerk,
    plan: &Plan,
    now: &Instance,
    options: &ApplyOptions,
) -> ApplyReport {
    let ids = Ids::from(now);
    // Roles name permissions by ID: a permission being renamed is known by its new key from
    // the start, so that a role step need not wait for the rename.
    for step in &plan.steps {
        match &step.action {
            Action::UpdatePermission {
                key,
                new_key: Some(new_key),
                ..
            } => {
                if let Ok(id) = ids.permission(key) {
                    ids.set_permission(new_key, &id);
                }
            }
            Action::UpdateRole {
                key,
                new_key: Some(new_key),
                ..
            } => {
                if let Ok(id) = ids.role(key) {
                    ids.set_role(new_key, &id);
                }
            }
            _ => {}
        }
    }
    let total = plan.steps.len();
    let finished_count = std::sync::atomic::AtomicUsize::new(0);
    // The first step answered 402 (plus one; 0 while none was): the instance's plan lacks
    // the feature, so every later create would be refused too; nothing more is sent.
    let gate = std::sync::atomic::AtomicUsize::new(0);
    let progress = options.progress.clone();
    let graph = Dag::from_edges(plan.steps.iter().map(|s| s.after.iter().copied()));
    let outcomes = dag::walk(
        &graph,
        options.concurrency,
        options.interrupt.as_ref().map(|i| (i, options.grace)),
        |id| {
            let step = &plan.steps[id];
            let ids = &ids;
            let gate = &gate;
            async move {
                let hit = gate.load(std::sync::atomic::Ordering::SeqCst);
                if hit > 0 {
                    return Err(StepOutcome::NotAttempted {
                        because_of: hit - 1,
                    });
                }
                let result = run_step(clerk, ids, &step.action, options).await;
                if let Err(StepOutcome::Failed {
                    status: Some(402), ..
                }) = &result
                {
                    let _ = gate.compare_exchange(
                        0,
                        id + 1,
                        std::sync::atomic::Ordering::SeqCst,
                        std::sync::atomic::Ordering::SeqCst,
                    );
                }
                result
            }
        },
        |id| {
            if let Some(report) = &progress {
                report(Progress::Started(&plan.steps[id]));
            }
        },
        |id, outcome| {
            if let Some(report) = &progress {
                let done = finished_count.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                let outcome = outcome_of(outcome);
                report(Progress::Finished {
                    step: &plan.steps[id],
                    outcome: &outcome,
                    done,
                    total,
                });
            }
        },
    )
    .await;
    let gate = gate.into_inner();
    ApplyReport {
        steps: plan
            .steps
            .iter()
            .zip(&outcomes)
            .map(|(step, outcome)| StepReport {
                step: step.clone(),
                outcome: match outcome_of(outcome) {
                    // After a 402 nothing more was sent: a step skipped for another failure
                    // was not going to be attempted either.
                    StepOutcome::Skipped { .. } if gate > 0 => StepOutcome::NotAttempted {
                        because_of: gate - 1,
                    },
                    other => other,
                },
            })
            .collect(),
    }
}

fn outcome_of(outcome: &Outcome<Option<String>, StepOutcome>) -> StepOutcome {
    match outcome {
        Outcome::Done(note) => StepOutcome::Done {
            confirmed_after: note.clone(),
        },
        Outcome::Failed(failure) => failure.clone(),
        Outcome::Skipped { failed } => StepOutcome::Skipped {
            because_of: *failed,
        },
        Outcome::NotStarted => StepOutcome::NotStarted,
        Outcome::Abandoned => StepOutcome::Interrupted,
    }
}

fn failure(error: &Error) -> StepOutcome {
    StepOutcome::Failed {
        error: error.to_string(),
        status: error.status().map(|s| s.as_u16()),
        code: error.code().map(str::to_owned),
    }
}

/// Whether Clerk may have acted although the call failed: no answer at all, a server error,
/// or an answer to a repeated attempt (the first may have gone through).
fn maybe_done(error: &Error) -> bool {
    error.status().is_none_or(|s| s.is_server_error()) || error.attempts().made > 1
}

/// Whether Clerk refused a creation because the key is taken: another writer (or an earlier
/// attempt whose answer was lost) may have made the object exactly as wanted, so it is read
/// back like an ambiguous answer, and only reported as failed if it differs.
fn already_exists(error: &Error, action: &Action) -> bool {
    error.code() == Some("duplicate_record")
        && matches!(
            action,
            Action::CreatePermission { .. }
                | Action::CreateRole { .. }
                | Action::CreateRoleSet { .. }
        )
}

/// Runs one step; on an error that may hide a success, reads the object back to tell. A step
/// confirmed that way succeeds with the error as a note.
async fn run_step(
    clerk: &Clerk,
    ids: &Ids,
    action: &Action,
    options: &ApplyOptions,
) -> Result<Option<String>, StepOutcome> {
    match send(clerk, ids, action, options).await {
        Ok(()) => Ok(None),
        Err(Failure::Api(error)) if maybe_done(&error) || already_exists(&error, action) => {
            match crate::stale::verify_patiently(clerk, ids, action, options.read_back_window).await
            {
                Some(true) => {
                    // A retirement that went through still has its migration to wait for.
                    if let Action::RetireRoleSet { set, .. } = action {
                        await_migration(clerk, set, options).await?;
                    }
                    Ok(Some(error.to_string()))
                }
                _ => Err(failure(&error)),
            }
        }
        Err(Failure::Api(error)) => Err(failure(&error)),
        Err(Failure::Other(outcome)) => Err(outcome),
    }
}
