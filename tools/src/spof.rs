//! Fault drills: take one component of the stack away under the probe, bring it back, and
//! measure what users saw, how fast the site recovered, and whether any acknowledged write
//! was lost or duplicated.

use std::collections::BTreeMap;
use std::fmt;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::probe::{idempotency_key, write_body, write_title, ProbeReport, Record};
use crate::{compose_ok, SITE_HOST};

/// How a component is taken away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// `docker kill` (SIGKILL), then `docker start`: a crash and a restart.
    Kill,
    /// `docker pause`, then `docker unpause`: frozen, its connections open but silent.
    Pause,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Kill => "kill",
            Fault::Pause => "pause",
        }
    }

    /// Applies the fault to `service`'s container (`undo` = bring it back).
    pub fn apply(self, service: &str, undo: bool) {
        let id = compose_ok(&["ps", "-aq", service]);
        let verb = match (self, undo) {
            (Fault::Kill, false) => "kill",
            (Fault::Kill, true) => "start",
            (Fault::Pause, false) => "pause",
            (Fault::Pause, true) => "unpause",
        };
        let status = Command::new("docker")
            .args([verb, &id])
            .output()
            .expect("docker runs");
        assert!(
            status.status.success(),
            "docker {verb} {service}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    }
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
/// read back, unacknowledged ones are sent again with their key, and the run's posts are
/// counted (each write's title is unique) to find duplicates.
pub fn audit_writes(site_url: &str, report: &ProbeReport, newest_id_before: i64) -> WriteAudit {
    let http = SiteHttp::new(site_url);
    let writes = &report.summary.writes;
    let mut audit = WriteAudit {
        sent: writes.sent,
        acknowledged: writes.acknowledged,
        failed: writes.failed,
        unknown: writes.unknown,
        ..WriteAudit::default()
    };
    audit.lost = writes
        .acknowledged_ids
        .iter()
        .filter(|id| http.get(&format!("/api/posts/{id}")).0 != 200)
        .count();
    for record in report
        .records
        .iter()
        .filter(|r| r.kind == crate::probe::Kind::Write && !r.is_ok())
    {
        audit.retried += 1;
        let (status, replayed) = http.create(&report.run_id, record.seq);
        assert_eq!(
            status, 201,
            "retry of write #{} answered {status}",
            record.seq
        );
        audit.replayed += usize::from(replayed);
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for post in http.posts_newer_than(newest_id_before) {
        *seen
            .entry(post["title"].as_str().unwrap_or_default().to_owned())
            .or_insert(0) += 1;
    }
    let run_titles = report
        .records
        .iter()
        .filter(|r| r.kind == crate::probe::Kind::Write)
        .map(|r| write_title(&report.run_id, r.seq));
    audit.duplicates = run_titles
        .map(|title| seen.get(&title).copied().unwrap_or(0).saturating_sub(1))
        .sum();
    audit
}

/// The newest post's id (0 when there is none): posts of a later run are all newer.
pub fn newest_post_id(site_url: &str) -> i64 {
    let (status, page) = SiteHttp::new(site_url).get("/api/posts?limit=1");
    assert_eq!(status, 200, "the site answers before a drill");
    page["posts"][0]["id"].as_i64().unwrap_or(0)
}

/// Polls the site until `/api/ready` answers 200 through nginx, or `timeout`.
pub fn wait_ready(site_url: &str, timeout: Duration) -> bool {
    let http = SiteHttp::new(site_url);
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if http.get("/api/ready").0 == 200 {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

struct SiteHttp {
    base: String,
    client: Client,
}

impl SiteHttp {
    fn new(base: &str) -> Self {
        let client = Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("HTTP client");
        SiteHttp {
            base: base.trim_end_matches('/').to_owned(),
            client,
        }
    }

    /// Status and JSON body (Null when not JSON); status 0 when there was no answer.
    fn get(&self, path: &str) -> (u16, Value) {
        match self
            .client
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::HOST, SITE_HOST)
            .send()
        {
            Ok(response) => (
                response.status().as_u16(),
                response.json().unwrap_or(Value::Null),
            ),
            Err(_) => (0, Value::Null),
        }
    }

    /// Sends write `seq` of `run_id` again; returns the status and whether it was a replay.
    fn create(&self, run_id: &str, seq: u64) -> (u16, bool) {
        let response = self
            .client
            .post(format!("{}/api/posts", self.base))
            .header(reqwest::header::HOST, SITE_HOST)
            .header("Idempotency-Key", idempotency_key(run_id, seq))
            .json(&write_body(run_id, seq))
            .send()
            .expect("the site answers after a drill");
        let replayed = response.headers().contains_key("idempotent-replayed");
        (response.status().as_u16(), replayed)
    }

    /// Every post with an id above `after`, newest first.
    fn posts_newer_than(&self, after: i64) -> Vec<Value> {
        let mut posts = Vec::new();
        let mut path = "/api/posts?limit=100".to_owned();
        loop {
            let (status, page) = self.get(&path);
            assert_eq!(status, 200, "listing posts");
            for post in page["posts"].as_array().into_iter().flatten() {
                if post["id"].as_i64().unwrap_or(0) <= after {
                    return posts;
                }
                posts.push(post.clone());
            }
            match page["next_before"].as_i64() {
                Some(before) => path = format!("/api/posts?limit=100&before={before}"),
                None => return posts,
            }
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

impl fmt::Display for SpofReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "| component | fault | away | users saw | outage | back → ok | slowest answer while away | writes ack / failed / unknown | retried (replayed) | lost | duplicates |"
        )?;
        writeln!(f, "|---|---|---|---|---|---|---|---|---|---|---|")?;
        for d in &self.drills {
            let saw: Vec<String> = d
                .outage
                .users_saw
                .iter()
                .map(|(k, v)| format!("{k} ×{v}"))
                .collect();
            writeln!(
                f,
                "| {} | {} | {:.1} s | {} | {:.2} s | {} | {:.2} s | {} / {} / {} | {} ({}) | {} | {} |",
                d.service,
                d.fault.as_str(),
                (d.back_at_ms - d.fault_at_ms) / 1000.0,
                if saw.is_empty() { "nothing".to_owned() } else { saw.join(", ") },
                d.outage.outage_ms / 1000.0,
                d.outage.recovery_after_back_ms.map_or("never".to_owned(), |ms| format!("{:.2} s", ms / 1000.0)),
                d.outage.slowest_while_down_ms / 1000.0,
                d.writes.acknowledged,
                d.writes.failed,
                d.writes.unknown,
                d.writes.retried,
                d.writes.replayed,
                d.writes.lost,
                d.writes.duplicates,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{ErrorKind, Kind};

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
