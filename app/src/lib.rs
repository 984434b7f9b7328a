//! The application server of www.foobar.com: a small guestbook API on actix-web, diesel and
//! PostgreSQL. `main.rs` only loads configuration and calls into this library, so integration
//! tests run the very same server in-process.

pub mod admin;
pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod healthcheck;
pub mod logging;
pub mod metrics;
pub mod middleware;
pub mod routes;
pub mod schema;
pub mod startup;
