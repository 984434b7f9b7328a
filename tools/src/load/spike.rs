//! Auto-scaling through a traffic spike (cluster/autoscaler): `GET /api/posts/{id}` through the
//! load balancers' virtual IP at a base rate, then at a spike rate, then at the base rate again,
//! sent by oha in segments of a few seconds; the hosts running the app counted each second
//! meanwhile. Three runs: the app fixed on one host, fixed on three, and auto-scaled from one
//! (`cluster/hosts autoscale on`). Saved as `spike.json`, `spike.md` and `spike.svg` (a
//! [`SpikeReport`]).
//!
//! The run signs up an account of its own and seeds a post to read; both are deleted at the
//! end, auto-scaling is turned off and the app put back on every host, however the run ends.

use std::fmt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

use super::oha::{self, Measurement, Pacing};
use super::scale::{cluster_hosts, seeded_read};
use super::USER_PREFIX;
use crate::interrupt::{with_cleanup, Interrupt};
use crate::plot::{self, Plot, Scale, Svg, Swatch};
use crate::site::Account;
use crate::{markdown, stack};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
pub enum RunKind {
    /// The app on one host throughout.
    #[value(name = "fixed-1")]
    #[serde(rename = "fixed-1")]
    Fixed1,
    /// The app on three hosts throughout.
    #[value(name = "fixed-3")]
    #[serde(rename = "fixed-3")]
    Fixed3,
    /// From one host, the autoscaler deciding.
    #[value(name = "auto")]
    #[serde(rename = "auto")]
    Auto,
}

impl fmt::Display for RunKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunKind::Fixed1 => "fixed at 1 app host",
            RunKind::Fixed3 => "fixed at 3 app hosts",
            RunKind::Auto => "auto-scaled from 1",
        })
    }
}

#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct SpikeConfig {
    /// Base URL of the site: the cluster's virtual IP, `https://CLUSTER_VIP` (`make
    /// cluster-spike` passes it, and the CA in FOOBAR_CA_FILE). Requests go to www.foobar.com
    /// at that address.
    #[arg(long)]
    pub url: String,

    /// The runs, in this order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "fixed-1,fixed-3,auto"
    )]
    pub runs: Vec<RunKind>,

    /// Requests a second before and after the spike: what one app host serves well.
    #[arg(long, default_value_t = 300.0, value_parser = crate::cli::positive)]
    pub base_rate: f64,

    /// Requests a second during the spike: more than one app host's quota serves well.
    #[arg(long, default_value_t = 2400.0, value_parser = crate::cli::positive)]
    pub spike_rate: f64,

    /// Seconds at the base rate before the spike.
    #[arg(long, default_value_t = 30)]
    pub before_secs: u64,

    /// Seconds the spike lasts.
    #[arg(long, default_value_t = 180)]
    pub spike_secs: u64,

    /// Seconds at the base rate after it: longer than the autoscaler's scale-down window (300 s
    /// by default), its CPU rate (30 s) and a pass or two (15 s each), so the scale-down is seen.
    #[arg(long, default_value_t = 420)]
    pub after_secs: u64,

    /// Seconds each oha run lasts: the resolution of the latency over time.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub segment_secs: u64,

    /// Connections oha may use: enough never to hold the rate back.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,

    /// Directory of spike.json, spike.md and spike.svg [default: $REPORTS, else
    /// <repo>/target/reports].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// One oha run of a timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Seconds since the run's start.
    pub at_s: f64,
    pub offered_rps: f64,
    pub measured: Measurement,
}

/// One run: its segments, and the app hosts counted each second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub kind: RunKind,
    pub spike_at_s: f64,
    pub spike_end_s: f64,
    pub segments: Vec<Segment>,
    /// (seconds since the run's start, hosts running a healthy app task)
    pub app_hosts: Vec<(f64, u32)>,
}

impl Run {
    /// Requests sent, and those that failed (not 2xx, or no answer).
    pub fn requests(&self) -> (u64, u64) {
        (self.segments.iter()).fold((0, 0), |(sent, failed), s| {
            (sent + s.measured.requests, failed + s.measured.errors)
        })
    }

    /// The highest p99 of the segments from `from_s` to `to_s`.
    pub fn worst_p99_ms(&self, from_s: f64, to_s: f64) -> Option<f64> {
        (self.segments.iter())
            .filter(|s| s.at_s >= from_s && s.at_s < to_s)
            .filter_map(|s| s.measured.p99_ms)
            .max_by(f64::total_cmp)
    }

    fn hosts_at(&self, at_s: f64) -> Option<u32> {
        (self.app_hosts.iter())
            .take_while(|(t, _)| *t <= at_s)
            .last()
            .map(|&(_, n)| n)
    }

    /// Seconds from the spike until more hosts ran the app than when it began.
    pub fn capacity_added_after_s(&self) -> Option<f64> {
        let before = self.hosts_at(self.spike_at_s)?;
        (self.app_hosts.iter())
            .find(|&&(t, n)| t >= self.spike_at_s && n > before)
            .map(|&(t, _)| t - self.spike_at_s)
    }

    /// How often the number of hosts running the app changed: scale events, and any task lost
    /// or restarted between two counts (flapping shows here).
    pub fn host_changes(&self) -> usize {
        (self.app_hosts.windows(2))
            .filter(|pair| pair[0].1 != pair[1].1)
            .count()
    }

    /// Seconds from the spike's end until as few hosts ran the app as before the spike.
    pub fn scaled_back_after_s(&self) -> Option<f64> {
        let before = self.hosts_at(self.spike_at_s)?;
        self.capacity_added_after_s()?;
        (self.app_hosts.iter())
            .find(|&&(t, n)| t >= self.spike_end_s && n <= before)
            .map(|&(t, _)| t - self.spike_end_s)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpikeReport {
    pub started_at: String,
    pub config: SpikeConfig,
    pub post_id: i64,
    pub runs: Vec<Run>,
}

fn secs(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.0} s"))
}

fn ms(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.0} ms"))
}

impl SpikeReport {
    fn rows(&self) -> Vec<Vec<String>> {
        (self.runs.iter())
            .map(|run| {
                let (sent, failed) = run.requests();
                vec![
                    run.kind.to_string(),
                    ms(run.worst_p99_ms(0.0, run.spike_at_s)),
                    ms(run.worst_p99_ms(run.spike_at_s, run.spike_end_s)),
                    ms(run.worst_p99_ms(run.spike_end_s, f64::INFINITY)),
                    format!(
                        "{} of {}",
                        markdown::count((sent - failed) as f64),
                        markdown::count(sent as f64)
                    ),
                    secs(run.capacity_added_after_s()),
                    secs(run.scaled_back_after_s()),
                    run.host_changes().to_string(),
                ]
            })
            .collect()
    }

    const HEADER: [&'static str; 8] = [
        "run",
        "worst p99 before",
        "worst p99 in the spike",
        "worst p99 after",
        "requests served (2xx)",
        "capacity added after the spike began",
        "scaled back after it ended",
        "app host count changes",
    ];

    pub fn out_dir(&self) -> Result<PathBuf> {
        self.config.out.clone().map_or_else(crate::reports_dir, Ok)
    }

    pub fn write(&self) -> Result<Vec<PathBuf>> {
        crate::write_report(&self.out_dir()?, "spike", self, &self.svg())
    }

    /// One panel per run on one time axis: p99 of each segment (log), the offered rate, and
    /// the app hosts, each against its own scale.
    fn svg(&self) -> String {
        const WIDTH: f64 = 900.0;
        const LEFT: f64 = 70.0;
        const RIGHT: f64 = 700.0;
        const PANEL: f64 = 170.0;
        const TOP: f64 = 60.0;
        let height = TOP + PANEL * self.runs.len() as f64 + 20.0;
        let c = &self.config;
        let title = format!(
            "A spike through the virtual IP: GET /api/posts/{{id}} at {} req/s, {} req/s for {} s, then {} req/s",
            c.base_rate, c.spike_rate, c.spike_secs, c.base_rate
        );
        let mut svg = Svg::new(
            WIDTH,
            height,
            LEFT,
            &[
                &title,
                "p99 of each segment (log, left); offered req/s and app hosts (right, own scales)",
            ],
        );
        let end = (self.runs.iter())
            .flat_map(|r| r.segments.last().map(|s| s.at_s + c.segment_secs as f64))
            .fold(1.0, f64::max);
        let p99s =
            (self.runs.iter()).flat_map(|r| r.segments.iter().filter_map(|s| s.measured.p99_ms));
        let y = Scale::log(p99s);
        for (i, run) in self.runs.iter().enumerate() {
            let top = TOP + PANEL * i as f64;
            let plot = Plot::new(
                (LEFT, RIGHT),
                (top + 14.0, top + PANEL - 30.0),
                Scale::seconds(end),
                y,
            );
            svg.rect(
                (plot.px(run.spike_at_s), plot.top),
                (
                    plot.px(run.spike_end_s) - plot.px(run.spike_at_s),
                    plot.bottom - plot.top,
                ),
                r##"fill="#d62728" fill-opacity="0.06""##,
            );
            svg.axes(&plot, "time since the run's start (s)", "p99 (ms)");
            svg.text(
                (LEFT, top + 8.0),
                r#"font-weight="bold""#,
                &run.kind.to_string(),
            );
            let p99: Vec<(f64, f64)> = (run.segments.iter())
                .filter_map(|s| {
                    Some(plot.at(s.at_s + c.segment_secs as f64 / 2.0, s.measured.p99_ms?))
                })
                .collect();
            svg.polyline(&p99, plot::series(0));
            // The offered rate and the hosts on linear scales of their own, drawn in the same box.
            let share = |v: f64, max: f64| {
                plot.bottom - (plot.bottom - plot.top) * (v / max).clamp(0.0, 1.0)
            };
            let rate: Vec<(f64, f64)> = (run.segments.iter())
                .flat_map(|s| {
                    let y = share(s.offered_rps, c.spike_rate * 1.1);
                    [
                        (plot.px(s.at_s), y),
                        (plot.px(s.at_s + c.segment_secs as f64), y),
                    ]
                })
                .collect();
            svg.polyline(&rate, plot::series(2));
            let mut hosts = Vec::new();
            for w in run.app_hosts.windows(2) {
                let y = share(f64::from(w[0].1), 3.3);
                hosts.push((plot.px(w[0].0), y));
                hosts.push((plot.px(w[1].0), y));
            }
            svg.polyline(&hosts, plot::series(1));
            for n in 1..=3 {
                svg.text(
                    (RIGHT + 4.0, share(f64::from(n), 3.3) + 3.0),
                    &format!(r#"fill="{}""#, plot::series(1)),
                    &format!("{n} host{}", if n == 1 { "" } else { "s" }),
                );
            }
        }
        let legend = [
            (Swatch::Line(plot::series(0)), "p99 (ms, log)".to_string()),
            (
                Swatch::Line(plot::series(2)),
                format!("offered (0-{:.0} req/s)", c.spike_rate * 1.1),
            ),
            (
                Swatch::Line(plot::series(1)),
                "hosts running the app".to_string(),
            ),
        ];
        svg.legend((RIGHT + 60.0, TOP + 20.0), &legend);
        svg.finish()
    }
}

impl markdown::Page for SpikeReport {
    fn title(&self) -> String {
        let c = &self.config;
        if c.spike_rate == c.base_rate {
            // The flapping check: a spike that is no spike.
            format!(
                "A steady load on the cluster, {} req/s for {} s: foobar-spike",
                c.base_rate,
                c.before_secs + c.spike_secs + c.after_secs
            )
        } else {
            format!(
                "A traffic spike on the cluster, {} req/s to {} for {} s and back: foobar-spike",
                c.base_rate, c.spike_rate, c.spike_secs
            )
        }
    }

    fn started_at(&self) -> Option<&str> {
        Some(&self.started_at)
    }

    fn markdown(&self) -> String {
        markdown::table(&Self::HEADER, self.rows())
    }
}

impl fmt::Display for SpikeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        writeln!(
            f,
            "spike through {}: {} req/s, then {} req/s for {} s, then {} req/s ({} s segments)",
            c.url, c.base_rate, c.spike_rate, c.spike_secs, c.base_rate, c.segment_secs
        )?;
        for row in self.rows() {
            writeln!(f)?;
            for (name, value) in Self::HEADER.iter().zip(row) {
                writeln!(f, "  {name:<38} {value}")?;
            }
        }
        Ok(())
    }
}

/// How many hosts run a healthy app task now.
fn app_hosts_running() -> u32 {
    let Ok(script) = crate::repo_root().map(|root| root.join("cluster/hosts")) else {
        return 0;
    };
    (1..=3)
        .filter(|n| {
            Command::new(&script)
                .args(["docker", &n.to_string(), "ps", "-q"])
                .args(["--filter", "label=com.docker.swarm.service.name=foobar_app"])
                .args(["--filter", "health=healthy"])
                .output()
                .is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
        })
        .count() as u32
}

/// Signs up, seeds the post, runs each timeline; then deletes the account, turns auto-scaling
/// off and puts the app back on every host, however the run ended.
pub fn run(config: SpikeConfig, interrupt: &Interrupt) -> Result<SpikeReport> {
    let started_at = chrono::Utc::now();
    let marker = super::marker(&format!("{:x}", started_at.timestamp_millis()));
    let account = Account::random(USER_PREFIX)?;
    let result = measure_all(config, &marker, &account, interrupt);
    interrupt.announce(
        "turning auto-scaling off, the app back on every host, deleting the run's account",
    );
    let restored =
        cluster_hosts(&["autoscale", "off"]).and_then(|()| cluster_hosts(&["app-hosts", "3"]));
    let deleted = stack::delete_tool_account(USER_PREFIX, &account.username)
        .map(drop)
        .with_context(|| format!("deleting the run's account {}", account.username));
    let mut report = with_cleanup(result, restored.and(deleted))?;
    report.started_at = started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    Ok(report)
}

fn measure_all(
    config: SpikeConfig,
    marker: &str,
    account: &Account,
    interrupt: &Interrupt,
) -> Result<SpikeReport> {
    let (read, post_id) = seeded_read(&config.url, marker, account, interrupt)?;
    let mut runs = Vec::new();
    for &kind in &config.runs {
        interrupt.check()?;
        eprintln!("run: {kind}");
        cluster_hosts(&["app-hosts", if kind == RunKind::Fixed3 { "3" } else { "1" }])?;
        if kind == RunKind::Auto {
            cluster_hosts(&["autoscale", "on"])?;
        }
        runs.push(timeline(kind, &config, &read, interrupt)?);
        if kind == RunKind::Auto {
            cluster_hosts(&["autoscale", "off"])?;
        }
    }
    Ok(SpikeReport {
        started_at: String::new(),
        config,
        post_id,
        runs,
    })
}

/// One run: the base rate, the spike, the base rate, segment after segment, with the app hosts
/// counted each second by a thread of its own.
fn timeline(
    kind: RunKind,
    config: &SpikeConfig,
    read: &oha::Request,
    interrupt: &Interrupt,
) -> Result<Run> {
    let start = Instant::now();
    let counts = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(AtomicBool::new(false));
    let counter = {
        let (counts, done) = (Arc::clone(&counts), Arc::clone(&done));
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let n = app_hosts_running();
                counts
                    .lock()
                    .unwrap()
                    .push((start.elapsed().as_secs_f64(), n));
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    let spike_at = config.before_secs as f64;
    let spike_end = spike_at + config.spike_secs as f64;
    let end = spike_end + config.after_secs as f64;
    let mut segments = Vec::new();
    let result = (|| loop {
        let at_s = start.elapsed().as_secs_f64();
        if at_s >= end {
            return Ok(());
        }
        let offered_rps = if (spike_at..spike_end).contains(&at_s) {
            config.spike_rate
        } else {
            config.base_rate
        };
        let pacing = Pacing::Fixed {
            rps: offered_rps,
            connections: config.connections,
        };
        let measured = oha::run(
            read,
            pacing,
            Duration::from_secs(config.segment_secs),
            interrupt,
        )?;
        eprintln!(
                "{kind}: {at_s:>5.0} s  {offered_rps:>5.0} req/s offered, p99 {}, {} failed, {} app host(s)",
                ms(measured.p99_ms),
                measured.errors,
                counts.lock().unwrap().last().map_or(0, |&(_, n)| n)
            );
        segments.push(Segment {
            at_s,
            offered_rps,
            measured,
        });
    })();
    done.store(true, Ordering::Relaxed);
    let _ = counter.join();
    result.map(|()| Run {
        kind,
        spike_at_s: spike_at,
        spike_end_s: spike_end,
        segments,
        app_hosts: counts.lock().unwrap().clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with_hosts(app_hosts: Vec<(f64, u32)>) -> Run {
        Run {
            kind: RunKind::Auto,
            spike_at_s: 30.0,
            spike_end_s: 210.0,
            segments: Vec::new(),
            app_hosts,
        }
    }

    #[test]
    fn capacity_is_added_when_more_hosts_run_than_at_the_spike_and_back_when_as_few() {
        let run = run_with_hosts(vec![
            (0.0, 1),
            (29.0, 1),
            (64.0, 2),
            (90.0, 3),
            (400.0, 3),
            (500.0, 1),
        ]);
        assert_eq!(run.capacity_added_after_s(), Some(34.0));
        assert_eq!(run.scaled_back_after_s(), Some(290.0));
    }

    #[test]
    fn every_change_of_the_host_count_is_counted_once() {
        let run = run_with_hosts(vec![
            (0.0, 1),
            (1.0, 1),
            (2.0, 2),
            (3.0, 3),
            (4.0, 3),
            (5.0, 1),
        ]);
        assert_eq!(run.host_changes(), 3);
        assert_eq!(run_with_hosts(vec![(0.0, 1), (1.0, 1)]).host_changes(), 0);
    }

    #[test]
    fn a_fixed_run_adds_nothing_and_scales_nothing_back() {
        let run = run_with_hosts(vec![(0.0, 3), (100.0, 3), (300.0, 3)]);
        assert_eq!(run.capacity_added_after_s(), None);
        assert_eq!(run.scaled_back_after_s(), None);
    }

    #[test]
    fn run_kinds_are_named_on_the_command_line_as_in_the_report() {
        let config: SpikeConfig =
            crate::cli::try_parse(&["--url", "http://192.0.2.100", "--runs", "auto,fixed-1"])
                .unwrap();
        assert_eq!(config.runs, [RunKind::Auto, RunKind::Fixed1]);
        assert_eq!(
            serde_json::to_string(&RunKind::Fixed3).unwrap(),
            "\"fixed-3\""
        );
    }
}
