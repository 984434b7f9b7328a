//! foobar-load: ramps the load on each endpoint until the stack saturates, compares the read
//! with the app alone and with pgbench. Needs `oha` on PATH and the app published on
//! --direct-url (`make load` sees to both). Prints a table, writes `<out>/load.json` and
//! `load.svg`. Deletes the posts it wrote and drops the pgbench database when it ends, also on
//! an error or a signal. Exit codes: 0 done, 1 a run failed, 2 bad usage, 130/143 interrupted
//! (Ctrl-C/SIGTERM; a second one exits at once, without cleaning up).

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::Parser;
use foobar_tools::interrupt::{self, Interrupt};
use foobar_tools::load::{self, Config};

#[derive(Parser)]
#[command(
    version,
    about = "Load ramps and the scalability limit of www.foobar.com"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
}

fn main() -> ExitCode {
    match run(Cli::parse().config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("load: {err:#}");
            interrupt::exit_code(&err)
        }
    }
}

fn run(config: Config) -> Result<()> {
    let interrupt = Interrupt::install().context("handling Ctrl-C and SIGTERM")?;
    let report = load::run(config, &interrupt)?;
    print!("{report}");
    let [json, svg] = report
        .write()
        .with_context(|| format!("writing the report into {}", report.out_dir().display()))?;
    println!("report: {}\n        {}", json.display(), svg.display());
    Ok(())
}
