//! `make slow-clients`: while one client holds thousands of slowloris connections, an ordinary
//! user in another network namespace keeps being answered. The drill brings up a stack of its
//! own on a bridge it makes (root), so this test needs no running stack, only the images.

use foobar_tools::probe::load_report;
use foobar_tools::reports_dir;
use foobar_tools::stack::make;

#[test]
#[ignore = "drives Docker and network namespaces as root: make test runs it"]
fn a_user_is_answered_while_another_client_holds_thousands_of_slow_connections() {
    let path = reports_dir().join("slow-clients-user.json");
    let _ = std::fs::remove_file(&path);

    assert!(
        make(&["slow-clients", "ATTACK_SECS=30"]),
        "make slow-clients failed"
    );

    let report = load_report(&path);
    let summary = &report.summary;
    assert!(summary.sent >= 100, "the user sent {}", summary.sent);
    assert_eq!(
        summary.failed, 0,
        "the user was refused service: {summary:?}"
    );
}
