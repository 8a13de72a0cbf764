//! The subcommands, each on the library's `clerk_rbac_sync` verbs.

use std::{path::Path, process::ExitCode, time::Duration};

use clerk_rbac_sync::{
    self as sync, ApplyOptions, DesiredState, Interrupt, Plan, PlanOptions, SavedPlan, Target,
};

use crate::{
    CliError,
    args::{Cli, Command},
    instance::Instance,
    output, signals,
};

/// The example file `demo` uses, shipped with the crate.
const EXAMPLE: &str = sync::EXAMPLE_FILE;
const EXAMPLE_NAME: &str = "examples/rbac.toml";

/// What `export` writes above the objects.
const EXPORT_HEADER: &str = "\
#:schema ./clerk-rbac.schema.json
# Organization RBAC of a Clerk instance, written by `clerk-rbac export`.
# Only the objects listed here are managed: `clerk-rbac plan` compares them with an instance
# and `clerk-rbac apply` makes the instance match. The format: docs/rbac-as-code.md in clerk-rbac.
# The first line lets editors check this file against its schema: write it beside the file with
# `clerk-rbac schema > clerk-rbac.schema.json`.

";

/// How long steps already running may go on after Ctrl-C or SIGTERM.
const GRACE: Duration = Duration::from_secs(30);

/// What `apply` was given: a desired-state file, or a plan saved by `plan -o`.
enum ApplyInput {
    File(DesiredState),
    Saved(Box<SavedPlan>),
}

/// Runs the command line's command; the exit code says how it went.
pub async fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let color = output::color_stdout(cli.global.color);
    match cli.command {
        Command::Schema => {
            if cli.global.state.is_some() {
                return Err(CliError::new(
                    "--state is not used by `schema` (it reads no instance); leave it out",
                ));
            }
            say!("{}", DesiredState::json_schema());
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { file } => {
            if cli.global.state.is_some() {
                return Err(CliError::new(
                    "--state is not used by `demo` (it always starts a fresh simulator); leave it out, or use --state with plan, apply, check and export",
                ));
            }
            demo(file.as_deref(), color).await
        }
        Command::Simulator { options } => crate::simulator::run(&options, cli.global.state).await,
        command => {
            // Read the file before connecting: a bad file sends nothing.
            let (desired, saved) = match &command {
                Command::Plan { file, .. } | Command::Check { file, .. } => {
                    (Some(DesiredState::load(file)?), None)
                }
                Command::Apply { file, .. } => match read_apply_input(file)? {
                    ApplyInput::File(desired) => (Some(desired), None),
                    ApplyInput::Saved(saved) => (None, Some(saved)),
                },
                _ => (None, None),
            };
            let instance = if cli.global.simulator || cli.global.state.is_some() {
                Instance::simulator(cli.global.state.as_deref()).await?
            } else {
                Instance::from_env()?
            };
            let outcome = on_instance(&instance, command, desired, saved, color).await;
            // Keep what the embedded simulator did, whatever the outcome.
            instance.finish()?;
            outcome
        }
    }
}

/// A saved plan (JSON, starting with `{`) or a desired-state file (TOML).
fn read_apply_input(path: &Path) -> Result<ApplyInput, CliError> {
    let bytes =
        std::fs::read(path).map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
    if SavedPlan::looks_like(&String::from_utf8_lossy(&bytes)) {
        let text = String::from_utf8(bytes).map_err(|_| {
            CliError::new(format!(
                "{}: a saved plan must be UTF-8 text; this one is damaged",
                path.display()
            ))
        })?;
        return Ok(ApplyInput::Saved(Box::new(SavedPlan::from_json(&text)?)));
    }
    Ok(ApplyInput::File(DesiredState::load(path)?))
}

async fn on_instance(
    instance: &Instance,
    command: Command,
    desired: Option<DesiredState>,
    saved: Option<Box<SavedPlan>>,
    color: bool,
) -> Result<ExitCode, CliError> {
    let clerk = &instance.clerk;
    let target = &instance.target;
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
            file,
            json,
            prune,
            detailed_exitcode,
            out,
        } => {
            let plan = sync::plan(clerk, &desired, &PlanOptions::new().prune(prune)).await?;
            if !json {
                sayln!("Target: {target}\n");
            }
            show_plan(&plan, json, color, target);
            if let Some(out) = out {
                let saved = SavedPlan::new(plan.clone(), target.clone(), Some(file_name(&file)));
                write_atomically(&out, &saved.to_json())?;
                let message = format!(
                    "Saved this plan to {0}. Review it, then `clerk-rbac apply {0}` carries out exactly these steps, or nothing if the instance or the target changed.",
                    out.display()
                );
                if json {
                    complain!("{message}");
                } else {
                    sayln!("\n{message}");
                }
            }
            Ok(if detailed_exitcode && !plan.is_empty() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Check { file, prune, json } => {
            // `sync::check` without dropping the plan, which --json prints either way.
            let plan = sync::plan(clerk, &desired, &PlanOptions::new().prune(prune)).await?;
            if json {
                show_plan(&plan, json, color, target);
            } else if plan.is_empty() && !plan.findings.is_empty() {
                // A file that manages nothing is "in sync" only vacuously: say so.
                sayln!("Target: {target}");
                show_plan(&plan, json, color, target);
                sayln!(
                    "In sync for what {} manages; read the findings above.",
                    file.display()
                );
            } else if plan.is_empty() {
                sayln!("Target: {target}");
                sayln!("In sync: the instance matches {}.", file.display());
            } else {
                sayln!("Target: {target}");
                sayln!(
                    "Drift: the instance differs from {0}; `clerk-rbac apply {0}` would make these changes:\n",
                    file.display()
                );
                show_plan(&plan, json, color, target);
            }
            Ok(if plan.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::Apply {
            file,
            yes,
            prune,
            json,
            migration_timeout,
        } => {
            let plan = match saved {
                Some(saved) => {
                    if prune {
                        return Err(CliError::new(
                            "--prune is decided when the plan is made (`plan --prune -o PLAN`); a saved plan is applied as it is",
                        ));
                    }
                    // Before any request: a plan for another instance sends nothing at all.
                    saved.check_target(target)?;
                    saved.plan
                }
                None => sync::plan(clerk, &desired, &PlanOptions::new().prune(prune)).await?,
            };
            let options =
                ApplyOptions::new().migration_timeout(Duration::from_secs(migration_timeout));
            apply(instance, &plan, &file, yes, json, color, options).await
        }
        Command::Schema | Command::Demo { .. } | Command::Simulator { .. } => {
            unreachable!("handled without an instance")
        }
    }
}

/// Shows the plan, asks (unless `yes`), applies with progress and interruption, reports.
async fn apply(
    instance: &Instance,
    plan: &Plan,
    file: &Path,
    yes: bool,
    json: bool,
    color: bool,
    options: ApplyOptions,
) -> Result<ExitCode, CliError> {
    let target = &instance.target;
    if !json {
        sayln!("Target: {target}\n");
        say!("{}", plan.render(color));
        if let Some(estimate) = output::estimate(plan, target) {
            sayln!("{estimate}");
        }
    }
    if plan.is_empty() {
        if json {
            say!("{}", combined(plan, None, target));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !plan.errors().is_empty() {
        if json {
            say!("{}", combined(plan, None, target));
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
        if !output::confirm(&format!("Apply these changes to {target}?")) {
            return Err(CliError::new("apply cancelled; nothing was changed"));
        }
    }
    let interrupt = Interrupt::new();
    let mut options = options.interrupt(interrupt.clone()).grace(GRACE);
    let display = output::Display::start(plan.steps.len(), json);
    options.progress = Some(display.reporter());
    let signals = signals::watch(interrupt, GRACE);
    let report = sync::apply(&instance.clerk, plan, &options).await;
    display.finish();
    let report = report?;
    if json {
        say!("{}", combined(plan, Some(&report), target));
    } else {
        sayln!();
        say!("{}", report.render(color));
        if report.is_interrupted() && crate::commands::is_saved_plan(file) {
            sayln!(
                "This was a saved plan: the instance has changed since it was made, so make a new one (`clerk-rbac plan FILE -o PLAN`) and apply that."
            );
        }
    }
    if let Some(code) = signals.received() {
        return Ok(ExitCode::from(code));
    }
    Ok(if report.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Whether `path` holds a saved plan (for advice after an interruption).
fn is_saved_plan(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| SavedPlan::looks_like(&String::from_utf8_lossy(&bytes)))
}

fn file_name(path: &Path) -> String {
    path.display().to_string()
}

/// Writes beside the file, then renames: a run stopped half-way never leaves half a plan.
pub(crate) fn write_atomically(path: &Path, text: &str) -> Result<(), CliError> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| CliError::new(format!("{}: {e}", path.display())))
}

fn show_plan(plan: &Plan, json: bool, color: bool, target: &Target) {
    if json {
        say!("{}", with_target(&plan.to_json(), target));
    } else {
        say!("{}", plan.render(color));
        if let Some(estimate) = output::estimate(plan, target) {
            sayln!("{estimate}");
        }
    }
}

/// The target as one line of JSON.
fn target_json(target: &Target) -> String {
    serde_json::to_string(target).unwrap_or_default()
}

/// Adds `"target"` as the first key of a pretty JSON object, keeping the order of the rest.
fn with_target(json: &str, target: &Target) -> String {
    match json.strip_prefix("{\n") {
        Some(rest) => format!("{{\n  \"target\": {},\n{rest}", target_json(target)),
        None => json.to_owned(),
    }
}

/// `apply --json`: the target, the plan and (when something was applied) the report, each in
/// the key order its own JSON has.
fn combined(plan: &Plan, report: Option<&sync::ApplyReport>, target: &Target) -> String {
    let indent = |text: String| text.trim_end().replace('\n', "\n  ");
    format!(
        "{{\n  \"target\": {},\n  \"plan\": {},\n  \"report\": {}\n}}\n",
        target_json(target),
        indent(plan.to_json()),
        report.map_or_else(|| "null".to_owned(), |r| indent(r.to_json())),
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
    sayln!(
        "\nNext: with your instance's secret key in CLERK_SECRET_KEY (a test key first), run `clerk-rbac export -o rbac.toml` to describe it, edit the file, then `clerk-rbac plan rbac.toml`."
    );
    Ok(if report.is_success() && after.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
