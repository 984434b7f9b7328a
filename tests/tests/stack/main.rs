//! Tests of the running stack, through nginx as users reach it, and of the cluster: one binary,
//! a module per concern. make runs them group by group, each on what it needs (`make
//! test-stack`: a fresh stack; `make test-cluster`: a fresh cluster), with a module filter:
//! `cargo test -p foobar-tests --test stack -- --ignored --test-threads=1 smoke::`.

mod helpers;

mod accounts;
mod bench;
mod browser;
mod cluster;
mod deploy;
mod dns;
mod hardening;
mod load;
mod monitoring;
mod slow_clients;
mod smoke;
mod spof;

/// Every module here runs somewhere: make's list of stack groups (STACK_TESTS) names each one
/// but the cluster's and the DNS checks, which have targets of their own. A module left off
/// that list would never run, and CI would stay green.
#[test]
fn every_test_module_is_run_by_make() {
    let root = foobar_tools::repo_root().unwrap();
    let makefile = std::fs::read_to_string(root.join("Makefile")).unwrap();
    let groups: Vec<&str> = makefile
        .lines()
        .find_map(|line| line.strip_prefix("STACK_TESTS := "))
        .expect("STACK_TESTS in the Makefile")
        .split_whitespace()
        .collect();
    let main = std::fs::read_to_string(root.join("tests/tests/stack/main.rs")).unwrap();
    let modules = main
        .lines()
        .filter_map(|line| line.strip_prefix("mod ")?.strip_suffix(';'))
        .filter(|module| !["helpers", "cluster", "dns"].contains(module));

    for module in modules {
        assert!(groups.contains(&module), "{module} is not in STACK_TESTS");
    }
    assert!(makefile.contains("--ignored --test-threads=1 --nocapture cluster::"));
    assert!(makefile.contains("-- dns::"));
}
