//! The command line: subcommands, their arguments, and the options every command shares.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Keep a Clerk instance's organization roles, permissions and role sets in step with a TOML
/// file: export, plan, apply, check.
///
/// The instance comes from CLERK_SECRET_KEY (and CLERK_API_URL, for another API root such as a
/// simulator), or from an embedded simulator with --simulator. The secret key is never shown.
///
/// Exit status: 0 success (in sync), 2 drift (check, and plan --detailed-exitcode), 1 error.
#[derive(Debug, Parser)]
#[command(
    name = "clerk-rbac",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Run against an embedded Clerk simulator instead of CLERK_SECRET_KEY's instance
    #[arg(long, global = true)]
    pub simulator: bool,

    /// Keep the embedded simulator's instance in this JSON file between runs (implies --simulator)
    #[arg(long, global = true, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// When to colour the output
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Run plan, check, apply, show or diff on the targets of this fleet file instead of one
    /// instance (`clerk-rbac plan --fleet FILE --help` lists fleet mode's options)
    // Fleet mode has its own parser (fleet.rs), chosen before this one runs: this entry is
    // what `--help` shows of it.
    #[arg(long, global = true, value_name = "FILE")]
    #[allow(dead_code)]
    pub fleet: Option<PathBuf>,
}

/// When to colour the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When writing to a terminal and NO_COLOR is not set
    Auto,
    /// Always
    Always,
    /// Never
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the file that describes the instance (to stdout, or to -o FILE)
    Export {
        /// Write to this file instead of stdout
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },

    /// Show what apply would change, grouped by kind, with old → new values
    Plan {
        /// The desired-state file
        file: PathBuf,
        /// Print the plan as JSON (a stable, documented shape)
        #[arg(long)]
        json: bool,
        /// Also delete the permissions and roles the file does not name
        #[arg(long)]
        prune: bool,
        /// Exit 2 when there are changes (0 none, 1 error), like terraform plan
        #[arg(long)]
        detailed_exitcode: bool,
        /// Also save the plan to this file, for `clerk-rbac apply PLAN` to carry out exactly
        #[arg(short = 'o', long = "out", value_name = "PLAN")]
        out: Option<PathBuf>,
    },

    /// Change the instance to match the file, or carry out a plan saved by `plan -o` (shows the
    /// plan and asks first)
    Apply {
        /// The desired-state file, or a saved plan (refused if the instance changed since)
        file: PathBuf,
        /// Apply without asking (needed when stdin is not a terminal)
        #[arg(short, long)]
        yes: bool,
        /// Also delete the permissions and roles the file does not name
        #[arg(long)]
        prune: bool,
        /// Print the plan and the report as JSON (needs --yes)
        #[arg(long, requires = "yes")]
        json: bool,
        /// Give up waiting for a role-set migration after this many seconds
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        migration_timeout: u64,
    },

    /// Exit 0 when the instance matches the file, 2 when it drifted, 1 on error (for CI)
    Check {
        /// The desired-state file
        file: PathBuf,
        /// Count the permissions and roles the file does not name as drift
        #[arg(long)]
        prune: bool,
        /// Print the plan as JSON
        #[arg(long)]
        json: bool,
    },

    /// Print the JSON Schema of the file format (for editors: `#:schema` in the file)
    Schema,

    /// On a fresh embedded simulator: plan, apply, and plan again an example file
    Demo {
        /// The file to use instead of the bundled examples/rbac.toml
        file: Option<PathBuf>,
    },

    /// Serve a simulated Clerk RBAC API, with its admin API, until stopped (`simulator --help`)
    #[command(disable_help_flag = true)]
    Simulator {
        /// The simulator's options: `clerk-rbac simulator --help` lists them
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "OPTIONS"
        )]
        options: Vec<String>,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("clerk-rbac").chain(args.iter().copied()))
    }

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_fixed_names_parse() {
        assert!(matches!(
            parse(&["export"]).unwrap().command,
            Command::Export { output: None }
        ));
        let Command::Export { output } = parse(&["export", "-o", "rbac.toml"]).unwrap().command
        else {
            panic!()
        };
        assert_eq!(output.unwrap(), PathBuf::from("rbac.toml"));
        let Command::Plan {
            json,
            prune,
            detailed_exitcode,
            out,
            ..
        } = parse(&["plan", "rbac.toml", "--json", "--detailed-exitcode"])
            .unwrap()
            .command
        else {
            panic!()
        };
        assert!(json && detailed_exitcode && !prune && out.is_none());
        for flag in ["-o", "--out"] {
            let Command::Plan { out, .. } = parse(&["plan", "rbac.toml", flag, "plan.json"])
                .unwrap()
                .command
            else {
                panic!()
            };
            assert_eq!(out.unwrap(), PathBuf::from("plan.json"));
        }
        let Command::Apply {
            yes,
            prune,
            json,
            migration_timeout,
            ..
        } = parse(&["apply", "rbac.toml", "--yes", "--prune"])
            .unwrap()
            .command
        else {
            panic!()
        };
        assert!(yes && prune && !json);
        assert_eq!(migration_timeout, 600);
        assert!(matches!(
            parse(&["check", "rbac.toml"]).unwrap().command,
            Command::Check { .. }
        ));
    }

    #[test]
    fn global_options_go_anywhere() {
        let cli = parse(&["plan", "f.toml", "--simulator", "--color", "never"]).unwrap();
        assert!(cli.global.simulator);
        assert_eq!(cli.global.color, ColorChoice::Never);
        let cli = parse(&["--state", "sim.json", "check", "f.toml"]).unwrap();
        assert_eq!(cli.global.state.unwrap(), PathBuf::from("sim.json"));
    }

    #[test]
    fn mistakes_are_usage_errors() {
        assert!(parse(&["plan"]).is_err(), "the file is required");
        assert!(
            parse(&["apply", "f.toml", "--json"]).is_err(),
            "--json needs --yes"
        );
        assert!(parse(&["aply", "f.toml"]).is_err());
        assert!(parse(&["plan", "f.toml", "--color", "purple"]).is_err());
    }
}
