//! Driving `wrk` (Debian's C load generator, closed loop over keep-alive connections): its
//! command line, run on the host or inside a container's network namespace, and its text
//! output read into a [`Run`].

use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::interrupt::Interrupt;
use crate::stack::checked;
use crate::SITE_HOST;

/// Where wrk runs: on the host, or inside the network namespace of the process `pid` (a
/// container's), through `nsenter` (root only), so that its requests reach `127.0.0.1` there
/// without crossing a bridge or a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Host,
    NetnsOf { pid: u32 },
}

/// One wrk run: `connections` keep-alive connections over `threads` threads, each sending its
/// next GET as soon as the answer arrives, for `duration`. With `close`, each request asks the
/// server to close the connection after it (`Connection: close`): a new connection per request,
/// and over HTTPS a new handshake that resumes the previous session, as a returning browser's
/// does (wrk reuses its connection's `SSL` after `SSL_clear`, which keeps the session; checked
/// with nginx's `$ssl_session_reused`: 2 840 of 2 848 TLS 1.3 handshakes resumed).
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    pub url: String,
    pub connections: u32,
    pub threads: u32,
    pub duration: Duration,
    pub close: bool,
}

/// The command that runs `load` at `place`.
pub fn command(load: &Load, place: Place) -> Command {
    let mut command = match place {
        Place::Host => Command::new("wrk"),
        Place::NetnsOf { pid } => {
            let mut nsenter = Command::new("nsenter");
            nsenter.arg(format!("--net=/proc/{pid}/ns/net")).arg("wrk");
            nsenter
        }
    };
    command.args([
        "--latency".to_owned(),
        "-t".to_owned(),
        // wrk refuses more threads than connections.
        load.threads.min(load.connections).to_string(),
        "-c".to_owned(),
        load.connections.to_string(),
        // wrk takes whole seconds, minutes or hours.
        "-d".to_owned(),
        format!("{}s", load.duration.as_secs().max(1)),
        "-H".to_owned(),
        format!("Host: {SITE_HOST}"),
    ]);
    if load.close {
        command.args(["-H", "Connection: close"]);
    }
    command.arg(&load.url);
    command
}

/// Runs `load` at `place` and reads wrk's summary; stops wrk at a signal.
pub fn run(load: &Load, place: Place, interrupt: &Interrupt) -> Result<Run> {
    let what = || format!("wrk {} ({place:?})", load.url);
    let output = interrupt
        .output(&mut command(load, place))
        .context("running wrk (install it: apt-get install wrk)")?;
    let stdout = checked(&output, what)?;
    parse(&stdout).with_context(|| format!("reading the output of {}:\n{stdout}", what()))
}

/// What one wrk run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// wrk's `Requests/sec`: every answer counts, so [`Run::errors`] must be 0 to trust it.
    pub rps: f64,
    pub requests: u64,
    /// Answers other than 2xx/3xx, plus connect, read, write errors and timeouts.
    pub errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Reads wrk's `--latency` summary.
pub fn parse(output: &str) -> Option<Run> {
    let mut rps = None;
    let mut requests = None;
    let (mut p50, mut p99) = (None, None);
    let mut errors = 0;
    for line in output.lines().map(str::trim) {
        if let Some(value) = line.strip_prefix("Requests/sec:") {
            rps = value.trim().parse().ok();
        } else if let Some(value) = line.strip_prefix("50%") {
            p50 = millis(value.trim());
        } else if let Some(value) = line.strip_prefix("99%") {
            p99 = millis(value.trim());
        } else if let Some(value) = line.strip_prefix("Non-2xx or 3xx responses:") {
            errors += value.trim().parse::<u64>().ok()?;
        } else if let Some(counts) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            for count in counts.split(',') {
                errors += count.split_whitespace().nth(1)?.parse::<u64>().ok()?;
            }
        } else if let Some((count, rest)) = line.split_once(" requests in ") {
            if rest.contains(" read") {
                requests = count.parse().ok();
            }
        }
    }
    Some(Run {
        rps: rps?,
        requests: requests?,
        errors,
        p50_ms: p50?,
        p99_ms: p99?,
    })
}

/// A wrk duration ("812.00us", "1.23ms", "2.01s") in milliseconds.
fn millis(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        _ => return None,
    };
    Some(number * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_clean_run() {
        let run = parse(include_str!("testdata/wrk.txt")).unwrap();
        assert_eq!(run.errors, 0);
        assert!(run.rps > 0.0 && run.requests > 0);
        assert!(run.p50_ms <= run.p99_ms);
    }

    #[test]
    fn counts_bad_answers_and_socket_errors() {
        let run = parse(include_str!("testdata/wrk-errors.txt")).unwrap();
        assert_eq!(run.errors, 17 + 3 + 2);
    }

    #[test]
    fn no_run_without_a_summary() {
        assert_eq!(
            parse("unable to connect to 127.0.0.1:1 Connection refused\n"),
            None
        );
    }

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(millis("812.00us"), Some(0.812));
        assert_eq!(millis("1.50ms"), Some(1.5));
        assert_eq!(millis("2.00s"), Some(2000.0));
        assert_eq!(millis("fast"), None);
    }

    #[test]
    fn runs_in_a_namespace_through_nsenter() {
        let load = Load {
            url: "http://127.0.0.1:8080/".to_owned(),
            connections: 1,
            threads: 2,
            duration: Duration::from_millis(1500),
            close: false,
        };
        let command = command(&load, Place::NetnsOf { pid: 42 });
        assert_eq!(command.get_program(), "nsenter");
        let args: Vec<_> = command.get_args().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(args[..2], ["--net=/proc/42/ns/net", "wrk"]);
        assert!(args.windows(2).any(|w| w == ["-t", "1"]));
        assert!(args.windows(2).any(|w| w == ["-d", "1s"]));
    }
}
