//! `clerk-rbac`: export, plan, apply and check a Clerk instance's organization RBAC from a TOML
//! file. Install with `cargo install --path crates/clerk-rbac-cli`; run `clerk-rbac --help`.

#![warn(missing_docs)]

/// `print!` that does not panic when stdout is gone (`clerk-rbac plan f.toml | head -3`).
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::write_out(format_args!($($arg)*))
    };
}

/// `println!` that does not panic when stdout is gone.
macro_rules! sayln {
    () => {
        $crate::output::write_out(format_args!("\n"))
    };
    ($($arg:tt)*) => {{
        $crate::output::write_out(format_args!($($arg)*));
        $crate::output::write_out(format_args!("\n"));
    }};
}

/// `eprintln!` that does not panic when stderr is gone.
macro_rules! complain {
    ($($arg:tt)*) => {{
        $crate::output::write_err(format_args!($($arg)*));
        $crate::output::write_err(format_args!("\n"));
    }};
}

mod args;
mod commands;
mod fleet;
mod instance;
mod output;
mod signals;
mod simulator;

use std::{fmt, process::ExitCode};

use clap::Parser;

/// A failure to report: the message says what happened and, where it can, what to do.
#[derive(Debug)]
pub struct CliError(String);

impl CliError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        CliError(message.into())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<clerk_rbac_sync::SyncError> for CliError {
    fn from(error: clerk_rbac_sync::SyncError) -> Self {
        let unauthorized = matches!(
            &error,
            clerk_rbac_sync::SyncError::Read(e) if e.status().is_some_and(|s| s.as_u16() == 401)
        );
        if unauthorized {
            return CliError(format!(
                "{error}\nThe API did not accept the key: check that CLERK_SECRET_KEY holds this instance's secret key (sk_test_... or sk_live_...) and CLERK_API_URL its API"
            ));
        }
        CliError(error.to_string())
    }
}

fn main() -> ExitCode {
    // `--fleet FILE` runs the verbs on a fleet, with their own arguments (see fleet.rs).
    let arguments: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if fleet::requested(&arguments) {
        return fleet::main(arguments);
    }
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are not errors; every usage error is 1 (2 means drift).
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            complain!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            complain!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
