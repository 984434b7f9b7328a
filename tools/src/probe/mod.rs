//! An open-loop HTTP prober: measures the downtime users see during a deploy.
//!
//! Requests go out on a fixed schedule whatever the answers (so a stalled server cannot slow
//! the probe down and hide its own outage), each with a deadline. Every request becomes a
//! [`Record`]; [`summarize`] turns records into a [`Report`]; [`timeline`] and [`svg`] draw
//! them. A run is saved as `NAME.json` (a [`ProbeReport`]) and `NAME.svg`.

mod config;
pub mod record;
pub mod report;
pub mod run;
pub mod svg;
pub mod timeline;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::{fmt, fs, io};

use serde::{Deserialize, Serialize};

pub use config::Config;
pub use record::{ErrorKind, Kind, Record};
pub use report::{summarize, Report, Writes};
pub use run::{idempotency_key, run, shutdown_signal, write_body, write_title, StopReason};

/// A run as saved in `NAME.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeReport {
    pub name: String,
    /// In the idempotency keys of the writes: `probe-RUN_ID-SEQ`.
    pub run_id: String,
    /// Wall-clock start, RFC 3339.
    pub started_at: String,
    pub stopped_by: StopReason,
    pub config: Config,
    pub summary: Report,
    /// In send order.
    pub records: Vec<Record>,
}

/// Runs the probe as `config` says (see [`run`]) and summarises it.
pub async fn probe(config: Config, stop: impl Future<Output = ()>) -> ProbeReport {
    let now = chrono::Utc::now();
    let run_id = format!("{:x}", now.timestamp_millis());
    let outcome = run(&config, &run_id, stop).await;
    ProbeReport {
        name: config.name.clone(),
        run_id,
        started_at: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        stopped_by: outcome.stopped_by,
        summary: summarize(&outcome.records),
        records: outcome.records,
        config,
    }
}

impl ProbeReport {
    /// `--out`, else [`crate::reports_dir`].
    pub fn out_dir(&self) -> PathBuf {
        self.config.out.clone().unwrap_or_else(crate::reports_dir)
    }

    /// Writes `NAME.json` and `NAME.svg` into [`Self::out_dir`]; returns their paths.
    pub fn write(&self) -> io::Result<[PathBuf; 2]> {
        let svg = svg::render(&self.name, &self.records, &self.summary);
        crate::write_report(&self.out_dir(), &self.name, self, &svg)
    }
}

impl fmt::Display for ProbeReport {
    /// The summary and the text timeline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<21}{}", "run:", self.name)?;
        writeln!(f, "{:<21}{}", "url:", self.config.url)?;
        writeln!(f, "{:<21}{:?}", "stopped by:", self.stopped_by)?;
        writeln!(f, "{}", self.summary)?;
        write!(f, "{}", timeline::render(&self.records))
    }
}

/// Reads a `NAME.json` back; panics with the reason if it cannot (it is meant for tests).
pub fn load_report(path: impl AsRef<Path>) -> ProbeReport {
    let path = path.as_ref();
    let text = fs::read(path).unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|err| panic!("parse {}: {err}", path.display()))
}
