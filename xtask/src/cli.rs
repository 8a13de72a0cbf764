//! Command-line parsing for `cargo xtask`. Four flags do not justify an argument-parsing crate.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::regen::{Options, default_fragment_path, descriptions_beside};
use crate::source::SpecSource;

/// The help text.
pub const USAGE: &str = "\
Usage: cargo xtask regen [--spec <file or URL>] [--out <file>] [--descriptions <file>] [--check]

Rebuilds openapi/clerk-rbac.json, the organization RBAC fragment of Clerk's Backend API spec,
with our own description of every schema, property, operation and parameter in it.

  --spec <file or URL>  read this YAML or JSON spec instead of downloading Clerk's published
                        spec for the fragment's pinned API version (its info.version)
  --out <file>          the fragment to replace or check (default: openapi/clerk-rbac.json in
                        the workspace, whatever the current directory)
  --descriptions <file> the descriptions to carry into the fragment (default: descriptions.toml
                        beside the fragment). Every schema, property, operation and parameter
                        needs one, and every entry must name something the fragment has.
  --check               write nothing; exit 1 with a diff if the fragment is not what regen would
                        write. Without --spec this works offline: it checks that the fragment is
                        already normalized and carries the current descriptions.

Exit status: 0 done or up to date, 1 --check found a difference, 2 error (including a missing
or stale description, each named).
";

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `regen` with its options.
    Regen(Options),
    /// `help`, `-h` or `--help`.
    Help,
}

/// Parses the arguments that follow the program name.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command> {
    let mut args = args.into_iter();
    match args.next().as_deref() {
        Some("regen") => {}
        Some("help" | "-h" | "--help") | None => return Ok(Command::Help),
        Some(other) => return Err(usage_error(&format!("unknown command `{other}`"))),
    }
    let mut spec = None;
    let mut out = None;
    let mut descriptions = None;
    let mut check = false;
    while let Some(arg) = args.next() {
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "--check" if inline_value.is_none() => check = true,
            "--spec" | "--out" | "--descriptions" => {
                let value = match inline_value.or_else(|| args.next()) {
                    Some(value) if !value.is_empty() => value,
                    _ => return Err(usage_error(&format!("{flag} needs a value"))),
                };
                let slot = match flag.as_str() {
                    "--spec" => &mut spec,
                    "--out" => &mut out,
                    _ => &mut descriptions,
                };
                if slot.replace(value).is_some() {
                    return Err(usage_error(&format!("{flag} given twice")));
                }
            }
            "-h" | "--help" => return Ok(Command::Help),
            _ => return Err(usage_error(&format!("unknown argument `{arg}`"))),
        }
    }
    let out = out.map(PathBuf::from).unwrap_or_else(default_fragment_path);
    Ok(Command::Regen(Options {
        spec: spec.as_deref().map(SpecSource::from_arg),
        check,
        descriptions: descriptions
            .map(PathBuf::from)
            .unwrap_or_else(|| descriptions_beside(&out)),
        out,
    }))
}

fn usage_error(problem: &str) -> Error {
    Error::new(format!("{problem}\n\n{USAGE}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command> {
        parse_args(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn regen_defaults_to_the_committed_fragment_and_the_published_spec() {
        let Command::Regen(options) = parse(&["regen"]).unwrap() else {
            panic!("expected regen");
        };
        assert_eq!(options.spec, None);
        assert!(!options.check);
        assert!(options.out.ends_with("openapi/clerk-rbac.json"));
        assert!(options.out.is_absolute());
        assert!(options.descriptions.ends_with("openapi/descriptions.toml"));
        assert!(options.descriptions.is_absolute());
    }

    #[test]
    fn the_descriptions_go_with_the_fragment_unless_named() {
        let Command::Regen(beside) = parse(&["regen", "--out", "elsewhere/f.json"]).unwrap() else {
            panic!("expected regen");
        };
        assert_eq!(
            beside.descriptions,
            PathBuf::from("elsewhere/descriptions.toml")
        );
        let Command::Regen(named) =
            parse(&["regen", "--out", "f.json", "--descriptions=d.toml"]).unwrap()
        else {
            panic!("expected regen");
        };
        assert_eq!(named.descriptions, PathBuf::from("d.toml"));
    }

    #[test]
    fn flags_take_values_in_both_spellings() {
        let parsed = parse(&["regen", "--spec", "a.yml", "--out=b.json", "--check"]).unwrap();
        assert_eq!(
            parsed,
            Command::Regen(Options {
                spec: Some(SpecSource::File("a.yml".into())),
                check: true,
                out: "b.json".into(),
                descriptions: "descriptions.toml".into(),
            })
        );
        let Command::Regen(options) = parse(&["regen", "--spec=https://h.test/s.yml"]).unwrap()
        else {
            panic!("expected regen");
        };
        assert_eq!(
            options.spec,
            Some(SpecSource::Url("https://h.test/s.yml".into()))
        );
    }

    #[test]
    fn help_is_available() {
        assert_eq!(parse(&[]).unwrap(), Command::Help);
        assert_eq!(parse(&["regen", "--help"]).unwrap(), Command::Help);
    }

    #[test]
    fn mistakes_are_explained_with_the_usage() {
        for (args, problem) in [
            (&["regen", "--spec"][..], "--spec needs a value"),
            (
                &["regen", "--descriptions="][..],
                "--descriptions needs a value",
            ),
            (
                &["regen", "--out", "a", "--out", "b"][..],
                "--out given twice",
            ),
            (&["regen", "--verbose"][..], "unknown argument `--verbose`"),
            (
                &["regen", "--check=yes"][..],
                "unknown argument `--check=yes`",
            ),
            (&["generate"][..], "unknown command `generate`"),
        ] {
            let err = parse(args).unwrap_err();
            assert!(err.message().starts_with(problem), "{args:?}: {err}");
            assert!(
                err.message().contains("Usage: cargo xtask regen"),
                "{args:?}"
            );
        }
    }
}
