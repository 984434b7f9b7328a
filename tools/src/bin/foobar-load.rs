//! foobar-load: ramps the load on each endpoint until the stack saturates, compares the read
//! with the app alone and with pgbench. Needs `oha` on PATH and the app published on
//! --direct-url (`make load` sees to both). Prints a table, writes `<out>/load.json`, `load.md`
//! and `load.svg` (`load-https.*` when --url is https). Deletes the posts it wrote and drops the
//! pgbench database when it ends, also on an error or a signal. Exit codes: 0 done, 1 a run
//! failed, 2 bad usage, 128 + the signal when interrupted (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP),
//! after cleaning up; a second signal more than 2 s after the first exits at once, without
//! finishing the cleanup.

use std::process::ExitCode;

use anyhow::Result;
use foobar_tools::cli;
use foobar_tools::interrupt::Interrupt;
use foobar_tools::load::{self, Config};

fn main() -> ExitCode {
    cli::main(
        "foobar-load",
        "Load ramps and the scalability limit of www.foobar.com",
        run,
    )
}

fn run(config: Config, interrupt: &Interrupt) -> Result<ExitCode> {
    let report = load::run(config, interrupt)?;
    cli::print_and_write(&report, |report| report.write())
}
