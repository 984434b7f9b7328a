//! foobar-load: ramps the load on each endpoint until the stack saturates, compares the read
//! with the app alone and with pgbench. Needs `oha` on PATH and the app published on
//! --direct-url (`make load` sees to both). Prints a table, writes `<out>/load.json` and
//! `load.svg`. Exit codes: 0 done, 1 a run failed, 2 bad usage.

use std::process::ExitCode;

use clap::Parser;
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
    let report = match load::run(Cli::parse().config) {
        Ok(report) => report,
        Err(err) => {
            eprintln!("load: {err}");
            return ExitCode::FAILURE;
        }
    };
    print!("{report}");
    match report.write() {
        Ok([json, svg]) => {
            println!("report: {}\n        {}", json.display(), svg.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!(
                "writing the report into {}: {err}",
                report.out_dir().display()
            );
            ExitCode::FAILURE
        }
    }
}
