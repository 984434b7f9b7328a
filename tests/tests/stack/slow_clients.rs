//! `make slow-clients`: while one client holds thousands of slowloris connections, an ordinary
//! user in another network namespace keeps being answered. The drill brings up a stack of its
//! own on a bridge it makes (root), so this test needs no running stack, only the images.

use foobar_tools::probe::ProbeReport;
use foobar_tools::stack::make;
use foobar_tools::{read_json, reports_dir};

#[test]
#[ignore = "drives Docker and network namespaces as root: make test runs it"]
fn a_user_is_answered_while_another_client_holds_thousands_of_slow_connections() {
    let path = reports_dir().unwrap().join("slow-clients-user.json");
    let _ = std::fs::remove_file(&path);

    assert!(
        make(&["slow-clients", "ATTACK_SECS=30"]),
        "make slow-clients failed"
    );

    let report: ProbeReport = read_json(&path).unwrap();
    let summary = &report.summary;
    assert!(summary.sent >= 100, "the user sent {}", summary.sent);
    assert_eq!(
        summary.failed, 0,
        "the user was refused service: {summary:?}"
    );
}
