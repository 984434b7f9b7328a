//! An open-loop HTTP prober: measures the downtime users see during a deploy.
//!
//! Requests go out on a fixed schedule whatever the answers (so a stalled server cannot slow
//! the probe down and hide its own outage), each with a deadline. Every request becomes a
//! [`Record`]; [`summarize`] turns records into a [`Report`]; [`timeline`] and [`svg`] draw
//! them. A run is saved as `NAME.json` (a [`ProbeReport`]) and `NAME.svg`.
//!
//! With writes, the probe first signs up an account of its own ([`sign_up`], `probe-` and 8 hex
//! digits) and writes as that user; an answer 401 (signed out) is counted apart
//! ([`Report::unauthorized`]). A run leaves no trace in the guestbook:
//! [`ProbeReport::audit_writes`] reads the acknowledged posts back, then
//! [`ProbeReport::remove_writes`] deletes all the run's posts and its account.

mod config;
pub mod record;
pub mod report;
pub mod run;
pub mod svg;
pub mod timeline;

use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::time::Duration;
use std::{fmt, fs, io};

use anyhow::{bail, Context as _, Result};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

pub use config::Config;
pub use record::{ErrorKind, Kind, Record};
pub use report::{summarize, Report, Writes};
pub use run::{idempotency_key, idempotency_key_prefix, run, write_body, write_title, StopReason};

use crate::site::{Account, Session};
use crate::{markdown, stack, Site};

/// How long the audit waits for the site to be ready before reading the writes back.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The probe's accounts are named `probe-` and 8 random hex digits.
pub const USER_PREFIX: &str = "probe";

/// How long the probe keeps trying to sign up while the site is away or not ready.
const SIGN_UP_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest a sign-up request may take (a password hash, on a busy app).
const SIGN_UP_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A run as saved in `NAME.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeReport {
    pub name: String,
    /// In the idempotency keys of the writes: `probe-RUN_ID-SEQ`.
    pub run_id: String,
    /// Wall-clock start, RFC 3339.
    pub started_at: String,
    pub stopped_by: StopReason,
    /// The account the writes were made as (`--writes`): what [`Self::remove_writes`] removes.
    #[serde(default)]
    pub user: Option<String>,
    /// Its session, to send more requests as that user (not saved).
    #[serde(skip)]
    pub session: Option<Session>,
    pub config: Config,
    pub summary: Report,
    /// In send order.
    pub records: Vec<Record>,
    /// Moments from outside the probe (`--marks`), in time order.
    #[serde(default)]
    pub marks: Vec<Mark>,
}

/// A moment drawn on the plot: what happened, and when, in ms since the run's start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    pub at_ms: f64,
    pub label: String,
}

/// A moment as a drill writes it (`--marks`): a wall-clock time.
#[derive(Debug, Deserialize)]
struct TimedMark {
    at: String,
    label: String,
}

/// The moments in `json` (an array of `{"at": RFC 3339, "label"}`), in ms since `started`,
/// sorted; moments before the start are dropped.
pub fn parse_marks(json: &str, started: chrono::DateTime<chrono::Utc>) -> Result<Vec<Mark>> {
    let timed: Vec<TimedMark> = serde_json::from_str(json)?;
    let mut marks = Vec::new();
    for TimedMark { at, label } in timed {
        let at = chrono::DateTime::parse_from_rfc3339(&at)
            .with_context(|| format!("{label:?} at {at:?}: not an RFC 3339 time"))?;
        let at_ms = (at.to_utc() - started).num_milliseconds() as f64;
        if at_ms >= 0.0 {
            marks.push(Mark { at_ms, label });
        }
    }
    marks.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
    Ok(marks)
}

/// Runs the probe as `config` says (see [`run`]) and summarises it. With writes, it first
/// signs up an account of its own ([`sign_up`]), before the run's clock starts, and writes as
/// that user. If `stop` completes during the sign-up, the report has no records (and names
/// the account, which [`ProbeReport::remove_writes`] removes should it exist).
pub async fn probe(config: Config, stop: impl Future<Output = ()>) -> Result<ProbeReport> {
    let mut stop = pin!(stop);
    if !config.writes {
        return probe_as(config, None, stop).await;
    }
    let account = Account::random(USER_PREFIX)?;
    match sign_up(&config.url, &account, &mut stop).await? {
        Some(session) => probe_as(config, Some(session), stop).await,
        None => {
            let outcome = run::Outcome {
                records: Vec::new(),
                stopped_by: StopReason::Signal,
            };
            Ok(report(
                config,
                new_run_id(),
                outcome,
                Some(account.username),
            ))
        }
    }
}

/// Runs the probe as `config` says, its writes as `session`'s user (writes need one).
pub async fn probe_as(
    config: Config,
    session: Option<Session>,
    stop: impl Future<Output = ()>,
) -> Result<ProbeReport> {
    if config.writes && session.is_none() {
        bail!("the probe writes as a signed-in user: sign up first");
    }
    let (run_id, started) = new_run_id();
    let outcome = run(&config, &run_id, session.as_ref(), stop).await?;
    let user = session.as_ref().map(|s| s.username().to_owned());
    let mut report = report(config, (run_id, started), outcome, user);
    report.session = session;
    Ok(report)
}

/// A run's id (the start time's milliseconds, in hex) and its start time.
fn new_run_id() -> (String, chrono::DateTime<chrono::Utc>) {
    let now = chrono::Utc::now();
    (format!("{:x}", now.timestamp_millis()), now)
}

fn report(
    config: Config,
    (run_id, started): (String, chrono::DateTime<chrono::Utc>),
    outcome: run::Outcome,
    user: Option<String>,
) -> ProbeReport {
    ProbeReport {
        name: config.name.clone(),
        run_id,
        started_at: started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        stopped_by: outcome.stopped_by,
        user,
        session: None,
        summary: summarize(&outcome.records),
        records: outcome.records,
        marks: Vec::new(),
        config,
    }
}

/// Creates `account` on the site at `url` and signs in to it, trying again for up to a minute
/// while the site is away or not ready (it may be restarting: see
/// [`Site::sign_up_until`]). `None` if `stop` completes first (the account may then
/// exist: remove it).
pub async fn sign_up(
    url: &str,
    account: &Account,
    stop: impl Future<Output = ()>,
) -> Result<Option<Session>> {
    let site = Site::with_timeout(url, SIGN_UP_REQUEST_TIMEOUT)?;
    tokio::select! {
        session = site.sign_up_until(account, SIGN_UP_TIMEOUT) => session.map(Some),
        () = stop => Ok(None),
    }
}

/// Reads each post of `ids` back through `site` once it is ready; returns how many are gone
/// (404). Any other answer means the audit cannot tell: an error.
pub async fn count_lost(site: &Site, ids: &[i64]) -> Result<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    if !site.wait_for_ok("/api/ready", READY_TIMEOUT).await {
        bail!(
            "reading the writes back: {}/api/ready did not answer 200 within {} s",
            site.base(),
            READY_TIMEOUT.as_secs()
        );
    }
    let mut lost = 0;
    for id in ids {
        let path = format!("/api/posts/{id}");
        // A site still settling after a drill may answer 503 for a moment: ask again, for up
        // to READY_TIMEOUT, before giving up on telling.
        let asked = tokio::time::Instant::now();
        loop {
            match site.get_json(&path).await.map(|answer| answer.0) {
                Ok(StatusCode::OK) => break,
                Ok(StatusCode::NOT_FOUND) => {
                    lost += 1;
                    break;
                }
                other if asked.elapsed() >= READY_TIMEOUT => bail!(
                    "reading back post {id}: GET {}{path} answered {other:?}",
                    site.base()
                ),
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }
    Ok(lost)
}

impl ProbeReport {
    /// `--out`, else [`crate::reports_dir`].
    pub fn out_dir(&self) -> Result<PathBuf> {
        self.config.out.clone().map_or_else(crate::reports_dir, Ok)
    }

    /// Reads `--marks` (if given and written): sets `marks`.
    pub fn load_marks(&mut self) -> Result<()> {
        let Some(path) = &self.config.marks else {
            return Ok(());
        };
        let json = match fs::read_to_string(path) {
            Ok(json) => json,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
        };
        let started = chrono::DateTime::parse_from_rfc3339(&self.started_at)?.to_utc();
        self.marks = parse_marks(&json, started).with_context(|| {
            format!("{}: a JSON array of {{\"at\", \"label\"}}", path.display())
        })?;
        Ok(())
    }

    /// Reads the acknowledged writes back through the site: sets `summary.writes.lost`.
    pub async fn audit_writes(&mut self) -> Result<()> {
        let site = Site::new(&self.config.url)?;
        let writes = &mut self.summary.writes;
        writes.lost = Some(count_lost(&site, &writes.acknowledged_ids).await?);
        Ok(())
    }

    /// Deletes every post the run wrote, acknowledged or not, then its account (with its
    /// sessions), from the database: sets `summary.writes.removed`. Audit first: the posts
    /// cannot be read back afterwards, nor written again as that user.
    pub async fn remove_writes(&mut self) -> Result<()> {
        if !self.config.writes {
            return Ok(());
        }
        let removed = match self.user.clone() {
            Some(user) => crate::blocking(move || stack::delete_probe_writes(&user)).await?,
            None => 0,
        };
        let writes = &mut self.summary.writes;
        writes.removed = Some(removed);
        writes.extra_posts = Some(removed.saturating_sub(writes.acknowledged as u64));
        self.session = None;
        Ok(())
    }

    /// Writes `NAME.json`, `NAME.md` and `NAME.svg` into [`Self::out_dir`]; returns their paths.
    pub fn write(&self) -> Result<Vec<PathBuf>> {
        let svg = svg::render(&self.name, &self.records, &self.summary, &self.marks);
        crate::write_report(&self.out_dir()?, &self.name, self, &svg)
    }
}

impl markdown::Page for ProbeReport {
    fn title(&self) -> String {
        format!("Probe: {}", self.name)
    }

    fn started_at(&self) -> Option<&str> {
        Some(&self.started_at)
    }

    /// What users saw, as docs/deploy.md and docs/cluster.md give it (one column per run there).
    fn markdown(&self) -> String {
        let s = &self.summary;
        let w = &s.writes;
        let mut failures: Vec<String> = (s.failures_by_status.iter())
            .filter(|(_, &n)| n > 0)
            .map(|(status, n)| format!("{status} ×{n}"))
            .chain(
                (s.failures_by_error.iter())
                    .filter(|(_, &n)| n > 0)
                    .map(|(error, n)| format!("{} ×{n}", error.as_str())),
            )
            .collect();
        if s.maintenance > 0 {
            failures.push(format!("{} of them the maintenance page", s.maintenance));
        }
        let mut failed = format!("**{}**", s.failed);
        if !failures.is_empty() {
            failed += &format!(" ({})", failures.join(", "));
        }
        let errors = |kind| s.failures_by_error.get(&kind).copied().unwrap_or(0);
        let secs = |ms: f64| format!("{:.2} s", ms / 1000.0);
        let rows = [
            ("requests sent", markdown::count(s.sent as f64)),
            ("failed", failed),
            ("downtime (first → last failure)", secs(s.downtime_ms)),
            (
                "refused / reset / timed out",
                format!(
                    "{} / {} / {}",
                    errors(ErrorKind::Refused),
                    errors(ErrorKind::Reset),
                    errors(ErrorKind::Timeout)
                ),
            ),
            (
                "writes: sent / acknowledged / failed / lost",
                format!(
                    "{} / {} / {} / {}",
                    w.sent,
                    w.acknowledged,
                    w.failed + w.unknown,
                    w.lost.map_or("not audited".into(), |n| n.to_string())
                ),
            ),
            (
                "latency p50 / p99 of ok requests, max of all",
                format!(
                    "{} / {} / {}",
                    markdown::latency(s.p50_ms),
                    markdown::latency(s.p99_ms),
                    markdown::latency(Some(s.max_latency_ms))
                ),
            ),
            (
                "requests in flight at the switch",
                s.in_flight_at_switch.to_string(),
            ),
            (
                "old and new versions both answered",
                s.versions_overlap_ms.map_or("-".into(), secs),
            ),
            ("answered 401 (signed out)", s.unauthorized.to_string()),
        ];
        let rows = rows.map(|(what, value)| vec![what.to_owned(), value]);
        markdown::table(&["", &self.name], rows)
    }
}

impl fmt::Display for ProbeReport {
    /// The summary and the text timeline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<21}{}", "run:", self.name)?;
        writeln!(f, "{:<21}{}", "url:", self.config.url)?;
        if let Some(user) = &self.user {
            writeln!(f, "{:<21}{user}", "user:")?;
        }
        writeln!(f, "{:<21}{:?}", "stopped by:", self.stopped_by)?;
        writeln!(f, "{}", self.summary)?;
        for mark in &self.marks {
            writeln!(
                f,
                "{:<21}{}",
                format!("at {:.1} s:", mark.at_ms / 1000.0),
                mark.label
            )?;
        }
        write!(f, "{}", timeline::render(&self.records))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_count_from_the_start_in_time_order_and_earlier_ones_are_dropped() {
        let started = "2026-12-02T14:00:00.000Z".parse().unwrap();
        let json = r#"[
            {"at": "2026-12-02T14:00:12.500Z", "label": "db3 promoted"},
            {"at": "2026-12-02T14:00:05Z", "label": "h1 killed"},
            {"at": "2026-12-02T13:59:59Z", "label": "before the run"}
        ]"#;

        let marks = parse_marks(json, started).unwrap();

        let at: Vec<(f64, &str)> = marks.iter().map(|m| (m.at_ms, m.label.as_str())).collect();
        assert_eq!(at, [(5000.0, "h1 killed"), (12500.0, "db3 promoted")]);
    }

    #[test]
    fn markdown_gives_what_users_saw_as_docs_deploy_does() {
        use record::sample::{error, maintenance, ok};
        let config: Config = crate::cli::try_parse(&["--name", "deploy-single"]).unwrap();
        let records = vec![
            ok(0, Kind::Page, 0.0, "v1"),
            maintenance(1, Kind::List, 20.0),
            error(2, Kind::Write, 40.0, ErrorKind::Refused),
            maintenance(3, Kind::List, 700.0),
            ok(4, Kind::List, 720.0, "v2"),
        ];
        let outcome = run::Outcome {
            records,
            stopped_by: StopReason::NewVersion,
        };
        let report = report(config, new_run_id(), outcome, None);

        let text = markdown::Page::markdown(&report);

        for expected in [
            "|  | deploy-single |",
            "| requests sent | 5 |",
            "| failed | **3** (503 ×2, refused ×1, 2 of them the maintenance page) |",
            "| downtime (first → last failure) | 0.68 s |",
            "| refused / reset / timed out | 1 / 0 / 0 |",
            "| writes: sent / acknowledged / failed / lost | 1 / 0 / 1 / not audited |",
        ] {
            assert!(
                text.lines().any(|line| line == expected),
                "{expected:?} in\n{text}"
            );
        }
    }

    #[test]
    fn marks_without_a_time_are_an_error() {
        let started = "2026-12-02T14:00:00Z".parse().unwrap();
        assert!(parse_marks(r#"[{"label": "when?"}]"#, started).is_err());
        assert!(parse_marks(r#"[{"at": "yesterday", "label": "x"}]"#, started).is_err());
    }
}
