//! Ctrl-C and SIGTERM as a flag the tools poll, so that an interrupted run still undoes what it
//! did (restarts what it stopped, deletes what it wrote) before it exits.

use std::io::{self, Read};
use std::process::{Command, ExitCode, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;

/// How often waits look at the flag: well under what a user notices.
const POLL: Duration = Duration::from_millis(50);

/// The run was stopped by a signal (its number); the tools exit with 128 + it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted by {}", if *.0 == SIGINT { "SIGINT (Ctrl-C)" } else { "SIGTERM" })]
pub struct Interrupted(pub i32);

impl Interrupted {
    pub fn exit_code(self) -> u8 {
        128 + self.0 as u8
    }
}

/// Which termination signal has arrived, if any. Cheap to clone: clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    signal: Arc<AtomicUsize>,
}

impl Interrupt {
    /// From now on SIGINT and SIGTERM only set the flag; a second one ends the process at once
    /// (exit 130 or 143), for when the cleanup itself hangs.
    pub fn install() -> io::Result<Interrupt> {
        let interrupt = Interrupt::default();
        let caught = Arc::new(AtomicBool::new(false));
        for signal in [SIGINT, SIGTERM] {
            // The shutdown must be registered first: it sees the flag as the previous signal left it.
            flag::register_conditional_shutdown(signal, 128 + signal, caught.clone())?;
            flag::register(signal, caught.clone())?;
            flag::register_usize(signal, interrupt.signal.clone(), signal as usize)?;
        }
        Ok(interrupt)
    }

    pub fn received(&self) -> Option<Interrupted> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            signal => Some(Interrupted(signal as i32)),
        }
    }

    pub fn check(&self) -> Result<(), Interrupted> {
        self.received().map_or(Ok(()), Err)
    }

    /// Completes once a signal has arrived.
    pub async fn wait(&self) {
        while self.received().is_none() {
            tokio::time::sleep(POLL).await;
        }
    }

    /// Sleeps for `duration`, or less if a signal arrives.
    pub async fn sleep(&self, duration: Duration) -> Result<(), Interrupted> {
        tokio::select! {
            () = tokio::time::sleep(duration) => {}
            () = self.wait() => {}
        }
        self.check()
    }

    /// [`Self::sleep`] for threads outside the async runtime.
    pub fn sleep_blocking(&self, duration: Duration) -> Result<(), Interrupted> {
        let deadline = Instant::now() + duration;
        loop {
            self.check()?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            thread::sleep(left.min(POLL));
        }
    }

    /// Runs `command` to completion like [`Command::output`], but kills it if a signal arrives:
    /// a child that SIGTERM did not reach (it went to this process only) must not outlive it.
    pub fn output(&self, command: &mut Command) -> anyhow::Result<Output> {
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {program}"))?;
        // Drained as the child writes, so that a full pipe cannot stall it.
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let status = loop {
            if let Some(interrupted) = self.received() {
                // Already exited if this fails: nothing left to stop.
                let _ = child.kill();
                let _ = child.wait();
                return Err(interrupted.into());
            }
            if let Some(status) = child
                .try_wait()
                .with_context(|| format!("waiting for {program}"))?
            {
                break status;
            }
            thread::sleep(POLL);
        };
        // A Ctrl-C reaches the child too, which may then exit normally with a partial result.
        self.check()?;
        Ok(Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        })
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            // What was read before an error is all there is to report.
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// The exit status for a run that failed with `error`: 128 + the signal if interrupted, else 1.
pub fn exit_code(error: &anyhow::Error) -> ExitCode {
    match error.downcast_ref::<Interrupted>() {
        Some(interrupted) => ExitCode::from(interrupted.exit_code()),
        None => ExitCode::FAILURE,
    }
}

/// `result`, unless `cleanup` failed: then the cleanup's error, or both when both failed (the
/// first one's kind kept, so that an interruption still exits as one).
pub fn with_cleanup<T>(
    result: anyhow::Result<T>,
    cleanup: anyhow::Result<()>,
) -> anyhow::Result<T> {
    match (result, cleanup) {
        (result, Ok(())) => result,
        (Ok(_), Err(cleanup)) => Err(cleanup),
        (Err(error), Err(cleanup)) => {
            Err(error.context(format!("then cleaning up failed too: {cleanup:#}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_stops_waits_and_children_and_sets_the_exit_status() {
        let interrupt = Interrupt::default();
        assert!(interrupt.sleep_blocking(Duration::from_millis(1)).is_ok());
        interrupt.signal.store(SIGTERM as usize, Ordering::SeqCst);
        assert_eq!(
            interrupt.sleep_blocking(Duration::from_secs(60)),
            Err(Interrupted(SIGTERM))
        );
        let error = interrupt
            .output(Command::new("sleep").arg("60"))
            .unwrap_err();
        assert_eq!(exit_code(&error), ExitCode::from(143));
        assert_eq!(Interrupted(SIGINT).exit_code(), 130);
    }

    #[test]
    fn output_collects_what_the_child_wrote() {
        let output = Interrupt::default()
            .output(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]))
            .unwrap();
        assert_eq!(output.stdout, b"out\n");
        assert_eq!(output.stderr, b"err\n");
        assert_eq!(output.status.code(), Some(3));
    }

    #[test]
    fn cleanup_errors_are_not_lost_and_interruptions_stay_interruptions() {
        let cleanup_failed = || Err(anyhow::anyhow!("delete failed"));
        assert_eq!(with_cleanup(Ok(1), Ok(())).unwrap(), 1);
        assert!(with_cleanup(Ok(1), cleanup_failed()).is_err());
        let both =
            with_cleanup::<()>(Err(Interrupted(SIGINT).into()), cleanup_failed()).unwrap_err();
        assert_eq!(exit_code(&both), ExitCode::from(130));
        assert!(format!("{both:#}").contains("delete failed"));
    }
}
