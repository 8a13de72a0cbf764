//! `cargo xtask`: the workspace's maintenance commands (today only `regen`; see `--help`).

use std::process::ExitCode;

use xtask::cli::{Command, USAGE, parse_args};
use xtask::regen::{Outcome, run};

fn main() -> ExitCode {
    let command = match parse_args(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Command::Regen(options) => match run(&options, &mut std::io::stdout().lock()) {
            Ok(Outcome::Unchanged | Outcome::Written) => ExitCode::SUCCESS,
            Ok(Outcome::Stale) => ExitCode::from(1),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
    }
}
