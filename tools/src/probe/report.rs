//! The numbers of a run, computed from its records alone (no clock, no I/O).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::record::{ErrorKind, Kind, Record};

/// What users saw during a run. Times are milliseconds since its start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub sent: usize,
    pub ok: usize,
    pub failed: usize,
    /// Failures without a complete answer, by cause (every cause present, maybe 0).
    pub failures_by_error: BTreeMap<ErrorKind, usize>,
    /// Failures with a complete answer, by status (502, 503 and 504 always present).
    /// Together with `failures_by_error` this adds up to `failed`.
    pub failures_by_status: BTreeMap<u16, usize>,
    /// Answers that were the maintenance 503 (counted under 503 too).
    pub maintenance: usize,
    /// Answers 401, complete or not: the probe's user had been signed out, which no deploy or
    /// fault may do. Absent from reports made before accounts: 0.
    #[serde(default)]
    pub unauthorized: usize,
    pub first_failure_ms: Option<f64>,
    pub last_failure_ms: Option<f64>,
    /// Send time of the last failure minus that of the first; 0 without failures.
    pub downtime_ms: f64,
    /// From the first failure to the first request of the final run of ok requests; `None`
    /// without failures or if the run ended failing.
    pub recovered_ms: Option<f64>,
    pub max_latency_ms: f64,
    /// Over ok requests only.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// `X-App-Version`s in the order they first answered (by send order).
    pub versions: Vec<String>,
    pub version_before: Option<String>,
    pub version_after: Option<String>,
    /// When the first answer from a version other than `version_before` came.
    pub switch_ms: Option<f64>,
    /// Requests sent before `switch_ms` and answered after it.
    pub in_flight_at_switch: usize,
    /// How long old and new versions both answered: from the first answer of a version other
    /// than `version_before` to the last answer of `version_before` (0 if none came after it;
    /// `None` without a second version). A rolling update's mixed window.
    #[serde(default)]
    pub versions_overlap_ms: Option<f64>,
    pub writes: Writes,
}

/// What became of the writes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Writes {
    pub sent: usize,
    /// Answered 201 (on a retry too): the post exists.
    pub acknowledged: usize,
    /// Certainly not written: another HTTP answer, or the connection was refused.
    pub failed: usize,
    /// Timed out or broke after being sent: the post may or may not exist.
    pub unknown: usize,
    /// The ids the acknowledgements gave: the audit reads these posts back by id.
    pub acknowledged_ids: Vec<i64>,
    /// Acknowledged writes whose answer gave no id (its body cut off, or not the post's JSON),
    /// by seq: the audit reads these back by title and body among the user's posts. Every
    /// acknowledged write is in `acknowledged_ids` or here. Absent from older reports: none.
    #[serde(default)]
    pub acknowledged_without_id: Vec<u64>,
    /// With `--retry-writes`: writes acknowledged only on a retry (counted in `acknowledged`,
    /// not in `failed` or `unknown`), and those never acknowledged (counted there).
    #[serde(default)]
    pub acknowledged_on_retry: usize,
    /// Posts of the run found in the database beyond those acknowledged (`removed` minus
    /// `acknowledged`): a write applied twice, or one whose acknowledgement never came. `None`
    /// until removed.
    #[serde(default)]
    pub extra_posts: Option<u64>,
    /// Acknowledged posts that did not read back through the site after the run: by id (404),
    /// or, those without an id, not among the user's posts with their title and body. `None`
    /// until audited, and the audit reads every acknowledged write back (or fails): `Some(0)`
    /// means every one of them was seen.
    #[serde(default)]
    pub lost: Option<usize>,
    /// Posts of the run deleted from the database afterwards; `None` if they were kept.
    #[serde(default)]
    pub removed: Option<u64>,
}

/// The report of `records`, in any order.
pub fn summarize(records: &[Record]) -> Report {
    let mut records: Vec<&Record> = records.iter().collect();
    records.sort_by_key(|r| r.seq);

    let failures: Vec<&Record> = records.iter().copied().filter(|r| !r.is_ok()).collect();
    let mut failures_by_error: BTreeMap<ErrorKind, usize> =
        ErrorKind::ALL.iter().map(|&e| (e, 0)).collect();
    let mut failures_by_status: BTreeMap<u16, usize> = [502, 503, 504].map(|s| (s, 0)).into();
    for failure in &failures {
        match (failure.error, failure.status) {
            (Some(error), _) => *failures_by_error.entry(error).or_default() += 1,
            (None, Some(status)) => *failures_by_status.entry(status).or_default() += 1,
            (None, None) => *failures_by_error.entry(ErrorKind::Other).or_default() += 1,
        }
    }
    let first_failure_ms = failures.first().map(|r| r.sent_ms);
    let last_failure_ms = failures.last().map(|r| r.sent_ms);

    // The final all-ok run starts right after the last failure.
    let recovered_ms = match (first_failure_ms, failures.last()) {
        (Some(first), Some(last)) => records
            .iter()
            .find(|r| r.seq > last.seq)
            .map(|r| to_us(r.sent_ms - first)),
        _ => None,
    };

    let mut ok_latencies: Vec<f64> = records
        .iter()
        .filter(|r| r.is_ok())
        .map(|r| r.latency_ms)
        .collect();
    ok_latencies.sort_by(f64::total_cmp);

    let mut versions: Vec<String> = Vec::new();
    for version in records.iter().filter_map(|r| r.version.as_ref()) {
        if !versions.contains(version) {
            versions.push(version.clone());
        }
    }
    let version_before = versions.first().cloned();
    let switch_ms = version_before.as_ref().and_then(|before| {
        records
            .iter()
            .filter(|r| r.version.as_ref().is_some_and(|v| v != before))
            .map(|r| to_us(r.done_ms()))
            .min_by(f64::total_cmp)
    });
    let last_old_ms = version_before.as_ref().and_then(|before| {
        records
            .iter()
            .filter(|r| r.version.as_ref() == Some(before))
            .map(|r| to_us(r.done_ms()))
            .max_by(f64::total_cmp)
    });
    let versions_overlap_ms = switch_ms
        .zip(last_old_ms)
        .map(|(first_new, last_old)| (last_old - first_new).max(0.0));
    let in_flight_at_switch = switch_ms.map_or(0, |switch| {
        records
            .iter()
            .filter(|r| r.sent_ms < switch && r.done_ms() > switch)
            .count()
    });

    Report {
        sent: records.len(),
        ok: records.len() - failures.len(),
        failed: failures.len(),
        failures_by_error,
        failures_by_status,
        maintenance: failures.iter().filter(|r| r.maintenance).count(),
        unauthorized: failures.iter().filter(|r| r.status == Some(401)).count(),
        first_failure_ms,
        last_failure_ms,
        downtime_ms: last_failure_ms
            .zip(first_failure_ms)
            .map_or(0.0, |(l, f)| to_us(l - f)),
        recovered_ms,
        max_latency_ms: records.iter().map(|r| r.latency_ms).fold(0.0, f64::max),
        p50_ms: percentile(&ok_latencies, 0.50),
        p99_ms: percentile(&ok_latencies, 0.99),
        version_after: records.iter().rev().find_map(|r| r.version.clone()),
        version_before,
        versions,
        switch_ms,
        in_flight_at_switch,
        versions_overlap_ms,
        writes: writes(&records),
    }
}

fn writes(records: &[&Record]) -> Writes {
    let mut writes = Writes::default();
    for write in records.iter().filter(|r| r.kind == Kind::Write) {
        writes.sent += 1;
        if write.acknowledged() {
            writes.acknowledged += 1;
            if write.status != Some(201) {
                writes.acknowledged_on_retry += 1;
            }
            match write.id {
                Some(id) => writes.acknowledged_ids.push(id),
                None => writes.acknowledged_without_id.push(write.seq),
            }
            continue;
        }
        match (write.status, write.error) {
            (Some(_), _) | (None, Some(ErrorKind::Refused)) => writes.failed += 1,
            (None, _) => writes.unknown += 1,
        }
    }
    writes
}

/// Rounds sums of milliseconds back to the microsecond, so the JSON shows no float noise.
fn to_us(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], quantile: f64) -> Option<f64> {
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.max(1) - 1).copied()
}

/// The `X-App-Version` of the first request sent that has one: the version before a deploy.
pub fn first_version(records: &[Record]) -> Option<&str> {
    records
        .iter()
        .filter(|r| r.version.is_some())
        .min_by_key(|r| r.seq)
        .and_then(|r| r.version.as_deref())
}

/// Whether a deploy is over, judged on `records` (in seq order, all complete): another
/// version than the first has answered, and every request of the last `settle_ms` of sending
/// was ok and answered by a new version (static pages, which carry no version, just ok).
pub fn settled(records: &[Record], settle_ms: f64) -> bool {
    let (Some(first), Some(last)) = (first_version(records), records.last()) else {
        return false;
    };
    let from_new = |r: &&Record| {
        r.is_ok()
            && r.version
                .as_deref()
                .map_or(r.kind == Kind::Page, |v| v != first)
    };
    // Measure from the oldest versioned answer of the run: pages before it prove nothing.
    let run_start = records
        .iter()
        .rev()
        .take_while(from_new)
        .filter(|r| r.version.is_some())
        .last();
    run_start.is_some_and(|start| last.sent_ms - start.sent_ms >= settle_ms)
}

impl fmt::Display for Report {
    /// Aligned `key: value` lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1} ms"));
        let version = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
        let by_error = self
            .failures_by_error
            .iter()
            .map(|(e, n)| format!("{} {n}", e.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let by_status = self
            .failures_by_status
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let w = &self.writes;
        let lines = [
            ("sent", self.sent.to_string()),
            ("ok", self.ok.to_string()),
            ("failed", self.failed.to_string()),
            ("failures by error", by_error),
            ("failures by status", by_status),
            ("maintenance pages", self.maintenance.to_string()),
            ("unauthorized (401)", self.unauthorized.to_string()),
            ("first failure", ms(self.first_failure_ms)),
            ("last failure", ms(self.last_failure_ms)),
            ("downtime", ms(Some(self.downtime_ms))),
            ("recovered after", ms(self.recovered_ms)),
            ("latency p50 (ok)", ms(self.p50_ms)),
            ("latency p99 (ok)", ms(self.p99_ms)),
            ("latency max", ms(Some(self.max_latency_ms))),
            ("version before", version(&self.version_before)),
            ("version after", version(&self.version_after)),
            ("switch at", ms(self.switch_ms)),
            ("in flight at switch", self.in_flight_at_switch.to_string()),
            ("old and new both", ms(self.versions_overlap_ms)),
            (
                "writes",
                format!(
                    "sent {}, acknowledged {} ({} on a retry, {} without an id), failed {}, unknown {}, lost {}, removed {}, extra posts {}",
                    w.sent,
                    w.acknowledged,
                    w.acknowledged_on_retry,
                    w.acknowledged_without_id.len(),
                    w.failed,
                    w.unknown,
                    w.lost.map_or("not audited".to_owned(), |n| n.to_string()),
                    w.removed.map_or("no".to_owned(), |n| n.to_string()),
                    w.extra_posts.map_or("-".to_owned(), |n| n.to_string()),
                ),
            ),
        ];
        for (key, value) in lines {
            writeln!(f, "{:<21}{value}", format!("{key}:"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::record::sample::{answer, error, maintenance, ok};
    use super::*;

    const V1: &str = "0.1.0+aaa.1";
    const V2: &str = "0.1.0+bbb.2";

    /// A deploy at 20/s: v1, two maintenance pages, a refused list, a timed-out write, then v2.
    fn deploy() -> Vec<Record> {
        vec![
            ok(0, Kind::Page, 0.0, V1),
            ok(1, Kind::List, 50.0, V1),
            ok(2, Kind::Write, 100.0, V1),
            maintenance(3, Kind::List, 150.0),
            error(4, Kind::List, 200.0, ErrorKind::Refused),
            error(5, Kind::Write, 250.0, ErrorKind::Timeout),
            maintenance(6, Kind::Page, 300.0),
            ok(7, Kind::List, 350.0, V2),
            ok(8, Kind::Write, 400.0, V2),
            ok(9, Kind::List, 450.0, V2),
        ]
    }

    #[test]
    fn counts_failures_by_error_and_status() {
        let report = summarize(&deploy());
        assert_eq!((report.sent, report.ok, report.failed), (10, 6, 4));
        assert_eq!(report.failures_by_error[&ErrorKind::Refused], 1);
        assert_eq!(report.failures_by_error[&ErrorKind::Timeout], 1);
        assert_eq!(report.failures_by_error[&ErrorKind::Reset], 0);
        assert_eq!(report.failures_by_status[&503], 2);
        assert_eq!(report.failures_by_status[&502], 0);
        assert_eq!(report.maintenance, 2);
    }

    #[test]
    fn downtime_spans_first_to_last_failure() {
        let report = summarize(&deploy());
        assert_eq!(report.first_failure_ms, Some(150.0));
        assert_eq!(report.last_failure_ms, Some(300.0));
        assert_eq!(report.downtime_ms, 150.0);
        assert_eq!(report.recovered_ms, Some(200.0), "seq 7 at 350 ms");
    }

    #[test]
    fn no_failures_no_downtime() {
        let records: Vec<Record> = (0..5).map(|i| ok(i, Kind::List, i as f64, V1)).collect();
        let report = summarize(&records);
        assert_eq!(report.failed, 0);
        assert_eq!(report.downtime_ms, 0.0);
        assert_eq!(report.first_failure_ms, None);
        assert_eq!(report.recovered_ms, None);
        assert_eq!(report.switch_ms, None);
        assert_eq!(report.version_after.as_deref(), Some(V1));
    }

    #[test]
    fn ending_on_a_failure_is_not_recovered() {
        let mut records = deploy();
        records.push(maintenance(10, Kind::List, 500.0));
        assert_eq!(summarize(&records).recovered_ms, None);
    }

    #[test]
    fn order_of_records_does_not_matter() {
        let mut records = deploy();
        records.reverse();
        assert_eq!(summarize(&records), summarize(&deploy()));
    }

    #[test]
    fn counts_write_outcomes() {
        let mut records = deploy();
        records.push(answer(10, Kind::Write, 500.0, 3.0, 422));
        records.push(error(11, Kind::Write, 550.0, ErrorKind::Refused));
        records.push(error(12, Kind::Write, 600.0, ErrorKind::Reset));
        let writes = summarize(&records).writes;
        assert_eq!(writes.sent, 6);
        assert_eq!(writes.acknowledged, 2);
        assert_eq!(writes.failed, 2, "the 422 and the refused one");
        assert_eq!(writes.unknown, 2, "the timeout and the reset");
        assert_eq!(writes.acknowledged_ids, vec![1002, 1008]);
    }

    #[test]
    fn a_write_acknowledged_on_a_retry_counts_as_acknowledged_not_failed() {
        let retried = Record {
            retries: 3,
            acknowledged_ms: Some(900.0),
            id: Some(77),
            ..answer(4, Kind::Write, 100.0, 2.0, 503)
        };
        let never = Record {
            retries: 9,
            ..answer(9, Kind::Write, 200.0, 2.0, 503)
        };
        let writes = summarize(&[retried, never]).writes;
        assert_eq!(writes.acknowledged, 1);
        assert_eq!(writes.acknowledged_on_retry, 1);
        assert_eq!(writes.acknowledged_ids, vec![77]);
        assert_eq!(writes.failed, 1, "the one never acknowledged");
    }

    #[test]
    fn a_201_that_gave_no_id_is_acknowledged_and_kept_to_read_back_by_title() {
        // The body did not parse, the body was cut off after the 201, a retry's body did not
        // parse: all acknowledged, none with an id the audit could read back by.
        let unparsed = Record {
            id: None,
            ..ok(4, Kind::Write, 100.0, V1)
        };
        let cut_off = Record {
            id: None,
            error: Some(ErrorKind::Reset),
            ..ok(9, Kind::Write, 200.0, V1)
        };
        let retried = Record {
            retries: 1,
            acknowledged_ms: Some(900.0),
            ..answer(14, Kind::Write, 300.0, 2.0, 503)
        };
        let records = [ok(19, Kind::Write, 400.0, V1), unparsed, cut_off, retried];

        let writes = summarize(&records).writes;

        assert_eq!(writes.acknowledged, 4);
        assert_eq!(writes.acknowledged_on_retry, 1);
        assert_eq!((writes.failed, writes.unknown), (0, 0));
        assert_eq!(writes.acknowledged_ids, vec![1019]);
        assert_eq!(writes.acknowledged_without_id, vec![4, 9, 14]);
        assert_eq!(
            writes.acknowledged_ids.len() + writes.acknowledged_without_id.len(),
            writes.acknowledged,
            "every acknowledged write is read back, by id or by title"
        );
    }

    #[test]
    fn counts_answers_401_apart() {
        let mut records = deploy();
        records.push(answer(10, Kind::Write, 500.0, 3.0, 401));
        records.push(Record {
            error: Some(ErrorKind::Reset),
            ..answer(11, Kind::Write, 550.0, 3.0, 401)
        });
        let report = summarize(&records);
        assert_eq!(report.unauthorized, 2, "the broken-off answer too");
        assert_eq!(report.failures_by_status[&401], 1);
        assert_eq!(summarize(&deploy()).unauthorized, 0);
        assert!(report.to_string().contains("unauthorized (401):  2\n"));
    }

    #[test]
    fn reports_from_before_accounts_read_as_no_401() {
        let mut json = serde_json::to_value(summarize(&deploy())).unwrap();
        json.as_object_mut().unwrap().remove("unauthorized");
        assert_eq!(
            serde_json::from_value::<Report>(json).unwrap().unauthorized,
            0
        );
    }

    #[test]
    fn finds_versions_and_the_switch() {
        let report = summarize(&deploy());
        assert_eq!(report.versions, vec![V1, V2]);
        assert_eq!(report.version_before.as_deref(), Some(V1));
        assert_eq!(report.version_after.as_deref(), Some(V2));
        assert_eq!(report.switch_ms, Some(352.0), "seq 7 answered after 2 ms");
    }

    #[test]
    fn counts_requests_in_flight_at_switch() {
        let mut records = deploy();
        // Sent at 340 ms on v1, answered at 360 ms: across the switch at 352 ms.
        records.push(Record {
            latency_ms: 20.0,
            ..ok(10, Kind::List, 340.0, V1)
        });
        let report = summarize(&records);
        assert_eq!(report.switch_ms, Some(352.0));
        // The timed-out write (250 → 2250 ms) and the slow list.
        assert_eq!(report.in_flight_at_switch, 2);
    }

    #[test]
    fn measures_how_long_old_and_new_versions_both_answered() {
        // A clean switch: nothing of v1 after the first v2.
        assert_eq!(summarize(&deploy()).versions_overlap_ms, Some(0.0));
        // A rolling update: v1 still answers at 500 ms (done at 502 ms), 150 ms after v2's first.
        let mut rolling = deploy();
        rolling.push(ok(10, Kind::List, 500.0, V1));
        assert_eq!(summarize(&rolling).versions_overlap_ms, Some(150.0));
        // One version only: no window.
        let v1_only: Vec<Record> = deploy().into_iter().take(3).collect();
        assert_eq!(summarize(&v1_only).versions_overlap_ms, None);
    }

    #[test]
    fn latency_percentiles_of_ok_requests() {
        let records: Vec<Record> = (0..100)
            .map(|i| Record {
                latency_ms: (i + 1) as f64,
                ..ok(i, Kind::List, i as f64, V1)
            })
            .chain([error(100, Kind::List, 100.0, ErrorKind::Timeout)])
            .collect();
        let report = summarize(&records);
        assert_eq!(report.p50_ms, Some(50.0));
        assert_eq!(report.p99_ms, Some(99.0));
        assert_eq!(
            report.max_latency_ms, 2000.0,
            "failures count for the maximum"
        );
        assert_eq!(summarize(&[]).p50_ms, None);
    }

    #[test]
    fn settles_after_a_full_window_on_the_new_version() {
        let mut records = deploy();
        assert!(settled(&records, 100.0), "v2 from 350 to 450 ms");
        assert!(!settled(&records, 101.0));
        records.push(ok(10, Kind::Page, 500.0, V2));
        records.last_mut().unwrap().version = None;
        assert!(settled(&records, 150.0), "a static page counts if ok");
        records.push(ok(11, Kind::List, 550.0, V1));
        assert!(!settled(&records, 0.0), "the old version answered again");
    }

    #[test]
    fn never_settles_without_a_new_version() {
        let records: Vec<Record> = (0..50).map(|i| ok(i, Kind::List, i as f64, V1)).collect();
        assert!(!settled(&records, 0.0));
        assert!(!settled(&[], 0.0));
    }

    #[test]
    fn report_round_trips_through_json() {
        let report = summarize(&deploy());
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains(r#""503":2"#), "{json}");
        assert!(json.contains(r#""refused":1"#), "{json}");
        assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), report);
    }
}
