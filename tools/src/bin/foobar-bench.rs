//! foobar-bench: each tier's throughput beside its own ceiling, in one run (closed loop with
//! wrk, medians of interleaved runs). Needs `wrk` and Debian's `nginx` on PATH, the app published
//! on --direct-url (`make bench` sees to it), and root for the two figures measured inside
//! containers' network namespaces (skipped otherwise). Prints a table, writes `<out>/bench.json`
//! and `bench.md`. Removes its account, its post and the pgbench database when it ends, also on
//! an error or a signal. Exit codes: 0 done, 1 a run failed, 2 bad usage, 128 + the signal when
//! interrupted.

use std::process::ExitCode;

use anyhow::Result;
use foobar_tools::bench::{self, Config};
use foobar_tools::cli;
use foobar_tools::interrupt::Interrupt;

fn main() -> ExitCode {
    cli::main(
        "foobar-bench",
        "Cost per request of www.foobar.com's tiers against their own ceilings",
        run,
    )
}

fn run(config: Config, interrupt: &Interrupt) -> Result<ExitCode> {
    let report = bench::run(config, interrupt)?;
    cli::print_and_write(&report, |report| report.write())
}
