//! Talking to the person at the terminal or the CI log: colour, the confirmation prompt, the
//! progress bar or step lines, the heartbeat while waiting, the duration estimate.

use std::{
    collections::BTreeMap,
    fmt,
    io::{BufRead, IsTerminal, Write},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use crate::args::ColorChoice;
use clerk_rbac::rules;
use clerk_rbac_sync::{
    Action, Environment, Plan, Progress, ProgressFn, StepOutcome, Target, describe,
};

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
    bar: Option<Arc<Bar>>,
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
        let bar = (std::io::stderr().is_terminal() && total > 0).then(|| Arc::new(Bar::new(total)));
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
                    bar.set_position(done);
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
            bar.clear();
        }
        if let Some(heartbeat) = self.heartbeat {
            heartbeat.abort();
        }
    }
}

/// The progress bar on a terminal (stderr): one line, redrawn in place at each step's start and
/// end, `elapsed [====>    ] done/total what runs`, cut to the terminal's width so that it never
/// wraps (a wrapped line could not be redrawn in place).
struct Bar {
    started: Instant,
    total: usize,
    /// Steps done, and the last step started.
    shown: Mutex<(usize, String)>,
}

impl Bar {
    /// Cells between the brackets.
    const CELLS: usize = 30;

    fn new(total: usize) -> Self {
        Bar {
            started: Instant::now(),
            total,
            shown: Mutex::new((0, String::new())),
        }
    }

    fn set_message(&self, message: String) {
        let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        shown.1 = message;
        self.draw(&shown);
    }

    fn set_position(&self, done: usize) {
        let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        shown.0 = done;
        self.draw(&shown);
    }

    /// Redraws; called under the lock, so that two steps never interleave their lines.
    fn draw(&self, (done, message): &(usize, String)) {
        let columns = terminal_size::terminal_size_of(std::io::stderr())
            .map_or(80, |(width, _)| usize::from(width.0));
        let line = bar_line(self.started.elapsed(), *done, self.total, message);
        // The last column stays free: writing it makes some terminals wrap.
        let line: String = line.chars().take(columns.saturating_sub(1)).collect();
        write_err(format_args!("\r\x1b[2K{line}"));
        let _ = std::io::stderr().flush();
    }

    /// Erases the bar, leaving the cursor where the bar began.
    fn clear(&self) {
        write_err(format_args!("\r\x1b[2K"));
        let _ = std::io::stderr().flush();
    }
}

/// The bar's text: `hh:mm:ss [===>   ] done/total message`.
fn bar_line(elapsed: Duration, done: usize, total: usize, message: &str) -> String {
    let seconds = elapsed.as_secs();
    let filled = (Bar::CELLS * done.min(total))
        .checked_div(total)
        .unwrap_or(Bar::CELLS);
    let mut cells = "=".repeat(filled);
    if filled < Bar::CELLS {
        cells.push('>');
        cells.push_str(&" ".repeat(Bar::CELLS - filled - 1));
    }
    format!(
        "{:02}:{:02}:{:02} [{cells}] {done}/{total} {message}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_in_proportion_and_shows_the_running_step() {
        let half = bar_line(Duration::from_secs(3_725), 4, 8, "create role org:billing");
        assert_eq!(
            half,
            format!(
                "01:02:05 [{}>{}] 4/8 create role org:billing",
                "=".repeat(15),
                " ".repeat(14)
            )
        );
        assert_eq!(
            bar_line(Duration::ZERO, 0, 3, ""),
            format!("00:00:00 [>{}] 0/3 ", " ".repeat(29))
        );
        let full = bar_line(Duration::from_secs(59), 8, 8, "");
        assert_eq!(full, format!("00:00:59 [{}] 8/8 ", "=".repeat(30)));
        // More done than planned, or nothing planned, still draws 30 cells.
        assert_eq!(
            bar_line(Duration::ZERO, 9, 8, ""),
            full.replace("00:00:59", "00:00:00").replace("8/8", "9/8")
        );
        assert!(bar_line(Duration::ZERO, 0, 0, "").contains(&"=".repeat(30)));
    }
}
