//! The scalability limit of the one-host stack, measured with standard tools.
//!
//! First, for scale, one read at one concurrency in a closed loop through the whole stack,
//! straight to the app, and as `pgbench -S` in the database ([`Comparison`]). Then for each
//! endpoint `oha` offers a fixed rate in steps that grow until the stack saturates ([`ramp`]);
//! the knee is the highest rate still answered with p99 under 50 ms and no errors.
//! A run is saved as `load.json` (a [`LoadReport`]) and `load.svg`; over HTTPS as `load-https.*`.
//!
//! Then sign-ins, straight to the app ([`sign_in`]): their ramp, what one costs, and reads
//! during a flood of them.
//!
//! The run leaves the user's data as it found it: it signs up an account of its own
//! (`foobar-load-XXXXXXXX`), whose posts (seeded and ramped) and sessions are deleted with it at
//! the end, and the pgbench database is dropped, also when the run fails or is interrupted.

mod config;
pub mod oha;
pub mod pgbench;
pub mod ramp;
pub mod scale;
pub mod sign_in;
pub mod spike;
pub mod svg;

use std::path::PathBuf;
use std::time::Duration;
use std::{fmt, thread};

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

pub use config::{Config, Plan};
use oha::{Measurement, Pacing, Request};
use ramp::{Ramp, Step};

use crate::interrupt::{with_cleanup, Interrupt};
use crate::site::{Account, Session};
use crate::{markdown, stack, Site};

pub type Error = anyhow::Error;

/// The prefix of the account each run signs up and writes as (`foobar-load-XXXXXXXX`).
pub const USER_PREFIX: &str = "foobar-load";

/// The title of every post of run `run_id`.
pub fn marker(run_id: &str) -> String {
    format!("{USER_PREFIX} {run_id}")
}

/// Targets of the issue for `GET /api/posts/{id}`, printed beside the ratios (not asserted:
/// they are benchmark figures of one machine).
const DIRECT_TARGET: f64 = 0.8;
const PGBENCH_TARGET: f64 = 0.5;

/// Unmeasured load first: `make load` has just recreated the app, whose database pool starts
/// small and grows on demand.
const WARM_UP: Duration = Duration::from_secs(3);

/// Rest between runs, so that a backlog left by one does not land in the next.
const PAUSE: Duration = Duration::from_secs(1);

/// What is loaded, one ramp each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Page,
    Post,
    Posts,
    Create,
}

impl Endpoint {
    /// Reads first: the writes grow the table the reads would otherwise see grow under them.
    pub const ALL: [Endpoint; 4] = [
        Endpoint::Page,
        Endpoint::Post,
        Endpoint::Posts,
        Endpoint::Create,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Endpoint::Page => "GET /",
            Endpoint::Post => "GET /api/posts/{id}",
            Endpoint::Posts => "GET /api/posts",
            Endpoint::Create => "POST /api/posts",
        }
    }

    /// The request against `base`; `post_id` is the post that `GET /api/posts/{id}` reads,
    /// `marker` the title of the posts it creates as `session`'s user.
    pub fn request(self, base: &str, post_id: i64, marker: &str, session: &Session) -> Request {
        let (method, path, body) = match self {
            Endpoint::Page => ("GET", "/".to_owned(), None),
            Endpoint::Post => ("GET", format!("/api/posts/{post_id}"), None),
            Endpoint::Posts => ("GET", "/api/posts".to_owned(), None),
            // Identical bodies without an Idempotency-Key: each one creates a post.
            Endpoint::Create => (
                "POST",
                "/api/posts".to_owned(),
                Some(post(marker, "Posted under load.").to_string()),
            ),
        };
        Request {
            method,
            url: format!("{base}{path}"),
            cookie: (self == Endpoint::Create).then(|| session.cookie()),
            body,
        }
    }
}

/// The same read at the same concurrency, in a closed loop, three ways.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    /// oha's connections and pgbench's clients.
    pub concurrency: u32,
    pub secs: f64,
    /// `GET /api/posts/{id}` through nginx.
    pub full_stack: Measurement,
    /// The same, straight to the app.
    pub direct: Measurement,
    /// `pgbench -S` inside the db container.
    pub pgbench_tps: f64,
    pub full_stack_over_direct: f64,
    pub full_stack_over_pgbench: f64,
}

impl Comparison {
    pub fn new(
        concurrency: u32,
        secs: f64,
        full_stack: Measurement,
        direct: Measurement,
        pgbench_tps: f64,
    ) -> Comparison {
        Comparison {
            concurrency,
            secs,
            full_stack_over_direct: full_stack.achieved_rps / direct.achieved_rps,
            full_stack_over_pgbench: full_stack.achieved_rps / pgbench_tps,
            full_stack,
            direct,
            pgbench_tps,
        }
    }
}

/// A run as saved in `load.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadReport {
    /// Wall-clock start, RFC 3339.
    pub started_at: String,
    /// CPUs of the host, which the load generator, the stack and pgbench all share.
    pub cores: usize,
    pub config: Config,
    pub plan: Plan,
    /// The post that `GET /api/posts/{id}` reads.
    pub post_id: i64,
    pub ramps: Vec<Ramp>,
    pub comparison: Comparison,
    /// The account the run wrote as (deleted at the end).
    pub username: String,
    pub sign_ins: sign_in::SignIns,
}

/// A post of run `marker`, as JSON.
fn post(marker: &str, body: &str) -> serde_json::Value {
    serde_json::json!({ "title": marker, "body": body })
}

/// Runs everything against the stack: seeds posts, compares, ramps each endpoint; then deletes
/// the run's posts and drops the pgbench database, however it ended. Progress goes to stderr,
/// a line per run. A signal stops the run (and oha) at once: the error is then
/// [`crate::interrupt::Interrupted`].
pub fn run(config: Config, interrupt: &Interrupt) -> Result<LoadReport> {
    let started_at = chrono::Utc::now();
    let marker = marker(&format!("{:x}", started_at.timestamp_millis()));
    let account = Account::random(USER_PREFIX)?;
    let result = measure_all(config, &marker, &account, interrupt);
    interrupt.announce("deleting the run's account and posts, and dropping the pgbench database");
    let cleaned = clean_up(&account.username);
    let mut report = with_cleanup(result, cleaned)?;
    report.started_at = started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    Ok(report)
}

/// Deletes the run's account with its posts and sessions, and drops the pgbench database;
/// both are tried.
fn clean_up(username: &str) -> Result<()> {
    // Posts the app was still committing when oha stopped are waited for: see
    // `stack::delete_tool_account`.
    let deleted = stack::delete_tool_account(USER_PREFIX, username)
        .with_context(|| format!("deleting the run's account {username}"));
    if let Ok(count) = &deleted {
        eprintln!("deleted the run's account {username} and its {count} posts");
    }
    let dropped = stack::drop_pgbench_database().context("dropping the pgbench database");
    deleted.and(dropped)
}

fn measure_all(
    config: Config,
    marker: &str,
    account: &Account,
    interrupt: &Interrupt,
) -> Result<LoadReport> {
    let plan = config.plan();
    let duration = Duration::from_secs_f64(plan.step_secs);

    let (session, post_id) = crate::cli::block_on(async {
        config.urls.wait_until_up("load").await?;
        let site = Site::new(&config.urls.url)?;
        eprintln!(
            "signing up {} through {}",
            account.username, config.urls.url
        );
        let session = site.sign_up_until(account, Duration::from_secs(60)).await?;
        eprintln!(
            "seeding {} posts through {}",
            config.seed_posts, config.urls.url
        );
        let post_id = seed(
            &site.signed_in(&session),
            config.seed_posts,
            marker,
            interrupt,
        )
        .await?;
        Ok((session, post_id))
    })?;
    eprintln!("preparing the pgbench database in the db container");
    pgbench::init(interrupt)?;

    let closed = Pacing::Closed {
        connections: config.concurrency,
    };
    let full_stack_read = Endpoint::Post.request(&config.urls.url, post_id, marker, &session);
    let direct_read = Endpoint::Post.request(&config.urls.direct_url, post_id, marker, &session);
    eprintln!("warming up for {} s", WARM_UP.as_secs());
    oha::run(&full_stack_read, closed, WARM_UP, interrupt)?;
    let full_stack = measure(&full_stack_read, closed, duration, interrupt)?;
    let direct = measure(&direct_read, closed, duration, interrupt)?;
    eprint!("pgbench -S -c {} in the db container: ", config.concurrency);
    let pgbench_tps = pgbench::select_tps(config.concurrency, duration, interrupt)?;
    eprintln!("{pgbench_tps:.0} tps");
    interrupt.sleep_blocking(PAUSE)?;
    let comparison = Comparison::new(
        config.concurrency,
        plan.step_secs,
        full_stack,
        direct,
        pgbench_tps,
    );

    let mut ramps = Vec::new();
    let ramp_of = |label: &str, request: &Request, start: f64| {
        ramp_at_fixed_rates(label, request, start, &plan, config.connections, interrupt)
    };
    for endpoint in Endpoint::ALL {
        let request = endpoint.request(&config.urls.url, post_id, marker, &session);
        ramps.push(ramp_of(endpoint.label(), &request, plan.start_rate)?);
    }

    let requests = sign_in::Requests {
        sign_in: Request {
            method: "POST",
            url: format!("{}/api/session", config.urls.direct_url),
            cookie: None,
            body: Some(account.credentials().to_string()),
        },
        direct_read: direct_read.clone(),
        read: full_stack_read.clone(),
    };
    let start = plan.start_rate / sign_in::START_DIVISOR;
    let sign_in_ramp = ramp_of(sign_in::LABEL, &requests.sign_in, start)?;
    // The flood runs at the knee; reads at the first rate of their ramp, below every knee so far.
    let flood_rps = sign_in_ramp.knee_rps.unwrap_or(start);
    ramps.push(sign_in_ramp);
    let sign_ins = sign_in::measure(&requests, flood_rps, plan.start_rate, duration, interrupt)?;

    Ok(LoadReport {
        // Set by `run`.
        started_at: String::new(),
        cores: thread::available_parallelism().map_or(1, |n| n.get()),
        config,
        plan,
        post_id,
        ramps,
        comparison,
        username: account.username.clone(),
        sign_ins,
    })
}

/// `request` ramped as `plan` says from `start` req/s, each step at a fixed rate over up to
/// `connections` connections (see [`Ramp::run`]).
fn ramp_at_fixed_rates(
    label: &str,
    request: &Request,
    start: f64,
    plan: &Plan,
    connections: u32,
    interrupt: &Interrupt,
) -> Result<Ramp> {
    let duration = Duration::from_secs_f64(plan.step_secs);
    let rates = ramp::rates(start, plan.factor, plan.max_steps);
    Ramp::run(label, rates, |rps| {
        let pacing = Pacing::Fixed { rps, connections };
        Ok(Step {
            offered_rps: rps,
            measured: measure(request, pacing, duration, interrupt)?,
        })
    })
}

/// One oha run with a progress line, then a [`PAUSE`].
fn measure(
    request: &Request,
    pacing: Pacing,
    duration: Duration,
    interrupt: &Interrupt,
) -> Result<Measurement> {
    let offered = match pacing {
        Pacing::Fixed { rps, .. } => format!("{rps:.0} req/s"),
        Pacing::Closed { connections } => format!("closed loop, {connections} connections"),
    };
    eprint!("{} {} at {offered}: ", request.method, request.url);
    let measured = oha::run(request, pacing, duration, interrupt)?;
    eprintln!(
        "{:.0} req/s, p99 {} ms, {} errors",
        measured.achieved_rps,
        ms(measured.p99_ms),
        measured.errors
    );
    interrupt.sleep_blocking(PAUSE)?;
    Ok(measured)
}

/// Creates `count` posts titled `marker` through the site; returns the id of the last.
async fn seed(site: &Site, count: u32, marker: &str, interrupt: &Interrupt) -> Result<i64> {
    let mut id = None;
    for n in 1..=count {
        interrupt.check()?;
        let body = format!("Seed post {n}, for the reads of the load test to find.");
        let response = site
            .post_json("/api/posts", &post(marker, &body))
            .await
            .context("seeding")?;
        if response.status() != reqwest::StatusCode::CREATED {
            bail!("seeding: POST /api/posts answered {}", response.status());
        }
        id = response
            .json::<serde_json::Value>()
            .await
            .context("seeding: reading the created post")?["id"]
            .as_i64();
    }
    id.context("seeding: the created post has no id")
}

impl LoadReport {
    /// `--out`, else [`crate::reports_dir`].
    pub fn out_dir(&self) -> Result<PathBuf> {
        self.config.out.clone().map_or_else(crate::reports_dir, Ok)
    }

    /// Over HTTPS, so that a run over each scheme keeps its own report beside the other's.
    fn over_https(&self) -> bool {
        self.config.urls.url.starts_with("https:")
    }

    /// `load`, or `load-https` over HTTPS.
    pub fn name(&self) -> &'static str {
        if self.over_https() {
            "load-https"
        } else {
            "load"
        }
    }

    /// Writes `<name>.json`, `.md` and `.svg` into [`Self::out_dir`]; returns their paths.
    pub fn write(&self) -> Result<Vec<PathBuf>> {
        crate::write_report(&self.out_dir()?, self.name(), self, &svg::render(self))
    }
}

impl markdown::Page for LoadReport {
    fn title(&self) -> String {
        let over = if self.over_https() { " over HTTPS" } else { "" };
        format!("Scalability limit{over}: foobar-load")
    }

    fn started_at(&self) -> Option<&str> {
        Some(&self.started_at)
    }

    /// The knees, the closed-loop comparison and the sign-ins, as docs/load.md gives them.
    fn markdown(&self) -> String {
        let c = &self.comparison;
        let target = |value: f64, target: f64| format!("**{value:.2}** (target {target})");
        let comparison = [
            vec![
                "full stack (nginx → app → PostgreSQL)".into(),
                markdown::count(c.full_stack.achieved_rps),
                String::new(),
            ],
            vec![
                "straight to the app".into(),
                markdown::count(c.direct.achieved_rps),
                format!(
                    "full stack / app = {}",
                    target(c.full_stack_over_direct, DIRECT_TARGET)
                ),
            ],
            vec![
                format!("`pgbench -S -c {}`", c.concurrency),
                format!("{} tps", markdown::count(c.pgbench_tps)),
                format!(
                    "full stack / pgbench = {}",
                    target(c.full_stack_over_pgbench, PGBENCH_TARGET)
                ),
            ],
        ];
        let s = &self.sign_ins;
        let sign_in_knee = (self.ramps.iter())
            .find(|ramp| ramp.endpoint == sign_in::LABEL)
            .and_then(knee_and_p99)
            .map_or("none".into(), |(knee, p99)| {
                let (knee, p99) = (markdown::count(knee), markdown::latency(p99));
                format!("**{knee}** (p99 {p99})")
            });
        let sign_ins = [
            (
                "one sign-in at a time (closed loop, one connection)",
                format!(
                    "p50 **{}**, p99 {}",
                    markdown::latency(s.one_at_a_time.p50_ms),
                    markdown::latency(s.one_at_a_time.p99_ms)
                ),
            ),
            (
                "a one-query read the same way (`GET /api/posts/{id}`)",
                format!("p50 {}", markdown::latency(s.read_one_at_a_time.p50_ms)),
            ),
            (
                "so one argon2id hash costs",
                format!("**≈ {}** of a core", markdown::latency(s.hash_ms())),
            ),
            (
                "sign-ins a second at the knee (p99 < 50 ms, no errors)",
                sign_in_knee,
            ),
            (
                "`GET /api/posts/{id}` through the stack, p99",
                format!(
                    "at {} req/s: **{}** alone, **{}** during {} sign-ins a second: **{}×** \
                     (target: {}×)",
                    markdown::count(s.read_rps),
                    markdown::latency(s.read_alone.p99_ms),
                    markdown::latency(s.read_during_flood.p99_ms),
                    markdown::count(s.flood_rps),
                    markdown::ratio(s.read_p99_ratio()),
                    sign_in::READ_P99_TARGET
                ),
            ),
        ];
        let knees = (self.ramps.iter()).map(|ramp| {
            let saturated = match (ramp.saturation, ramp.steps.last()) {
                (Some(saturation), Some(last)) => format!(
                    "{} offered → {} served, p99 {} ({saturation})",
                    markdown::count(last.offered_rps),
                    markdown::count(last.measured.achieved_rps),
                    markdown::latency(last.measured.p99_ms)
                ),
                _ => "not reached: raise --max-steps".into(),
            };
            let (knee, p99) =
                knee_and_p99(ramp).map_or(("none".into(), "-".into()), |(knee, p99)| {
                    (
                        format!("**{} req/s**", markdown::count(knee)),
                        markdown::latency(p99),
                    )
                });
            vec![format!("`{}`", ramp.endpoint), knee, p99, saturated]
        });
        markdown::table(
            &[
                "endpoint",
                "knee (p99 < 50 ms, no errors)",
                "p99 at the knee",
                "saturated at",
            ],
            knees,
        ) + &markdown::table(
            &[
                &format!(
                    "`GET /api/posts/{{id}}`, closed loop, {} connections",
                    c.concurrency
                ),
                "req/s",
                "ratio",
            ],
            comparison,
        ) + &markdown::table(
            &["what", "measured"],
            sign_ins.map(|(what, value)| vec![what.to_owned(), value]),
        )
    }
}

/// `ramp`'s knee and the p99 at it.
fn knee_and_p99(ramp: &Ramp) -> Option<(f64, Option<f64>)> {
    let knee = ramp.knee_rps?;
    let step = ramp.steps.iter().find(|step| step.offered_rps == knee)?;
    Some((knee, step.measured.p99_ms))
}

/// A latency for the tables: `-` when nothing answered.
pub(crate) fn ms(value: Option<f64>) -> String {
    value.map_or("-".into(), |ms| format!("{ms:.2}"))
}

/// `ramps` as a table of their steps, then each one's knee and how it ended (`make load` and
/// `make cluster-scale`).
pub(crate) fn write_ramps(f: &mut fmt::Formatter<'_>, ramps: &[Ramp]) -> fmt::Result {
    writeln!(
        f,
        "{:<20} {:>9} {:>10} {:>8} {:>8} {:>9} {:>7}",
        "endpoint", "offered/s", "achieved/s", "p50 ms", "p99 ms", "p99.9 ms", "errors"
    )?;
    for ramp in ramps {
        for step in &ramp.steps {
            let m = &step.measured;
            write!(
                f,
                "{:<20} {:>9.0} {:>10.1} {:>8} {:>8} {:>9} {:>6.2}%",
                ramp.endpoint,
                step.offered_rps,
                m.achieved_rps,
                ms(m.p50_ms),
                ms(m.p99_ms),
                ms(m.p99_9_ms),
                100.0 * m.error_rate()
            )?;
            if ramp.knee_rps == Some(step.offered_rps) {
                write!(f, "  <- knee")?;
            }
            if let Some(saturation) = step.saturation() {
                write!(f, "  <- saturated: {saturation}")?;
            }
            writeln!(f)?;
        }
    }

    writeln!(
        f,
        "\nknee: the highest offered rate served in full with p99 < {} ms and no errors",
        ramp::KNEE_P99_MS
    )?;
    for ramp in ramps {
        let knee = ramp
            .knee_rps
            .map_or("none".into(), |rps| format!("{rps:.0} req/s"));
        let end = match ramp.saturation {
            Some(saturation) => {
                let last = ramp.steps.last().map_or(0.0, |s| s.offered_rps);
                format!("saturated at {last:.0} req/s ({saturation})")
            }
            None => "did not saturate: raise --max-steps".into(),
        };
        writeln!(f, "  {:<20} {knee:>12}   {end}", ramp.endpoint)?;
    }
    Ok(())
}

impl fmt::Display for LoadReport {
    /// The steps as a table, the knees, the comparison.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_ramps(f, &self.ramps)?;
        let c = &self.comparison;
        writeln!(
            f,
            "\nclosed loop at concurrency {}, {} s each, GET /api/posts/{}:",
            c.concurrency, c.secs, self.post_id
        )?;
        for (what, m) in [
            ("full stack (nginx, app, db)", &c.full_stack),
            ("straight to the app", &c.direct),
        ] {
            writeln!(
                f,
                "  {what:<28} {:>9.0} req/s   p99 {} ms, {} errors",
                m.achieved_rps,
                ms(m.p99_ms),
                m.errors
            )?;
        }
        writeln!(
            f,
            "  {:<28} {:>9.0} tps     (in the db container)",
            "pgbench -S", c.pgbench_tps
        )?;
        writeln!(
            f,
            "  full stack / straight to app {:>9.2}         target >= {DIRECT_TARGET}",
            c.full_stack_over_direct
        )?;
        writeln!(
            f,
            "  full stack / pgbench -S      {:>9.2}         target >= {PGBENCH_TARGET}",
            c.full_stack_over_pgbench
        )?;
        let s = &self.sign_ins;
        writeln!(
            f,
            "\nsign-ins, straight to the app (nginx allows one address one a second):"
        )?;
        for (what, m) in [
            ("one sign-in at a time", &s.one_at_a_time),
            ("a one-query read at a time", &s.read_one_at_a_time),
        ] {
            writeln!(
                f,
                "  {what:<28} p50 {} ms, p99 {} ms",
                ms(m.p50_ms),
                ms(m.p99_ms)
            )?;
        }
        writeln!(
            f,
            "  one argon2id hash            ~{} ms (the difference of the p50s)",
            ms(s.hash_ms())
        )?;
        writeln!(
            f,
            "  GET /api/posts/{{id}} at {:.0} req/s through the stack: p99 {} ms alone, {} ms \
             during {:.0} sign-ins/s ({:.0} achieved, {} errors)",
            s.read_rps,
            ms(s.read_alone.p99_ms),
            ms(s.read_during_flood.p99_ms),
            s.flood_rps,
            s.flood.achieved_rps,
            s.flood.errors
        )?;
        writeln!(
            f,
            "  read p99 during / without the flood {:>5}   target <= {}",
            s.read_p99_ratio()
                .map_or("-".into(), |ratio| format!("{ratio:.2}")),
            sign_in::READ_P99_TARGET
        )?;
        writeln!(
            f,
            "note: oha, nginx, the app, PostgreSQL and pgbench all share this host's {} cores: \
             each figure includes the load generator's own CPU use.",
            self.cores
        )
    }
}

#[cfg(test)]
mod tests {
    use super::ramp::sample::step;
    use super::*;

    fn measurement(rps: f64) -> Measurement {
        step(rps, rps, 4.0, 0).measured
    }

    pub(super) fn report() -> LoadReport {
        let config: Config = crate::cli::try_parse(&[]).unwrap();
        let steps = vec![
            step(200.0, 200.0, 2.0, 0),
            step(400.0, 400.0, 8.0, 0),
            step(800.0, 600.0, 1200.0, 0),
        ];
        LoadReport {
            started_at: "2026-11-22T03:00:00.000Z".into(),
            cores: 2,
            plan: config.plan(),
            config,
            post_id: 7,
            ramps: vec![Ramp {
                endpoint: Endpoint::Post.label().into(),
                knee_rps: ramp::knee(&steps).map(|s| s.offered_rps),
                saturation: steps.last().and_then(Step::saturation),
                steps,
            }],
            comparison: Comparison::new(
                16,
                10.0,
                measurement(3000.0),
                measurement(4000.0),
                12000.0,
            ),
            username: "foobar-load-0a1b2c3d".into(),
            sign_ins: sign_in::SignIns {
                one_at_a_time: step(10.0, 10.0, 300.0, 0).measured,
                read_one_at_a_time: step(10.0, 10.0, 20.0, 0).measured,
                flood_rps: 40.0,
                flood: measurement(40.0),
                read_rps: 250.0,
                read_alone: step(250.0, 250.0, 2.0, 0).measured,
                read_during_flood: step(250.0, 250.0, 3.0, 0).measured,
            },
        }
    }

    fn session() -> Session {
        Session::new("foobar-load-0a1b2c3d", "token")
    }

    #[test]
    fn requests_per_endpoint() {
        let get = Endpoint::Post.request("http://127.0.0.1:8080", 42, "foobar-load 1a", &session());
        assert_eq!(
            (get.method, get.url.as_str(), get.body, get.cookie),
            ("GET", "http://127.0.0.1:8080/api/posts/42", None, None)
        );
        let post = Endpoint::Create.request("http://h", 42, "foobar-load 1a", &session());
        assert_eq!(
            (post.method, post.url.as_str()),
            ("POST", "http://h/api/posts")
        );
        assert_eq!(
            post.cookie.as_deref(),
            Some("foobar_session=token"),
            "signed in"
        );
        let body: serde_json::Value = serde_json::from_str(&post.body.unwrap()).unwrap();
        assert_eq!(body["title"], "foobar-load 1a");
        assert!(body["body"].is_string());
        assert!(
            body.get("author").is_none(),
            "the author is the session's user"
        );
    }

    #[test]
    fn comparison_ratios() {
        let c = Comparison::new(16, 10.0, measurement(3000.0), measurement(4000.0), 12000.0);
        assert_eq!(c.full_stack_over_direct, 0.75);
        assert_eq!(c.full_stack_over_pgbench, 0.25);
    }

    #[test]
    fn prints_the_table_knees_and_ratios() {
        let text = report().to_string();
        // Lines as words, so that the test does not pin the column widths.
        let lines: Vec<String> = text
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        for expected in [
            "GET /api/posts/{id} 400 400.0 0.80 8.00 16.00 0.00% <- knee",
            "GET /api/posts/{id} 800 600.0 120.00 1200.00 2400.00 0.00% <- saturated: p99 > 1 s",
            "GET /api/posts/{id} 400 req/s saturated at 800 req/s (p99 > 1 s)",
            "full stack / straight to app 0.75 target >= 0.8",
            "full stack / pgbench -S 0.25 target >= 0.5",
            "one argon2id hash ~28.00 ms (the difference of the p50s)",
            "read p99 during / without the flood 1.50 target <= 2",
        ] {
            assert!(
                lines.iter().any(|l| l == expected),
                "{expected:?} in\n{text}"
            );
        }
    }

    #[test]
    fn markdown_gives_the_tables_of_the_docs() {
        let text = markdown::Page::markdown(&report());
        for expected in [
            "| endpoint | knee (p99 < 50 ms, no errors) | p99 at the knee | saturated at |",
            "| `GET /api/posts/{id}` | **400 req/s** | 8.0 ms | 800 offered → 600 served, p99 1.2 s (p99 > 1 s) |",
            "| `GET /api/posts/{id}`, closed loop, 16 connections | req/s | ratio |",
            "| straight to the app | 4 000 | full stack / app = **0.75** (target 0.8) |",
            "| `pgbench -S -c 16` | 12 000 tps | full stack / pgbench = **0.25** (target 0.5) |",
            "| so one argon2id hash costs | **≈ 28.0 ms** of a core |",
            "| sign-ins a second at the knee (p99 < 50 ms, no errors) | none |",
        ] {
            assert!(text.lines().any(|line| line == expected), "{expected:?} in\n{text}");
        }
        let page = markdown::page(&report());
        assert!(
            page.starts_with("# Scalability limit: foobar-load\n\nRun 2026-11-22 03:00 UTC · "),
            "{page}"
        );
    }

    #[test]
    fn a_run_over_https_keeps_a_report_of_its_own() {
        let mut report = report();
        assert_eq!(report.name(), "load");
        report.config.urls.url = "https://127.0.0.1:8443".into();
        assert_eq!(report.name(), "load-https");
        let page = markdown::page(&report);
        assert!(
            page.starts_with("# Scalability limit over HTTPS: foobar-load\n"),
            "{page}"
        );
    }

    #[test]
    fn report_round_trips_through_json() {
        let report = report();
        let json = serde_json::to_string(&report).unwrap();
        let back: LoadReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back.ramps[0].steps, report.ramps[0].steps);
        assert_eq!(back.comparison.pgbench_tps, 12000.0);
    }
}
