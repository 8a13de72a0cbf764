//! The verbs on a fleet (`--fleet FILE`, with `--target NAME` to pick some): plan, check,
//! apply, show (a target's effective description) and diff (two live targets compared).
//!
//! A command line holding `--fleet` is read by this module's own parser, so that the
//! single-instance commands keep their arguments as they are: `plan FILE` there, `plan --fleet
//! FLEET` here.

use std::{ffi::OsString, path::PathBuf, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use clerk_rbac_sync::{
    ApplyOptions, PlanOptions, Progress, describe,
    fleet::{self, Fleet, FleetEvent, FleetOptions, FleetPlan, SavedFleetPlan, TargetOutcome},
};

use crate::{CliError, args::ColorChoice, output};

/// Whether the command line asks for fleet mode (`--fleet FILE` or `--fleet=FILE`).
pub fn requested(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--fleet" || a.to_str().is_some_and(|a| a.starts_with("--fleet=")))
}

/// Run the verbs on every target of a fleet file (or the ones --target names).
///
/// Each target names the environment variable holding its secret key; keys never go in the
/// fleet file and are never shown. Apply goes stage by stage (development before staging
/// before production, or the file's `stages`), targets of a stage in parallel, and starts no
/// later stage once a target of an earlier one did not end well.
///
/// Exit status: 0 success (every target in sync), 2 drift (check, and plan
/// --detailed-exitcode), 1 error on any target (an error outranks drift).
#[derive(Debug, Parser)]
#[command(name = "clerk-rbac", version, max_term_width = 100)]
pub struct FleetCli {
    /// What to do on the fleet.
    #[command(subcommand)]
    pub command: FleetCommand,

    /// The fleet file naming the targets
    #[arg(long, global = true, value_name = "FILE")]
    pub fleet: Option<PathBuf>,

    /// Only this target (repeatable; default: every target)
    #[arg(long = "target", global = true, value_name = "NAME")]
    pub targets: Vec<String>,

    /// Print JSON (a stable, documented shape)
    #[arg(long, global = true)]
    pub json: bool,

    /// How many targets run at once (default: the fleet file's, or 64)
    #[arg(long, global = true, value_name = "N")]
    pub parallelism: Option<usize>,

    /// When to colour the output
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// The verbs fleet mode has.
#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// One table (target, creates, changes, deletes, requests, estimated time, findings), then
    /// each target's plan
    Plan {
        /// Also delete the permissions and roles a target's description does not name
        #[arg(long)]
        prune: bool,
        /// Exit 2 when some target has changes (0 none, 1 error)
        #[arg(long)]
        detailed_exitcode: bool,
        /// Also save every target's plan to this file, for `clerk-rbac apply --fleet FLEET
        /// PLAN` to carry out exactly
        #[arg(short = 'o', long = "out", value_name = "PLAN")]
        out: Option<PathBuf>,
    },

    /// Exit 0 when every target matches its description, 2 naming the drifted ones, 1 when
    /// some target could not be checked
    Check {
        /// Count the permissions and roles a description does not name as drift
        #[arg(long)]
        prune: bool,
    },

    /// Apply every target's plan, stage by stage, or carry out a fleet plan saved by `plan
    /// --fleet FLEET -o PLAN` (shows the plans and asks first)
    Apply {
        /// A saved fleet plan; each target is refused (nothing sent to it) if its instance
        /// changed since or is not the one planned
        #[arg(value_name = "PLAN")]
        plan: Option<PathBuf>,
        /// Apply without asking (needed when stdin is not a terminal)
        #[arg(short, long)]
        yes: bool,
        /// Also delete the permissions and roles a description does not name
        #[arg(long)]
        prune: bool,
        /// Give up waiting for a role-set migration after this many seconds
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        migration_timeout: u64,
    },

    /// Print a target's effective description: its file with its overlay applied
    Show,

    /// How the live instance of TO differs from FROM's, as the changes a plan would make to TO
    Diff {
        /// The target compared from (the reference)
        from: String,
        /// The target compared to
        to: String,
    },
}

/// Parses and runs a fleet command line; the exit code says how it went.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let cli = match FleetCli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
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
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            complain!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: FleetCli) -> Result<u8, CliError> {
    let color = output::color_stdout(cli.color);
    let path = cli
        .fleet
        .clone()
        .ok_or_else(|| CliError::new("--fleet needs the fleet file"))?;
    // Read every file before connecting: a bad file sends nothing.
    let fleet = Fleet::load(&path)?;
    let mut options = FleetOptions::new();
    if let Some(n) = cli.parallelism {
        options = options.parallelism(n);
    }
    match cli.command {
        FleetCommand::Show => {
            let picked = fleet.select(&cli.targets)?;
            if cli.json {
                let shown: Vec<serde_json::Value> = picked
                    .iter()
                    .map(|t| {
                        serde_json::json!({
                            "target": t.name,
                            "stage": t.stage,
                            "file": t.file.display().to_string(),
                            "overlay": t.has_overlay,
                            "desired": t.desired.as_ref(),
                        })
                    })
                    .collect();
                sayln!(
                    "{}",
                    serde_json::to_string_pretty(&shown).unwrap_or_default()
                );
                return Ok(0);
            }
            for (i, target) in picked.iter().enumerate() {
                if i > 0 {
                    sayln!();
                }
                say!("{}", target.effective_toml());
            }
            Ok(0)
        }
        FleetCommand::Diff { from, to } => {
            let picked = fleet.select(&[from.clone(), to.clone()])?;
            let find = |name: &str| picked.iter().find(|t| t.name == name).copied();
            let (Some(a), Some(b)) = (find(&from), find(&to)) else {
                return Err(CliError::new("diff needs two targets of the fleet"));
            };
            let comparison = fleet::compare(a, b, &options.env)
                .await
                .map_err(|e| CliError::new(e.to_string()))?;
            if cli.json {
                say!("{}", comparison.to_json());
            } else {
                say!("{}", comparison.render(color));
            }
            Ok(if comparison.is_same() { 0 } else { 2 })
        }
        FleetCommand::Plan {
            prune,
            detailed_exitcode,
            out,
        } => {
            let plans = plan(
                &fleet,
                &cli.targets,
                options.plan(PlanOptions::new().prune(prune)),
            )
            .await?;
            if cli.json {
                say!("{}", plans.to_json());
            } else {
                say!("{}", plans.render(color));
            }
            if let Some(out) = out {
                let saved = SavedFleetPlan::new(&plans)?;
                crate::commands::write_atomically(&out, &saved.to_json())?;
                let message = format!(
                    "Saved these {} plans to {1}. Review them, then `clerk-rbac apply --fleet {2} {1}` carries out exactly these steps on each target, or nothing on a target whose instance changed.",
                    saved.targets.len(),
                    out.display(),
                    path.display()
                );
                if cli.json {
                    complain!("{message}");
                } else {
                    sayln!("\n{message}");
                }
            }
            Ok(plans.plan_exit_code(detailed_exitcode))
        }
        FleetCommand::Check { prune } => {
            let plans = plan(
                &fleet,
                &cli.targets,
                options.plan(PlanOptions::new().prune(prune)),
            )
            .await?;
            if cli.json {
                say!("{}", plans.to_json());
            } else {
                say!("{}", plans.render_summary(color));
                let drifted = plans.drifted();
                let failed = plans.failed();
                if !drifted.is_empty() {
                    sayln!(
                        "\nDrift in {} of {} targets: {}.",
                        drifted.len(),
                        plans.targets.len(),
                        drifted.join(", ")
                    );
                    for target in plans.targets.iter().filter(|t| t.has_changes()) {
                        sayln!("\n{}", target.heading());
                        if let Ok(plan) = &target.result {
                            say!("{}", plan.render(color));
                        }
                    }
                }
                for target in plans.targets.iter().filter(|t| t.result.is_err()) {
                    sayln!("\n{}", target.heading());
                    if let Err(e) = &target.result {
                        sayln!("FAILED: {e}");
                    }
                }
                if drifted.is_empty() && failed.is_empty() {
                    sayln!("In sync: every target matches its description.");
                }
            }
            Ok(plans.check_exit_code())
        }
        FleetCommand::Apply {
            plan: saved,
            yes,
            prune,
            migration_timeout,
        } => {
            let options = options.plan(PlanOptions::new().prune(prune)).apply(
                ApplyOptions::new().migration_timeout(Duration::from_secs(migration_timeout)),
            );
            let plans = match saved {
                Some(saved) => {
                    if prune {
                        return Err(CliError::new(
                            "--prune is decided when the plan is made (`plan --fleet FLEET --prune -o PLAN`); a saved plan is applied as it is",
                        ));
                    }
                    let text = std::fs::read_to_string(&saved)
                        .map_err(|e| CliError::new(format!("{}: {e}", saved.display())))?;
                    SavedFleetPlan::from_json(&text)?.to_fleet_plan(
                        &fleet,
                        &cli.targets,
                        &options,
                    )?
                }
                None => plan(&fleet, &cli.targets, options.clone()).await?,
            };
            if !cli.json {
                say!("{}", plans.render(color));
            }
            if plans.drifted().is_empty() {
                // Nothing to apply anywhere; failures still count.
                let report = fleet::apply(&plans, &options).await;
                if cli.json {
                    say!("{}", combined(&plans, &report));
                }
                return Ok(report.exit_code());
            }
            if !yes {
                if cli.json || !output::can_ask() {
                    return Err(CliError::new(
                        "not applying: nobody can confirm, since stdin is not a terminal; run again with --yes to apply without asking",
                    ));
                }
                sayln!();
                let question = format!(
                    "Apply these changes to {} target(s) ({})?",
                    plans.drifted().len(),
                    plans.drifted().join(", ")
                );
                if !output::confirm(&question) {
                    return Err(CliError::new("apply cancelled; nothing was changed"));
                }
            }
            let options = options.events(progress_line);
            let report = fleet::apply(&plans, &options).await;
            if cli.json {
                say!("{}", combined(&plans, &report));
            } else {
                sayln!();
                say!("{}", report.render(color));
            }
            Ok(report.exit_code())
        }
    }
}

async fn plan(
    fleet: &Fleet,
    names: &[String],
    options: FleetOptions,
) -> Result<FleetPlan, CliError> {
    let picked = fleet.select(names)?;
    Ok(fleet::plan(fleet, &picked, &options).await)
}

/// One line on stderr per target as it starts and ends, and per failed step: what a CI log
/// shows while a long fleet apply runs.
fn progress_line(event: FleetEvent<'_>) {
    match event {
        FleetEvent::Started { target } => complain!("{target}: applying"),
        FleetEvent::Step {
            target,
            progress:
                Progress::Finished {
                    step,
                    outcome,
                    done,
                    total,
                },
        } if !outcome.is_done() => {
            complain!(
                "{target}: step {done}/{total} did not succeed: {}",
                describe(&step.action)
            );
        }
        FleetEvent::Finished { target, outcome } => match outcome {
            TargetOutcome::NotStarted { .. } => complain!("{target}: not started"),
            other => complain!("{target}: {}", other.status().replace('_', " ")),
        },
        _ => {}
    }
}

/// `apply --json`: the plans and the report.
fn combined(plans: &FleetPlan, report: &fleet::FleetReport) -> String {
    let parse = |text: String| serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default();
    let document = serde_json::json!({
        "plan": parse(plans.to_json()),
        "report": parse(report.to_json()),
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&document).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use std::path::Path;

    use super::*;

    fn args(line: &[&str]) -> Vec<OsString> {
        std::iter::once("clerk-rbac")
            .chain(line.iter().copied())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn the_definition_is_consistent() {
        FleetCli::command().debug_assert();
    }

    #[test]
    fn fleet_mode_is_chosen_by_the_fleet_option_only() {
        assert!(requested(&args(&["plan", "--fleet", "f.toml"])));
        assert!(requested(&args(&["--fleet=f.toml", "check"])));
        assert!(!requested(&args(&["plan", "rbac.toml"])));
        assert!(!requested(&args(&["plan", "--", "--fleet"])));
    }

    #[test]
    fn targets_repeat_and_options_go_anywhere() {
        let cli = FleetCli::try_parse_from(args(&[
            "check", "--fleet", "f.toml", "--target", "a", "--json", "--target", "b",
        ]))
        .unwrap();
        assert_eq!(cli.targets, ["a", "b"]);
        assert!(cli.json);
        assert!(matches!(cli.command, FleetCommand::Check { prune: false }));
        let cli =
            FleetCli::try_parse_from(args(&["--fleet", "f", "diff", "staging", "prod"])).unwrap();
        assert!(matches!(cli.command, FleetCommand::Diff { .. }));
        assert!(FleetCli::try_parse_from(args(&["plan", "--fleet", "f", "rbac.toml"])).is_err());
    }

    #[test]
    fn plans_are_saved_with_out_and_applied_from_a_file() {
        let cli =
            FleetCli::try_parse_from(args(&["plan", "--fleet", "f", "-o", "p.json"])).unwrap();
        assert!(
            matches!(cli.command, FleetCommand::Plan { out: Some(out), .. } if out == Path::new("p.json"))
        );
        let cli =
            FleetCli::try_parse_from(args(&["apply", "--fleet", "f", "p.json", "--yes"])).unwrap();
        assert!(
            matches!(cli.command, FleetCommand::Apply { plan: Some(plan), yes: true, .. } if plan == Path::new("p.json"))
        );
        let cli = FleetCli::try_parse_from(args(&["apply", "--fleet", "f"])).unwrap();
        assert!(matches!(
            cli.command,
            FleetCommand::Apply { plan: None, .. }
        ));
    }
}
