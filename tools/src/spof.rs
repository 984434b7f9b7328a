//! Fault drills: take one component of the stack away under the probe, bring it back, and
//! measure what users saw, how fast the site recovered, and whether any acknowledged write
//! was lost or duplicated, and that its signed-in user was never signed out (no 401). A drill
//! always brings its component back, also when it fails or is interrupted, and deletes the
//! posts its probe wrote, and the probe's account, once they are audited.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context as _, Result};
use clap::Args;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::alerts::{self, unix_now, Notice};
use crate::cli::{non_negative, positive};
use crate::interrupt::{own_group, with_cleanup, Interrupt};
use crate::probe::{self, idempotency_key, write_body, write_title, ProbeReport, Record};
use crate::site::{default_site_url, Account};
use crate::stack::{self, checked, compose_ok};
use crate::{blocking, markdown, Site};

/// The drills to run (foobar-spof's options).
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct Config {
    /// Base URL of the site, through nginx.
    /// By default where Compose publishes web (HTTP_BIND and HTTP_PORT, from the environment or
    /// .env).
    #[arg(long, env = "FOOBAR_URL", default_value_t = default_site_url())]
    pub url: String,
    /// Components to kill, in order.
    #[arg(long, value_delimiter = ',', default_value = "db,app,web")]
    pub services: Vec<String>,
    /// How long a killed component stays down, in seconds.
    #[arg(long, default_value_t = 5.0, value_parser = positive)]
    pub down_secs: f64,
    /// How long the database stays paused, in seconds (0: no pause drill).
    #[arg(long, default_value_t = 30.0, value_parser = non_negative)]
    pub pause_secs: f64,
    /// How long the database stays detached from the app's network, in seconds (0: no such
    /// drill): its name stops resolving while every container stays up and healthy.
    #[arg(long, default_value_t = 30.0, value_parser = non_negative)]
    pub detach_secs: f64,
    /// Probe requests per second.
    #[arg(long, default_value_t = 50.0, value_parser = positive)]
    pub rate: f64,
    /// Seconds of probing before the fault, and after the site is ready again.
    #[arg(long, default_value_t = 3.0, value_parser = non_negative)]
    pub settle_secs: f64,
    /// Directory of the reports [default: $REPORTS, else <repo>/target/reports].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

impl Config {
    /// `--out`, else [`crate::reports_dir`].
    pub fn out_dir(&self) -> Result<PathBuf> {
        self.out.clone().map_or_else(crate::reports_dir, Ok)
    }

    /// The drills in order: each service killed, then the database paused, then detached.
    pub fn drills(&self) -> Vec<(String, Fault, f64)> {
        let mut drills: Vec<(String, Fault, f64)> = self
            .services
            .iter()
            .map(|service| (service.clone(), Fault::Kill, self.down_secs))
            .collect();
        if self.pause_secs > 0.0 {
            drills.push(("db".to_owned(), Fault::Pause, self.pause_secs));
        }
        if self.detach_secs > 0.0 {
            drills.push(("db".to_owned(), Fault::Detach, self.detach_secs));
        }
        drills
    }
}

/// Longest wait for the site to answer `/api/ready` once the component is back.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest wait for the site to be ready after a failed or interrupted drill, before its writes
/// are deleted: the database was just started or unpaused. The deletion is tried after it
/// anyway (in the db container; the audit is given up).
const CLEANUP_READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs every drill in turn; stops at the first that fails or at a signal (each having
/// undone its fault and deleted its writes by then).
pub async fn run(config: &Config, interrupt: &Interrupt) -> Result<SpofReport> {
    let site = Site::with_timeout(&config.url, Duration::from_secs(5))?;
    let mut drills = Vec::new();
    for (service, fault, away_secs) in config.drills() {
        let drill = Drill {
            name: format!("spof-{service}-{}", fault.as_str()),
            config,
            site: &site,
            interrupt,
            service,
            fault,
            away_secs,
        };
        let result = drill
            .run()
            .await
            .with_context(|| format!("drill {}", drill.name))?;
        drills.push(result);
    }
    Ok(SpofReport {
        down_secs: config.down_secs,
        pause_secs: config.pause_secs,
        drills,
    })
}

/// One drill: which component, what is done to it for how long, and what the drill runs with.
struct Drill<'a> {
    /// `spof-SERVICE-FAULT`: the name of its probe's report.
    name: String,
    config: &'a Config,
    site: &'a Site,
    interrupt: &'a Interrupt,
    service: String,
    fault: Fault,
    away_secs: f64,
}

/// When the fault came and went, on the probe's clock and on the wall clock (the alerts').
struct Window {
    fault_at_ms: f64,
    back_at_ms: f64,
    fault_unix: f64,
    back_unix: f64,
}

impl Drill<'_> {
    async fn run(&self) -> Result<DrillResult> {
        let newest_before = newest_post_id(self.site).await?;
        // Signed up before the clock starts: the probe's times and the fault's share it.
        let account = Account::random(probe::USER_PREFIX)?;
        let signed_up = probe::sign_up(&self.config.url, &account, self.interrupt.wait()).await;
        let session = match signed_up {
            Ok(Some(session)) => session,
            // Interrupted: an attempt the site did not answer yet may have made the account.
            Ok(None) => {
                self.interrupt
                    .announce("deleting the drill's account, should the sign-up have made it");
                let username = account.username.clone();
                let removed =
                    blocking(move || stack::delete_probe_writes(&username).map(drop)).await;
                let stopped = (self.interrupt.received())
                    .map_or_else(|| anyhow!("the sign-up was stopped"), Into::into);
                return with_cleanup(Err(stopped), removed);
            }
            Err(err) => return Err(err),
        };
        let probe_config = probe::Config {
            url: self.config.url.clone(),
            rate: self.config.rate,
            // Longer than any answer the stack should give, so slow answers are measured, not cut.
            deadline_ms: 5000,
            writes: true,
            retry_writes: None,
            keep_writes: false,
            duration_secs: 600.0,
            until_new_version: false,
            settle_secs: 0.0,
            min_requests: 0,
            stop_file: None,
            marks: None,
            name: self.name.clone(),
            out: self.config.out.clone(),
            quiet: true,
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let clock = Instant::now();
        let probe = tokio::spawn(probe::probe_as(probe_config, Some(session), async {
            stopped.await.ok();
        }));
        let (window, back) = self.fault_window(clock).await;
        // Gone already only if the probe failed, which its result says.
        let _ = stop.send(());
        let mut report = probe.await.context("the probe task")??;

        let completed = window.is_ok();
        let audited = match window {
            Ok(window) => audit_writes(self.site, &report, newest_before)
                .await
                .map(|writes| (window, writes)),
            Err(err) => Err(err),
        };
        if let Ok((_, writes)) = &audited {
            report.summary.writes.lost = Some(writes.lost);
        }
        let removed = self.remove_writes(&mut report, completed, back).await;
        let written = report.write().map(drop);
        let (window, writes) = with_cleanup(audited, removed.and(written))?;
        let detection = if alerts::monitoring_runs() {
            let (fault, back) = (window.fault_unix, window.back_unix);
            let detection = blocking(move || detect(fault, back)).await?;
            eprintln!("[{}] monitoring: {detection}", self.name);
            Some(detection)
        } else {
            None
        };
        Ok(DrillResult {
            name: self.name.clone(),
            service: self.service.clone(),
            fault: self.fault,
            fault_at_ms: window.fault_at_ms,
            back_at_ms: window.back_at_ms,
            outage: assess(&report.records, window.fault_at_ms, window.back_at_ms),
            writes,
            detection,
        })
    }

    /// Settle, fault, away, back, ready, settle. Once (possibly) applied, the fault is undone
    /// whatever happens next: a signal, an error, the fault's own command failing part way.
    /// Also returns whether the component is back (false only if undoing the fault failed).
    async fn fault_window(&self, clock: Instant) -> (Result<Window>, bool) {
        let at = || clock.elapsed().as_secs_f64() * 1000.0;
        let settle = Duration::from_secs_f64(self.config.settle_secs);
        if let Err(interrupted) = self.interrupt.sleep(settle).await {
            return (Err(interrupted.into()), true);
        }
        let (fault_at_ms, fault_unix) = (at(), unix_now());
        let away = self.take_away(fault_at_ms).await;
        let (back_at_ms, back_unix) = (at(), unix_now());
        let (service, verb) = (&self.service, self.fault.verb(true));
        if away.is_err() {
            self.interrupt.announce(format_args!(
                "bringing {service} back (docker {verb}), then deleting the drill's writes"
            ));
        }
        let undone = self.apply(true).await.with_context(|| {
            format!("bringing {service} back: run `docker compose {verb} {service}`")
        });
        let back = undone.is_ok();
        let window = match with_cleanup(away, undone) {
            Ok(()) => self.recover(at).await.map(|()| Window {
                fault_at_ms,
                back_at_ms,
                fault_unix,
                back_unix,
            }),
            Err(err) => Err(err),
        };
        (window, back)
    }

    /// Applies the fault, and leaves it for `away_secs` unless a signal comes.
    async fn take_away(&self, fault_at_ms: f64) -> Result<()> {
        self.apply(false).await?;
        if self.fault == Fault::Detach {
            let service = self.service.clone();
            blocking(move || prove_detached(&service)).await?;
        }
        eprintln!(
            "[{}] {} {} at {:.2} s",
            self.name,
            self.fault.as_str(),
            self.service,
            fault_at_ms / 1000.0
        );
        self.interrupt
            .sleep(Duration::from_secs_f64(self.away_secs))
            .await?;
        Ok(())
    }

    /// Applies the fault to the service, or undoes it.
    async fn apply(&self, undo: bool) -> Result<()> {
        let (fault, service) = (self.fault, self.service.clone());
        blocking(move || fault.apply(&service, undo)).await
    }

    /// The component is back: waits for the site to be ready, then settles.
    async fn recover(&self, at: impl Fn() -> f64) -> Result<()> {
        let name = &self.name;
        eprintln!("[{name}] {} back at {:.2} s", self.service, at() / 1000.0);
        let ready = tokio::select! {
            ready = self.site.wait_for_ok("/api/ready", READY_TIMEOUT) => ready,
            () = self.interrupt.wait() => false,
        };
        self.interrupt.check()?;
        eprintln!(
            "[{name}] site ready again: {ready} at {:.2} s",
            at() / 1000.0
        );
        self.interrupt
            .sleep(Duration::from_secs_f64(self.config.settle_secs))
            .await?;
        Ok(())
    }

    /// Deletes the probe's writes. After a drill that did not complete (failed, interrupted),
    /// first waits up to [`CLEANUP_READY_TIMEOUT`] for the site to be ready: the database may
    /// still be starting. Not at all if the database is not back: the writes then stay.
    async fn remove_writes(
        &self,
        report: &mut ProbeReport,
        completed: bool,
        back: bool,
    ) -> Result<()> {
        if !completed {
            let name = &self.name;
            self.interrupt.announce("deleting the drill's writes");
            if !back && self.service == "db" {
                bail!(
                    "the drill's writes stay in the guestbook, the database not being back: they \
                     are the posts of user {}, whose account stays too",
                    report.user.as_deref().unwrap_or("-")
                );
            }
            eprintln!(
                "[{name}] waiting up to {} s for {}/api/ready before deleting the drill's writes \
                 (the database may still be starting)",
                CLEANUP_READY_TIMEOUT.as_secs(),
                self.site.base()
            );
            if !self
                .site
                .wait_for_ok("/api/ready", CLEANUP_READY_TIMEOUT)
                .await
            {
                eprintln!("[{name}] the site is not ready: deleting the writes all the same");
            }
        }
        report.remove_writes().await
    }
}

/// How a component is taken away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// `docker kill` (SIGKILL), then `docker start`: a crash and a restart.
    Kill,
    /// `docker pause`, then `docker unpause`: frozen, its connections open but silent.
    Pause,
    /// `docker network disconnect` from the stack's backend network, then `connect` again under
    /// its service name: the name stops resolving for the app while every container stays up
    /// and healthy, as when Docker's DNS failed.
    Detach,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Kill => "kill",
            Fault::Pause => "pause",
            Fault::Detach => "detach",
        }
    }

    /// The docker command that applies the fault, or undoes it.
    pub fn verb(self, undo: bool) -> &'static str {
        match (self, undo) {
            (Fault::Kill, false) => "kill",
            (Fault::Kill, true) => "start",
            (Fault::Pause, false) => "pause",
            (Fault::Pause, true) => "unpause",
            (Fault::Detach, false) => "network disconnect",
            (Fault::Detach, true) => "network connect",
        }
    }

    /// Applies the fault to `service`'s containers (`undo` = bring them back).
    pub fn apply(self, service: &str, undo: bool) -> Result<()> {
        let ids = compose_ok(&["ps", "-aq", service])?;
        let ids: Vec<&str> = ids.split_whitespace().collect();
        ensure!(
            !ids.is_empty(),
            "no container of service {service}: is the stack up?"
        );
        let verb = self.verb(undo);
        if self == Fault::Detach {
            let network = backend_network()?;
            for id in ids {
                let mut docker = Command::new("docker");
                docker.arg("network");
                if undo {
                    docker.args(["connect", "--alias", service, &network, id]);
                } else {
                    docker.args(["disconnect", &network, id]);
                }
                let output = own_group(&mut docker).output().context("running docker")?;
                // Undoing a disconnect that never happened finds the container attached.
                let attached =
                    undo && String::from_utf8_lossy(&output.stderr).contains("already exists");
                if !attached {
                    checked(&output, || format!("docker {verb} {network} {service}"))?;
                }
            }
            return Ok(());
        }
        let output = own_group(&mut Command::new("docker"))
            .arg(verb)
            .args(&ids)
            .output()
            .context("running docker")?;
        checked(&output, || format!("docker {verb} {service}")).map(drop)
    }
}

/// The stack's backend network (app and db), as Compose names it.
fn backend_network() -> Result<String> {
    let config: Value = serde_json::from_str(&compose_ok(&["config", "--format", "json"])?)
        .context("reading docker compose config")?;
    config["networks"]["backend"]["name"]
        .as_str()
        .map(str::to_owned)
        .context("docker compose config names no backend network")
}

/// The detach took: the app can no longer resolve `service`, whose container still runs.
fn prove_detached(service: &str) -> Result<()> {
    let resolves = compose_ok(&["exec", "-T", "app", "getent", "hosts", service]);
    ensure!(
        resolves.is_err(),
        "the app still resolves {service} after the detach: {resolves:?}"
    );
    let running = compose_ok(&["ps", "-q", "--status", "running", service])?;
    ensure!(
        !running.is_empty(),
        "{service} stopped running when detached"
    );
    Ok(())
}

/// Longest wait, from the fault, for an alert to fire: the rules' `for` (10-15 s) after 5 s
/// scrapes and evaluations, with room for a loaded host. A fault shorter than the rules' `for`
/// may pass unnoticed, by design.
const DETECT_WAIT_SECS: f64 = 60.0;
/// ... but no longer than this after the component's return: a condition still true then
/// fires within its `for` (15 s at most) plus a scrape and an evaluation (10 s).
const DETECT_AFTER_BACK_SECS: f64 = 30.0;
/// Longest wait, from the component's return, for every alert it fired to be resolved, so the
/// next drill starts with none firing.
const RESOLVE_WAIT_SECS: f64 = 120.0;

/// What the monitoring made of a drill: the first alert at the receiver after the fault, how
/// long it took, and how long after the component's return it was resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub first_alert: Option<String>,
    /// Seconds from the fault to the first alert's notification.
    pub detect_s: Option<f64>,
    /// Seconds from the component's return to that alert's resolution.
    pub resolve_s: Option<f64>,
    /// Every alert that fired, in the order they arrived.
    pub fired: Vec<String>,
}

impl fmt::Display for Detection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.first_alert, self.detect_s) {
            (Some(alert), Some(detect)) => {
                write!(f, "{alert} after {detect:.1} s")?;
                match self.resolve_s {
                    // A host's target leaves Swarm's DNS while it is down, and an alert on it
                    // may resolve before the host is back.
                    Some(resolve) if resolve < 0.0 => {
                        write!(f, ", resolved {:.1} s before the return", -resolve)?
                    }
                    Some(resolve) => write!(f, ", resolved {resolve:.1} s after the return")?,
                    None => write!(f, ", not resolved")?,
                }
                write!(f, " (fired: {})", self.fired.join(", "))
            }
            _ => write!(f, "no alert"),
        }
    }
}

/// Reads the receiver's log (alert-log) for a drill with its fault at `fault_unix` and the
/// component back at `back_unix`: waits for the first alert, then for every alert that fired
/// to be resolved.
pub fn detect(fault_unix: f64, back_unix: f64) -> Result<Detection> {
    let left = |until: f64| Duration::from_secs_f64((until - unix_now()).max(0.0));
    let until = (fault_unix + DETECT_WAIT_SECS).min(back_unix + DETECT_AFTER_BACK_SECS);
    let first = alerts::wait_for(fault_unix, left(until), |n| n.firing)?;
    let Some(first) = first else {
        return Ok(Detection {
            first_alert: None,
            detect_s: None,
            resolve_s: None,
            fired: Vec::new(),
        });
    };
    let all_resolved = |notices: &[Notice]| {
        fired(notices)
            .iter()
            .all(|name| resolved_at(notices, name).is_some())
    };
    let waited = alerts::poll(fault_unix, left(back_unix + RESOLVE_WAIT_SECS), |notices| {
        all_resolved(notices).then(|| notices.to_vec())
    })?;
    // Not all resolved in time: what had arrived by then.
    let notices = match waited {
        Some(notices) => notices,
        None => alerts::notices_since(fault_unix)?,
    };
    Ok(Detection {
        detect_s: Some(first.received - fault_unix),
        resolve_s: resolved_at(&notices, &first.alertname).map(|at| at - back_unix),
        first_alert: Some(first.alertname),
        fired: fired(&notices),
    })
}

/// The alerts that fired, each once, in the order they first arrived.
fn fired(notices: &[Notice]) -> Vec<String> {
    let mut fired: Vec<String> = Vec::new();
    for n in notices.iter().filter(|n| n.firing) {
        if !fired.contains(&n.alertname) {
            fired.push(n.alertname.clone());
        }
    }
    fired
}

/// When the alert `name` was resolved, if its last notice says so.
fn resolved_at(notices: &[Notice], name: &str) -> Option<f64> {
    notices
        .iter()
        .rev()
        .find(|n| n.alertname == name)
        .filter(|n| !n.firing)
        .map(|n| n.received)
}

/// One drill's findings. Times are on the probe's clock (ms since it started).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrillResult {
    pub name: String,
    pub service: String,
    pub fault: Fault,
    pub fault_at_ms: f64,
    pub back_at_ms: f64,
    #[serde(flatten)]
    pub outage: Outage,
    pub writes: WriteAudit,
    /// What the monitoring noticed, when it runs (`make up MONITORING=1`).
    #[serde(default)]
    pub detection: Option<Detection>,
}

/// What users went through, from the probe's records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    /// What failed requests got, by label (`503 maintenance`, `refused`, ...).
    pub users_saw: BTreeMap<String, usize>,
    /// First failure to last failure (send times).
    pub outage_ms: f64,
    /// From the component being back to the first request of the final all-ok run (0 when
    /// nothing failed after it was back); `None` if the run ended failing.
    pub recovery_after_back_ms: Option<f64>,
    /// The slowest answer to a request sent while the component was away: shows whether
    /// the site failed fast or made users wait.
    pub slowest_while_down_ms: f64,
    /// Requests sent while away that got no answer in time.
    pub timeouts_while_down: usize,
}

/// The write ledger after a drill: nothing acknowledged may be missing, nothing doubled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteAudit {
    pub sent: usize,
    /// 201 during the drill.
    pub acknowledged: usize,
    /// Another answer, or refused: the client knows it failed.
    pub failed: usize,
    /// Timed out or cut off after sending: the client cannot know.
    pub unknown: usize,
    /// Failed and unknown writes sent again afterwards with their original key.
    pub retried: usize,
    /// Retries the server answered from an earlier attempt: written although not acknowledged.
    pub replayed: usize,
    /// Acknowledged writes missing afterwards.
    pub lost: usize,
    /// Writes found more than once afterwards.
    pub duplicates: usize,
    /// Writes answered 401, during the drill or retried: the user had been signed out. Absent
    /// from reports made before accounts: 0.
    #[serde(default)]
    pub unauthorized: usize,
}

/// The outage numbers of a drill, from the probe's records alone.
pub fn assess(records: &[Record], fault_at_ms: f64, back_at_ms: f64) -> Outage {
    let mut records: Vec<&Record> = records.iter().collect();
    records.sort_by(|a, b| a.sent_ms.total_cmp(&b.sent_ms));
    let mut users_saw = BTreeMap::new();
    for label in records.iter().filter_map(|r| r.failure_label()) {
        *users_saw.entry(label).or_insert(0) += 1;
    }
    let failures: Vec<f64> = records
        .iter()
        .filter(|r| !r.is_ok())
        .map(|r| r.sent_ms)
        .collect();
    let outage_ms = match (failures.first(), failures.last()) {
        (Some(first), Some(last)) => last - first,
        _ => 0.0,
    };
    let recovered_at = failures.last().and_then(|last| {
        records
            .iter()
            .find(|r| r.sent_ms > *last)
            .map(|r| r.sent_ms)
    });
    let recovery_after_back_ms = match (failures.last(), recovered_at) {
        (Some(last), _) if *last < back_at_ms => Some(0.0),
        (Some(_), at) => at.map(|at| at - back_at_ms),
        (None, _) => Some(0.0),
    };
    let while_down: Vec<&&Record> = records
        .iter()
        .filter(|r| r.sent_ms >= fault_at_ms && r.sent_ms < back_at_ms)
        .collect();
    Outage {
        users_saw,
        outage_ms,
        recovery_after_back_ms,
        slowest_while_down_ms: while_down.iter().map(|r| r.latency_ms).fold(0.0, f64::max),
        timeouts_while_down: while_down
            .iter()
            .filter(|r| r.error == Some(crate::probe::ErrorKind::Timeout))
            .count(),
    }
}

/// Checks the writes of a finished probe run against the live site: acknowledged posts must
/// read back (by id, or by title when the acknowledgement gave none: see
/// [`ProbeReport::count_lost`]), unacknowledged ones are sent again with their key, as the
/// run's user (the keys are the user's), and the run's posts are counted (each write's title
/// is unique) to find duplicates.
pub async fn audit_writes(
    site: &Site,
    report: &ProbeReport,
    newest_id_before: i64,
) -> Result<WriteAudit> {
    let writes = &report.summary.writes;
    let mut audit = WriteAudit {
        sent: writes.sent,
        acknowledged: writes.acknowledged,
        failed: writes.failed,
        unknown: writes.unknown,
        // Before the retries below: a retry may write again what an acknowledged write lost.
        lost: report.count_lost(site).await?,
        unauthorized: report
            .records
            .iter()
            .filter(|r| r.kind == probe::Kind::Write && r.status == Some(401))
            .count(),
        ..WriteAudit::default()
    };
    let unacknowledged = unacknowledged(&report.records);
    if !unacknowledged.is_empty() {
        let session = report
            .session
            .as_ref()
            .context("retrying the writes: the probe's session is not known")?;
        let writer = site.signed_in(session);
        for record in unacknowledged {
            audit.retried += 1;
            match retry(&writer, &report.run_id, record.seq).await? {
                Retried::Written { replayed } => audit.replayed += usize::from(replayed),
                Retried::Unauthorized => audit.unauthorized += 1,
            }
        }
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for post in posts_newer_than(site, newest_id_before).await? {
        let title = post["title"].as_str().unwrap_or_default().to_owned();
        *seen.entry(title).or_insert(0) += 1;
    }
    audit.duplicates = report
        .records
        .iter()
        .filter(|r| r.kind == probe::Kind::Write)
        .map(|r| write_title(&report.run_id, r.seq))
        .map(|title| seen.get(&title).copied().unwrap_or(0).saturating_sub(1))
        .sum();
    Ok(audit)
}

/// The writes of `records` to send again: those counted failed or unknown. A 201 whose body was
/// then cut off is acknowledged, and read back instead (a retry could write again what it lost).
fn unacknowledged(records: &[Record]) -> Vec<&Record> {
    records
        .iter()
        .filter(|r| r.kind == probe::Kind::Write && !r.acknowledged())
        .collect()
}

/// What became of a write sent again.
enum Retried {
    /// 201; `replayed`: the server answered from an earlier attempt (the write had happened
    /// although unacknowledged).
    Written { replayed: bool },
    /// 401: the user had been signed out.
    Unauthorized,
}

/// Sends write `seq` of `run_id` again with its key, through `site` signed in as the run's user.
async fn retry(site: &Site, run_id: &str, seq: u64) -> Result<Retried> {
    let response = site
        .request(Method::POST, "/api/posts")
        .header("Idempotency-Key", idempotency_key(run_id, seq))
        .json(&write_body(run_id, seq))
        .send()
        .await
        .with_context(|| format!("retrying write #{seq}: POST {}/api/posts", site.base()))?;
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED {
        return Ok(Retried::Unauthorized);
    }
    ensure!(
        status == StatusCode::CREATED,
        "retrying write #{seq}: POST {}/api/posts answered {status}",
        site.base()
    );
    Ok(Retried::Written {
        replayed: response.headers().contains_key("idempotent-replayed"),
    })
}

/// The newest post's id through the site (0 when there is none): posts of a later run are all
/// newer.
async fn newest_post_id(site: &Site) -> Result<i64> {
    let page = listing(site, "/api/posts?limit=1").await?;
    Ok(page["posts"][0]["id"].as_i64().unwrap_or(0))
}

/// A page of the post listing, which must answer 200.
async fn listing(site: &Site, path: &str) -> Result<Value> {
    let (status, page) = site.get_json(path).await?;
    if status != StatusCode::OK {
        bail!("GET {}{path} answered {status}", site.base());
    }
    Ok(page)
}

/// Every post with an id above `after`, newest first.
async fn posts_newer_than(site: &Site, after: i64) -> Result<Vec<Value>> {
    let mut posts = Vec::new();
    let mut path = "/api/posts?limit=100".to_owned();
    loop {
        let page = listing(site, &path).await?;
        for post in page["posts"].as_array().into_iter().flatten() {
            if post["id"].as_i64().unwrap_or(0) <= after {
                return Ok(posts);
            }
            posts.push(post.clone());
        }
        match page["next_before"].as_i64() {
            Some(before) => path = format!("/api/posts?limit=100&before={before}"),
            None => return Ok(posts),
        }
    }
}

/// All drills of a `make spof` run, as saved in `spof.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpofReport {
    pub down_secs: f64,
    pub pause_secs: f64,
    pub drills: Vec<DrillResult>,
}

impl SpofReport {
    /// No acknowledged write lost, none doubled, the user never signed out (no 401), and the
    /// site recovered after every drill.
    pub fn healthy(&self) -> bool {
        self.drills.iter().all(|d| {
            d.writes.lost == 0
                && d.writes.duplicates == 0
                && d.writes.unauthorized == 0
                && d.outage.recovery_after_back_ms.is_some()
        })
    }
}

impl markdown::Page for SpofReport {
    fn title(&self) -> String {
        "Single points of failure: foobar-spof".into()
    }

    /// One row per drill, as docs/spof.md gives them.
    fn markdown(&self) -> String {
        let secs = |ms: f64| format!("{:.2} s", ms / 1000.0);
        let rows = self.drills.iter().map(|d| {
            let saw: Vec<String> = (d.outage.users_saw.iter())
                .map(|(what, n)| format!("{what} ×{n}"))
                .collect();
            let w = &d.writes;
            vec![
                d.service.clone(),
                d.fault.as_str().to_owned(),
                format!("{:.1} s", (d.back_at_ms - d.fault_at_ms) / 1000.0),
                if saw.is_empty() {
                    "nothing".into()
                } else {
                    saw.join(", ")
                },
                secs(d.outage.outage_ms),
                d.outage.recovery_after_back_ms.map_or("never".into(), secs),
                secs(d.outage.slowest_while_down_ms),
                format!("{} / {} / {}", w.acknowledged, w.failed, w.unknown),
                format!("{} ({})", w.retried, w.replayed),
                format!("**{}**", w.lost),
                format!("**{}**", w.duplicates),
                format!("**{}**", w.unauthorized),
                match &d.detection {
                    None => "monitoring off".to_owned(),
                    Some(Detection {
                        first_alert: Some(alert),
                        detect_s: Some(detect),
                        ..
                    }) => format!("{alert} after **{detect:.1} s**"),
                    Some(_) => "none".to_owned(),
                },
                match &d.detection {
                    Some(Detection {
                        resolve_s: Some(resolve),
                        ..
                    }) => format!("{resolve:.1} s"),
                    Some(Detection {
                        first_alert: Some(_),
                        ..
                    }) => "not resolved".to_owned(),
                    _ => "–".to_owned(),
                },
            ]
        });
        markdown::table(
            &[
                "component",
                "fault",
                "away",
                "what users saw",
                "outage",
                "back → site ok",
                "slowest answer while away",
                "writes acknowledged / failed / unknown",
                "retried (were written after all)",
                "lost",
                "duplicated",
                "signed out (401)",
                "first alert, after the fault",
                "resolved, after the return",
            ],
            rows,
        )
    }
}

impl fmt::Display for SpofReport {
    /// The markdown table (what `spof.md` holds).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(markdown::Page::markdown(self).trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::try_parse;
    use crate::probe::{ErrorKind, Kind};

    #[test]
    fn durations_and_rate_are_validated_as_usage_errors() {
        for args in [
            ["--down-secs=-1"],
            ["--down-secs=0"],
            ["--pause-secs=-1"],
            ["--rate=0"],
            ["--settle-secs=-0.5"],
            ["--rate=NaN"],
        ] {
            let error = try_parse::<Config>(&args)
                .err()
                .unwrap_or_else(|| panic!("{args:?} accepted"));
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{args:?}"
            );
            assert_eq!(error.exit_code(), 2);
        }
    }

    #[test]
    fn drills_kill_each_service_then_pause_the_database_unless_zero() {
        let plan = |args: &[&str]| {
            try_parse::<Config>(args)
                .unwrap()
                .drills()
                .into_iter()
                .map(|(service, fault, away)| format!("{service} {} {away}", fault.as_str()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            plan(&["--down-secs", "3", "--pause-secs", "8"]),
            [
                "db kill 3",
                "app kill 3",
                "web kill 3",
                "db pause 8",
                "db detach 30"
            ]
        );
        assert_eq!(
            plan(&[
                "--services",
                "app",
                "--pause-secs",
                "0",
                "--detach-secs",
                "0",
                "--settle-secs",
                "0"
            ]),
            ["app kill 5"]
        );
    }

    #[test]
    fn an_alert_counts_as_resolved_only_when_its_last_notice_says_so() {
        let notice = |name: &str, firing: bool, received: f64| Notice {
            alertname: name.to_owned(),
            firing,
            labels: BTreeMap::new(),
            received,
        };
        let notices = [
            notice("SiteDown", true, 1.0),
            notice("DatabaseDown", true, 2.0),
            notice("SiteDown", false, 3.0),
            notice("DatabaseDown", false, 4.0),
            notice("DatabaseDown", true, 5.0),
        ];

        assert_eq!(fired(&notices), ["SiteDown", "DatabaseDown"]);
        assert_eq!(resolved_at(&notices, "SiteDown"), Some(3.0));
        assert_eq!(resolved_at(&notices, "DatabaseDown"), None);
    }

    #[test]
    fn an_alert_resolved_while_its_host_was_still_away_says_before_the_return() {
        let detection = |resolve_s| Detection {
            first_alert: Some("WebHostDown".to_owned()),
            detect_s: Some(13.1),
            resolve_s: Some(resolve_s),
            fired: vec!["WebHostDown".to_owned()],
        };

        assert_eq!(
            detection(-7.24).to_string(),
            "WebHostDown after 13.1 s, resolved 7.2 s before the return (fired: WebHostDown)"
        );
        assert!(detection(8.5)
            .to_string()
            .contains("resolved 8.5 s after the return"));
    }

    #[test]
    fn faults_are_undone_by_the_matching_docker_command() {
        assert_eq!(
            (Fault::Kill.verb(false), Fault::Kill.verb(true)),
            ("kill", "start")
        );
        assert_eq!(
            (Fault::Pause.verb(false), Fault::Pause.verb(true)),
            ("pause", "unpause")
        );
        assert_eq!(
            (Fault::Detach.verb(false), Fault::Detach.verb(true)),
            ("network disconnect", "network connect")
        );
    }

    fn record(
        sent_ms: f64,
        status: Option<u16>,
        error: Option<ErrorKind>,
        latency_ms: f64,
    ) -> Record {
        Record {
            seq: sent_ms as u64,
            kind: Kind::List,
            scheduled_ms: sent_ms,
            sent_ms,
            latency_ms,
            status,
            error,
            // As through nginx with the app gone: only the app's answers carry a version.
            version: (status == Some(200)).then(|| "v1".into()),
            maintenance: status == Some(503),
            idempotency_key: None,
            id: None,
            retries: 0,
            acknowledged_ms: None,
        }
    }

    fn ok(sent_ms: f64) -> Record {
        record(sent_ms, Some(200), None, 2.0)
    }

    #[test]
    fn outage_and_recovery_are_measured_from_the_component_coming_back() {
        let records = vec![
            ok(0.0),
            record(1000.0, Some(503), None, 5.0),
            record(1500.0, None, Some(ErrorKind::Refused), 1.0),
            record(3000.0, Some(503), None, 900.0),
            ok(3500.0),
            ok(4000.0),
        ];

        let outage = assess(&records, 900.0, 2000.0);

        assert_eq!(outage.outage_ms, 2000.0);
        assert_eq!(
            outage.recovery_after_back_ms,
            Some(1500.0),
            "first ok after the last failure"
        );
        assert_eq!(
            outage.slowest_while_down_ms, 5.0,
            "only requests sent while away"
        );
        assert_eq!(outage.users_saw["503 maintenance"], 2);
        assert_eq!(outage.users_saw["refused"], 1);
        assert_eq!(outage.timeouts_while_down, 0);
    }

    #[test]
    fn no_failure_after_the_component_is_back_means_zero_recovery() {
        let records = vec![ok(0.0), record(500.0, Some(503), None, 1.0), ok(2500.0)];
        assert_eq!(
            assess(&records, 400.0, 2000.0).recovery_after_back_ms,
            Some(0.0)
        );
    }

    #[test]
    fn a_run_that_ends_failing_never_recovered() {
        let records = vec![ok(0.0), record(2500.0, Some(503), None, 1.0)];
        assert_eq!(assess(&records, 400.0, 2000.0).recovery_after_back_ms, None);
    }

    #[test]
    fn the_writes_sent_again_are_the_failed_and_unknown_ones_not_a_201_cut_off() {
        let write = |seq, status, error| Record {
            kind: Kind::Write,
            ..record(seq as f64, status, error, 2.0)
        };
        let records = vec![
            write(4, Some(201), None),
            write(9, Some(201), Some(ErrorKind::Reset)),
            write(14, Some(503), None),
            write(19, None, Some(ErrorKind::Timeout)),
            write(24, None, Some(ErrorKind::Refused)),
            ok(25.0),
        ];

        let again: Vec<u64> = unacknowledged(&records).iter().map(|r| r.seq).collect();

        assert_eq!(again, [14, 19, 24]);
        let writes = probe::summarize(&records).writes;
        assert_eq!(again.len(), writes.failed + writes.unknown);
        assert_eq!(writes.acknowledged_without_id, [4, 9], "read back by title");
    }

    #[test]
    fn timeouts_while_away_are_counted() {
        let records = vec![
            record(500.0, None, Some(ErrorKind::Timeout), 5000.0),
            record(2500.0, None, Some(ErrorKind::Timeout), 5000.0),
        ];
        let outage = assess(&records, 400.0, 2000.0);
        assert_eq!(outage.timeouts_while_down, 1);
        assert_eq!(outage.slowest_while_down_ms, 5000.0);
    }
}
