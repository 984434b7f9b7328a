//! What the monitoring noticed: the notifications Alertmanager sent to the stack's default
//! receiver, alert-log, read back from its log (one JSON line per webhook). The drills time a
//! fault's detection with them, and the tests check the right alert arrives. The log is
//! Compose's alert-log's, or, when `FOOBAR_ALERT_LOG` is set, what that command prints (the
//! cluster's: `cluster/hosts alert-log`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result};
use serde::Deserialize;

use crate::stack::{checked, compose_ok, exec_in, exec_override};

const ALERT_LOG: &str = "FOOBAR_ALERT_LOG";

/// One alert in one notification: its name and labels, whether it fires or was resolved, and
/// when alert-log received it.
#[derive(Debug, Clone)]
pub struct Notice {
    pub alertname: String,
    pub firing: bool,
    pub labels: BTreeMap<String, String>,
    /// Seconds since the Unix epoch, at the receiver.
    pub received: f64,
}

#[derive(Deserialize)]
struct Line {
    received: f64,
    webhook: Webhook,
}

#[derive(Deserialize)]
struct Webhook {
    alerts: Vec<Alert>,
}

#[derive(Deserialize)]
struct Alert {
    status: String,
    labels: BTreeMap<String, String>,
}

/// Seconds since the Unix epoch now, as alert-log writes them.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |now| now.as_secs_f64())
}

/// Whether the stack runs its monitoring (`make up MONITORING=1`): alert-log has a container.
/// Always, for a stack named by `FOOBAR_ALERT_LOG` (the cluster runs it always).
pub fn monitoring_runs() -> bool {
    exec_override(ALERT_LOG).is_some()
        || compose_ok(&["ps", "-q", "alert-log"]).is_ok_and(|id| !id.is_empty())
}

/// Every alert alert-log received at `since` (Unix seconds) or later, oldest first.
pub fn notices_since(since: f64) -> Result<Vec<Notice>> {
    let log = match exec_override(ALERT_LOG) {
        Some(exec) => {
            let output = exec_in(Some(&exec), "alert-log", &[])?
                .output()
                .with_context(|| format!("running {ALERT_LOG}={exec}"))?;
            checked(&output, || format!("{ALERT_LOG}={exec}"))?
        }
        None => compose_ok(&["logs", "--no-log-prefix", "alert-log"])?,
    };
    let mut notices = parse(&log, since)?;
    // Several receivers' logs (the cluster runs two) come one after the other: put them in the
    // order they arrived.
    notices.sort_by(|a, b| a.received.total_cmp(&b.received));
    Ok(notices)
}

fn parse(log: &str, since: f64) -> Result<Vec<Notice>> {
    let mut notices = Vec::new();
    // Compose may start a line with a terminal control sequence (ESC [2K), even into a pipe.
    for line in log
        .lines()
        .filter_map(|line| line.find('{').map(|at| &line[at..]))
    {
        let line: Line =
            serde_json::from_str(line).with_context(|| format!("alert-log wrote {line:?}"))?;
        if line.received < since {
            continue;
        }
        for alert in line.webhook.alerts {
            notices.push(Notice {
                alertname: alert.labels.get("alertname").cloned().unwrap_or_default(),
                firing: alert.status == "firing",
                labels: alert.labels,
                received: line.received,
            });
        }
    }
    Ok(notices)
}

/// The first notice since `since` for which `wanted` holds, waiting up to `timeout` for it.
pub fn wait_for(
    since: f64,
    timeout: Duration,
    wanted: impl Fn(&Notice) -> bool,
) -> Result<Option<Notice>> {
    poll(since, timeout, |notices| {
        notices.iter().find(|n| wanted(n)).cloned()
    })
}

/// Reads the notices since `since` every half second until `check` finds what it looks for
/// in them, or `timeout` passes (`None`).
pub fn poll<T>(
    since: f64,
    timeout: Duration,
    mut check: impl FnMut(&[Notice]) -> Option<T>,
) -> Result<Option<T>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = check(&notices_since(since)?) {
            return Ok(Some(found));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_line_gives_one_notice_per_alert_and_older_lines_are_skipped() {
        let log = concat!(
            r#"{"received":100.5,"webhook":{"alerts":[{"status":"firing","labels":{"alertname":"Old"}}]}}"#,
            "\n\x1b[2K",
            r#"{"received":200.25,"webhook":{"status":"firing","alerts":["#,
            r#"{"status":"firing","labels":{"alertname":"DatabaseDown","instance":"pe:9187"}},"#,
            r#"{"status":"resolved","labels":{"alertname":"SiteDown","probe":"api"}}]}}"#,
            "\n"
        );

        let notices = parse(log, 150.0).unwrap();

        assert_eq!(notices.len(), 2);
        assert_eq!(notices[0].alertname, "DatabaseDown");
        assert!(notices[0].firing);
        assert_eq!(notices[0].received, 200.25);
        assert_eq!(notices[1].labels["probe"], "api");
        assert!(!notices[1].firing);
    }

    #[test]
    fn a_line_that_is_not_a_webhook_is_an_error_naming_it() {
        let err = parse(r#"{"received":1}"#, 0.0).unwrap_err();

        assert!(format!("{err:#}").contains("alert-log wrote"), "{err:#}");
    }
}
