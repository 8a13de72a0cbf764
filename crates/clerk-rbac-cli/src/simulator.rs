//! `clerk-rbac simulator`: the simulator as a process, for tests in any language. The options
//! are the simulator crate's [`ProcessOptions`] (one parser for this command and the crate's
//! example); `--state FILE` is the same flag, and the same file, as the other commands'.

use std::{path::PathBuf, process::ExitCode};

use clerk_rbac_simulator::ProcessOptions;

use crate::CliError;

/// Serves until SIGINT or SIGTERM; the first line printed is the base URL. `state` is the
/// global `--state`, when clap read it before the simulator's own options.
pub async fn run(options: &[String], state: Option<PathBuf>) -> Result<ExitCode, CliError> {
    let mut options = ProcessOptions::parse(options.iter().cloned())
        .map_err(|e| CliError::new(format!("{e} (see clerk-rbac simulator --help)")))?;
    if options.help {
        sayln!("{}", ProcessOptions::USAGE);
        return Ok(ExitCode::SUCCESS);
    }
    if options.state.is_none() {
        options.state = state;
    }
    options
        .run()
        .await
        .map_err(|e| CliError::new(e.to_string()))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use clap::Parser;

    use crate::args::{Cli, Command};

    fn options(args: &[&str]) -> (Vec<String>, Option<PathBuf>) {
        let cli =
            Cli::try_parse_from(std::iter::once("clerk-rbac").chain(args.iter().copied())).unwrap();
        let Command::Simulator { options } = cli.command else {
            panic!("not the simulator command: {args:?}");
        };
        (options, cli.global.state)
    }

    #[test]
    fn the_simulators_options_pass_through_and_state_is_read_either_way() {
        let (passed, state) = options(&["simulator", "--port", "0", "--no-rate-limit"]);
        assert_eq!(passed, ["--port", "0", "--no-rate-limit"]);
        assert_eq!(state, None);
        // Before the simulator's options, clap reads the global --state.
        let (passed, state) = options(&["simulator", "--state", "s.json", "--port", "0"]);
        assert_eq!(passed, ["--port", "0"]);
        assert_eq!(state, Some(PathBuf::from("s.json")));
        // After them, the simulator's parser reads it.
        let (passed, _) = options(&["simulator", "--seed", "3", "--state", "s.json"]);
        let parsed = clerk_rbac_simulator::ProcessOptions::parse(passed).unwrap();
        assert_eq!(parsed.state, Some(PathBuf::from("s.json")));
        // --help is the simulator's usage, not clap's.
        let (passed, _) = options(&["simulator", "--help"]);
        assert!(
            clerk_rbac_simulator::ProcessOptions::parse(passed)
                .unwrap()
                .help
        );
    }
}
