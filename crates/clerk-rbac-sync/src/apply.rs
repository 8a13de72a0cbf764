//! Carrying a plan out on an instance: check that the instance is still what the plan saw, send
//! each step's request through the public facade (IDs looked up by key), wait for role-set
//! migrations, and say how each step ended (see `report.rs`; errors that may hide a success
//! are read back, see `verify.rs`).

use std::{fmt, sync::Arc, time::Duration};

use clerk_rbac::{
    AddRoles, Clerk, CreatePermission, CreateRole, CreateRoleSet, CreateRoleSetType, Error,
    ReplaceRole, ReplaceRoleSet, RoleSetTypeUpdate, UpdatePermission, UpdateRole, UpdateRoleSet,
};

use super::{
    error::SyncError,
    instance::{DriftChange, Fingerprint, Instance, read},
    keys::Kind,
    plan::{Action, Plan, Step},
    report::{ApplyReport, StepOutcome, StepReport},
    schedule::{self, Outcome},
    stale::verify_patiently,
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
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            concurrency: 8,
            migration_timeout: Duration::from_secs(600),
            poll_interval: Duration::from_secs(2),
            progress: None,
            read_back_window: crate::DEFAULT_READ_BACK_WINDOW,
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
pub async fn apply(
    clerk: &Clerk,
    plan: &Plan,
    options: &ApplyOptions,
) -> Result<ApplyReport, SyncError> {
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
        let settings = super::read_settings(clerk).await;
        super::preflight::check(&now, plan, None, settings.as_ref())
            .into_iter()
            .filter(|f| f.severity == super::Severity::Error)
            .collect()
    } else {
        errors
    };
    if !errors.is_empty() {
        return Err(SyncError::Refused(super::Findings(errors)));
    }
    Ok(execute(clerk, plan, &now, options).await)
}

/// A plan read from JSON may have been edited: every step must wait only for earlier ones.
fn check_steps(plan: &Plan) -> Result<(), SyncError> {
    for (i, step) in plan.steps.iter().enumerate() {
        if step.id != i || step.after.iter().any(|&b| b >= i) {
            return Err(SyncError::Unplannable(super::error::Problems(vec![
                super::error::Problem {
                    location: None,
                    key: String::new(),
                    message: format!("step {i} of the plan is out of order; plan again"),
                    help: None,
                },
            ])));
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
    let outcomes = schedule::run(
        &plan.steps,
        options.concurrency,
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
        Err(Failure::Api(error)) if maybe_done(&error) => {
            match verify_patiently(clerk, ids, action, options.read_back_window).await {
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

enum Failure {
    /// A facade call failed.
    Api(Error),
    /// Something else (an ID missing, a migration timing out).
    Other(StepOutcome),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Api(error)
    }
}

impl From<StepOutcome> for Failure {
    fn from(outcome: StepOutcome) -> Self {
        Failure::Other(outcome)
    }
}

fn non_empty(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|t| !t.is_empty())
}

/// Sends the request(s) of one step.
async fn send(
    clerk: &Clerk,
    ids: &Ids,
    action: &Action,
    options: &ApplyOptions,
) -> Result<(), Failure> {
    match action {
        Action::CreatePermission {
            key,
            name,
            description,
        } => {
            let mut body = CreatePermission::new(name, key);
            if let Some(description) = non_empty(description) {
                body = body.description(description);
            }
            let created = clerk.organization_permissions().create(body).await?;
            ids.set_permission(key, &created.id);
        }
        Action::UpdatePermission {
            key,
            new_key,
            name,
            description,
        } => {
            let id = ids.permission(key)?;
            let mut body = UpdatePermission::new();
            body.name = name.clone();
            body.key = new_key.clone();
            body.description = description.clone();
            clerk.organization_permissions().update(&id, body).await?;
            if let Some(new_key) = new_key {
                ids.set_permission(new_key, &id);
            }
        }
        Action::DeletePermission { key } => {
            let id = ids.permission(key)?;
            clerk.organization_permissions().delete(&id).await?;
        }
        Action::CreateRole {
            key,
            name,
            description,
            permissions,
        } => {
            let permission_ids = permissions
                .iter()
                .map(|p| ids.permission(p))
                .collect::<Result<Vec<_>, _>>()?;
            let mut body = CreateRole::new(name, key)
                .permissions(permission_ids)
                .include_in_initial_role_set(false);
            if let Some(description) = non_empty(description) {
                body = body.description(description);
            }
            let created = clerk.organization_roles().create(body).await?;
            ids.set_role(key, &created.id);
        }
        Action::UpdateRole {
            key,
            new_key,
            name,
            description,
            permissions,
        } => {
            let id = ids.role(key)?;
            let mut body = UpdateRole::new();
            if let Some(name) = name {
                body = body.name(name);
            }
            if let Some(new_key) = new_key {
                body = body.key(new_key);
            }
            match description.as_deref() {
                Some("") => body = body.clear_description(),
                Some(text) => body = body.description(text),
                None => {}
            }
            if let Some(permissions) = permissions {
                let permission_ids = permissions
                    .iter()
                    .map(|p| ids.permission(p))
                    .collect::<Result<Vec<_>, _>>()?;
                body = body.permissions(permission_ids);
            }
            clerk.organization_roles().update(&id, body).await?;
            if let Some(new_key) = new_key {
                ids.set_role(new_key, &id);
            }
        }
        Action::DeleteRole { key } => {
            let id = ids.role(key)?;
            clerk.organization_roles().delete(&id).await?;
        }
        Action::CreateRoleSet {
            key,
            name,
            description,
            initial,
            default_role,
            creator_role,
            roles,
        } => {
            let mut body = CreateRoleSet::new(name, roles, default_role, creator_role).key(key);
            if let Some(description) = non_empty(description) {
                body = body.description(description);
            }
            if *initial {
                body = body.type_(CreateRoleSetType::Initial);
            }
            clerk.role_sets().create(body).await?;
        }
        Action::AddRoles {
            set,
            roles,
            default_role,
            creator_role,
        } => {
            let mut body = AddRoles::new(roles);
            if let Some(role) = default_role {
                body = body.default_role_key(role);
            }
            if let Some(role) = creator_role {
                body = body.creator_role_key(role);
            }
            clerk.role_sets().add_roles(set, body).await?;
        }
        Action::UpdateRoleSet {
            set,
            new_key,
            name,
            description,
            make_initial,
            default_role,
            creator_role,
        } => {
            let mut body = UpdateRoleSet::new();
            if let Some(name) = name {
                body = body.name(name);
            }
            if let Some(new_key) = new_key {
                body = body.key(new_key);
            }
            match description.as_deref() {
                Some("") => body = body.clear_description(),
                Some(text) => body = body.description(text),
                None => {}
            }
            if *make_initial {
                body = body.type_(RoleSetTypeUpdate::Initial);
            }
            if let Some(role) = default_role {
                body = body.default_role_key(role);
            }
            if let Some(role) = creator_role {
                body = body.creator_role_key(role);
            }
            clerk.role_sets().update(set, body).await?;
        }
        Action::RemoveRole {
            set,
            role,
            members_to,
        } => {
            clerk
                .role_sets()
                .replace_role(set, ReplaceRole::new(role, members_to))
                .await?;
        }
        Action::RetireRoleSet {
            set,
            into,
            move_members,
        } => {
            let mut body = ReplaceRoleSet::new(into);
            for (from, to) in move_members {
                body = body.reassign(from, to);
            }
            // The answer only says the set is deleted; its organizations move over in a
            // migration that the set shows until it is gone.
            clerk.role_sets().replace(set, body).await?;
            await_migration(clerk, set, options).await?;
        }
        Action::AwaitMigration { set } => await_migration(clerk, set, options).await?,
    }
    Ok(())
}

/// Polls the retired set until it is gone or its migration completed, for at most the
/// configured time.
async fn await_migration(
    clerk: &Clerk,
    set: &str,
    options: &ApplyOptions,
) -> Result<(), StepOutcome> {
    let deadline = tokio::time::Instant::now() + options.migration_timeout;
    loop {
        let last_status;
        // Listed rather than fetched: a set that is gone is simply absent from the list, not a
        // 404, so that a normal apply meets no error answer at all.
        let found = clerk
            .role_sets()
            .list()
            .query(set)
            .collect_all()
            .await
            .map(|sets| sets.into_iter().find(|s| s.key == set));
        match found {
            Ok(None) => return Ok(()),
            Ok(Some(answer)) => match answer.role_set_migration {
                Some(migration) if migration.status == "completed" => return Ok(()),
                Some(migration) if migration.status == "failed" => {
                    return Err(StepOutcome::Failed {
                        error: format!("the migration of role set {set} failed at Clerk"),
                        status: None,
                        code: None,
                    });
                }
                Some(migration) => last_status = migration.status,
                // Replaced but not showing its migration yet: keep looking.
                None => last_status = "not started".to_owned(),
            },
            Err(e) => last_status = format!("unknown ({e})"),
        }
        if tokio::time::Instant::now() + options.poll_interval > deadline {
            return Err(StepOutcome::Failed {
                error: format!(
                    "the migration of role set {set} was still {last_status} after {}; it goes on at Clerk, and applying again waits for it",
                    humanize(options.migration_timeout)
                ),
                status: None,
                code: None,
            });
        }
        tokio::time::sleep(options.poll_interval).await;
    }
}

fn humanize(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds >= 60.0 && duration.as_secs().is_multiple_of(60) {
        format!("{} min", duration.as_secs() / 60)
    } else {
        format!("{seconds} s")
    }
}
