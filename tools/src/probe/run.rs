//! The sender: requests on a fixed open-loop schedule, one task each, until a stop condition.

use std::collections::BTreeMap;
use std::error::Error as _;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use reqwest::header::RETRY_AFTER;
use reqwest::{Method, RequestBuilder};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::task::JoinSet;
use tokio::time::{sleep_until, timeout_at, Instant};

use super::config::Config;
use super::record::{ErrorKind, Kind, Record};
use super::report::settled;
use crate::site::Session;
use crate::Site;

/// Why the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// `--duration` passed.
    Duration,
    /// The `stop` future completed (Ctrl-C or SIGTERM in the CLI).
    Signal,
    StopFile,
    /// `--until-new-version`: the new version answered everything for `--settle-secs`.
    NewVersion,
}

/// All the records, in send order.
pub struct Outcome {
    pub records: Vec<Record>,
    pub stopped_by: StopReason,
}

/// Sends requests as `config` says until a stop condition or until `stop` completes, then
/// waits for the requests in flight (each has its deadline). With a `session`, every request
/// carries its cookie, as a signed-in user's browser would send it. Write requests carry the
/// idempotency key `probe-RUN_ID-SEQ`. Fails only if the HTTP client cannot be built: every
/// failed request is a record.
pub async fn run(
    config: &Config,
    run_id: &str,
    session: Option<&Session>,
    stop: impl Future<Output = ()>,
) -> Result<Outcome> {
    let deadline = Duration::from_millis(config.deadline_ms);
    // A new connection per request (see `crate::site`): what the site does, not this client.
    let mut site = Site::with_timeout(&config.url, deadline)?;
    if let Some(session) = session {
        site = site.signed_in(session);
    }
    let start = Instant::now();
    let sender = Arc::new(Sender {
        site,
        run_id: run_id.to_owned(),
        deadline,
        start,
    });
    let collected = Arc::new(Mutex::new(Collected::default()));
    let mut tasks = JoinSet::new();
    let mut stop = pin!(stop);
    let mut next_progress_s = 1;
    let mut seq: u64 = 0;

    let stopped_by = loop {
        let offset = Duration::from_secs_f64(seq as f64 / config.rate);
        if offset.as_secs_f64() >= config.duration_secs {
            break StopReason::Duration;
        }
        tokio::select! {
            biased;
            () = &mut stop => break StopReason::Signal,
            () = sleep_until(start + offset) => {}
        }
        if config.stop_file.as_ref().is_some_and(|path| path.exists()) {
            break StopReason::StopFile;
        }
        {
            let collected = collected.lock().unwrap();
            // Judged on requests whose predecessors have all completed: a request still in
            // flight (up to --deadline-ms) could yet fail, so stopping can lag that much.
            if config.until_new_version
                && seq >= config.min_requests
                && settled(&collected.done, config.settle_secs * 1000.0)
            {
                break StopReason::NewVersion;
            }
            if !config.quiet && offset.as_secs() >= next_progress_s {
                next_progress_s = offset.as_secs() + 1;
                eprintln!("{}", collected.progress(&config.name, offset, seq));
            }
        }

        let kind = kind_for(seq, config.writes);
        let (sender, collected) = (sender.clone(), collected.clone());
        let retry_for = config.retry_writes.map(Duration::from_secs_f64);
        tasks.spawn(async move {
            let mut record = sender.send(seq, kind, offset).await;
            if let Some(budget) = retry_for.filter(|_| kind == Kind::Write) {
                sender.retry(&mut record, budget).await;
            }
            collected.lock().unwrap().add(record);
        });
        // Forget finished tasks as we go, so long runs do not pile them up.
        while tasks.try_join_next().is_some() {}
        seq += 1;
    };
    while tasks.join_next().await.is_some() {}

    let collected = Arc::into_inner(collected)
        .expect("all tasks finished")
        .into_inner()
        .unwrap();
    Ok(Outcome {
        records: collected.done,
        stopped_by,
    })
}

/// The post that write `seq` of run `run_id` creates (its author is the signed-in user); its
/// title names both, so a run's posts can be found and counted afterwards.
pub fn write_body(run_id: &str, seq: u64) -> Value {
    json!({
        "title": write_title(run_id, seq),
        "body": "Written by foobar-probe while measuring the site.",
    })
}

pub fn write_title(run_id: &str, seq: u64) -> String {
    format!("probe {run_id} #{seq}")
}

/// The `Idempotency-Key` of write `seq` of run `run_id`.
pub fn idempotency_key(run_id: &str, seq: u64) -> String {
    format!("{}{seq}", idempotency_key_prefix(run_id))
}

/// What the keys of all writes of run `run_id` start with, and only theirs.
pub fn idempotency_key_prefix(run_id: &str) -> String {
    format!("probe-{run_id}-")
}

/// The mix: pages and lists in turn; with writes, every fifth request is a write instead.
fn kind_for(seq: u64, writes: bool) -> Kind {
    if writes && seq % 5 == 4 {
        Kind::Write
    } else if seq % 2 == 0 {
        Kind::Page
    } else {
        Kind::List
    }
}

struct Sender {
    site: Site,
    run_id: String,
    deadline: Duration,
    start: Instant,
}

impl Sender {
    fn request(&self, seq: u64, kind: Kind) -> RequestBuilder {
        match kind {
            Kind::Page => self.site.request(Method::GET, "/"),
            Kind::List => self.site.request(Method::GET, "/api/posts?limit=20"),
            Kind::Write => self
                .site
                .request(Method::POST, "/api/posts")
                .json(&write_body(&self.run_id, seq)),
        }
    }

    /// Sends one request now; every failure ends up in the record.
    async fn send(&self, seq: u64, kind: Kind, scheduled: Duration) -> Record {
        let key = (kind == Kind::Write).then(|| idempotency_key(&self.run_id, seq));
        let mut request = self.request(seq, kind);
        if let Some(key) = &key {
            request = request.header("Idempotency-Key", key);
        }
        let sent = Instant::now();
        let deadline = sent + self.deadline;
        let mut record = Record {
            seq,
            kind,
            scheduled_ms: ms(scheduled),
            sent_ms: ms(sent - self.start),
            latency_ms: 0.0,
            status: None,
            error: None,
            version: None,
            maintenance: false,
            idempotency_key: key,
            id: None,
            retries: 0,
            acknowledged_ms: None,
        };
        // Headers and body in turn, so a body that never completes still leaves its status.
        match timeout_at(deadline, request.send()).await {
            Err(_) => record.error = Some(ErrorKind::Timeout),
            Ok(Err(error)) => record.error = Some(classify(&error)),
            Ok(Ok(response)) => {
                let status = response.status().as_u16();
                record.status = Some(status);
                record.version = response
                    .headers()
                    .get("x-app-version")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                record.maintenance = status == 503 && response.headers().contains_key(RETRY_AFTER);
                match timeout_at(deadline, response.bytes()).await {
                    Err(_) => record.error = Some(ErrorKind::Timeout),
                    Ok(Err(error)) => record.error = Some(classify(&error)),
                    Ok(Ok(body)) if status == 201 => {
                        record.id = serde_json::from_slice::<Value>(&body)
                            .ok()
                            .and_then(|post| post["id"].as_i64());
                    }
                    Ok(Ok(_)) => {}
                }
            }
        }
        record.latency_ms = ms(sent.elapsed());
        record
    }

    /// Sends the write of `record` again, same key, until it is acknowledged or `budget` has
    /// passed since its first attempt; the record keeps the first attempt's answer. The waits
    /// double from 250 ms to 2 s, as a polite client's do: a site recovering from an outage
    /// is not also flooded by every client's retries.
    async fn retry(&self, record: &mut Record, budget: Duration) {
        let first = self.start + Duration::from_secs_f64(record.sent_ms / 1000.0);
        let mut wait = RETRY_FIRST_WAIT;
        while !record.is_ok() && record.acknowledged_ms.is_none() && first.elapsed() < budget {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(RETRY_MAX_WAIT);
            let again = self.send(record.seq, record.kind, Duration::ZERO).await;
            record.retries += 1;
            if again.is_ok() {
                record.id = again.id;
                record.acknowledged_ms = Some(again.done_ms());
            }
        }
    }
}

/// How long `--retry-writes` waits before its first retry, and at most between two.
const RETRY_FIRST_WAIT: Duration = Duration::from_millis(250);
const RETRY_MAX_WAIT: Duration = Duration::from_secs(2);

/// Sorts a transport error by what it means for the user (see [`ErrorKind`]).
fn classify(error: &reqwest::Error) -> ErrorKind {
    if error.is_timeout() {
        return ErrorKind::Timeout;
    }
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            match io.kind() {
                io::ErrorKind::ConnectionRefused => return ErrorKind::Refused,
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof => return ErrorKind::Reset,
                _ => {}
            }
        }
        if let Some(hyper) = cause.downcast_ref::<hyper::Error>() {
            if hyper.is_incomplete_message() || hyper.is_closed() || hyper.is_canceled() {
                return ErrorKind::Reset;
            }
        }
        source = cause.source();
    }
    ErrorKind::Other
}

/// Milliseconds, to the microsecond.
fn ms(duration: Duration) -> f64 {
    duration.as_micros() as f64 / 1000.0
}

/// The records so far: `done` holds the complete prefix in send order (what stop conditions
/// judge), `waiting` those that finished before an earlier one.
#[derive(Default)]
struct Collected {
    done: Vec<Record>,
    waiting: BTreeMap<u64, Record>,
    ok: usize,
    failed: usize,
    last_version: Option<String>,
}

impl Collected {
    fn add(&mut self, record: Record) {
        if record.is_ok() {
            self.ok += 1;
        } else {
            self.failed += 1;
        }
        if record.version.is_some() {
            self.last_version.clone_from(&record.version);
        }
        self.waiting.insert(record.seq, record);
        while let Some(next) = self.waiting.remove(&(self.done.len() as u64)) {
            self.done.push(next);
        }
    }

    fn progress(&self, name: &str, elapsed: Duration, sent: u64) -> String {
        format!(
            "{name} {:>4} s  sent {sent}  ok {}  failed {}  version {}",
            elapsed.as_secs(),
            self.ok,
            self.failed,
            self.last_version.as_deref().unwrap_or("-")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_of_kinds() {
        let kinds = |writes| (0..10).map(|seq| kind_for(seq, writes)).collect::<Vec<_>>();
        use Kind::{List as L, Page as P, Write as W};
        assert_eq!(kinds(false), [P, L, P, L, P, L, P, L, P, L]);
        assert_eq!(kinds(true), [P, L, P, L, W, L, P, L, P, W]);
    }

    #[test]
    fn collects_in_send_order() {
        use super::super::record::sample::ok;
        let mut collected = Collected::default();
        collected.add(ok(1, Kind::List, 20.0, "v1"));
        assert!(collected.done.is_empty(), "seq 0 is still in flight");
        collected.add(ok(0, Kind::Page, 0.0, "v1"));
        collected.add(ok(2, Kind::Page, 40.0, "v1"));
        let seqs: Vec<u64> = collected.done.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [0, 1, 2]);
        assert_eq!(collected.ok, 3);
    }
}
