//! Integration tests: the real server, in-process on a free port, against a fresh PostgreSQL
//! database per test (`make test-db` starts the server; `TEST_DATABASE_URL` points at it).

mod database_outage;
mod helpers;
mod idempotency;
mod operations;
mod posts;
