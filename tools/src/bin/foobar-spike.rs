//! foobar-spike: auto-scaling through a traffic spike on the cluster (`make cluster-up`):
//! `GET /api/posts/{id}` through the virtual IP at a base rate, a spike, the base rate again,
//! with the app fixed on one host, fixed on three, and auto-scaled from one. Needs root
//! (cluster/hosts) and `oha` on PATH (`make cluster-spike` sees to both). Prints each run's
//! figures, writes `<out>/spike.json`, `spike.md` and `spike.svg`. Turns auto-scaling off, puts
//! the app back on every host and deletes its account when it ends, also on an error or a
//! signal. Exit codes as foobar-load's.

use std::process::ExitCode;

use anyhow::Result;
use foobar_tools::cli;
use foobar_tools::interrupt::Interrupt;
use foobar_tools::load::spike::{self, SpikeConfig};

fn main() -> ExitCode {
    cli::main(
        "foobar-spike",
        "Auto-scaling through a traffic spike: fixed at 1 and 3 app hosts, and auto-scaled from 1",
        run,
    )
}

fn run(config: SpikeConfig, interrupt: &Interrupt) -> Result<ExitCode> {
    let report = spike::run(config, interrupt)?;
    cli::print_and_write(&report, |report| report.write())
}
