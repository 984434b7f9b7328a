//! The hardening docs/security.md promises, read from the running containers and the database
//! rather than from docker-compose.yml: what Docker and PostgreSQL actually enforce.

use std::process::Command;

use foobar_tools::stack::{compose_ok, in_db, psql};
use serde_json::Value;

/// Every running service: the site's three, and the monitoring's when it runs.
fn services() -> Vec<String> {
    let running = compose_ok(&["ps", "--services", "--status", "running"]).unwrap();
    let services: Vec<String> = running.lines().map(str::to_owned).collect();
    for site in ["web", "app", "db"] {
        assert!(
            services.iter().any(|s| s == site),
            "{site} runs: {services:?}"
        );
    }
    services
}

/// `docker inspect` of the running container of `service`.
fn inspect(service: &str) -> Value {
    let id = compose_ok(&["ps", "-q", service]).unwrap();
    assert!(!id.is_empty(), "{service} runs");
    let output = Command::new("docker")
        .args(["inspect", id.lines().next().unwrap()])
        .output()
        .expect("run docker inspect");
    assert!(output.status.success());
    let all: Value = serde_json::from_slice(&output.stdout).unwrap();
    all[0].clone()
}

/// The uid a process in `service`'s container runs as.
fn uid_in(service: &str) -> u32 {
    compose_ok(&["exec", "-T", service, "id", "-u"])
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
#[ignore = "needs a running stack: make test runs it on a stack of its own"]
fn every_container_drops_all_capabilities_cannot_gain_privileges_and_has_a_read_only_root() {
    for service in &services() {
        let host = &inspect(service)["HostConfig"];

        assert_eq!(host["CapDrop"], serde_json::json!(["ALL"]), "{service}");
        assert!(
            host["CapAdd"].as_array().is_none_or(Vec::is_empty),
            "{service} adds no capability: {}",
            host["CapAdd"]
        );
        assert_eq!(host["Privileged"], false, "{service}");
        assert!(
            host["SecurityOpt"]
                .as_array()
                .unwrap()
                .iter()
                .any(|opt| opt == "no-new-privileges:true"),
            "{service}: {}",
            host["SecurityOpt"]
        );
        assert_eq!(host["ReadonlyRootfs"], true, "{service}");
        // The root filesystem refuses a write, whoever tries.
        let wrote = compose_ok(&["exec", "-T", service, "touch", "/hardening-probe"]);
        assert!(wrote.is_err(), "{service}'s root filesystem took a write");
    }
}

#[test]
#[ignore = "needs a running stack: make test runs it on a stack of its own"]
fn every_container_runs_as_a_user_other_than_root_with_memory_and_process_limits() {
    for service in &services() {
        let container = inspect(service);
        let user = container["Config"]["User"].as_str().unwrap_or_default();

        assert!(!user.is_empty() && !user.starts_with("root") && !user.starts_with("0"));
        assert_ne!(uid_in(service), 0, "{service} runs as root");
        assert!(
            container["HostConfig"]["Memory"].as_i64().unwrap_or(0) > 0,
            "{service} has a memory limit"
        );
        assert!(
            container["HostConfig"]["PidsLimit"].as_i64().unwrap_or(0) > 0,
            "{service} has a process limit"
        );
    }
}

#[test]
#[ignore = "needs a running stack: make test runs it on a stack of its own"]
fn the_database_password_is_in_no_container_setting() {
    let password = compose_ok(&["exec", "-T", "app", "cat", "/run/secrets/db_password"]).unwrap();
    assert!(password.trim().len() >= 8, "the app reads its password");

    for service in &services() {
        let inspected = inspect(service).to_string();
        assert!(
            !inspected.contains(password.trim()),
            "docker inspect {service} shows the database password"
        );
    }
}

#[test]
#[ignore = "needs a running stack: make test runs it on a stack of its own"]
fn the_apps_role_is_no_superuser_and_the_superuser_cannot_log_in_over_the_network() {
    let role = psql(
        "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user",
    )
    .unwrap();
    assert_eq!(role.trim(), "f|f|f", "superuser, create role, create db");
    // The app's own connections use that role, and only it.
    let users = psql(
        "SELECT DISTINCT usename FROM pg_stat_activity WHERE backend_type = 'client backend' \
         AND usename IS NOT NULL AND pid <> pg_backend_pid()",
    )
    .unwrap();
    let app_role = psql("SELECT current_user").unwrap();
    assert_eq!(users.trim(), app_role.trim(), "roles connected");

    // postgres over TCP, with the only password there is: refused.
    let output = in_db(
        r#"psql -X -h 127.0.0.1 -U postgres -d postgres -c 'SELECT 1'"#,
        &[],
    )
    .unwrap()
    .output()
    .unwrap();
    assert!(!output.status.success(), "postgres logged in over TCP");
}
