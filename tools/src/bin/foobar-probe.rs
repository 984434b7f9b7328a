//! foobar-probe: open-loop HTTP load on the site, to measure what users see during a deploy.
//! Writes `<out>/NAME.json`, `NAME.md` and `NAME.svg` and prints a summary with a timeline.
//! With `--writes`, it first signs up an account of its own (`probe-` and 8 hex digits) and
//! writes as that user; once stopped (also by Ctrl-C, SIGTERM or SIGHUP) it reads its
//! acknowledged posts back, then deletes the posts it wrote and its account, unless
//! `--keep-writes`.
//! Exit codes: 0 done, 1 an error (the sign-up, the audit, the deletion or the report failed),
//! 2 bad usage, 3 `--until-new-version` and the new version never settled, 4 acknowledged
//! writes were lost, 5 the signed-in user was signed out (answers 401), 128 + the signal (130
//! Ctrl-C, 143 SIGTERM, 129 SIGHUP) stopped by one, after the cleanup; a second signal more
//! than 2 s after the first exits at once, without finishing it. When several apply: the
//! signal, then 4, 5, 3.

use std::process::ExitCode;

use anyhow::Result;
use foobar_tools::cli;
use foobar_tools::interrupt::{with_cleanup, Interrupt};
use foobar_tools::probe::{self, Config, StopReason};

fn main() -> ExitCode {
    cli::main(
        "foobar-probe",
        "Open-loop HTTP prober of www.foobar.com (see `--help`)",
        |config, interrupt| cli::block_on(run(config, interrupt)),
    )
}

async fn run(config: Config, interrupt: &Interrupt) -> Result<ExitCode> {
    let until_new_version = config.until_new_version;
    // A signal ends the run like --duration does: what was measured is still reported.
    let mut report = probe::probe(config, interrupt.wait()).await?;

    let writes = &report.summary.writes;
    if report.config.writes {
        let removing = if report.config.keep_writes {
            String::new()
        } else {
            format!(
                ", then removing the run's {} writes and its account",
                writes.sent
            )
        };
        interrupt.announce(format_args!(
            "reading back {} acknowledged writes{removing}",
            writes.acknowledged
        ));
    }
    // Moments that cannot be read are not drawn; the cleanup below must still run.
    if let Err(err) = report.load_marks() {
        eprintln!("the marks are not drawn: {err:#}");
    }
    let audited = report.audit_writes().await;
    let removed = if report.config.keep_writes {
        Ok(())
    } else {
        report.remove_writes().await
    };
    print!("{report}");
    cli::print_paths(&report.write()?);
    with_cleanup(audited, removed)?;

    let lost = report.summary.writes.lost.filter(|&lost| lost > 0);
    if let Some(lost) = lost {
        eprintln!("{lost} acknowledged writes did not read back");
    }
    let unauthorized = report.summary.unauthorized;
    if unauthorized > 0 {
        eprintln!(
            "{unauthorized} requests were answered 401: the user {} was signed out",
            report.user.as_deref().unwrap_or("-")
        );
    }
    // Cleaned up and reported, but cut short: say so, as foobar-spof and foobar-load do.
    if let Some(interrupted) = interrupt.received() {
        return Ok(ExitCode::from(interrupted.exit_code()));
    }
    if lost.is_some() {
        return Ok(ExitCode::from(4));
    }
    if unauthorized > 0 {
        return Ok(ExitCode::from(5));
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
