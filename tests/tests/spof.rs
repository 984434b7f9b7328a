//! Asserts what `make spof` measured, from `spof.json` (`make test` runs a short drill first).

use foobar_tools::spof::{DrillResult, Fault, SpofReport};

fn report() -> SpofReport {
    let dir = foobar_tools::reports_dir();
    let path = dir.join("spof.json");
    let text =
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run make spof)", path.display()));
    serde_json::from_slice(&text).expect("spof.json parses")
}

fn drill(report: &SpofReport, service: &str, fault: Fault) -> DrillResult {
    report
        .drills
        .iter()
        .find(|d| d.service == service && d.fault == fault)
        .unwrap_or_else(|| panic!("no {service} {fault:?} drill"))
        .clone()
}

#[test]
fn every_component_was_drilled_and_each_outage_was_seen() {
    let report = report();
    for service in ["db", "app", "web"] {
        let drill = drill(&report, service, Fault::Kill);
        assert!(
            !drill.outage.users_saw.is_empty(),
            "{service}: one component down takes the site down"
        );
    }
    drill(&report, "db", Fault::Pause);
}

#[test]
fn no_acknowledged_write_is_lost_and_none_is_duplicated() {
    for drill in report().drills {
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
fn site_recovers_within_10_s_of_each_component_being_back() {
    for drill in report().drills {
        let recovery = drill.outage.recovery_after_back_ms.expect("recovered");
        assert!(recovery <= 10_000.0, "{}: {recovery} ms", drill.name);
    }
}

#[test]
fn database_outages_answer_503_within_3_s_never_hang() {
    let report = report();
    for fault in [Fault::Kill, Fault::Pause] {
        let drill = drill(&report, "db", fault);
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
