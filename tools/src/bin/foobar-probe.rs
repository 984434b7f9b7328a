//! foobar-probe: open-loop HTTP load on the site, to measure what users see during a deploy.
//! Writes `<out>/NAME.json` and `NAME.svg` and prints a summary with a timeline.
//! Exit codes: 0 done, 2 bad usage, 3 `--until-new-version` and the new version never settled.

use std::process::ExitCode;

use clap::Parser;
use foobar_tools::probe::{self, Config, StopReason};

#[derive(Parser)]
#[command(
    version,
    about = "Open-loop HTTP prober of www.foobar.com (see `--help`)"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = Cli::parse().config;
    let until_new_version = config.until_new_version;
    let report = probe::probe(config, probe::shutdown_signal()).await;

    print!("{report}");
    match report.write() {
        Ok([json, svg]) => println!("report: {}\n        {}", json.display(), svg.display()),
        Err(err) => {
            eprintln!(
                "writing the report into {}: {err}",
                report.out_dir().display()
            );
            return ExitCode::FAILURE;
        }
    }
    if until_new_version && report.stopped_by == StopReason::Duration {
        let reason = if report.summary.switch_ms.is_none() {
            "the version did not change"
        } else {
            "the new version did not answer everything for --settle-secs"
        };
        eprintln!("did not recover within --duration: {reason}");
        return ExitCode::from(3);
    }
    ExitCode::SUCCESS
}
