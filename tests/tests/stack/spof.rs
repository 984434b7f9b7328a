//! `make spof` on the running stack (`make test` gives it a stack of its own), short: the drills
//! run once, as a user would run them, and every test asserts from that run's `spof.json`.

use std::sync::OnceLock;

use foobar_tools::spof::{DrillResult, Fault, SpofReport};
use foobar_tools::stack::{make, post_count, user_count};
use foobar_tools::{read_json, reports_dir};

struct Run {
    succeeded: bool,
    /// Posts and accounts: `(posts, users)`.
    before: (i64, i64),
    after: (i64, i64),
    report: SpofReport,
}

fn counts(when: &str) -> (i64, i64) {
    (
        post_count().unwrap_or_else(|e| panic!("count posts {when} the drills: {e:#}")),
        user_count().unwrap_or_else(|e| panic!("count accounts {when} the drills: {e:#}")),
    )
}

fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let path = reports_dir().unwrap().join("spof.json");
        let _ = std::fs::remove_file(&path);
        let before = counts("before");
        let succeeded = make(&["spof", "SPOF_ARGS=--down-secs 3 --pause-secs 8"]);
        let after = counts("after");
        let report =
            read_json(&path).unwrap_or_else(|e| panic!("{e:#} (make spof wrote no report?)"));
        Run {
            succeeded,
            before,
            after,
            report,
        }
    })
}

fn drill(service: &str, fault: Fault) -> DrillResult {
    run()
        .report
        .drills
        .iter()
        .find(|d| d.service == service && d.fault == fault)
        .unwrap_or_else(|| panic!("no {service} {fault:?} drill"))
        .clone()
}

#[test]
#[ignore = "drives the running stack: make test runs it on a stack of its own"]
fn drills_succeed_and_leave_the_post_and_account_counts_as_they_found_them() {
    let run = run();
    assert!(run.succeeded, "make spof exited non-zero");
    assert_eq!(run.after.0, run.before.0, "drill writes removed");
    assert_eq!(run.after.1, run.before.1, "the probes' accounts removed");
}

#[test]
#[ignore = "drives the running stack: make test runs it on a stack of its own"]
fn every_component_was_drilled_and_each_outage_was_seen() {
    for service in ["db", "app", "web"] {
        let drill = drill(service, Fault::Kill);
        assert!(
            !drill.outage.users_saw.is_empty(),
            "{service}: one component down takes the site down"
        );
    }
    drill("db", Fault::Pause);
}

#[test]
#[ignore = "drives the running stack: make test runs it on a stack of its own"]
fn no_acknowledged_write_is_lost_and_none_is_duplicated() {
    for drill in &run().report.drills {
        assert!(
            drill.writes.acknowledged > 0,
            "{}: writes happened",
            drill.name
        );
        assert_eq!(drill.writes.lost, 0, "{}", drill.name);
        assert_eq!(drill.writes.duplicates, 0, "{}", drill.name);
        assert_eq!(
            drill.writes.retried,
            drill.writes.failed + drill.writes.unknown,
            "{}",
            drill.name
        );
    }
}

#[test]
#[ignore = "drives the running stack: make test runs it on a stack of its own"]
fn the_signed_in_user_is_never_signed_out() {
    for drill in &run().report.drills {
        assert_eq!(
            drill.writes.unauthorized, 0,
            "{}: writes answered 401 (during the drill or retried)",
            drill.name
        );
    }
}

#[test]
#[ignore = "drives the running stack: make test runs it on a stack of its own"]
fn site_recovers_within_10_s_of_each_component_being_back() {
    for drill in &run().report.drills {
        let recovery = drill.outage.recovery_after_back_ms.expect("recovered");
        assert!(recovery <= 10_000.0, "{}: {recovery} ms", drill.name);
    }
}

#[test]
#[ignore = "drives the running stack: make test runs it on a stack of its own"]
fn database_outages_answer_503_within_3_s_never_hang() {
    for fault in [Fault::Kill, Fault::Pause] {
        let drill = drill("db", fault);
        assert_eq!(drill.outage.timeouts_while_down, 0, "{}", drill.name);
        assert!(
            drill.outage.slowest_while_down_ms <= 3000.0,
            "{}: {} ms",
            drill.name,
            drill.outage.slowest_while_down_ms
        );
        let labels: Vec<&String> = drill.outage.users_saw.keys().collect();
        assert_eq!(
            labels,
            ["503 from app"],
            "{}: the app itself answers 503",
            drill.name
        );
    }
}
