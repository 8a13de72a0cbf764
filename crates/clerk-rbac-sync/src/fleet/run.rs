//! Running the verbs on a fleet: one client per target (its own key, API root and rate limit),
//! plans read in parallel (bounded), applies stage by stage, every target's outcome kept.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use clerk_rbac::{Clerk, RateLimit, rules};
use futures::{FutureExt, StreamExt, stream};
use serde::Serialize;

use crate::{ApplyOptions, ApplyReport, Plan, PlanOptions, Progress, SyncError, Target};

use super::{Fleet, FleetTarget, parse::mask_secrets};

/// Looks an environment variable up: `std::env::var` by default; tests and embedders can
/// give the keys another way.
pub type EnvFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Something that happened on one target during [`apply`], for progress displays.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum FleetEvent<'a> {
    /// The target starts applying.
    Started {
        /// Its name.
        target: &'a str,
    },
    /// One of the target's steps started or ended.
    Step {
        /// Its name.
        target: &'a str,
        /// The step's progress.
        progress: Progress<'a>,
    },
    /// The target ended (or will not start).
    Finished {
        /// Its name.
        target: &'a str,
        /// How it ended.
        outcome: &'a TargetOutcome,
    },
}

/// A callback told about every target's progress.
pub type FleetEventFn = Arc<dyn Fn(FleetEvent<'_>) + Send + Sync>;

/// How to run the verbs on a fleet.
#[derive(Clone)]
#[non_exhaustive]
pub struct FleetOptions {
    /// How each target is planned (prune or not).
    pub plan: PlanOptions,
    /// How each target's plan is applied; its `progress` is replaced by [`events`](Self::events).
    pub apply: ApplyOptions,
    /// How many targets run at once; `None` takes the fleet file's (default 64).
    pub parallelism: Option<usize>,
    /// Where secret keys are looked up by variable name.
    pub env: EnvFn,
    /// Told when targets start and end, and about their steps.
    pub events: Option<FleetEventFn>,
}

impl Default for FleetOptions {
    fn default() -> Self {
        FleetOptions {
            plan: PlanOptions::new(),
            apply: ApplyOptions::new(),
            parallelism: None,
            env: Arc::new(|name| std::env::var(name).ok()),
            events: None,
        }
    }
}

impl fmt::Debug for FleetOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetOptions")
            .field("plan", &self.plan)
            .field("apply", &self.apply)
            .field("parallelism", &self.parallelism)
            .field("env", &"<lookup>")
            .field("events", &self.events.as_ref().map(|_| "callback"))
            .finish()
    }
}

impl FleetOptions {
    /// The defaults: keys from the process environment, the file's parallelism.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`plan`](Self::plan).
    pub fn plan(mut self, plan: PlanOptions) -> Self {
        self.plan = plan;
        self
    }

    /// Sets [`apply`](Self::apply).
    pub fn apply(mut self, apply: ApplyOptions) -> Self {
        self.apply = apply;
        self
    }

    /// Sets [`parallelism`](Self::parallelism) (`0` is taken as `1`).
    pub fn parallelism(mut self, targets: usize) -> Self {
        self.parallelism = Some(targets.max(1));
        self
    }

    /// Looks secret keys up with `lookup` instead of the process environment.
    pub fn env(mut self, lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        self.env = Arc::new(lookup);
        self
    }

    /// Sets [`events`](Self::events).
    pub fn events(mut self, report: impl Fn(FleetEvent<'_>) + Send + Sync + 'static) -> Self {
        self.events = Some(Arc::new(report));
        self
    }

    fn width(&self, fleet_parallelism: usize) -> usize {
        self.parallelism.unwrap_or(fleet_parallelism).max(1)
    }
}

/// Whether a target's key is a development or a production key (never more of the key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// `sk_test_...`: a development instance.
    Test,
    /// `sk_live_...`: a production instance.
    Live,
}

/// Why one target could not be planned or applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TargetErrorKind {
    /// Its key is missing or unusable, or its client could not be built; nothing was sent.
    Configuration,
    /// Reading the instance failed (unreachable, refused key, server error).
    Read,
    /// The file cannot be planned against this instance; nothing was sent.
    Refused,
    /// The instance changed since the plan; nothing was changed.
    Stale,
    /// A saved plan was made for another instance (another API host, or a test key where
    /// the plan had a live one, or the reverse); nothing was sent.
    ForeignTarget,
}

/// One target's failure, said so that a person can act on it. Never holds a secret key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TargetError {
    /// What kind of failure.
    pub kind: TargetErrorKind,
    /// What happened, and where it can, what to do.
    pub message: String,
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl TargetError {
    pub(crate) fn new(kind: TargetErrorKind, message: impl AsRef<str>) -> Self {
        TargetError {
            kind,
            message: mask_secrets(message.as_ref()),
        }
    }

    pub(crate) fn from_sync(error: &SyncError) -> Self {
        let kind = match error {
            SyncError::Read(_) => TargetErrorKind::Read,
            SyncError::Stale(_) => TargetErrorKind::Stale,
            SyncError::ForeignTarget { .. } => TargetErrorKind::ForeignTarget,
            _ => TargetErrorKind::Refused,
        };
        TargetError::new(kind, error.to_string())
    }
}

/// One target's plan, or why it has none.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TargetPlan {
    /// The target's name.
    pub target: String,
    /// Its stage.
    pub stage: String,
    /// Its stage's place in the order.
    pub stage_index: usize,
    /// The host its requests go to.
    pub host: String,
    /// Whether its key is a test or a live key, when the key was found.
    pub key: Option<KeyKind>,
    /// Its rate limit, when the key was found.
    pub rate_limit: Option<RateLimit>,
    /// The plan, or why there is none.
    pub result: Result<Plan, TargetError>,
    /// How long the plan took to make.
    pub elapsed: Duration,
    /// The instance the plan was made for (API host, test or live key), when the key was
    /// found: what a saved fleet plan binds this target's plan to.
    pub binding: Option<Target>,
    /// The desired-state file the target follows, as found from the fleet file.
    pub file: Option<String>,
    /// The client the plan was made with; apply goes on with it, so that its rate limit
    /// counts the plan's reads too.
    pub(crate) client: Option<Clerk>,
}

impl TargetPlan {
    /// How long applying this plan should take at the target's rate limit.
    pub fn estimate(&self) -> Duration {
        match (&self.result, self.rate_limit) {
            (Ok(plan), Some(limit)) if !plan.is_empty() => estimate(plan.summary().requests, limit),
            _ => Duration::ZERO,
        }
    }

    /// Whether the target has changes to make.
    pub fn has_changes(&self) -> bool {
        self.result.as_ref().is_ok_and(|p| !p.is_empty())
    }
}

/// How long sending `requests` changing requests (plus the few reads apply starts with) takes
/// at `limit`: a client paced to the limit sends a window's worth at once, then waits for the
/// next window. Waiting on a role-set migration is not counted.
pub fn estimate(requests: usize, limit: RateLimit) -> Duration {
    /// Apply reads the three lists again before changing anything.
    const READS: usize = 3;
    if requests == 0 {
        return Duration::ZERO;
    }
    let per_window = usize::try_from(limit.requests).unwrap_or(usize::MAX).max(1);
    let windows = (requests + READS - 1) / per_window;
    limit
        .window
        .saturating_mul(u32::try_from(windows).unwrap_or(u32::MAX))
}

/// Every picked target's plan, in stage order.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FleetPlan {
    /// The fleet file.
    pub fleet: String,
    /// The stages in order.
    pub stages: Vec<String>,
    /// How many targets run at once.
    pub parallelism: usize,
    /// One entry per picked target, in stage order then by name.
    pub targets: Vec<TargetPlan>,
}

impl FleetPlan {
    /// The targets whose instance differs from their description.
    pub fn drifted(&self) -> Vec<&str> {
        self.targets
            .iter()
            .filter(|t| t.has_changes())
            .map(|t| t.target.as_str())
            .collect()
    }

    /// The targets that could not be planned.
    pub fn failed(&self) -> Vec<&str> {
        self.targets
            .iter()
            .filter(|t| t.result.is_err())
            .map(|t| t.target.as_str())
            .collect()
    }

    /// The exit status `check` uses: 0 every target in sync, 2 some drifted (and all could be
    /// read), 1 some target could not be checked (an error outranks drift: the fleet's state
    /// is then not known).
    pub fn check_exit_code(&self) -> u8 {
        if !self.failed().is_empty() {
            1
        } else if !self.drifted().is_empty() {
            2
        } else {
            0
        }
    }

    /// The exit status `plan` uses: 1 when some target could not be planned, else 0 (or 2
    /// with `detailed`, when some target has changes, as `terraform plan -detailed-exitcode`).
    pub fn plan_exit_code(&self, detailed: bool) -> u8 {
        match self.check_exit_code() {
            2 if !detailed => 0,
            code => code,
        }
    }
}

/// The client for one target: its key from its variable, its API root, its rate limit.
pub(crate) fn connect_target(
    target: &FleetTarget,
    env: &EnvFn,
) -> Result<(Clerk, KeyKind, RateLimit), TargetError> {
    let var = &target.secret_key_env;
    let key = env(var)
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            TargetError::new(
                TargetErrorKind::Configuration,
                format!(
                    "{var} is not set: put target `{}`'s secret key (sk_test_... or sk_live_...) in it",
                    target.name
                ),
            )
        })?;
    if key.starts_with("pk_") {
        return Err(TargetError::new(
            TargetErrorKind::Configuration,
            format!(
                "{var} holds a publishable key (pk_...): target `{}` needs the instance's secret key (sk_...)",
                target.name
            ),
        ));
    }
    let kind = if rules::is_live_key(&key) {
        KeyKind::Live
    } else {
        KeyKind::Test
    };
    let limit = RateLimit::for_secret_key(&key);
    let mut builder = Clerk::builder().secret_key(key);
    if let Some(url) = &target.api_url {
        builder = builder.base_url(url);
    }
    let clerk = builder.clerk_rate_limit().build().map_err(|e| {
        TargetError::new(
            TargetErrorKind::Configuration,
            format!("target `{}` ({var}): {e}", target.name),
        )
    })?;
    Ok((clerk, kind, limit))
}

/// What a saved plan for `target` is bound to: its API host and the kind of its key (nothing
/// more of the key), or `None` when its variable holds no key.
pub(crate) fn binding(target: &FleetTarget, env: &EnvFn) -> Option<Target> {
    let key = env(&target.secret_key_env)?;
    let url = target
        .api_url
        .as_deref()
        .unwrap_or(clerk_rbac::DEFAULT_BASE_URL);
    Some(Target::new(url, &key))
}

async fn plan_target(target: &FleetTarget, options: &FleetOptions) -> TargetPlan {
    let started = Instant::now();
    let mut planned = TargetPlan {
        target: target.name.clone(),
        stage: target.stage.clone(),
        stage_index: target.stage_index,
        host: target.host(),
        key: None,
        rate_limit: None,
        result: Err(TargetError::new(TargetErrorKind::Configuration, "")),
        elapsed: Duration::ZERO,
        binding: None,
        file: Some(target.file.display().to_string()),
        client: None,
    };
    match connect_target(target, &options.env) {
        Err(e) => planned.result = Err(e),
        Ok((clerk, kind, limit)) => {
            planned.binding = binding(target, &options.env);
            planned.key = Some(kind);
            planned.rate_limit = Some(limit);
            planned.result = crate::plan(&clerk, &target.desired, &options.plan)
                .await
                .map_err(|e| TargetError::from_sync(&e));
            planned.client = Some(clerk);
        }
    }
    planned.elapsed = started.elapsed();
    planned
}

/// Plans every target of `targets` (from [`Fleet::select`]), several at once; sends nothing
/// that changes anything. A target that cannot be planned (no key, unreachable, refused plan)
/// gets its error in its entry; the others are planned all the same.
pub fn plan<'a>(
    fleet: &'a Fleet,
    targets: &'a [&'a FleetTarget],
    options: &'a FleetOptions,
) -> impl Future<Output = FleetPlan> + Send + 'a {
    async move {
        let width = options.width(fleet.parallelism);
        // The futures are made before the stream, so that no closure is part of its type:
        // with one, the compiler cannot prove the returned future `Send`.
        let plans: Vec<_> = targets.iter().map(|t| plan_target(t, options)).collect();
        let mut planned: Vec<TargetPlan> =
            stream::iter(plans).buffer_unordered(width).collect().await;
        planned.sort_by(|a, b| (a.stage_index, &a.target).cmp(&(b.stage_index, &b.target)));
        FleetPlan {
            fleet: fleet.path.clone(),
            stages: fleet.stages.clone(),
            parallelism: width,
            targets: planned,
        }
    }
    .boxed()
}

/// How one target's apply ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetOutcome {
    /// Nothing to do: the instance matched its description.
    InSync,
    /// Every step was done.
    Applied(ApplyReport),
    /// Some steps failed or were skipped; the report says which.
    Incomplete(ApplyReport),
    /// The target could not be planned or applied; nothing (more) was sent.
    Failed(TargetError),
    /// Not started, because a target of an earlier stage did not end well.
    NotStarted {
        /// Which stage and targets stopped it.
        reason: String,
    },
}

impl TargetOutcome {
    /// Whether the target ended well (in sync, or every step done).
    pub fn is_success(&self) -> bool {
        matches!(self, TargetOutcome::InSync | TargetOutcome::Applied(_))
    }

    /// A one-word status for tables and JSON: `in_sync`, `applied`, `incomplete`, `failed` or
    /// `not_started`.
    pub fn status(&self) -> &'static str {
        match self {
            TargetOutcome::InSync => "in_sync",
            TargetOutcome::Applied(_) => "applied",
            TargetOutcome::Incomplete(_) => "incomplete",
            TargetOutcome::Failed(_) => "failed",
            TargetOutcome::NotStarted { .. } => "not_started",
        }
    }

    /// The apply report, when steps ran.
    pub fn report(&self) -> Option<&ApplyReport> {
        match self {
            TargetOutcome::Applied(report) | TargetOutcome::Incomplete(report) => Some(report),
            _ => None,
        }
    }
}

/// How one target's apply went.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TargetReport {
    /// The target's name.
    pub target: String,
    /// Its stage.
    pub stage: String,
    /// The host its requests went to.
    pub host: String,
    /// How it ended.
    pub outcome: TargetOutcome,
    /// How long its apply took (zero when it did not run).
    pub elapsed: Duration,
}

/// How an apply on a fleet went: one report per target, in stage order.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FleetReport {
    /// The fleet file.
    pub fleet: String,
    /// One entry per target, in stage order then by name.
    pub targets: Vec<TargetReport>,
    /// How long the whole apply took.
    pub elapsed: Duration,
}

/// Counts over a whole fleet's apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Targets in the report.
    pub targets: usize,
    /// Targets that were already in sync.
    pub in_sync: usize,
    /// Targets where every step was done.
    pub applied: usize,
    /// Targets where some step failed or was skipped.
    pub incomplete: usize,
    /// Targets that could not be planned or applied.
    pub failed: usize,
    /// Targets not started because an earlier stage did not end well.
    pub not_started: usize,
    /// Steps done, over every target.
    pub steps_done: usize,
    /// Steps failed, over every target.
    pub steps_failed: usize,
    /// Steps skipped, over every target.
    pub steps_skipped: usize,
}

impl FleetReport {
    /// Whether every target ended well.
    pub fn is_success(&self) -> bool {
        self.targets.iter().all(|t| t.outcome.is_success())
    }

    /// The exit status `apply` uses: 0 every target ended well, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.is_success())
    }

    /// Counts over every target.
    pub fn totals(&self) -> Totals {
        let mut totals = Totals {
            targets: self.targets.len(),
            ..Totals::default()
        };
        for target in &self.targets {
            match &target.outcome {
                TargetOutcome::InSync => totals.in_sync += 1,
                TargetOutcome::Applied(_) => totals.applied += 1,
                TargetOutcome::Incomplete(_) => totals.incomplete += 1,
                TargetOutcome::Failed(_) => totals.failed += 1,
                TargetOutcome::NotStarted { .. } => totals.not_started += 1,
            }
            if let Some(report) = target.outcome.report() {
                let (done, failed, skipped) = report.counts();
                totals.steps_done += done;
                totals.steps_failed += failed;
                totals.steps_skipped += skipped;
            }
        }
        totals
    }
}

async fn apply_target(planned: &TargetPlan, options: &FleetOptions) -> TargetReport {
    let started = Instant::now();
    let name = planned.target.as_str();
    let outcome = match (&planned.result, &planned.client) {
        (Err(e), _) => TargetOutcome::Failed(e.clone()),
        (Ok(plan), _) if plan.is_empty() => TargetOutcome::InSync,
        (Ok(plan), Some(clerk)) => {
            if let Some(events) = &options.events {
                events(FleetEvent::Started { target: name });
            }
            let mut apply = options.apply.clone();
            apply.progress = options.events.clone().map(|events| {
                let target = name.to_owned();
                Arc::new(move |progress: Progress<'_>| {
                    events(FleetEvent::Step {
                        target: &target,
                        progress,
                    })
                }) as crate::ProgressFn
            });
            match crate::apply(clerk, plan, &apply).await {
                Ok(report) if report.is_success() => TargetOutcome::Applied(report),
                Ok(report) => TargetOutcome::Incomplete(report),
                Err(e) => TargetOutcome::Failed(TargetError::from_sync(&e)),
            }
        }
        (Ok(_), None) => TargetOutcome::Failed(TargetError::new(
            TargetErrorKind::Configuration,
            format!("target `{name}` has a plan but no client; plan again"),
        )),
    };
    TargetReport {
        target: planned.target.clone(),
        stage: planned.stage.clone(),
        host: planned.host.clone(),
        outcome,
        elapsed: started.elapsed(),
    }
}

/// Applies every target's plan, stage by stage in the fleet's order: the targets of one stage
/// run together (at most `parallelism` at once), each on its own client and rate limit, each
/// plan checked against its instance first (a target that changed since is refused, not
/// applied). When any target of a stage does not end well, the later stages are not started;
/// the other targets of that stage still finish. Every target gets its report.
pub fn apply<'a>(
    plans: &'a FleetPlan,
    options: &'a FleetOptions,
) -> impl Future<Output = FleetReport> + Send + 'a {
    async move {
        let started = Instant::now();
        let mut reports: Vec<TargetReport> = Vec::with_capacity(plans.targets.len());
        let mut stopped_by: Option<String> = None;
        let width = options.parallelism.unwrap_or(plans.parallelism).max(1);
        for stage_index in 0..plans.stages.len() {
            let stage: Vec<&TargetPlan> = plans
                .targets
                .iter()
                .filter(|t| t.stage_index == stage_index)
                .collect();
            if stage.is_empty() {
                continue;
            }
            if let Some(reason) = &stopped_by {
                for planned in stage {
                    let outcome = TargetOutcome::NotStarted {
                        reason: reason.clone(),
                    };
                    if let Some(events) = &options.events {
                        events(FleetEvent::Finished {
                            target: &planned.target,
                            outcome: &outcome,
                        });
                    }
                    reports.push(TargetReport {
                        target: planned.target.clone(),
                        stage: planned.stage.clone(),
                        host: planned.host.clone(),
                        outcome,
                        elapsed: Duration::ZERO,
                    });
                }
                continue;
            }
            // Made before the stream, as in `plan`.
            let applies: Vec<_> = stage
                .into_iter()
                .map(|planned| async {
                    let report = apply_target(planned, options).await;
                    if let Some(events) = &options.events {
                        events(FleetEvent::Finished {
                            target: &report.target,
                            outcome: &report.outcome,
                        });
                    }
                    report
                })
                .collect();
            let mut done: Vec<TargetReport> = stream::iter(applies)
                .buffer_unordered(width)
                .collect()
                .await;
            done.sort_by(|a, b| a.target.cmp(&b.target));
            let unwell: Vec<&str> = done
                .iter()
                .filter(|r| !r.outcome.is_success())
                .map(|r| r.target.as_str())
                .collect();
            if !unwell.is_empty() {
                stopped_by = Some(format!(
                    "stage `{}` did not end well ({}), so later stages were not started",
                    plans.stages[stage_index],
                    unwell.join(", ")
                ));
            }
            reports.extend(done);
        }
        FleetReport {
            fleet: plans.fleet.clone(),
            targets: reports,
            elapsed: started.elapsed(),
        }
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_count_whole_windows_of_waiting() {
        let development = RateLimit::clerk_development();
        assert_eq!(estimate(0, development), Duration::ZERO);
        assert_eq!(estimate(10, development), Duration::ZERO);
        assert_eq!(estimate(98, development), Duration::from_secs(10));
        assert_eq!(estimate(200, development), Duration::from_secs(20));
        assert_eq!(estimate(200, RateLimit::clerk_production()), Duration::ZERO);
    }

    #[test]
    fn errors_never_carry_a_key() {
        let error = TargetError::new(TargetErrorKind::Read, "401 for sk_live_abcdef123");
        assert_eq!(error.message, "401 for sk_live_<redacted>");
    }
}
