//! Cost per request: each tier's throughput beside its own ceiling, in one run.
//!
//! The guestbook page from a bare nginx on the host ([`bare`]), from the stack's nginx inside
//! the web container's network namespace, and through the published port; `GET /api/posts/{id}`
//! from the app inside its namespace, through its own published port (tools/compose.load.yml),
//! and through the whole stack; and `pgbench -S` in the db container. All closed loop with `wrk`
//! ([`wrk`]) over keep-alive connections, each figure the median of several runs taken in
//! interleaved rounds (so that drift on the host touches every figure alike), with each tier's
//! CPU per request from its cgroup ([`cpu`]). Saved as `bench.json` (a [`BenchReport`]).
//!
//! The run signs up an account of its own (`foobar-bench-XXXXXXXX`) to write the post it reads;
//! the account, the post and the pgbench database are removed at the end, however it ends.

pub mod bare;
mod config;
pub mod cpu;
pub mod s_time;
pub mod wrk;

use std::path::PathBuf;
use std::time::Duration;
use std::{fmt, thread};

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

pub use config::Config;

use crate::interrupt::{with_cleanup, Interrupt};
use crate::load::pgbench;
use crate::site::Account;
use crate::{compose_ok, markdown, stack, Site};

/// The prefix of the account each run signs up (`foobar-bench-XXXXXXXX`).
pub const USER_PREFIX: &str = "foobar-bench";

/// Ports inside the containers (nginx.conf's `listen`, the app's `APP_PORT`).
const WEB_PORT: u16 = 8080;
const APP_PORT: u16 = 8000;

/// Unmeasured load on each HTTP figure first: the app's pool grows on demand.
const WARM_UP: Duration = Duration::from_secs(1);

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Case {
    PageBare,
    PageWebNetns,
    PageStack,
    PageStackTls,
    PageStackNewConnection,
    PageStackTlsNewConnection,
    TlsFullHandshake,
    ReadAppNetns,
    ReadAppPublished,
    ReadStack,
    ReadStackTls,
    Pgbench,
}

impl Case {
    pub const ALL: [Case; 12] = [
        Case::PageBare,
        Case::PageWebNetns,
        Case::PageStack,
        Case::PageStackTls,
        Case::PageStackNewConnection,
        Case::PageStackTlsNewConnection,
        Case::TlsFullHandshake,
        Case::ReadAppNetns,
        Case::ReadAppPublished,
        Case::ReadStack,
        Case::ReadStackTls,
        Case::Pgbench,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Case::PageBare => "page: bare nginx on the host",
            Case::PageWebNetns => "page: stack's nginx, inside web's netns",
            Case::PageStack => "page: through the published port",
            Case::PageStackTls => "page: HTTPS, through the published port",
            Case::PageStackNewConnection => "page: a new connection per request",
            Case::PageStackTlsNewConnection => {
                "page: HTTPS, a new connection per request, session resumed"
            }
            Case::TlsFullHandshake => {
                "HTTPS, a new connection per request, full handshake (s_time: 421, no SNI)"
            }
            Case::ReadAppNetns => "GET /api/posts/{id}: app, inside its netns",
            Case::ReadAppPublished => "GET /api/posts/{id}: app, its published port",
            Case::ReadStack => "GET /api/posts/{id}: through the stack",
            Case::ReadStackTls => "GET /api/posts/{id}: HTTPS, through the stack",
            Case::Pgbench => "pgbench -S in the db container (TCP)",
        }
    }

    fn is_page(self) -> bool {
        matches!(
            self,
            Case::PageBare
                | Case::PageWebNetns
                | Case::PageStack
                | Case::PageStackTls
                | Case::PageStackNewConnection
                | Case::PageStackTlsNewConnection
                | Case::TlsFullHandshake
        )
    }

    /// A new connection per request (`Connection: close`).
    fn new_connections(self) -> bool {
        matches!(
            self,
            Case::PageStackNewConnection | Case::PageStackTlsNewConnection
        )
    }

    /// Measured from inside a container's network namespace (needs root, for nsenter).
    fn in_netns(self) -> bool {
        matches!(self, Case::PageWebNetns | Case::ReadAppNetns)
    }
}

/// The ratios the report gives: (numerator, denominator, what it says, target).
pub const RATIOS: [(Case, Case, &str, Option<f64>); 10] = [
    (
        Case::PageStack,
        Case::PageBare,
        "page: stack / bare nginx",
        Some(0.6),
    ),
    (
        Case::PageWebNetns,
        Case::PageBare,
        "page: stack's nginx in its netns / bare",
        None,
    ),
    (
        Case::PageStack,
        Case::PageWebNetns,
        "page: published port / in the netns",
        None,
    ),
    (
        Case::ReadStack,
        Case::ReadAppPublished,
        "read: stack / app published",
        Some(0.8),
    ),
    (
        Case::ReadAppPublished,
        Case::ReadAppNetns,
        "read: app published / in its netns",
        None,
    ),
    (
        Case::ReadStack,
        Case::Pgbench,
        "read: stack / pgbench -S",
        Some(0.35),
    ),
    (
        Case::PageStackTls,
        Case::PageStack,
        "page: HTTPS / HTTP, keep-alive",
        None,
    ),
    (
        Case::ReadStackTls,
        Case::ReadStack,
        "read: HTTPS / HTTP, keep-alive",
        None,
    ),
    (
        Case::PageStackTlsNewConnection,
        Case::PageStackNewConnection,
        "page, a connection per request: HTTPS / HTTP",
        None,
    ),
    (
        Case::TlsFullHandshake,
        Case::PageStackTlsNewConnection,
        "HTTPS, a connection per request: full handshake / resumed",
        None,
    ),
];

/// One figure: its runs, their median and spread, and the CPU split of the median run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Figure {
    pub case: Case,
    pub what: String,
    pub url: Option<String>,
    pub connections: u32,
    /// Requests (transactions) a second, one per run, in the order they ran.
    pub runs: Vec<f64>,
    pub median: f64,
    /// (slowest − fastest) / median, percent: the noise.
    pub spread_pct: f64,
    /// Latency of the median run (wrk's; none for pgbench).
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Failed answers over all runs (must be 0: the run fails otherwise).
    pub errors: u64,
    /// CPU µs per request of each container and of the rest of the host, in the median run.
    pub cpu: Option<cpu::PerRequest>,
    /// Why it was not measured.
    pub skipped: Option<String>,
}

/// `of` / `over`: the ratio of their medians, and the ratio within each round (the two ran
/// minutes apart at most, so drift of the host cancels out), whose spread is the ratio's noise.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ratio {
    pub what: String,
    pub of: Case,
    pub over: Case,
    pub value: Option<f64>,
    pub per_round: Vec<f64>,
    pub per_round_spread_pct: f64,
    pub target: Option<f64>,
}

/// A run as saved in `bench.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchReport {
    pub started_at: String,
    pub cores: usize,
    pub config: Config,
    pub rounds: u32,
    pub secs: u32,
    pub post_id: i64,
    pub figures: Vec<Figure>,
    pub ratios: Vec<Ratio>,
}

/// Runs the benchmark; removes the run's account and post and the pgbench database however it
/// ends. Progress goes to stderr, a line per run.
pub fn run(config: Config, interrupt: &Interrupt) -> Result<BenchReport> {
    let started_at = chrono::Utc::now();
    let account = Account::random(USER_PREFIX)?;
    let result = measure_all(config, &account, interrupt);
    interrupt.announce("deleting the run's account and post, and dropping the pgbench database");
    let deleted = stack::delete_tool_account(USER_PREFIX, &account.username)
        .map(drop)
        .with_context(|| format!("deleting the run's account {}", account.username));
    let dropped = stack::drop_pgbench_database().context("dropping the pgbench database");
    let mut report = with_cleanup(result, deleted.and(dropped))?;
    report.started_at = started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    Ok(report)
}

/// The main process of Compose service `service`'s container.
fn container_pid(service: &str) -> Result<u32> {
    let id = compose_ok(&["ps", "-q", service])?;
    let id = id
        .lines()
        .next()
        .with_context(|| format!("no {service} container (make up)"))?;
    let output = std::process::Command::new("docker")
        .args(["inspect", "-f", "{{.State.Pid}}", id])
        .output()
        .context("running docker inspect")?;
    let pid = stack::checked(&output, || format!("docker inspect {service}"))?;
    pid.parse()
        .with_context(|| format!("{service}'s pid: {pid:?}"))
}

/// One run of a case: requests a second, wrk's run (none for pgbench), the CPU split.
type Measured = (f64, Option<wrk::Run>, Option<cpu::PerRequest>);

/// How a case is run.
enum Target {
    Wrk { url: String, place: wrk::Place },
    STime { addr: String },
    Pgbench,
    Skipped(String),
}

fn measure_all(config: Config, account: &Account, interrupt: &Interrupt) -> Result<BenchReport> {
    let (rounds, secs) = config.plan();
    let duration = Duration::from_secs(secs.into());
    let post_id = crate::cli::block_on(async {
        config.urls.wait_until_up("bench").await?;
        let site = Site::new(&config.urls.url)?;
        eprintln!(
            "signing up {} and writing the post to read",
            account.username
        );
        let session = site.sign_up_until(account, Duration::from_secs(60)).await?;
        let post =
            serde_json::json!({ "title": "Benchmark", "body": "The post make bench reads." });
        let response = site
            .signed_in(&session)
            .post_json("/api/posts", &post)
            .await?;
        if response.status() != reqwest::StatusCode::CREATED {
            bail!("POST /api/posts answered {}", response.status());
        }
        response.json::<serde_json::Value>().await?["id"]
            .as_i64()
            .context("the created post has no id")
    })?;
    eprintln!("preparing the pgbench database in the db container");
    pgbench::init(interrupt)?;
    eprintln!("starting a bare nginx on the host");
    let bare = bare::BareNginx::start(config.threads)?;

    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let counters: Vec<cpu::Counter> = ["web", "app", "db"]
        .iter()
        .filter_map(|service| cpu::Counter::of(service, container_pid(service).ok()?))
        .collect();
    let read = format!("/api/posts/{post_id}");
    let target = |case: Case| -> Result<Target> {
        if case.in_netns() && !root {
            return Ok(Target::Skipped(
                "needs root (nsenter into the container's netns)".into(),
            ));
        }
        let netns = |service| -> Result<wrk::Place> {
            Ok(wrk::Place::NetnsOf {
                pid: container_pid(service)?,
            })
        };
        Ok(match case {
            Case::PageBare => Target::Wrk {
                url: bare.url(),
                place: wrk::Place::Host,
            },
            Case::PageWebNetns => Target::Wrk {
                url: format!("http://127.0.0.1:{WEB_PORT}/"),
                place: netns("web")?,
            },
            Case::PageStack => Target::Wrk {
                url: format!("{}/", config.urls.url),
                place: wrk::Place::Host,
            },
            Case::ReadAppNetns => Target::Wrk {
                url: format!("http://127.0.0.1:{APP_PORT}{read}"),
                place: netns("app")?,
            },
            Case::ReadAppPublished => Target::Wrk {
                url: format!("{}{read}", config.urls.direct_url),
                place: wrk::Place::Host,
            },
            Case::ReadStack => Target::Wrk {
                url: format!("{}{read}", config.urls.url),
                place: wrk::Place::Host,
            },
            Case::PageStackTls | Case::PageStackTlsNewConnection => Target::Wrk {
                url: format!("{}/", config.tls_url),
                place: wrk::Place::Host,
            },
            Case::PageStackNewConnection => Target::Wrk {
                url: format!("{}/", config.urls.url),
                place: wrk::Place::Host,
            },
            Case::ReadStackTls => Target::Wrk {
                url: format!("{}{read}", config.tls_url),
                place: wrk::Place::Host,
            },
            Case::TlsFullHandshake => Target::STime {
                addr: host_port(&config.tls_url)?,
            },
            Case::Pgbench => Target::Pgbench,
        })
    };
    let targets: Vec<(Case, Target)> = Case::ALL
        .iter()
        .map(|&case| Ok((case, target(case)?)))
        .collect::<Result<_>>()?;
    let connections = |case: Case| {
        if case.is_page() {
            config.page_connections
        } else {
            config.read_connections
        }
    };
    let load = |case: Case, url: &str, duration| wrk::Load {
        url: url.to_owned(),
        connections: connections(case),
        threads: config.threads,
        duration,
        close: case.new_connections(),
    };

    let handshakes = |case: Case, addr: &str, duration| s_time::Load {
        addr: addr.to_owned(),
        processes: connections(case),
        duration,
    };

    eprintln!("warming up: {} s of each", WARM_UP.as_secs());
    for (case, target) in &targets {
        match target {
            Target::Wrk { url, place } => {
                wrk::run(&load(*case, url, WARM_UP), *place, interrupt)?;
            }
            Target::STime { addr } => {
                s_time::run(&handshakes(*case, addr, WARM_UP), interrupt)?;
            }
            Target::Pgbench | Target::Skipped(_) => {}
        }
    }

    let mut runs: Vec<Vec<Measured>> = vec![Vec::new(); targets.len()];
    for round in 1..=rounds {
        for (i, (case, target)) in targets.iter().enumerate() {
            let before = cpu::snapshot(&counters);
            let (rps, run, requests) = match target {
                Target::Skipped(_) => continue,
                Target::Wrk { url, place } => {
                    let run = wrk::run(&load(*case, url, duration), *place, interrupt)?;
                    if run.errors > 0 {
                        bail!(
                            "{}: {} of {} requests failed ({url})",
                            case.label(),
                            run.errors,
                            run.requests
                        );
                    }
                    (run.rps, Some(run.clone()), run.requests)
                }
                Target::STime { addr } => {
                    let run = s_time::run(&handshakes(*case, addr, duration), interrupt)?;
                    (run.per_sec, None, run.connections)
                }
                Target::Pgbench => {
                    let tps = pgbench::select_tps(config.read_connections, duration, interrupt)?;
                    (tps, None, (tps * f64::from(secs)) as u64)
                }
            };
            let after = cpu::snapshot(&counters);
            let split = cpu::per_request(&counters, &before, &after, requests);
            eprintln!("round {round}/{rounds} {}: {rps:.0}/s", case.label());
            runs[i].push((rps, run, split));
        }
    }
    drop(bare);

    let figures: Vec<Figure> = targets
        .iter()
        .zip(runs)
        .map(|((case, target), runs)| figure(*case, target, connections(*case), runs))
        .collect();
    let measured = |case: Case| {
        figures
            .iter()
            .find(|f| f.case == case && f.skipped.is_none())
    };
    let ratios = RATIOS
        .iter()
        .map(|&(of, over, what, target)| {
            let (a, b) = (measured(of), measured(over));
            let per_round: Vec<f64> = a
                .zip(b)
                .map(|(a, b)| a.runs.iter().zip(&b.runs).map(|(a, b)| a / b).collect())
                .unwrap_or_default();
            Ratio {
                what: what.to_owned(),
                of,
                over,
                value: a.zip(b).map(|(a, b)| a.median / b.median),
                per_round_spread_pct: spread_pct(&per_round),
                per_round,
                target,
            }
        })
        .collect();
    Ok(BenchReport {
        started_at: String::new(),
        cores: thread::available_parallelism().map_or(1, |n| n.get()),
        config,
        rounds,
        secs,
        post_id,
        figures,
        ratios,
    })
}

/// `host:port` of an `https://` URL, for s_time.
fn host_port(url: &str) -> Result<String> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("{url} is not a URL"))?;
    let host = parsed
        .host_str()
        .with_context(|| format!("{url} has no host"))?;
    let port = parsed
        .port_or_known_default()
        .with_context(|| format!("{url} has no port"))?;
    Ok(format!("{host}:{port}"))
}

/// The median of `values` (the mean of the middle two for an even count); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The lowest and highest of `values`; none when empty.
pub fn range(values: &[f64]) -> Option<(f64, f64)> {
    let first = *values.first()?;
    Some(
        values
            .iter()
            .fold((first, first), |(l, h), &v| (l.min(v), h.max(v))),
    )
}

/// (slowest − fastest) / median of `values`, percent.
pub fn spread_pct(values: &[f64]) -> f64 {
    range(values).map_or(0.0, |(low, high)| 100.0 * (high - low) / median(values))
}

fn figure(case: Case, target: &Target, connections: u32, runs: Vec<Measured>) -> Figure {
    let rates: Vec<f64> = runs.iter().map(|(rps, ..)| *rps).collect();
    let median = median(&rates);
    // The run nearest the median speaks for the latency and the CPU split.
    let typical = runs
        .iter()
        .min_by(|a, b| (a.0 - median).abs().total_cmp(&(b.0 - median).abs()));
    let wrk_run = typical.and_then(|(_, run, _)| run.as_ref());
    Figure {
        case,
        what: case.label().to_owned(),
        url: match target {
            Target::Wrk { url, .. } => Some(url.clone()),
            Target::STime { addr } => Some(addr.clone()),
            _ => None,
        },
        connections,
        median,
        spread_pct: spread_pct(&rates),
        runs: rates,
        p50_ms: wrk_run.map(|r| r.p50_ms),
        p99_ms: wrk_run.map(|r| r.p99_ms),
        errors: runs
            .iter()
            .filter_map(|(_, run, _)| run.as_ref().map(|r| r.errors))
            .sum(),
        cpu: typical.and_then(|(.., split)| split.clone()),
        skipped: match target {
            Target::Skipped(why) => Some(why.clone()),
            _ => None,
        },
    }
}

impl BenchReport {
    /// The containers whose CPU the figures split, in their order.
    fn container_names(&self) -> Vec<&str> {
        (self.figures.iter())
            .find_map(|fig| fig.cpu.as_ref())
            .map(|cpu| {
                cpu.containers
                    .iter()
                    .map(|(name, _)| name.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `--out`, else [`crate::reports_dir`].
    pub fn out_dir(&self) -> Result<PathBuf> {
        self.config.out.clone().map_or_else(crate::reports_dir, Ok)
    }

    /// Writes `bench.json` and `bench.md` into [`Self::out_dir`]; returns their paths.
    pub fn write(&self) -> Result<Vec<PathBuf>> {
        crate::write_json(&self.out_dir()?, "bench", self)
    }
}

impl markdown::Page for BenchReport {
    fn title(&self) -> String {
        "Cost per request: foobar-bench".into()
    }

    fn started_at(&self) -> Option<&str> {
        Some(&self.started_at)
    }

    /// The figures and the ratios, as docs/cost.md gives them.
    fn markdown(&self) -> String {
        let names = self.container_names();
        let cpu_header = format!("CPU µs per request: {} / rest = total", names.join(" / "));
        let figures = self.figures.iter().map(|fig| {
            if let Some(why) = &fig.skipped {
                return vec![
                    fig.what.clone(),
                    fig.connections.to_string(),
                    format!("skipped: {why}"),
                    String::new(),
                    String::new(),
                    String::new(),
                ];
            }
            let unit = if fig.case == Case::Pgbench {
                " tps"
            } else {
                ""
            };
            let cpu = fig.cpu.as_ref().map_or(String::new(), |cpu| {
                // A tier the request does not reach still spends a little (healthchecks).
                let us = |us: f64| {
                    if us < 0.5 {
                        "–".into()
                    } else {
                        format!("{us:.1}")
                    }
                };
                let tiers: Vec<String> =
                    cpu.containers.iter().map(|(_, spent)| us(*spent)).collect();
                format!(
                    "{} / {} = {:.1}",
                    tiers.join(" / "),
                    us(cpu.rest_us),
                    cpu.total_us
                )
            });
            vec![
                fig.what.clone(),
                fig.connections.to_string(),
                format!("{}{unit}", markdown::count(fig.median)),
                format!("{:.1}%", fig.spread_pct),
                fig.p99_ms
                    .map_or(String::new(), |p99| markdown::latency(Some(p99))),
                cpu,
            ]
        });
        let ratios = self.ratios.iter().map(|ratio| {
            let value = markdown::ratio(ratio.value);
            let verdict = match (ratio.value, ratio.target) {
                (Some(value), Some(target)) if value >= target => format!("≥ {target}: **met**"),
                (Some(_), Some(target)) => format!("≥ {target}: **not met**"),
                (None, Some(target)) => format!("≥ {target}: not measured"),
                (_, None) => String::new(),
            };
            vec![
                ratio.what.clone(),
                if ratio.target.is_some() {
                    format!("**{value}**")
                } else {
                    value
                },
                range(&ratio.per_round)
                    .map_or(String::new(), |(low, high)| format!("{low:.2}–{high:.2}")),
                verdict,
            ]
        });
        markdown::table(
            &[
                "what",
                "connections",
                &format!("req/s (median of {})", self.rounds),
                "spread",
                "p99",
                &cpu_header,
            ],
            figures,
        ) + &markdown::table(&["ratio", "median", "within a round", "target"], ratios)
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "closed loop, median of {} runs of {} s each, {} cores shared by wrk and the stack",
            self.rounds, self.secs, self.cores
        )?;
        let names = self.container_names();
        write!(
            f,
            "{:<46} {:>4} {:>9} {:>7} {:>7}   CPU µs/request:",
            "what", "conn", "req/s", "spread", "p99 ms"
        )?;
        for name in &names {
            write!(f, " {name:>5}")?;
        }
        writeln!(f, " {:>5} {:>5}", "rest", "total")?;
        for fig in &self.figures {
            if let Some(why) = &fig.skipped {
                writeln!(f, "{:<46} skipped: {why}", fig.what)?;
                continue;
            }
            write!(
                f,
                "{:<46} {:>4} {:>9.0} {:>6.1}% {:>7}                 ",
                fig.what,
                fig.connections,
                fig.median,
                fig.spread_pct,
                fig.p99_ms.map_or("-".into(), |ms| format!("{ms:.2}"))
            )?;
            if let Some(cpu) = &fig.cpu {
                for (_, us) in &cpu.containers {
                    write!(f, " {us:>5.1}")?;
                }
                write!(f, " {:>5.1} {:>5.1}", cpu.rest_us, cpu.total_us)?;
            }
            writeln!(f)?;
        }
        writeln!(
            f,
            "\nratios of the medians (in brackets: the lowest and highest ratio within one round)"
        )?;
        for ratio in &self.ratios {
            let value = ratio.value.map_or("-".into(), |v| format!("{v:.2}"));
            let range = range(&ratio.per_round)
                .map_or(String::new(), |(low, high)| format!("[{low:.2}–{high:.2}]"));
            let verdict = match (ratio.value, ratio.target) {
                (Some(value), Some(target)) if value >= target => format!("target ≥ {target}: met"),
                (Some(_), Some(target)) => format!("target ≥ {target}: NOT met"),
                (None, Some(target)) => format!("target ≥ {target}: not measured"),
                (_, None) => String::new(),
            };
            writeln!(f, "  {:<44} {value:>5} {range:>11}   {verdict}", ratio.what)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn markdown_gives_the_figures_and_ratios_as_docs_cost_does() {
        let figure = |case: Case, median: f64, containers: [f64; 3]| Figure {
            case,
            what: case.label().into(),
            url: None,
            connections: 64,
            runs: vec![median * 0.98, median, median * 1.02],
            median,
            spread_pct: 4.0,
            p50_ms: Some(1.0),
            p99_ms: Some(9.5),
            errors: 0,
            cpu: Some(cpu::PerRequest {
                containers: ["web", "app", "db"]
                    .into_iter()
                    .map(String::from)
                    .zip(containers)
                    .collect(),
                rest_us: 33.5,
                total_us: 34.2,
            }),
            skipped: None,
        };
        let report = BenchReport {
            started_at: "2026-11-22T03:00:00Z".into(),
            cores: 2,
            config: crate::cli::try_parse(&[]).unwrap(),
            rounds: 5,
            secs: 5,
            post_id: 7,
            figures: vec![
                figure(Case::PageBare, 58439.0, [0.3, 0.2, 0.2]),
                figure(Case::PageStack, 49997.0, [17.2, 0.1, 0.1]),
            ],
            ratios: vec![Ratio {
                what: "page: stack / bare nginx".into(),
                of: Case::PageStack,
                over: Case::PageBare,
                value: Some(0.86),
                per_round: vec![0.82, 0.95],
                per_round_spread_pct: 15.0,
                target: Some(0.6),
            }],
        };

        let text = markdown::Page::markdown(&report);

        for expected in [
            "| what | connections | req/s (median of 5) | spread | p99 | CPU µs per request: web / app / db / rest = total |",
            "| page: bare nginx on the host | 64 | 58 439 | 4.0% | 9.5 ms | – / – / – / 33.5 = 34.2 |",
            "| page: through the published port | 64 | 49 997 | 4.0% | 9.5 ms | 17.2 / – / – / 33.5 = 34.2 |",
            "| page: stack / bare nginx | **0.86** | 0.82–0.95 | ≥ 0.6: **met** |",
        ] {
            assert!(text.lines().any(|line| line == expected), "{expected:?} in\n{text}");
        }
    }

    #[test]
    fn spread_is_the_range_over_the_median() {
        assert_eq!(spread_pct(&[90.0, 100.0, 110.0]), 20.0);
        assert_eq!(spread_pct(&[100.0]), 0.0);
    }
}
