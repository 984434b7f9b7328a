//! The tools' command lines: parsing a tool's options, running it with the signals handled and
//! turning the outcome into its exit status, and value parsers for the numeric options (clap's
//! `value_parser`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Command};

use crate::interrupt::{self, Interrupt};

/// A tool's `main`: parses its options `C` (exit 2 on bad usage, as clap does), makes the
/// signals set a flag instead of killing it, runs it, and prints its error, if any, as
/// `TOOL: error` (`name` is `foobar-TOOL`). Exit status: what `run` returns, 128 + the signal
/// when it failed interrupted, else 1.
pub fn main<C: Args>(
    name: &'static str,
    about: &'static str,
    run: impl FnOnce(C, &Interrupt) -> anyhow::Result<ExitCode>,
) -> ExitCode {
    let config = match C::from_arg_matches(&command::<C>(name, about).get_matches()) {
        Ok(config) => config,
        Err(error) => error.exit(),
    };
    // Every tool runs Compose, cluster/hosts or psql from the checkout, and reports into it by
    // default: found before the run makes anything it would then fail to remove.
    let result = crate::repo_root()
        .and_then(|_| Interrupt::install().context("handling Ctrl-C and the termination signals"))
        .and_then(|interrupt| run(config, &interrupt));
    result.unwrap_or_else(|error| {
        let tool = name.strip_prefix("foobar-").unwrap_or(name);
        eprintln!("{tool}: {error:#}");
        interrupt::exit_code(&error)
    })
}

/// The end of a report tool's `run`: prints `report`, writes it with `write`, and prints the
/// paths written.
pub fn print_and_write<R: std::fmt::Display>(
    report: &R,
    write: impl FnOnce(&R) -> anyhow::Result<Vec<PathBuf>>,
) -> anyhow::Result<ExitCode> {
    print!("{report}");
    print_paths(&write(report)?);
    Ok(ExitCode::SUCCESS)
}

/// `report: PATH`, and the other paths written under it.
pub fn print_paths(paths: &[PathBuf]) {
    for (i, path) in paths.iter().enumerate() {
        let label = if i == 0 { "report:" } else { "" };
        println!("{label:<8}{}", path.display());
    }
}

/// Runs `work` on a multi-threaded tokio runtime of its own: for the async tools' `run`, and
/// for the blocking tools' requests to the site ([`crate::Site`] is async).
pub fn block_on<T>(
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(work)
}

/// The command line of tool `name`: options `C`, with `--help` and `--version`.
fn command<C: Args>(name: &'static str, about: &'static str) -> Command {
    // `about` last: `C`'s own doc comment would replace it.
    C::augment_args(Command::new(name).version(env!("CARGO_PKG_VERSION"))).about(about)
}

/// Parses `args` (without the program's name) as options `C`: for tests.
pub fn try_parse<C: Args>(args: &[&str]) -> Result<C, clap::Error> {
    let argv = std::iter::once("foobar-tool").chain(args.iter().copied());
    C::from_arg_matches(&command::<C>("foobar-tool", "").try_get_matches_from(argv)?)
}

/// A finite number for which `accept` holds; `expected` completes "expected ...".
fn number(text: &str, accept: impl Fn(f64) -> bool, expected: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && accept(value) => Ok(value),
        _ => Err(format!("expected {expected}")),
    }
}

pub fn positive(text: &str) -> Result<f64, String> {
    number(text, |v| v > 0.0, "a number above 0")
}

pub fn non_negative(text: &str) -> Result<f64, String> {
    number(text, |v| v >= 0.0, "a number, 0 or more")
}

/// For growth factors: 1 or less would never grow.
pub fn above_one(text: &str) -> Result<f64, String> {
    number(text, |v| v > 1.0, "a number above 1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_checked_and_named() {
        assert_eq!(positive("2.5"), Ok(2.5));
        assert_eq!(positive("0"), Err("expected a number above 0".into()));
        assert_eq!(non_negative("0"), Ok(0.0));
        assert!(non_negative("-1").is_err());
        assert!(above_one("1").is_err());
        assert!(positive("inf").is_err() && positive("NaN").is_err() && positive("x").is_err());
    }
}
