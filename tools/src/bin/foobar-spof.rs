//! foobar-spof: fault drills against the running stack. For each component in turn, under the
//! open-loop probe with writes: take it away (SIGKILL, or pause), bring it back, measure what
//! users saw and how fast the site recovered, audit the writes, then delete them. Writes
//! `<out>/spof-SERVICE-FAULT.{json,svg}` per drill and `<out>/spof.json`; prints a table.
//! Exit codes: 0 done, 1 a drill failed, lost or duplicated a write, or the site did not
//! recover; 2 bad usage; 130/143 interrupted (Ctrl-C/SIGTERM) after undoing the fault.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::Parser;
use foobar_tools::interrupt::{self, Interrupt};
use foobar_tools::spof::{self, Config};

#[derive(Parser)]
#[command(about = "Fault drills: kill or pause each component under load, measure, audit writes")]
struct Cli {
    #[command(flatten)]
    config: Config,
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = Cli::parse().config;
    match run(&config).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("spof: {err:#}");
            interrupt::exit_code(&err)
        }
    }
}

async fn run(config: &Config) -> Result<ExitCode> {
    let interrupt = Interrupt::install().context("handling Ctrl-C and SIGTERM")?;
    let report = spof::run(config, &interrupt).await?;
    let dir = config.out_dir();
    let path = foobar_tools::write_json(&dir, "spof", &report)
        .with_context(|| format!("writing spof.json into {}", dir.display()))?;
    println!("\n{report}\nreport: {}", path.display());
    if report.healthy() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("a drill lost or duplicated writes, or the site did not recover");
        Ok(ExitCode::FAILURE)
    }
}
