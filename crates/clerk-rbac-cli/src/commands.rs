//! The subcommands, each on the library's `clerk_rbac_sync` verbs.

use std::{path::Path, process::ExitCode, time::Duration};

use clerk_rbac_sync::{self as sync, ApplyOptions, DesiredState, Plan, PlanOptions};

use crate::{
    CliError,
    args::{Cli, Command},
    instance::Instance,
    output,
};

/// The example file `demo` uses, shipped with the crate.
const EXAMPLE: &str = sync::EXAMPLE_FILE;
const EXAMPLE_NAME: &str = "examples/rbac.toml";

/// What `export` writes above the objects.
const EXPORT_HEADER: &str = "\
# Organization RBAC of a Clerk instance, written by `clerk-rbac export`.
# Only the objects listed here are managed: `clerk-rbac plan` compares them with an instance
# and `clerk-rbac apply` makes the instance match. The format: docs/rbac-as-code.md in clerk-rbac.

";

/// Runs the command line's command; the exit code says how it went.
pub async fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let color = output::color_stdout(cli.global.color);
    match cli.command {
        Command::Schema => {
            say!("{}", DesiredState::json_schema());
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { file } => demo(file.as_deref(), color).await,
        Command::Simulator { options } => crate::simulator::run(&options, cli.global.state).await,
        command => {
            // Read the file before connecting: a bad file sends nothing.
            let desired = match &command {
                Command::Plan { file, .. }
                | Command::Apply { file, .. }
                | Command::Check { file, .. } => Some(DesiredState::load(file)?),
                _ => None,
            };
            let instance = if cli.global.simulator || cli.global.state.is_some() {
                Instance::simulator(cli.global.state.as_deref()).await?
            } else {
                Instance::from_env()?
            };
            let outcome = on_instance(&instance, command, desired, color).await;
            // Keep what the embedded simulator did, whatever the outcome.
            instance.finish()?;
            outcome
        }
    }
}

async fn on_instance(
    instance: &Instance,
    command: Command,
    desired: Option<DesiredState>,
    color: bool,
) -> Result<ExitCode, CliError> {
    let clerk = &instance.clerk;
    let desired = desired.unwrap_or_default();
    match command {
        Command::Export { output } => {
            let text = format!("{EXPORT_HEADER}{}", sync::export(clerk).await?.to_toml());
            match output {
                Some(path) => std::fs::write(&path, text)
                    .map_err(|e| CliError::new(format!("{}: {e}", path.display())))?,
                None => say!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan {
            json,
            prune,
            detailed_exitcode,
            ..
        } => {
            let plan = sync::plan(clerk, &desired, &PlanOptions::new().prune(prune)).await?;
            show_plan(&plan, json, color);
            Ok(if detailed_exitcode && !plan.is_empty() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Check { file, prune, json } => {
            // `sync::check` without dropping the plan, which --json prints either way.
            let plan = sync::plan(clerk, &desired, &PlanOptions::new().prune(prune)).await?;
            if json || !plan.is_empty() {
                show_plan(&plan, json, color);
            } else if !plan.findings.is_empty() {
                // A file that manages nothing is "in sync" only vacuously: say so.
                show_plan(&plan, json, color);
                sayln!(
                    "In sync for what {} manages; read the findings above.",
                    file.display()
                );
            } else {
                sayln!("In sync: the instance matches {}.", file.display());
            }
            Ok(if plan.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::Apply {
            yes,
            prune,
            json,
            migration_timeout,
            ..
        } => {
            let plan = sync::plan(clerk, &desired, &PlanOptions::new().prune(prune)).await?;
            if !json {
                say!("{}", plan.render(color));
            }
            if plan.is_empty() {
                if json {
                    say!("{}", combined(&plan, None));
                }
                return Ok(ExitCode::SUCCESS);
            }
            if !plan.errors().is_empty() {
                if json {
                    say!("{}", combined(&plan, None));
                }
                return Err(CliError::new(format!(
                    "not applied: Clerk would refuse part of this plan, and nothing was sent:\n{}",
                    sync::Findings(plan.errors().into_iter().cloned().collect())
                )));
            }
            if !yes {
                if !output::can_ask() {
                    return Err(CliError::new(
                        "not applying: nobody can confirm, since stdin is not a terminal; run again with --yes to apply without asking",
                    ));
                }
                sayln!();
                if !output::confirm("Apply these changes to the instance?") {
                    return Err(CliError::new("apply cancelled; nothing was changed"));
                }
            }
            let mut options =
                ApplyOptions::new().migration_timeout(Duration::from_secs(migration_timeout));
            let bar = output::progress_bar(plan.steps.len());
            if let Some((_, report)) = &bar {
                options.progress = Some(report.clone());
            }
            let report = sync::apply(clerk, &plan, &options).await;
            if let Some((bar, _)) = bar {
                bar.finish_and_clear();
            }
            let report = report?;
            if json {
                say!("{}", combined(&plan, Some(&report)));
            } else {
                sayln!();
                say!("{}", report.render(color));
            }
            Ok(if report.is_success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Schema | Command::Demo { .. } | Command::Simulator { .. } => {
            unreachable!("handled without an instance")
        }
    }
}

fn show_plan(plan: &Plan, json: bool, color: bool) {
    if json {
        say!("{}", plan.to_json());
    } else {
        say!("{}", plan.render(color));
    }
}

/// `apply --json`: the plan and (when something was applied) the report.
fn combined(plan: &Plan, report: Option<&sync::ApplyReport>) -> String {
    let parse = |text: String| serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default();
    let document = serde_json::json!({
        "plan": parse(plan.to_json()),
        "report": report.map(|r| parse(r.to_json())),
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&document).unwrap_or_default()
    )
}

/// Plan, apply and plan again on a fresh embedded simulator.
async fn demo(file: Option<&Path>, color: bool) -> Result<ExitCode, CliError> {
    let (desired, name) = match file {
        Some(path) => (DesiredState::load(path)?, path.display().to_string()),
        None => (
            DesiredState::from_toml(EXAMPLE, EXAMPLE_NAME)?,
            EXAMPLE_NAME.to_owned(),
        ),
    };
    let instance = Instance::simulator(None).await?;
    let clerk = &instance.clerk;
    sayln!(
        "A fresh embedded Clerk simulator (seeded like a new instance); nothing leaves this machine.\n"
    );

    sayln!("$ clerk-rbac plan {name}");
    let plan = sync::plan(clerk, &desired, &PlanOptions::new()).await?;
    say!("{}", plan.render(color));

    sayln!("\n$ clerk-rbac apply {name} --yes");
    let report = sync::apply(clerk, &plan, &ApplyOptions::new()).await?;
    say!("{}", report.render(color));

    sayln!("\n$ clerk-rbac plan {name}");
    let after = sync::plan(clerk, &desired, &PlanOptions::new()).await?;
    say!("{}", after.render(color));
    Ok(if report.is_success() && after.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
