//! foobar-probe: open-loop HTTP load on the site, to measure what users see during a deploy.
//! Writes `<out>/NAME.json` and `NAME.svg` and prints a summary with a timeline. With
//! `--writes`, once stopped (also by Ctrl-C or SIGTERM) it reads its acknowledged posts back and
//! then deletes the posts it wrote, unless `--keep-writes`.
//! Exit codes: 0 done, 1 an error (the audit, the deletion or the report failed), 2 bad usage,
//! 3 `--until-new-version` and the new version never settled, 4 acknowledged writes were lost.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::Parser;
use foobar_tools::interrupt::{self, with_cleanup, Interrupt};
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
    match run(config).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("probe: {err:#}");
            interrupt::exit_code(&err)
        }
    }
}

async fn run(config: Config) -> Result<ExitCode> {
    let interrupt = Interrupt::install().context("handling Ctrl-C and SIGTERM")?;
    let until_new_version = config.until_new_version;
    // A signal ends the run like --duration does: what was measured is still reported.
    let mut report = probe::probe(config, interrupt.wait()).await?;

    let audited = report.audit_writes().await;
    let removed = if report.config.keep_writes {
        Ok(())
    } else {
        report.remove_writes().await
    };
    print!("{report}");
    let [json, svg] = report
        .write()
        .with_context(|| format!("writing the report into {}", report.out_dir().display()))?;
    println!("report: {}\n        {}", json.display(), svg.display());
    with_cleanup(audited, removed)?;

    if let Some(lost @ 1..) = report.summary.writes.lost {
        eprintln!("{lost} acknowledged writes did not read back");
        return Ok(ExitCode::from(4));
    }
    if until_new_version && report.stopped_by == StopReason::Duration {
        let reason = if report.summary.switch_ms.is_none() {
            "the version did not change"
        } else {
            "the new version did not answer everything for --settle-secs"
        };
        eprintln!("did not recover within --duration: {reason}");
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}
