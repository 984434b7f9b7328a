//! Proves that `make load` ran end to end, from `load.json` (`make test` runs a short ramp
//! first). The figures are benchmark output of one machine: printed, not asserted here.

use foobar_tools::load::{Endpoint, LoadReport};

fn report() -> LoadReport {
    let path = foobar_tools::reports_dir().join("load.json");
    let text =
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run make load)", path.display()));
    serde_json::from_slice(&text).expect("load.json parses")
}

#[test]
fn every_endpoint_was_ramped_and_answered() {
    let report = report();
    for endpoint in Endpoint::ALL {
        let ramp = report
            .ramps
            .iter()
            .find(|r| r.endpoint == endpoint.label())
            .unwrap_or_else(|| panic!("no ramp for {}", endpoint.label()));
        let first = ramp.steps.first().expect("at least one step");
        assert!(
            first.measured.achieved_rps > 0.0,
            "{}: the first step was answered",
            endpoint.label()
        );
    }
}

#[test]
fn the_comparison_measured_all_three_ways() {
    let c = report().comparison;
    assert!(c.full_stack.achieved_rps > 0.0, "through nginx");
    assert!(c.direct.achieved_rps > 0.0, "straight to the app");
    assert!(c.pgbench_tps > 0.0, "pgbench -S");
}
