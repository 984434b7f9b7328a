//! `make slow-clients`: while one client holds thousands of slowloris connections, an ordinary
//! user in another network namespace keeps being answered. The drill brings up a stack of its
//! own on a bridge it makes (root), so this test needs no running stack, only the images.

use foobar_tools::probe::ProbeReport;
use foobar_tools::stack::make;
use foobar_tools::{read_json, reports_dir};
use serde_json::Value;

#[test]
#[ignore = "drives Docker and network namespaces as root: make test runs it"]
fn a_user_is_answered_while_another_client_holds_thousands_of_slow_connections() {
    let path = reports_dir().unwrap().join("slow-clients-user.json");
    let attack_path = reports_dir().unwrap().join("slow-clients-attack.json");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&attack_path);

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

    // The attack happened, and what the README says stopped it is what did: the attacker held
    // thousands of slowloris connections at once (more than the 2 048 slots nginx once had),
    // each cut by the header timeout (408); more slow bodies than the per-address cap were
    // open, and nginx refused the ones past it; no worker ran out of connection slots.
    let attack: Value = read_json(&attack_path).unwrap();
    let figure = |path: &str| attack.pointer(path).and_then(Value::as_u64).unwrap();
    assert!(
        figure("/attacker/slowloris_connected_at_most") >= 2_048,
        "the slowloris attack held too few connections to test anything: {attack}"
    );
    assert!(
        figure("/nginx/header_timeouts_408") >= 2_048,
        "the header timeout cut the slowloris connections: {attack}"
    );
    assert!(
        figure("/attacker/slow_bodies_connected_at_most") > 256,
        "more slow bodies than the per-address cap (256) were open: {attack}"
    );
    assert!(
        figure("/nginx/refused_by_per_address_cap") > 0,
        "the per-address cap refused the slow bodies past it: {attack}"
    );
    assert_eq!(figure("/nginx/slots_exhausted"), 0, "{attack}");
}
