//! `make deploy` on the running stack (`make test` gives it a stack of its own): each test runs
//! the tool as a user would, then asserts from its exit status and the probe's report, and that
//! the deploy left the guestbook's post and account counts as it found them.

use foobar_tools::probe::{ProbeReport, StopReason};
use foobar_tools::stack::{make, post_count, user_count};
use foobar_tools::{read_json, reports_dir};

/// Runs `make deploy STRATEGY=… ARGS…` and returns the report it wrote.
fn deploy(strategy: &str, args: &[&str]) -> ProbeReport {
    let path = reports_dir()
        .unwrap()
        .join(format!("deploy-{strategy}.json"));
    let _ = std::fs::remove_file(&path);
    let posts_before = post_count().expect("count posts before the deploy");
    let users_before = user_count().expect("count accounts before the deploy");

    let strategy_arg = format!("STRATEGY={strategy}");
    let mut make_args = vec!["deploy", strategy_arg.as_str()];
    make_args.extend_from_slice(args);
    assert!(make(&make_args), "make deploy {strategy} failed");

    assert_eq!(
        post_count().expect("count posts after the deploy"),
        posts_before,
        "the deploy's probe removed the posts it wrote"
    );
    assert_eq!(
        user_count().expect("count accounts after the deploy"),
        users_before,
        "the deploy's probe removed its account"
    );
    read_json(&path).unwrap()
}

fn assert_new_version_answered(report: &ProbeReport) {
    assert_eq!(
        report.stopped_by,
        StopReason::NewVersion,
        "the probe saw the new version settle"
    );
    assert_ne!(report.summary.version_before, report.summary.version_after);
}

/// Every write acknowledged during the deploy read back before the probe removed it.
fn assert_no_acknowledged_write_lost(report: &ProbeReport) {
    let writes = &report.summary.writes;
    assert!(writes.acknowledged > 0, "the probe wrote during the deploy");
    assert_eq!(writes.lost, Some(0), "acknowledged writes lost: {writes:?}");
}

/// The probe wrote as a user of its own, who stayed signed in across the switch: not one 401.
fn assert_never_signed_out(report: &ProbeReport) {
    let user = report.user.as_deref().expect("the probe signed up");
    assert!(user.starts_with("probe-"), "{user}");
    assert_eq!(
        report.summary.unauthorized, 0,
        "{user} was signed out during the deploy: {:?}",
        report.summary
    );
}

// Runs first (names in order): blue-green from the state `make up` left.
#[test]
#[ignore = "drives the running stack: make test runs it on a stack of its own"]
fn blue_green_strategy_fails_no_request_of_at_least_1000() {
    let report = deploy("blue-green", &["MIN_REQUESTS=1000"]);
    let summary = &report.summary;

    assert_new_version_answered(&report);
    assert!(summary.sent >= 1000, "only {} requests", summary.sent);
    assert_eq!(summary.failed, 0, "{summary:?}");
    assert_eq!(summary.writes.acknowledged, summary.writes.sent);
    assert_no_acknowledged_write_lost(&report);
    assert_never_signed_out(&report);
}

// Then single, from the state blue-green left (its pin cleared, a new container name).
#[test]
#[ignore = "drives the running stack: make test runs it on a stack of its own"]
fn single_strategy_shows_maintenance_then_recovers_on_the_new_version_within_15_s() {
    let report = deploy("single", &[]);
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
    assert_no_acknowledged_write_lost(&report);
    assert_never_signed_out(&report);
}
