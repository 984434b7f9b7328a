//! Integration tests: the real server, in-process on a free port, against a fresh PostgreSQL
//! database per test (`tools/test-db start` starts the server; `TEST_DATABASE_URL` points at
//! it). Without `TEST_DATABASE_URL` the tests that need it pass without running, after one
//! note on stderr saying how to run them; in CI (`CI` set, and not `0` or `false`) they fail.

mod accounts;
mod admin;
mod connection;
mod database_outage;
mod helpers;
mod idempotency;
mod methods;
mod metrics;
mod operations;
mod posts;
mod shutdown;
