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
mod slow_clients;
mod smoke;
mod spof;
