//! foobar-detect: what the monitoring made of a fault, for the drills that are scripts
//! (cluster/drill, cluster/db-drill), as `make spof` reports it for its own: the first alert
//! the receiver got after the fault and how long it took, then how long after the return every
//! alert that fired took to be resolved. Prints one line; `--out` also writes it as JSON. The
//! receiver's log is read as foobar-spof reads it (`FOOBAR_ALERT_LOG` for the cluster's).
//! Exit codes: 0 read (an alert fired or not), 1 the log could not be read, 2 bad usage.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use foobar_tools::{cli, spof};

#[derive(Debug, Args)]
struct Config {
    /// When the fault was applied, in seconds since the Unix epoch.
    #[arg(long)]
    fault_at: f64,
    /// When the component was back (its undo done), in seconds since the Unix epoch.
    #[arg(long)]
    back_at: f64,
    /// Also write the detection as JSON to this file.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    cli::main(
        "foobar-detect",
        "Time to detect and to resolve a fault, from the alert receiver's log",
        |config: Config, _interrupt| {
            let detection = spof::detect(config.fault_at, config.back_at)?;
            println!("monitoring: {detection}");
            if let Some(out) = &config.out {
                let json = serde_json::to_vec_pretty(&detection)?;
                std::fs::write(out, json).with_context(|| format!("writing {}", out.display()))?;
            }
            Ok(ExitCode::SUCCESS)
        },
    )
}
