//! Ctrl-C and the other termination signals as a flag the tools poll, so that an interrupted
//! run still undoes what it did (restarts what it stopped, deletes what it wrote) before it
//! exits.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, IsTerminal as _, Read, Write as _};
use std::os::fd::AsRawFd as _;
use std::os::unix::process::CommandExt as _;
use std::process::{Command, ExitCode, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::Signals;

/// How often waits look at the flag: well under what a user notices.
const POLL: Duration = Duration::from_millis(50);

/// The signals that interrupt a run: Ctrl-C, `kill`, a closed terminal (ssh dropped), Ctrl-\.
const SIGNALS: [i32; 4] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT];

/// A signal within this of the first is the same interruption arriving again (a terminal's
/// Ctrl-C reaches the whole process group, and a wrapper script's trap passes it on as SIGTERM
/// a moment later); only a later one is the user giving up on the cleanup.
const SAME_INTERRUPTION: Duration = Duration::from_secs(2);

/// The run was stopped by a signal (its number); the tools exit with 128 + it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted by {}", signal_name(self.0))]
pub struct Interrupted(pub i32);

impl Interrupted {
    pub fn exit_code(self) -> u8 {
        128 + self.0 as u8
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT (Ctrl-C)",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP (the terminal went away)",
        SIGQUIT => "SIGQUIT",
        _ => "a signal",
    }
}

/// Which termination signal has arrived, if any. Cheap to clone: clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    signal: Arc<AtomicUsize>,
    /// Whether [`Self::announce`] has spoken.
    announced: Arc<AtomicBool>,
}

impl Interrupt {
    /// From now on SIGINT, SIGTERM, SIGHUP and SIGQUIT only set the flag (the first one's
    /// number), so that the tool cleans up. A signal more than [`SAME_INTERRUPTION`] after the
    /// first ends the process at once (exit 128 + it), for a cleanup the user gives up on;
    /// one sooner is the same interruption again and changes nothing. After SIGHUP, output
    /// that went to the terminal is discarded instead.
    pub fn install() -> io::Result<Interrupt> {
        let interrupt = Interrupt::default();
        let flag = interrupt.signal.clone();
        // Asked now: once the terminal has hung up, it no longer says it is one.
        let on_terminal: Vec<i32> = [
            (io::stdout().is_terminal(), io::stdout().as_raw_fd()),
            (io::stderr().is_terminal(), io::stderr().as_raw_fd()),
        ]
        .into_iter()
        .filter_map(|(terminal, fd)| terminal.then_some(fd))
        .collect();
        let mut signals = Signals::new(SIGNALS)?;
        thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut first = None;
                for signal in signals.forever() {
                    if signal == SIGHUP {
                        leave_terminal(&on_terminal);
                    }
                    let now = Instant::now();
                    match first {
                        None => {
                            first = Some(now);
                            flag.store(signal as usize, Ordering::SeqCst);
                        }
                        Some(first) if abandons(first, now) => {
                            note(format_args!(
                                "{}: abandoning the cleanup",
                                Interrupted(signal)
                            ));
                            std::process::exit(i32::from(Interrupted(signal).exit_code()));
                        }
                        Some(_) => {}
                    }
                }
            })?;
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

    /// Once interrupted, says what the cleanup does, so that the user knows why the tool does
    /// not exit yet, and how not to wait for it. Once a run: the first cleanup step to call it
    /// speaks for the rest.
    pub fn announce(&self, cleanup: impl fmt::Display) {
        if let Some(interrupted) = self.received() {
            if !self.announced.swap(true, Ordering::SeqCst) {
                note(format_args!(
                    "{interrupted}: {cleanup}; Ctrl-C again to abandon"
                ));
            }
        }
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

    /// Runs `command` to completion like [`Command::output`], but kills it if a signal arrives.
    /// The child runs in a process group of its own (see [`own_group`]): this is what stops it.
    pub fn output(&self, command: &mut Command) -> anyhow::Result<Output> {
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = own_group(command)
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
        // A signal that came as the child ended: its result may be partial.
        self.check()?;
        Ok(Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        })
    }
}

/// Puts the child `command` starts in a process group of its own, away from the terminal's:
/// a Ctrl-C then reaches the tool alone, which decides when its children stop, instead of
/// cutting a `docker start` or a `foobar-app admin delete-account` of its cleanup short.
pub fn own_group(command: &mut Command) -> &mut Command {
    command.process_group(0)
}

/// Whether a signal at `now` gives up on the cleanup that one at `first` started.
fn abandons(first: Instant, now: Instant) -> bool {
    now.saturating_duration_since(first) > SAME_INTERRUPTION
}

/// A line on stderr that must not fail the run: after SIGHUP there may be nowhere to write it.
fn note(line: fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr(), "{line}");
}

/// Points `fds` (stdout, stderr, those that were the terminal) at /dev/null. Writing to a
/// terminal that has hung up fails (EIO), and `println!` panics on that: without this, the
/// first progress line after an ssh drop would end the cleanup it announces.
fn leave_terminal(fds: &[i32]) {
    let Ok(null) = OpenOptions::new().write(true).open("/dev/null") else {
        return;
    };
    for &fd in fds {
        // SAFETY: dup2 on two open descriptors replaces `fd` atomically; no Rust object owns
        // stdout's or stderr's descriptor, and `null` stays open until both are done.
        unsafe {
            libc::dup2(null.as_raw_fd(), fd);
        }
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
        assert_eq!(Interrupted(SIGHUP).exit_code(), 129);
    }

    #[test]
    fn only_a_signal_well_after_the_first_abandons_the_cleanup() {
        let first = Instant::now();
        // Ctrl-C to the process group, then the wrapper's trap passing it on as SIGTERM.
        assert!(!abandons(first, first + Duration::from_millis(300)));
        assert!(!abandons(first, first + SAME_INTERRUPTION));
        // The user pressing Ctrl-C again, on purpose.
        assert!(abandons(first, first + Duration::from_secs(3)));
    }

    #[test]
    fn children_run_in_a_process_group_of_their_own() {
        // `sh -c` prints its pid and its process group (fields 1 and 5 of /proc/PID/stat).
        let output = Interrupt::default()
            .output(Command::new("sh").args(["-c", "cut -d' ' -f1,5 /proc/$$/stat"]))
            .unwrap();
        let text = String::from_utf8(output.stdout).unwrap();
        let ids: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(ids.len(), 2, "{text:?}");
        assert_eq!(ids[0], ids[1], "the child leads its own group");
    }

    #[test]
    fn the_cleanup_is_announced_once_and_only_after_a_signal() {
        let interrupt = Interrupt::default();
        interrupt.announce("nothing to undo");
        assert!(!interrupt.announced.load(Ordering::SeqCst));
        interrupt.signal.store(SIGINT as usize, Ordering::SeqCst);
        interrupt.announce("undoing the fault");
        assert!(interrupt.announced.load(Ordering::SeqCst));
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
