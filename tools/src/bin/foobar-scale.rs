//! foobar-scale: the scale-out of the cluster (`make cluster-up`): ramps `GET /api/posts/{id}`
//! through the load balancers' virtual IP with the app on 1, 2 and 3 hosts, and compares the
//! knees. Needs root (cluster/hosts) and `oha` on PATH (`make cluster-scale` sees to both).
//! Prints a table, writes `<out>/scale.json`, `scale.md` and `scale.svg`. Puts the app back on
//! every host and deletes its account when it ends, also on an error or a signal. Exit codes as
//! foobar-load's: 0 done, 1 a run failed, 2 bad usage, 128 + the signal when interrupted.

use std::process::ExitCode;

use anyhow::Result;
use foobar_tools::cli;
use foobar_tools::interrupt::Interrupt;
use foobar_tools::load::scale::{self, ScaleConfig};

fn main() -> ExitCode {
    cli::main(
        "foobar-scale",
        "Scaling out on the cluster: the read's knee with the app on 1, 2 and 3 hosts",
        run,
    )
}

fn run(config: ScaleConfig, interrupt: &Interrupt) -> Result<ExitCode> {
    let report = scale::run(config, interrupt)?;
    cli::print_and_write(&report, |report| report.write())
}
