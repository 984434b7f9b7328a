//! `make spof` on the running stack (`make test` gives it a stack of its own), short: the drills
//! run once, as a user would run them, and every test asserts from that run's `spof.json`.

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use foobar_tools::spof::{DrillResult, Fault, SpofReport};
use foobar_tools::stack::{compose_ok, guestbook, make, Guestbook};
use foobar_tools::{read_json, repo_root, reports_dir, wait_until};

use crate::helpers::leaving_the_guestbook_as_found;
use crate::monitoring::DETECT_WITHIN;

struct Run {
    succeeded: bool,
    /// The rows that differ after the drills from before them (none, when they cleaned up).
    changes: Vec<String>,
    report: SpofReport,
}

fn rows(when: &str) -> Guestbook {
    guestbook().unwrap_or_else(|e| panic!("read the guestbook {when} the drills: {e:#}"))
}

fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let path = reports_dir().unwrap().join("spof.json");
        let _ = std::fs::remove_file(&path);
        let before = rows("before");
        let succeeded = make(&[
            "spof",
            "SPOF_ARGS=--down-secs 3 --pause-secs 8 --detach-secs 25",
        ]);
        let changes = rows("after").changes_since(&before);
        let report =
            read_json(&path).unwrap_or_else(|e| panic!("{e:#} (make spof wrote no report?)"));
        Run {
            succeeded,
            changes,
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
fn drills_succeed_and_leave_the_posts_and_accounts_as_they_found_them() {
    let run = run();
    assert!(run.succeeded, "make spof exited non-zero");
    assert!(
        run.changes.is_empty(),
        "the drills left the guestbook as they found it, row for row; they did not:\n{}",
        run.changes.join("\n")
    );
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

/// The Docker-DNS case: the database's name stops resolving while every container stays up
/// and healthy (the drill proves both before it goes on); users get the app's 503, and the
/// monitoring (make test runs the stack with it) must page within the same bound as a stopped
/// database ([`DETECT_WITHIN`]).
#[test]
#[ignore = "drives the running stack: make test runs it on a stack of its own"]
fn a_database_whose_name_stops_resolving_is_seen_by_users_and_detected() {
    let drill = drill("db", Fault::Detach);
    let labels: Vec<&String> = drill.outage.users_saw.keys().collect();
    assert_eq!(labels, ["503 from app"], "{}", drill.name);

    let detection = drill
        .detection
        .expect("the test stack runs its monitoring: the drill reads the alerts");
    let detect_s = detection
        .detect_s
        .unwrap_or_else(|| panic!("no alert for the detached database: {detection:?}"));
    assert!(
        detect_s <= DETECT_WITHIN.as_secs_f64(),
        "detected after {detect_s} s, bound {DETECT_WITHIN:?}: {detection:?}"
    );
    assert!(
        detection.resolve_s.is_some(),
        "still firing after the return: {detection:?}"
    );
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
fn database_outages_answer_503_within_the_documented_bound_never_hang() {
    // docs/spof.md: a dead database is answered after the pool's check-out timeout (1 s), a
    // frozen one after the app's deadline (2.5 s). The margin is for a loaded two-core host.
    const MARGIN_MS: f64 = 1000.0;
    for (fault, documented_ms) in [(Fault::Kill, 1000.0), (Fault::Pause, 2500.0)] {
        let drill = drill("db", fault);
        assert_eq!(drill.outage.timeouts_while_down, 0, "{}", drill.name);
        assert!(
            drill.outage.slowest_while_down_ms <= documented_ms + MARGIN_MS,
            "{}: {} ms, documented {documented_ms} ms",
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

/// Whether the app's container is running now (`docker inspect`, not the site).
fn app_running() -> bool {
    let id = compose_ok(&["ps", "-aq", "app"]).unwrap();
    let state = Command::new("docker")
        .args(["inspect", "-f", "{{.State.Running}}", id.trim()])
        .output()
        .expect("run docker inspect");
    String::from_utf8_lossy(&state.stdout).trim() == "true"
}

#[test]
#[ignore = "drives the running stack: make test runs it on a stack of its own"]
fn a_drill_interrupted_with_ctrl_c_while_its_fault_holds_undoes_it_and_exits_130() {
    leaving_the_guestbook_as_found("an interrupted make spof", || {
        // A long outage of the app, so the interruption comes while the fault holds. In a
        // process group of its own: Ctrl-C in a terminal signals the whole foreground group.
        let mut drill = Command::new("cargo")
            .args([
                "run",
                "-q",
                "-p",
                "foobar-tools",
                "--bin",
                "foobar-spof",
                "--",
            ])
            .args([
                "--services",
                "app",
                "--down-secs",
                "60",
                "--pause-secs",
                "0",
                "--detach-secs",
                "0",
            ])
            .current_dir(repo_root().unwrap())
            .process_group(0)
            .spawn()
            .expect("start foobar-spof");
        let group = drill.id().to_string();
        let fault_holds = wait_until(Duration::from_secs(60), || !app_running());
        assert!(fault_holds, "the drill killed the app");

        let sent = Command::new("kill")
            .args(["-INT", "--", &format!("-{group}")])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = drill.wait().unwrap();

        assert_eq!(status.code(), Some(130), "exit status after Ctrl-C");
        assert!(
            app_running(),
            "the drill started the app again before it exited"
        );
    });
}
