//! Talking to the person at the terminal or the CI log: colour, the confirmation prompt, the
//! progress bar or step lines, the heartbeat while waiting, the duration estimate.

use std::{
    collections::BTreeMap,
    fmt,
    io::{BufRead, IsTerminal, Write},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use clerk_rbac::rules;
use clerk_rbac_sync::{
    Action, Environment, Plan, Progress, ProgressFn, StepOutcome, Target, describe,
};
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::ColorChoice;

/// Writes to stdout; a reader that went away is no reason to fail, let alone panic.
pub fn write_out(text: fmt::Arguments<'_>) {
    let _ = std::io::stdout().lock().write_fmt(text);
}

/// Writes to stderr, ignoring a closed stream.
pub fn write_err(text: fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(text);
}

/// Whether to colour what goes to stdout.
pub fn color_stdout(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

/// Whether a person can answer a question: stdin is a terminal.
pub fn can_ask() -> bool {
    std::io::stdin().is_terminal()
}

/// Asks on stderr; true only when the answer is exactly `yes`.
pub fn confirm(question: &str) -> bool {
    write_err(format_args!("{question} Only 'yes' is accepted: "));
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == "yes"
}

/// How long a log may stay silent while apply waits (on the rate limit or a migration) before
/// a line says what it waits for; `CLERK_RBAC_HEARTBEAT_SECS` changes it (for tests).
const HEARTBEAT: Duration = Duration::from_secs(10);

/// What the person or the CI log sees while apply runs: a progress bar on a terminal; without
/// one, a line per finished step as it finishes and a line at least every 10 s while waiting.
pub struct Display {
    bar: Option<ProgressBar>,
    state: Arc<Mutex<Shown>>,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
    to_stderr: bool,
    total: usize,
}

/// What the step lines and the heartbeat share.
struct Shown {
    /// When the last line was written.
    last_line: Instant,
    /// Steps finished.
    done: usize,
    /// Steps running: id → what it does.
    running: BTreeMap<usize, String>,
}

impl Display {
    /// Starts showing progress for `total` steps; `json` sends the lines to stderr, keeping
    /// stdout for the JSON document.
    pub fn start(total: usize, json: bool) -> Self {
        let state = Arc::new(Mutex::new(Shown {
            last_line: Instant::now(),
            done: 0,
            running: BTreeMap::new(),
        }));
        let bar = (std::io::stderr().is_terminal() && total > 0).then(|| {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar
        });
        let heartbeat = (bar.is_none() && total > 0).then(|| {
            let every = std::env::var("CLERK_RBAC_HEARTBEAT_SECS")
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .filter(|&s| s > 0)
                .map_or(HEARTBEAT, Duration::from_secs);
            let state = state.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(200).min(every));
                loop {
                    tick.tick().await;
                    let line = {
                        let mut shown = state.lock().unwrap_or_else(PoisonError::into_inner);
                        if shown.last_line.elapsed() < every {
                            continue;
                        }
                        shown.last_line = Instant::now();
                        waiting_line(&shown, total)
                    };
                    write_line(json, &line);
                }
            })
        });
        Display {
            bar,
            state,
            heartbeat,
            to_stderr: json,
            total,
        }
    }

    /// The callback apply tells about each step.
    pub fn reporter(&self) -> ProgressFn {
        let bar = self.bar.clone();
        let state = self.state.clone();
        let json = self.to_stderr;
        let total = self.total;
        Arc::new(move |event: Progress<'_>| match event {
            Progress::Started(step) => {
                if let Some(bar) = &bar {
                    bar.set_message(describe(&step.action));
                }
                let mut shown = state.lock().unwrap_or_else(PoisonError::into_inner);
                shown.running.insert(step.id, describe(&step.action));
            }
            Progress::Finished {
                step,
                outcome,
                done,
                ..
            } => {
                if let Some(bar) = &bar {
                    bar.set_position(done as u64);
                }
                let mut shown = state.lock().unwrap_or_else(PoisonError::into_inner);
                shown.running.remove(&step.id);
                shown.done = done;
                if bar.is_none() {
                    let status = match outcome {
                        StepOutcome::Done { .. } => "done",
                        StepOutcome::Failed { .. } => "FAILED",
                        StepOutcome::Skipped { .. } => "skipped",
                        _ => "stopped",
                    };
                    let width = total.to_string().len();
                    shown.last_line = Instant::now();
                    // Written under the lock, so that lines never interleave.
                    write_line(
                        json,
                        &format!(
                            "[{done:>width$}/{total}] {status:<7} {}",
                            describe(&step.action)
                        ),
                    );
                }
            }
            _ => {}
        })
    }

    /// Stops the bar and the heartbeat.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
        if let Some(heartbeat) = self.heartbeat {
            heartbeat.abort();
        }
    }
}

/// The heartbeat: how far apply is and what it waits for.
fn waiting_line(shown: &Shown, total: usize) -> String {
    let mut running = shown.running.values();
    let what = match (running.next(), shown.running.len()) {
        (None, _) => "the next step".to_owned(),
        (Some(first), 1) => first.clone(),
        (Some(first), n) => format!("{first} and {} more", n - 1),
    };
    format!(
        "... {}/{total} steps done; waiting on {what} (the rate limit paces requests; a role-set migration can take minutes)",
        shown.done
    )
}

/// One line on stdout (or stderr when stdout carries JSON), flushed at once for CI logs.
fn write_line(to_stderr: bool, line: &str) {
    if to_stderr {
        write_err(format_args!("{line}\n"));
        let _ = std::io::stderr().flush();
    } else {
        write_out(format_args!("{line}\n"));
        let _ = std::io::stdout().flush();
    }
}

/// How long applying `plan` should take at `target`'s rate limit, when it changes anything.
pub fn estimate(plan: &Plan, target: &Target) -> Option<String> {
    let requests = plan.summary().requests;
    if requests == 0 {
        return None;
    }
    let (per_window, kind) = match target.environment {
        Environment::Live => (rules::PRODUCTION_REQUESTS_PER_WINDOW, "production"),
        _ => (rules::DEVELOPMENT_REQUESTS_PER_WINDOW, "development"),
    };
    let window = rules::RATE_LIMIT_WINDOW.as_secs();
    // Apply reads the instance first: three lists, one request per page of 500 at least.
    let reads = 3
        + plan.fingerprint.permissions.len().div_ceil(500)
        + plan.fingerprint.roles.len().div_ceil(500);
    let total = requests + reads;
    let seconds = (total as u64 * window).div_ceil(u64::from(per_window));
    let waits = plan.steps.iter().any(|s| {
        matches!(
            s.action,
            Action::RetireRoleSet { .. } | Action::AwaitMigration { .. }
        )
    });
    Some(format!(
        "Estimated duration: about {} ({total} requests at {per_window} per {window} s, the {kind} rate limit){}.",
        humanize(seconds),
        if waits {
            ", plus the role-set migrations"
        } else {
            ""
        }
    ))
}

fn humanize(seconds: u64) -> String {
    match seconds {
        0 => "a second".to_owned(),
        s if s < 120 => format!("{s} s"),
        s => format!("{} min {} s", s / 60, s % 60),
    }
}
