//! Asserts what `make deploy` measured, from the probe's JSON reports (`make test` runs a single
//! deploy, a blue-green one, then a single one again before these tests).

use foobar_tools::probe::{load_report, ProbeReport, StopReason};
use foobar_tools::Site;

fn report(name: &str) -> ProbeReport {
    let dir = foobar_tools::reports_dir();
    load_report(dir.join(format!("{name}.json")))
}

fn assert_new_version_answered(report: &ProbeReport) {
    assert_eq!(
        report.stopped_by,
        StopReason::NewVersion,
        "the probe saw the new version settle"
    );
    assert_ne!(report.summary.version_before, report.summary.version_after);
}

/// Every write acknowledged during the deploy, before or after the switch, reads back.
fn assert_acknowledged_writes_readable(report: &ProbeReport) {
    let site = Site::from_env();
    let ids = &report.summary.writes.acknowledged_ids;
    assert!(!ids.is_empty(), "the probe wrote during the deploy");
    for id in ids {
        assert_eq!(
            site.get(&format!("/api/posts/{id}")).status(),
            200,
            "post {id} lost"
        );
    }
}

#[test]
fn single_strategy_shows_maintenance_then_recovers_on_the_new_version_within_15_s() {
    let report = report("deploy-single");
    let summary = &report.summary;

    assert_new_version_answered(&report);
    assert!(summary.failed > 0, "stop-then-start has a gap users see");
    assert!(
        summary.maintenance > 0,
        "users got the maintenance page during the gap"
    );
    assert!(
        summary.downtime_ms < 15_000.0,
        "downtime {} ms",
        summary.downtime_ms
    );
    assert_eq!(
        summary.failures_by_error.values().sum::<usize>(),
        0,
        "no hang, no reset: 503s only"
    );
    assert_acknowledged_writes_readable(&report);
}

#[test]
fn blue_green_strategy_fails_no_request_of_at_least_1000() {
    let report = report("deploy-blue-green");
    let summary = &report.summary;

    assert_new_version_answered(&report);
    assert!(summary.sent >= 1000, "only {} requests", summary.sent);
    assert_eq!(summary.failed, 0, "{summary:?}");
    assert_eq!(summary.writes.acknowledged, summary.writes.sent);
    assert_acknowledged_writes_readable(&report);
}
