//! `make load` on the running stack (`make test` gives it a stack of its own), short: proves the
//! harness works end to end and leaves the user's data alone. The figures are benchmark output
//! of one machine: printed, not asserted here.

use foobar_tools::load::sign_in;
use foobar_tools::load::{Endpoint, LoadReport};
use foobar_tools::stack::{make, pgbench_database_exists};
use foobar_tools::{read_json, reports_dir};

use crate::helpers::leaving_the_guestbook_as_found;

#[test]
#[ignore = "drives the running stack: make test runs it on a stack of its own"]
fn a_short_ramp_answers_every_endpoint_compares_three_ways_and_leaves_no_data() {
    let path = reports_dir().unwrap().join("load.json");
    let _ = std::fs::remove_file(&path);
    let succeeded =
        leaving_the_guestbook_as_found("make load", || make(&["load", "LOAD_ARGS=--short"]));

    assert!(succeeded, "make load failed");
    assert!(
        !pgbench_database_exists().expect("list the databases"),
        "the pgbench database was dropped"
    );
    let report: LoadReport = read_json(&path).unwrap();
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
    let c = report.comparison;
    assert!(c.full_stack.achieved_rps > 0.0, "through nginx");
    assert!(c.direct.achieved_rps > 0.0, "straight to the app");
    assert!(c.pgbench_tps > 0.0, "pgbench -S");
    assert!(
        report.ramps.iter().any(|r| r.endpoint == sign_in::LABEL),
        "a sign-in ramp"
    );
    let s = report.sign_ins;
    assert!(s.one_at_a_time.achieved_rps > 0.0, "sign-ins answered");
    assert_eq!(s.one_at_a_time.errors, 0, "every sign-in succeeded");
    assert!(
        s.read_during_flood.achieved_rps > 0.0,
        "reads during the flood"
    );
}
