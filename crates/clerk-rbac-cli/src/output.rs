//! Talking to the person at the terminal: colour, the confirmation prompt, the progress bar.

use std::{
    fmt,
    io::{BufRead, IsTerminal, Write},
};

use clerk_rbac_sync::{Progress, ProgressFn, describe};
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

/// A progress bar on stderr when it is a terminal; nothing otherwise.
pub fn progress_bar(total: usize) -> Option<(ProgressBar, ProgressFn)> {
    if !std::io::stderr().is_terminal() || total == 0 {
        return None;
    }
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let shown = bar.clone();
    let report: ProgressFn = std::sync::Arc::new(move |event: Progress<'_>| match event {
        Progress::Started(step) => shown.set_message(describe(&step.action)),
        Progress::Finished { done, .. } => shown.set_position(done as u64),
        _ => {}
    });
    Some((bar, report))
}
