//! `make load` on the running stack (`make test` gives it a stack of its own), short: proves the
//! harness works end to end and leaves the user's data alone. The figures are benchmark output
//! of one machine: printed, not asserted here.

use foobar_tools::load::{Endpoint, LoadReport};
use foobar_tools::reports_dir;
use foobar_tools::stack::{make, pgbench_database_exists, post_count};

#[test]
#[ignore = "drives the running stack: make test runs it on a stack of its own"]
fn a_short_ramp_answers_every_endpoint_compares_three_ways_and_leaves_no_data() {
    let path = reports_dir().join("load.json");
    let _ = std::fs::remove_file(&path);
    let posts_before = post_count().expect("count posts before the ramp");

    assert!(make(&["load", "LOAD_ARGS=--short"]), "make load failed");

    assert_eq!(
        post_count().expect("count posts after the ramp"),
        posts_before,
        "the ramp's posts were removed"
    );
    assert!(
        !pgbench_database_exists().expect("list the databases"),
        "the pgbench database was dropped"
    );
    let text = std::fs::read(&path).expect("make load wrote load.json");
    let report: LoadReport = serde_json::from_slice(&text).expect("load.json parses");
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
}
