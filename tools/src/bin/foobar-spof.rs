//! foobar-spof: fault drills against the running stack. For each component in turn, under the
//! open-loop probe with writes: take it away (SIGKILL, or pause), bring it back, measure what
//! users saw and how fast the site recovered, audit the writes (and that the probe's signed-in
//! user was never signed out), then delete them and the probe's account. Writes
//! `<out>/spof-SERVICE-FAULT.{json,md,svg}` per drill and `<out>/spof.{json,md}`; prints a table.
//! Exit codes: 0 done, 1 a drill failed, lost or duplicated a write, signed the user out (a
//! 401), or the site did not recover; 2 bad usage; 128 + the signal when interrupted (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP),
//! after undoing the fault; a second signal more than 2 s after the first exits at once.

use std::process::ExitCode;

use anyhow::Result;
use foobar_tools::cli;
use foobar_tools::interrupt::Interrupt;
use foobar_tools::spof::{self, Config};

fn main() -> ExitCode {
    cli::main(
        "foobar-spof",
        "Fault drills: kill or pause each component under load, measure, audit writes",
        |config, interrupt| cli::block_on(run(&config, interrupt)),
    )
}

async fn run(config: &Config, interrupt: &Interrupt) -> Result<ExitCode> {
    let report = spof::run(config, interrupt).await?;
    let paths = foobar_tools::write_json(&config.out_dir()?, "spof", &report)?;
    println!("\n{report}");
    cli::print_paths(&paths);
    if report.healthy() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "a drill lost or duplicated writes, signed the user out (401), or the site did not recover"
        );
        Ok(ExitCode::FAILURE)
    }
}
