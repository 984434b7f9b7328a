//! Driving `oha` (the load generator): its command line, and its JSON output read into a
//! [`Measurement`].

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::interrupt::Interrupt;
use crate::stack::checked;
use crate::SITE_HOST;

/// One kind of request, as oha sends it over and over (oha cannot vary the body).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: &'static str,
    pub url: String,
    /// The `Cookie` header, e.g. a session.
    pub cookie: Option<String>,
    /// JSON.
    pub body: Option<String>,
}

/// How oha paces the requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// Open loop: `rps` requests a second on schedule, over up to `connections` connections.
    /// Latency counts from when each request was due, not when it went out (latency
    /// correction), so a backlog shows up as latency instead of being hidden by oha waiting.
    Fixed { rps: f64, connections: u32 },
    /// Closed loop: `connections` connections, each sending its next request as soon as the
    /// answer arrives; measures the most the server can take at that concurrency.
    Closed { connections: u32 },
}

/// oha's arguments for sending `request` for `duration` at `pacing`.
pub fn args(request: &Request, pacing: Pacing, duration: Duration) -> Vec<String> {
    args_trusting(request, pacing, duration, crate::site::site_ca().as_deref())
}

/// An `https://` URL at an address (`https://127.0.0.1:8443/...`) is sent to the site's name at
/// that address, as a browser would (SNI and the certificate's check ask for www.foobar.com),
/// trusting `ca` beside the system's CAs. Other URLs pass as they are.
fn over_tls(url: &str, ca: Option<&Path>) -> (Vec<String>, String) {
    let mut args = Vec::new();
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return (args, url.to_owned());
    };
    if parsed.scheme() != "https" {
        return (args, url.to_owned());
    }
    if let Some(ca) = ca {
        args.extend(["--cacert".into(), ca.display().to_string()]);
    }
    let host = parsed.host_str().unwrap_or_default().to_owned();
    if host != SITE_HOST && parsed.set_host(Some(SITE_HOST)).is_ok() {
        let port = parsed.port_or_known_default().unwrap_or(443);
        args.extend([
            "--connect-to".into(),
            format!(
                "{SITE_HOST}:{port}:{}:{port}",
                host.trim_matches(['[', ']'])
            ),
        ]);
    }
    (args, parsed.into())
}

fn args_trusting(
    request: &Request,
    pacing: Pacing,
    duration: Duration,
    ca: Option<&Path>,
) -> Vec<String> {
    let (tls, url) = over_tls(&request.url, ca);
    let mut args: Vec<String> = vec![
        "--no-tui".into(),
        "--output-format".into(),
        "json".into(),
        // oha reads durations with humantime, which takes no fractions: whole milliseconds.
        "-z".into(),
        format!("{}ms", duration.as_millis()),
        "-H".into(),
        format!("Host: {SITE_HOST}"),
        "-m".into(),
        request.method.into(),
    ];
    match pacing {
        Pacing::Fixed { rps, connections } => args.extend([
            "-q".into(),
            format!("{rps}"),
            "--latency-correction".into(),
            "-c".into(),
            connections.to_string(),
        ]),
        Pacing::Closed { connections } => args.extend(["-c".into(), connections.to_string()]),
    }
    if let Some(cookie) = &request.cookie {
        args.extend(["-H".into(), format!("Cookie: {cookie}")]);
    }
    if let Some(body) = &request.body {
        args.extend([
            "-T".into(),
            "application/json".into(),
            "-d".into(),
            body.clone(),
        ]);
    }
    args.extend(tls);
    args.push(url);
    args
}

/// Runs `oha ARGS` and reads its report; stops it at a signal.
pub fn run(
    request: &Request,
    pacing: Pacing,
    duration: Duration,
    interrupt: &Interrupt,
) -> Result<Measurement> {
    let what = || format!("oha {} {}", request.method, request.url);
    let output = interrupt
        .output(Command::new("oha").args(args(request, pacing, duration)))
        .context("running oha (install it: cargo install oha --locked)")?;
    let stdout = checked(&output, what)?;
    parse(stdout.as_bytes()).with_context(|| format!("reading the report of {}", what()))
}

/// What one oha run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// 2xx answers a second: the throughput that counts.
    pub achieved_rps: f64,
    /// Answered or failed; requests still in flight at the end are not counted.
    pub requests: u64,
    /// Answers other than 2xx, and requests that got no answer.
    pub errors: u64,
    /// Latency percentiles of the answers; none if nothing answered.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p99_9_ms: Option<f64>,
}

impl Measurement {
    /// Errors as a fraction of the requests (0 when there were none).
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }
}

/// The parts of oha's `--output-format json` report used here.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    summary: Summary,
    /// In seconds.
    latency_percentiles: Percentiles,
    status_code_distribution: BTreeMap<u16, u64>,
    /// Count per error message, for requests that got no answer.
    error_distribution: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
struct Summary {
    /// Seconds the run took.
    total: f64,
}

#[derive(Deserialize)]
struct Percentiles {
    p50: Option<f64>,
    p99: Option<f64>,
    #[serde(rename = "p99.9")]
    p99_9: Option<f64>,
}

/// With `-z`, oha cuts the requests still in flight at the deadline and reports them under this
/// error. They are an artefact of stopping, not a failure of the server.
const CUT_AT_DEADLINE: &str = "aborted due to deadline";

/// Reads oha's JSON report.
pub fn parse(json: &[u8]) -> Result<Measurement, serde_json::Error> {
    let report: Report = serde_json::from_slice(json)?;
    let ok: u64 = report
        .status_code_distribution
        .iter()
        .filter(|(status, _)| (200..300).contains(*status))
        .map(|(_, count)| count)
        .sum();
    let answered: u64 = report.status_code_distribution.values().sum();
    let unanswered: u64 = report
        .error_distribution
        .iter()
        .filter(|(message, _)| message.as_str() != CUT_AT_DEADLINE)
        .map(|(_, count)| count)
        .sum();
    let ms = |seconds: Option<f64>| seconds.map(|s| s * 1000.0);
    Ok(Measurement {
        achieved_rps: if report.summary.total > 0.0 {
            ok as f64 / report.summary.total
        } else {
            0.0
        },
        requests: answered + unanswered,
        errors: answered - ok + unanswered,
        p50_ms: ms(report.latency_percentiles.p50),
        p99_ms: ms(report.latency_percentiles.p99),
        p99_9_ms: ms(report.latency_percentiles.p99_9),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approx(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6 * b.abs().max(1.0)
    }

    #[test]
    fn fixed_rate_args() {
        let request = Request {
            method: "POST",
            url: "http://127.0.0.1:8080/api/posts".into(),
            cookie: Some("foobar_session=abc".into()),
            body: Some(r#"{"a":1}"#.into()),
        };
        let pacing = Pacing::Fixed {
            rps: 400.0,
            connections: 64,
        };
        assert_eq!(
            args(&request, pacing, Duration::from_millis(2500)).join(" "),
            "--no-tui --output-format json -z 2500ms -H Host: www.foobar.com -m POST \
             -q 400 --latency-correction -c 64 -H Cookie: foobar_session=abc \
             -T application/json -d {\"a\":1} \
             http://127.0.0.1:8080/api/posts"
        );
    }

    #[test]
    fn closed_loop_args() {
        let request = Request {
            method: "GET",
            url: "http://127.0.0.1:18000/api/posts/7".into(),
            cookie: None,
            body: None,
        };
        let args = args(
            &request,
            Pacing::Closed { connections: 16 },
            Duration::from_secs(10),
        );
        assert_eq!(
            args.join(" "),
            "--no-tui --output-format json -z 10000ms -H Host: www.foobar.com -m GET -c 16 \
             http://127.0.0.1:18000/api/posts/7"
        );
    }

    #[test]
    fn an_https_url_at_an_address_goes_to_the_site_name_there_trusting_the_ca() {
        let request = Request {
            method: "GET",
            url: "https://10.88.0.100/api/posts/7".into(),
            cookie: None,
            body: None,
        };
        let args = args_trusting(
            &request,
            Pacing::Closed { connections: 2 },
            Duration::from_secs(1),
            Some(Path::new("/x/ca.pem")),
        );
        assert_eq!(
            args.join(" "),
            "--no-tui --output-format json -z 1000ms -H Host: www.foobar.com -m GET -c 2 \
             --cacert /x/ca.pem --connect-to www.foobar.com:443:10.88.0.100:443 \
             https://www.foobar.com/api/posts/7"
        );
    }

    #[test]
    fn reads_a_clean_run() {
        let m = parse(include_bytes!("testdata/oha-ok.json")).unwrap();
        assert_eq!((m.requests, m.errors), (1999, 0));
        assert!(approx(m.achieved_rps, 1999.0 / 2.006869989));
        assert!(approx(m.p50_ms.unwrap(), 0.795763));
        assert!(approx(m.p99_ms.unwrap(), 52.776859));
        assert!(approx(m.p99_9_ms.unwrap(), 80.92765));
    }

    #[test]
    fn counts_other_statuses_as_errors_but_not_requests_cut_at_the_deadline() {
        let m = parse(include_bytes!("testdata/oha-404.json")).unwrap();
        assert_eq!((m.requests, m.errors), (1000, 1000));
        assert_eq!(m.achieved_rps, 0.0);
        assert_eq!(m.error_rate(), 1.0);
        assert!(m.p99_ms.is_some(), "404s are answers, with a latency");
    }

    #[test]
    fn counts_refused_connections_as_errors_without_latency() {
        let m = parse(include_bytes!("testdata/oha-refused.json")).unwrap();
        assert_eq!((m.requests, m.errors), (1000, 1000));
        assert_eq!((m.p50_ms, m.p99_ms, m.p99_9_ms), (None, None, None));
    }

    #[test]
    fn no_requests_no_error_rate() {
        let m = Measurement {
            achieved_rps: 0.0,
            requests: 0,
            errors: 0,
            p50_ms: None,
            p99_ms: None,
            p99_9_ms: None,
        };
        assert_eq!(m.error_rate(), 0.0);
    }
}
