//! `make bench` on the running stack (`make test` gives it a stack of its own), short: proves the
//! benchmark measures every figure without a failed request and leaves nothing behind. The
//! figures and ratios are benchmark output of one machine: printed, not asserted here.

use foobar_tools::bench::{BenchReport, Case};
use foobar_tools::stack::{make, pgbench_database_exists};
use foobar_tools::{read_json, reports_dir};

use crate::helpers::leaving_the_guestbook_as_found;

#[test]
#[ignore = "drives the running stack: make test runs it on a stack of its own"]
fn a_short_bench_measures_every_tier_and_leaves_nothing_behind() {
    let path = reports_dir().unwrap().join("bench.json");
    let _ = std::fs::remove_file(&path);
    let succeeded =
        leaving_the_guestbook_as_found("make bench", || make(&["bench", "BENCH_ARGS=--short"]));

    assert!(succeeded, "make bench failed");
    assert!(
        !pgbench_database_exists().expect("list the databases"),
        "the pgbench database was dropped"
    );
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("foobar-bench-nginx-")
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "the bare nginx's directory was removed: {leftovers:?}"
    );

    let report: BenchReport = read_json(&path).unwrap();
    // As root (CI) nothing is skipped: the two in-namespace figures need nsenter.
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        == b"0\n";
    for case in Case::ALL {
        let figure = report
            .figures
            .iter()
            .find(|f| f.case == case)
            .unwrap_or_else(|| panic!("no figure for {}", case.label()));
        if figure.skipped.is_some() && !root {
            continue;
        }
        assert_eq!(figure.skipped, None, "{} was measured", case.label());
        assert_eq!(
            figure.runs.len(),
            report.rounds as usize,
            "{}: every round ran",
            case.label()
        );
        assert!(figure.median > 0.0, "{}: answered", case.label());
        assert_eq!(figure.errors, 0, "{}: no request failed", case.label());
    }
    assert!(
        report.ratios.iter().all(|r| r.value.is_some() || !root),
        "every ratio computed"
    );
}
