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
//! [`ProbeReport::audit_writes`] reads every acknowledged post back (by id, or by title when
//! the acknowledgement gave none), then
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

use anyhow::{bail, ensure, Context as _, Result};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

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

/// Reads each post of `ids` back through `site` (ready); returns how many are gone (404). Any
/// other answer means the audit cannot tell: an error.
async fn lost_by_id(site: &Site, ids: &[i64]) -> Result<usize> {
    let mut lost = 0;
    for id in ids {
        let path = format!("/api/posts/{id}");
        let (status, _) =
            get_settled(site, &path, &[StatusCode::OK, StatusCode::NOT_FOUND]).await?;
        lost += usize::from(status == StatusCode::NOT_FOUND);
    }
    Ok(lost)
}

/// The writes of `seqs` of run `run_id` that are not among `user`'s posts, as `site` (ready)
/// lists them, with their title and body. Any answer but 200 means the audit cannot tell: an
/// error.
async fn lost_by_title(site: &Site, user: &str, run_id: &str, seqs: &[u64]) -> Result<Vec<u64>> {
    let mut posts = Vec::new();
    let mut path = format!("/api/users/{user}/posts?limit=100");
    loop {
        let (_, page) = get_settled(site, &path, &[StatusCode::OK]).await?;
        posts.extend(page["posts"].as_array().into_iter().flatten().cloned());
        match page["next_before"].as_i64() {
            Some(before) => path = format!("/api/users/{user}/posts?limit=100&before={before}"),
            None => break,
        }
    }
    Ok(missing_writes(&posts, run_id, seqs))
}

/// The writes of `seqs` of run `run_id` that are not among `posts` (as the API lists them) with
/// their title and body: a post of the same title with another body is not the one written.
fn missing_writes(posts: &[Value], run_id: &str, seqs: &[u64]) -> Vec<u64> {
    seqs.iter()
        .copied()
        .filter(|&seq| {
            let written = write_body(run_id, seq);
            !posts
                .iter()
                .any(|post| post["title"] == written["title"] && post["body"] == written["body"])
        })
        .collect()
}

/// `GET path` on `site` until it answers one of `expected`, for up to [`READY_TIMEOUT`] (a site
/// still settling after a drill may answer 503 for a moment); then an error naming the last
/// answer.
async fn get_settled(
    site: &Site,
    path: &str,
    expected: &[StatusCode],
) -> Result<(StatusCode, Value)> {
    let asked = tokio::time::Instant::now();
    loop {
        match site.get_json(path).await {
            Ok((status, body)) if expected.contains(&status) => return Ok((status, body)),
            other if asked.elapsed() >= READY_TIMEOUT => bail!(
                "reading the writes back: GET {}{path} answered {:?}",
                site.base(),
                other.map(|(status, _)| status)
            ),
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
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
        self.summary.writes.lost = Some(self.count_lost(&site).await?);
        Ok(())
    }

    /// Reads every acknowledged write back through `site` once it is ready; returns how many
    /// are gone: those with an id by it (`GET /api/posts/ID` answers 404), those whose answer
    /// gave none ([`Writes::acknowledged_without_id`]) by title and body among the run's user's
    /// posts (`GET /api/users/USER/posts`). Any other answer means the audit cannot tell: an
    /// error, as is an acknowledged write it has no way to read back; never a silent 0.
    pub async fn count_lost(&self, site: &Site) -> Result<usize> {
        let writes = &self.summary.writes;
        let (ids, seqs) = (&writes.acknowledged_ids, &writes.acknowledged_without_id);
        ensure!(
            ids.len() + seqs.len() == writes.acknowledged,
            "reading the writes back: {} acknowledged, but {} ids and {} without one",
            writes.acknowledged,
            ids.len(),
            seqs.len()
        );
        if writes.acknowledged == 0 {
            return Ok(0);
        }
        let user = match (seqs.is_empty(), self.user.as_deref()) {
            (true, _) => None,
            (false, Some(user)) => Some(user),
            (false, None) => bail!(
                "reading back {} acknowledged writes whose answer gave no id: the run's user is \
                 not known",
                seqs.len()
            ),
        };
        if !site.wait_for_ok("/api/ready", READY_TIMEOUT).await {
            bail!(
                "reading the writes back: {}/api/ready did not answer 200 within {} s",
                site.base(),
                READY_TIMEOUT.as_secs()
            );
        }
        let mut lost = lost_by_id(site, ids).await?;
        if let Some(user) = user {
            lost += lost_by_title(site, user, &self.run_id, seqs).await?.len();
        }
        Ok(lost)
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
    use serde_json::json;

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

    /// A site on loopback answering each request by its path (`answer` gives the status and
    /// the JSON body), one connection per request as the tools make them; the paths asked for
    /// come out of the receiver.
    fn fake_site(
        answer: impl Fn(&str) -> (u16, String) + Send + 'static,
    ) -> (Site, std::sync::mpsc::Receiver<String>) {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (asked, paths) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !String::from_utf8_lossy(&request).contains("\r\n\r\n") {
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let request = String::from_utf8_lossy(&request).into_owned();
                let path = request.split(' ').nth(1).unwrap_or_default().to_owned();
                let (status, body) = answer(&path);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                // Serves on (for the test's duration) whether or not the paths are looked at.
                let _ = asked.send(path);
            }
        });
        (Site::new(&url).unwrap(), paths)
    }

    /// A run of `records` as user `probe-0a1b2c3d` (or none), on the site at `url`.
    fn run_of(records: Vec<Record>, user: Option<&str>, url: &str) -> ProbeReport {
        let config: Config = crate::cli::try_parse(&["--name", "audit", "--url", url]).unwrap();
        let outcome = run::Outcome {
            records,
            stopped_by: StopReason::Duration,
        };
        let run_id = ("18f0a1b2c3d".to_owned(), chrono::Utc::now());
        report(config, run_id, outcome, user.map(str::to_owned))
    }

    /// The post write `seq` of run 18f0a1b2c3d made, as the API lists it.
    fn post(id: i64, seq: u64) -> Value {
        let mut post = write_body("18f0a1b2c3d", seq);
        post["id"] = id.into();
        post["author"] = "probe-0a1b2c3d".into();
        post
    }

    /// Writes 4 and 9 answered 201 with a body that was not the post (no id), 14 with post 1014.
    fn writes_without_ids() -> Vec<Record> {
        use record::sample::ok;
        let unparsed = |seq| Record {
            id: None,
            ..ok(seq, Kind::Write, seq as f64 * 20.0, "v1")
        };
        vec![unparsed(4), unparsed(9), ok(14, Kind::Write, 280.0, "v1")]
    }

    #[tokio::test]
    async fn acknowledged_writes_without_an_id_are_read_back_by_title_among_the_users_posts() {
        // Write 4 is on the user's second page, with post 1014 (14); write 9 is nowhere, and a
        // post titled as write 9 but with another body is not it.
        let (site, paths) = fake_site(|path| match path {
            "/api/ready" => (200, "{}".into()),
            "/api/posts/1014" => (200, post(1014, 14).to_string()),
            "/api/users/probe-0a1b2c3d/posts?limit=100" => {
                let mut impostor = post(1013, 9);
                impostor["body"] = "something else".into();
                let page = json!({"posts": [post(1014, 14), impostor], "next_before": 1013});
                (200, page.to_string())
            }
            "/api/users/probe-0a1b2c3d/posts?limit=100&before=1013" => {
                let page = json!({"posts": [post(1004, 4)], "next_before": null});
                (200, page.to_string())
            }
            _ => (404, "{}".into()),
        });
        let run = run_of(writes_without_ids(), Some("probe-0a1b2c3d"), site.base());
        assert_eq!(run.summary.writes.acknowledged, 3);

        let lost = run.count_lost(&site).await.unwrap();

        assert_eq!(lost, 1, "write 9: acknowledged, but not in the guestbook");
        let paths: Vec<String> = paths.try_iter().collect();
        assert!(
            paths.contains(&"/api/users/probe-0a1b2c3d/posts?limit=100&before=1013".to_owned()),
            "{paths:?}"
        );

        let (site, _) = fake_site(|path| match path {
            "/api/ready" | "/api/posts/1014" => (200, "{}".into()),
            "/api/users/probe-0a1b2c3d/posts?limit=100" => {
                let page = json!({"posts": [post(1009, 9), post(1004, 4)], "next_before": null});
                (200, page.to_string())
            }
            _ => (404, "{}".into()),
        });
        assert_eq!(run.count_lost(&site).await.unwrap(), 0, "all three found");
    }

    #[tokio::test]
    async fn acknowledged_writes_that_cannot_be_read_back_are_an_error_not_zero_lost() {
        let (site, _) = fake_site(|path| match path {
            "/api/ready" | "/api/posts/1014" => (200, "{}".into()),
            _ => (404, "{}".into()),
        });
        let mut run = run_of(writes_without_ids(), None, site.base());

        let error = run.count_lost(&site).await.unwrap_err().to_string();
        assert!(error.contains("2 acknowledged writes"), "{error}");
        assert!(run.audit_writes().await.is_err());
        assert_eq!(run.summary.writes.lost, None, "not audited");

        // Acknowledged writes that are in neither list cannot be read back either.
        let mut run = run_of(writes_without_ids(), Some("probe-0a1b2c3d"), site.base());
        run.summary.writes.acknowledged_without_id.clear();
        assert!(run.count_lost(&site).await.is_err());
    }

    #[test]
    fn a_post_is_the_write_only_with_its_title_and_body() {
        let posts = [post(1, 4), post(2, 40)];
        assert_eq!(missing_writes(&posts, "18f0a1b2c3d", &[4, 40, 9]), [9]);
        assert_eq!(
            missing_writes(&posts, "18f0a1b2c3e", &[4]),
            [4],
            "another run's"
        );
        let mut edited = post(1, 4);
        edited["body"] = "edited".into();
        assert_eq!(missing_writes(&[edited], "18f0a1b2c3d", &[4]), [4]);
        assert!(missing_writes(&[], "18f0a1b2c3d", &[]).is_empty());
    }

    #[test]
    fn marks_without_a_time_are_an_error() {
        let started = "2026-12-02T14:00:00Z".parse().unwrap();
        assert!(parse_marks(r#"[{"label": "when?"}]"#, started).is_err());
        assert!(parse_marks(r#"[{"at": "yesterday", "label": "x"}]"#, started).is_err());
    }
}
