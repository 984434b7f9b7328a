//! Driving `openssl s_time -new` (OpenSSL's handshake timer): full TLS handshakes, none resumed,
//! which wrk and oha cannot make (both resume their session on each new connection). Each
//! process opens one connection at a time, handshakes, sends `GET /` and reads the answer until
//! the server closes; `processes` of them run at once, like wrk's connections.
//!
//! s_time sends no SNI, so nginx's default server answers (the same certificate, then its 421
//! for an unknown name): the figure is a handshake and a short answer per connection.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use crate::interrupt::Interrupt;
use crate::stack::checked;

/// `processes` s_time processes against `addr` (`host:port`) for `duration`.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    pub addr: String,
    pub processes: u32,
    pub duration: Duration,
}

/// One run: connections (each a full handshake) a second, and how many there were.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Run {
    pub per_sec: f64,
    pub connections: u64,
}

/// The command that starts every process and waits for them all. s_time prints its elapsed
/// time in whole seconds; the rate divides by the batch's wall clock instead.
pub fn command(load: &Load) -> Command {
    let mut command = Command::new("sh");
    command.args([
        "-c",
        r#"for _ in $(seq "$1"); do openssl s_time -connect "$2" -new -time "$3" -www / & done; wait"#,
        "s_time",
        &load.processes.to_string(),
        &load.addr,
        &load.duration.as_secs().max(1).to_string(),
    ]);
    command
}

/// Runs `load`; stops the processes at a signal. Fails unless every process reported.
pub fn run(load: &Load, interrupt: &Interrupt) -> Result<Run> {
    let start = Instant::now();
    let output = interrupt
        .output(&mut command(load))
        .context("running openssl s_time")?;
    let elapsed = start.elapsed().as_secs_f64();
    let stdout = checked(&output, || format!("openssl s_time -new {}", load.addr))?;
    let counts = parse(&stdout);
    if counts.len() != load.processes as usize {
        bail!(
            "openssl s_time -connect {}: {} of {} processes reported a count (a refused \
             connection or a failed handshake ends one):\n{stdout}",
            load.addr,
            counts.len(),
            load.processes
        );
    }
    let connections = counts.iter().sum();
    Ok(Run {
        per_sec: connections as f64 / elapsed,
        connections,
    })
}

/// Each process's count of new connections: its line "N connections in T real seconds, ...".
pub fn parse(output: &str) -> Vec<u64> {
    output
        .lines()
        .filter(|line| line.contains(" real seconds"))
        .filter_map(|line| line.split_once(" connections in ")?.0.trim().parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_process_count() {
        let output = "Collecting connection statistics for 2 seconds\n****\n\n\
            2161 connections in 1.21s; 1785.95 connections/user sec, bytes read 11187497\n\
            2161 connections in 3 real seconds, 5177 bytes read per connection\n\
            Collecting connection statistics for 2 seconds\n\n\
            1990 connections in 1.10s; 1809.09 connections/user sec, bytes read 10302230\n\
            1990 connections in 3 real seconds, 5177 bytes read per connection\n";
        assert_eq!(parse(output), vec![2161, 1990]);
    }

    #[test]
    fn a_process_that_failed_reports_no_count() {
        let output = "Collecting connection statistics for 2 seconds\nERROR\n\
            4097EC1B:error:8000006F:system library:BIO_connect:Connection refused\n";
        assert!(parse(output).is_empty());
    }

    #[test]
    fn the_command_names_the_address_and_whole_seconds() {
        let load = Load {
            addr: "127.0.0.1:8443".into(),
            processes: 8,
            duration: Duration::from_millis(500),
        };
        let command = command(&load);
        let args: Vec<_> = command.get_args().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(&args[2..], ["s_time", "8", "127.0.0.1:8443", "1"]);
    }
}
