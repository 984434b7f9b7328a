//! The monitoring profile (`make up MONITORING=1`; `make test` runs it on its stack): every
//! target scraped, every rule loaded, nothing of it reachable through the site, and a fault
//! that reaches the receiver as the right alert, then as resolved.

use std::process::Command;
use std::time::{Duration, Instant};

use foobar_tools::alerts::{self, unix_now};
use foobar_tools::{compose_ok, Site};
use serde_json::Value;

/// GET of `path` from Prometheus, where the stack publishes it (127.0.0.1:PROMETHEUS_PORT);
/// must answer 200.
async fn prometheus_get(path: &str) -> reqwest::Response {
    let port = std::env::var("PROMETHEUS_PORT").unwrap_or_else(|_| "9090".to_owned());
    let url = format!("http://127.0.0.1:{port}{path}");
    let response = reqwest::get(&url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    assert_eq!(response.status(), 200, "{url}");
    response
}

/// Prometheus's API: the `data` of a successful answer.
async fn prometheus(path: &str) -> Value {
    let body: Value = prometheus_get(path).await.json().await.unwrap();
    assert_eq!(body["status"], "success", "{path}: {body}");
    body["data"].clone()
}

fn assert_monitoring_runs() {
    assert!(
        alerts::monitoring_runs(),
        "the stack runs without its monitoring: make up MONITORING=1"
    );
}

#[tokio::test]
#[ignore = "needs a running stack with MONITORING=1: make test runs it on a stack of its own"]
async fn every_target_is_scraped_and_every_alert_rule_is_loaded() {
    assert_monitoring_runs();
    let jobs = [
        "prometheus",
        "alertmanager",
        "app",
        "nginx",
        "postgres",
        "node",
        "blackbox",
    ];

    // Scrapes every 5 s; a fresh stack's exporters may need a few rounds.
    let started = Instant::now();
    let mut down = Vec::new();
    while started.elapsed() < Duration::from_secs(60) {
        let targets = prometheus("/api/v1/targets?state=active").await;
        let active = targets["activeTargets"].as_array().unwrap().clone();
        down = active
            .iter()
            .filter(|t| t["health"] != "up")
            .map(|t| {
                format!(
                    "{} {}: {}",
                    t["labels"]["job"], t["scrapeUrl"], t["lastError"]
                )
            })
            .collect();
        let seen: Vec<&str> = active
            .iter()
            .filter_map(|t| t["labels"]["job"].as_str())
            .collect();
        if down.is_empty() && jobs.iter().all(|job| seen.contains(job)) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    assert!(down.is_empty(), "targets down after 60 s: {down:#?}");
    // The four probes (the page, API and database over HTTPS, the certificate checked against
    // the site's CA; plain HTTP's redirect) see the site up through nginx, and the
    // certificate's end far off.
    let probes = prometheus("/api/v1/query?query=probe_success").await;
    let probes = probes["result"].as_array().unwrap();
    assert_eq!(probes.len(), 4, "{probes:#?}");
    assert!(probes.iter().all(|p| p["value"][1] == "1"), "{probes:#?}");
    let left = prometheus(
        "/api/v1/query?query=probe_ssl_earliest_cert_expiry%7Bprobe%3D%22page%22%7D-time()",
    )
    .await;
    let left: f64 = left["result"][0]["value"][1]
        .as_str()
        .unwrap_or_else(|| panic!("the HTTPS probe reports its certificate's end: {left:#?}"))
        .parse()
        .unwrap();
    assert!(left > 30.0 * 86400.0, "the certificate ends in {left} s");

    let rules_file = std::fs::read_to_string(
        foobar_tools::repo_root()
            .unwrap()
            .join("monitoring/rules/alerts.yml"),
    )
    .unwrap();
    let written: Vec<&str> = rules_file
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- alert: "))
        .collect();
    let rules = prometheus("/api/v1/rules?type=alert").await;
    let loaded: Vec<&str> = rules["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|group| group["rules"].as_array().unwrap())
        .filter_map(|rule| rule["name"].as_str())
        .collect();
    assert!(!written.is_empty());
    let (mut loaded, mut written) = (loaded, written);
    loaded.sort_unstable();
    written.sort_unstable();
    assert_eq!(loaded, written);
}

#[tokio::test]
#[ignore = "needs a running stack with MONITORING=1: make test runs it on a stack of its own"]
async fn the_golden_signals_page_shows_every_tier_with_figures() {
    assert_monitoring_runs();
    // Traffic for the app's rate.
    let site = Site::from_env().unwrap();
    for _ in 0..20 {
        site.get("/api/posts?limit=1").await.unwrap();
    }
    const ROWS: [&str; 5] = [
        "site",
        "web: nginx",
        "app: API",
        "database: PostgreSQL",
        "hosts",
    ];
    // The rows of the page that lack a figure (a dash: no series yet).
    let lacking = |page: &str| -> Vec<String> {
        ROWS.iter()
            .filter(|row| {
                let cells = page
                    .split("<tr>")
                    .find(|r| r.contains(&format!("<td>{row}")))
                    .unwrap_or("");
                cells.matches("</a></td>").count() == 0 || cells.contains(">–</a>")
            })
            .map(|row| (*row).to_owned())
            .collect()
    };

    // Rates need two scrapes of each exporter, 5 s apart, after their first: poll for a minute.
    let started = Instant::now();
    let mut page = String::new();
    while started.elapsed() < Duration::from_secs(60) {
        page = prometheus_get("/consoles/golden-signals.html")
            .await
            .text()
            .await
            .unwrap();
        if lacking(&page).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    // A template that fails renders an error, not the table; every tier has its row, and the
    // one-server stack's series give figures, not dashes, in each row but the cluster's.
    assert!(page.contains("<table>"), "{page}");
    assert_eq!(lacking(&page), Vec::<String>::new(), "{page}");
}

#[tokio::test]
#[ignore = "needs a running stack with MONITORING=1: make test runs it on a stack of its own"]
async fn monitoring_is_not_reachable_through_the_site_and_its_uis_listen_on_loopback() {
    assert_monitoring_runs();
    let site = Site::from_env().unwrap();

    for path in ["/stub_status", "/metrics", "/api/metrics"] {
        let response = site.get(path).await.unwrap();
        assert_eq!(response.status(), 404, "{path} through the site");
    }
    for service in ["prometheus", "alertmanager"] {
        let id = compose_ok(&["ps", "-q", service]).unwrap();
        let output = Command::new("docker")
            .args([
                "inspect",
                "--format",
                "{{json .HostConfig.PortBindings}}",
                &id,
            ])
            .output()
            .unwrap();
        let bindings: Value = serde_json::from_slice(&output.stdout).unwrap();
        let hosts: Vec<&Value> = bindings
            .as_object()
            .unwrap()
            .values()
            .flat_map(|b| b.as_array().unwrap())
            .map(|b| &b["HostIp"])
            .collect();
        assert!(!hosts.is_empty(), "{service} publishes its UI");
        assert!(
            hosts.iter().all(|ip| *ip == "127.0.0.1"),
            "{service}: {bindings}"
        );
    }
}

/// Bound on a stopped database's alert reaching the receiver: scrapes and evaluations every
/// 5 s, the rule's 10 s `for`, Alertmanager's 1 s group wait, so about 21 s at worst on an idle
/// host; twice that for a loaded two-core machine.
pub const DETECT_WITHIN: Duration = Duration::from_secs(45);
/// Resolution adds Alertmanager's 10 s group interval, and PostgreSQL's start-up.
const RESOLVE_WITHIN: Duration = Duration::from_secs(60);

#[test]
#[ignore = "needs a running stack with MONITORING=1: make test runs it on a stack of its own"]
// Named to run last of the group (libtest runs a group in name order): the others see a
// settled site.
fn the_stopped_database_reaches_the_receiver_as_database_down_then_resolved() {
    assert_monitoring_runs();
    let before = unix_now();

    compose_ok(&["stop", "db"]).unwrap();
    let stopped = unix_now();
    let restore = || compose_ok(&["up", "-d", "--wait", "db"]).unwrap();
    // The fault happened: no db container runs.
    if !compose_ok(&["ps", "-q", "db"]).unwrap().is_empty() {
        restore();
        panic!("db still runs after docker compose stop");
    }
    let fired = alerts::wait_for(before, DETECT_WITHIN, |n| {
        n.firing && n.alertname == "DatabaseDown"
    });
    let back = unix_now();
    restore();
    let fired = fired.unwrap().unwrap_or_else(|| {
        panic!(
            "no DatabaseDown within {DETECT_WITHIN:?}; received: {:#?}",
            alerts::notices_since(before)
        )
    });
    println!(
        "DatabaseDown fired {:.1} s after the stop",
        fired.received - stopped
    );

    let resolved = alerts::wait_for(back, RESOLVE_WITHIN, |n| {
        !n.firing && n.alertname == "DatabaseDown"
    })
    .unwrap()
    .unwrap_or_else(|| {
        panic!(
            "DatabaseDown not resolved within {RESOLVE_WITHIN:?} of the restart; received: {:#?}",
            alerts::notices_since(before)
        )
    });
    println!("resolved {:.1} s after the start", resolved.received - back);
    // The site itself is back for the tests after this one.
    let ready = tokio::runtime::Runtime::new().unwrap().block_on(async {
        Site::from_env()
            .unwrap()
            .wait_for_ok("/api/ready", Duration::from_secs(30))
            .await
    });
    assert!(ready, "the site is ready again after the database's return");
}
