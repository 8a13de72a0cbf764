//! `cargo xtask`: the workspace's maintenance commands (today only `regen`; see `--help`).

use std::path::PathBuf;
use std::process::ExitCode;

use xtask::regen::{Options, Outcome, default_fragment_path, descriptions_beside, run};
use xtask::spec::SpecSource;

const USAGE: &str = "\
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

fn main() -> ExitCode {
    let result = parse_args(std::env::args().skip(1)).and_then(|options| match options {
        None => {
            print!("{USAGE}");
            Ok(Outcome::Unchanged)
        }
        Some(options) => run(&options, &mut std::io::stdout().lock()),
    });
    match result {
        Ok(Outcome::Unchanged | Outcome::Written) => ExitCode::SUCCESS,
        Ok(Outcome::Stale) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Reads the arguments after the program name: `regen` with its options, or `None` for help.
/// Four flags do not justify an argument-parsing crate.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let usage_error = |problem: String| format!("{problem}\n\n{USAGE}");
    let mut args = args.into_iter();
    match args.next().as_deref() {
        Some("regen") => {}
        Some("help" | "-h" | "--help") | None => return Ok(None),
        Some(other) => return Err(usage_error(format!("unknown command `{other}`"))),
    }
    let (mut spec, mut out, mut descriptions, mut check) = (None, None, None, false);
    while let Some(arg) = args.next() {
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        let slot = match flag {
            "--check" if inline_value.is_none() => {
                check = true;
                continue;
            }
            "-h" | "--help" => return Ok(None),
            "--spec" => &mut spec,
            "--out" => &mut out,
            "--descriptions" => &mut descriptions,
            _ => return Err(usage_error(format!("unknown argument `{arg}`"))),
        };
        match inline_value.or_else(|| args.next()) {
            Some(value) if !value.is_empty() => {
                if slot.replace(value).is_some() {
                    return Err(usage_error(format!("{flag} given twice")));
                }
            }
            _ => return Err(usage_error(format!("{flag} needs a value"))),
        }
    }
    let out = out.map_or_else(default_fragment_path, PathBuf::from);
    Ok(Some(Options {
        spec: spec.as_deref().map(SpecSource::from_arg),
        check,
        descriptions: descriptions.map_or_else(|| descriptions_beside(&out), PathBuf::from),
        out,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Options>, String> {
        parse_args(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn regen_defaults_to_the_committed_fragment_and_its_descriptions() {
        let options = parse(&["regen"]).unwrap().unwrap();
        assert_eq!(options.spec, None);
        assert!(!options.check);
        assert!(options.out.is_absolute() && options.out.ends_with("openapi/clerk-rbac.json"));
        assert!(options.descriptions.ends_with("openapi/descriptions.toml"));
        let beside = parse(&["regen", "--out", "elsewhere/f.json"])
            .unwrap()
            .unwrap();
        assert_eq!(
            beside.descriptions,
            PathBuf::from("elsewhere/descriptions.toml")
        );
    }

    #[test]
    fn flags_take_values_in_both_spellings() {
        let parsed = parse(&[
            "regen",
            "--spec",
            "a.yml",
            "--out=b.json",
            "--check",
            "--descriptions=d.toml",
        ]);
        let expected = Options {
            spec: Some(SpecSource::File("a.yml".into())),
            check: true,
            out: "b.json".into(),
            descriptions: "d.toml".into(),
        };
        assert_eq!(parsed, Ok(Some(expected)));
        let url = parse(&["regen", "--spec=https://h.test/s.yml"])
            .unwrap()
            .unwrap();
        assert_eq!(
            url.spec,
            Some(SpecSource::Url("https://h.test/s.yml".into()))
        );
        assert_eq!(parse(&[]), Ok(None));
        assert_eq!(parse(&["regen", "--help"]), Ok(None));
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
            assert!(
                err.starts_with(problem) && err.contains("Usage: cargo xtask regen"),
                "{args:?}: {err}"
            );
        }
    }
}
