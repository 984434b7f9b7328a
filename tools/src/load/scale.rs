//! Scaling out on the cluster (cluster/hosts): the knee of `GET /api/posts/{id}` through the
//! load balancers' virtual IP with the app on 1, then 2, then 3 of the CPU-capped hosts
//! (`cluster/hosts app-hosts N`), each ramp as `make load` ramps. Saved as `scale.json` and
//! `scale.svg` (a [`ScaleReport`]).
//!
//! The run signs up an account of its own and seeds a post to read; both are deleted at the
//! end, and the app is put back on every host, however the run ends.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use std::{fmt, thread};

use anyhow::{bail, Context as _, Result};
use clap::Args;
use serde::{Deserialize, Serialize};

use super::oha::{self, Pacing};
use super::ramp::Ramp;
use super::{ramp_at_fixed_rates, seed, svg, write_ramps, Endpoint, Plan, USER_PREFIX, WARM_UP};
use crate::interrupt::{own_group, with_cleanup, Interrupt};
use crate::site::Account;
use crate::{markdown, stack, Site};

/// Every host runs the app, as the stack is deployed: what the run restores.
const ALL_HOSTS: u32 = 3;

/// What to ramp and how.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct ScaleConfig {
    /// Base URL of the site: the cluster's virtual IP, `https://CLUSTER_VIP` of
    /// cluster/cluster.env (`make cluster-scale` passes it, and the CA in FOOBAR_CA_FILE).
    /// Requests go to www.foobar.com at that address.
    #[arg(long)]
    pub url: String,

    /// How many hosts run the app, one ramp each, in this order (1 to 3).
    #[arg(long, value_delimiter = ',', default_value = "1,2,3",
          value_parser = clap::value_parser!(u32).range(1..=3))]
    pub app_hosts: Vec<u32>,

    /// Quick preset for CI: fewer, shorter steps (the options below still override it).
    #[arg(long)]
    pub short: bool,

    /// Offered rate of the first step, requests a second.
    #[arg(long, default_value_t = 500.0, value_parser = crate::cli::positive)]
    pub start_rate: f64,

    /// Each step offers this many times the rate of the one before [default: 1.15, --short: 2].
    #[arg(long, value_parser = crate::cli::above_one)]
    pub factor: Option<f64>,

    /// Seconds each step lasts [default: 5, --short: 2].
    #[arg(long, value_parser = crate::cli::positive)]
    pub step_secs: Option<f64>,

    /// Most steps per ramp, if it does not saturate first [default: 25, --short: 4].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_steps: Option<u32>,

    /// Connections oha may use at a fixed rate: enough never to hold the rate back.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,

    /// Directory of scale.json and scale.svg [default: $REPORTS, else <repo>/target/reports].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

impl ScaleConfig {
    /// The ramps' shape, with the --short preset applied. Steps 15% apart place each knee within
    /// 15% of its rate: the scaling factors compare knees, so they need the finer grain.
    pub fn plan(&self) -> Plan {
        let preset = if self.short {
            (2.0, 2.0, 4)
        } else {
            (1.15, 5.0, 25)
        };
        let given = (self.factor, self.step_secs, self.max_steps);
        Plan::preset(self.start_rate, preset, given)
    }
}

/// A run as saved in `scale.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScaleReport {
    /// Wall-clock start, RFC 3339.
    pub started_at: String,
    /// CPUs of the machine, which oha and the three hosts share.
    pub cores: usize,
    pub config: ScaleConfig,
    pub plan: Plan,
    /// The post that is read.
    pub post_id: i64,
    /// One ramp per entry of `config.app_hosts`, in its order.
    pub ramps: Vec<Ramp>,
}

impl ScaleReport {
    /// Each ramp's app host count, knee, and knee over the knee of the first ramp (none where a
    /// ramp has no knee).
    pub fn scaling(&self) -> Vec<(u32, Option<f64>, Option<f64>)> {
        let first = self.ramps.first().and_then(|r| r.knee_rps);
        (self.config.app_hosts.iter().zip(&self.ramps))
            .map(|(&hosts, ramp)| {
                let factor = ramp.knee_rps.zip(first).map(|(knee, first)| knee / first);
                (hosts, ramp.knee_rps, factor)
            })
            .collect()
    }

    /// `--out`, else [`crate::reports_dir`].
    pub fn out_dir(&self) -> Result<PathBuf> {
        self.config.out.clone().map_or_else(crate::reports_dir, Ok)
    }

    /// Writes `scale.json`, `scale.md` and `scale.svg` into [`Self::out_dir`]; returns their
    /// paths.
    pub fn write(&self) -> Result<Vec<PathBuf>> {
        let title = format!(
            "Scaling out: GET /api/posts/{{id}} through the virtual IP, {} s steps",
            self.plan.step_secs
        );
        let subtitle = format!(
            "knee by app hosts: {}; hosts and app tasks CPU-capped, oha beside them ({} cores in all)",
            (self.scaling().iter())
                .map(|(hosts, knee, _)| format!("{hosts}: {}", rate(*knee)))
                .collect::<Vec<_>>()
                .join(", "),
            self.cores
        );
        let svg = svg::render_ramps(&title, &subtitle, &self.ramps);
        crate::write_report(&self.out_dir()?, "scale", self, &svg)
    }
}

impl markdown::Page for ScaleReport {
    fn title(&self) -> String {
        "Scaling out: foobar-scale".into()
    }

    fn started_at(&self) -> Option<&str> {
        Some(&self.started_at)
    }

    /// The knee by app hosts, as docs/cluster.md gives it.
    fn markdown(&self) -> String {
        let req_s = |rps: Option<f64>| {
            rps.map_or("none".into(), |rps| {
                format!("{} req/s", markdown::count(rps))
            })
        };
        let rows =
            (self.scaling().into_iter().zip(&self.ramps)).map(|((hosts, knee, factor), ramp)| {
                let most = (ramp.steps.iter())
                    .map(|s| s.measured.achieved_rps)
                    .fold(0.0, f64::max);
                vec![
                    hosts.to_string(),
                    req_s(knee),
                    markdown::ratio(factor),
                    req_s(served_in_full(ramp)),
                    req_s(Some(most)),
                ]
            });
        markdown::table(
            &[
                "app hosts",
                "knee (p99 < 50 ms)",
                "× the first knee",
                "served in full up to (the last step not saturated)",
                "most achieved",
            ],
            rows,
        )
    }
}

/// The highest offered rate of `ramp` that did not saturate it (see [`super::ramp::Saturation`]):
/// unlike the knee, it does not hang on the p99 of one step.
pub fn served_in_full(ramp: &Ramp) -> Option<f64> {
    (ramp.steps.iter())
        .filter(|step| step.saturation().is_none())
        .map(|step| step.offered_rps)
        .max_by(f64::total_cmp)
}

fn rate(rps: Option<f64>) -> String {
    rps.map_or("none".into(), |rps| format!("{rps:.0}/s"))
}

fn label(hosts: u32) -> String {
    format!("{hosts} app host{}", if hosts == 1 { "" } else { "s" })
}

/// Ramps the read with the app on each count of hosts in turn; then deletes the run's account
/// and puts the app back on every host, however the run ended.
pub fn run(config: ScaleConfig, interrupt: &Interrupt) -> Result<ScaleReport> {
    let started_at = chrono::Utc::now();
    let marker = super::marker(&format!("{:x}", started_at.timestamp_millis()));
    let account = Account::random(USER_PREFIX)?;
    let result = measure_all(config, &marker, &account, interrupt);
    interrupt.announce("putting the app back on every host and deleting the run's account");
    let restored = app_hosts(ALL_HOSTS);
    let deleted = stack::delete_tool_account(USER_PREFIX, &account.username)
        .map(drop)
        .with_context(|| format!("deleting the run's account {}", account.username));
    let mut report = with_cleanup(result, restored.and(deleted))?;
    report.started_at = started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    Ok(report)
}

/// `cluster/hosts app-hosts COUNT`: the app on COUNT hosts (the virtual IP's last), waited for.
fn app_hosts(count: u32) -> Result<()> {
    cluster_hosts(&["app-hosts", &count.to_string()])
}

/// `cluster/hosts ARGS`, in a process group of its own, waited for.
pub(super) fn cluster_hosts(args: &[&str]) -> Result<()> {
    let mut command = Command::new(crate::repo_root()?.join("cluster/hosts"));
    own_group(&mut command).args(args);
    let status = command.status().context("running cluster/hosts")?;
    if !status.success() {
        bail!("cluster/hosts {} failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Waits until the cluster's site at `url` is ready, signs `account` up and seeds the post the
/// runs read: `GET /api/posts/{id}` as that account, and the post's id.
pub(super) fn seeded_read(
    url: &str,
    marker: &str,
    account: &Account,
    interrupt: &Interrupt,
) -> Result<(oha::Request, i64)> {
    let (session, post_id) = crate::cli::block_on(async {
        let site = Site::new(url)?;
        if !site
            .wait_for_ok("/api/ready", Duration::from_secs(30))
            .await
        {
            bail!("{url} is not ready (is the cluster up? `make cluster-up`)");
        }
        eprintln!("signing up {} through {url}", account.username);
        let session = site.sign_up_until(account, Duration::from_secs(60)).await?;
        let post_id = seed(&site.signed_in(&session), 1, marker, interrupt).await?;
        Ok((session, post_id))
    })?;
    Ok((
        Endpoint::Post.request(url, post_id, marker, &session),
        post_id,
    ))
}

fn measure_all(
    config: ScaleConfig,
    marker: &str,
    account: &Account,
    interrupt: &Interrupt,
) -> Result<ScaleReport> {
    let plan = config.plan();
    let (read, post_id) = seeded_read(&config.url, marker, account, interrupt)?;

    let mut ramps = Vec::new();
    for &hosts in &config.app_hosts {
        interrupt.check()?;
        eprintln!("the app on {}", label(hosts));
        app_hosts(hosts)?;
        // nginx's upstream-watch follows DNS within a second or two; the new tasks' pools
        // grow on demand.
        let closed = Pacing::Closed { connections: 16 };
        oha::run(&read, closed, WARM_UP, interrupt)?;
        ramps.push(ramp_at_fixed_rates(
            &label(hosts),
            &read,
            plan.start_rate,
            &plan,
            config.connections,
            interrupt,
        )?);
    }

    Ok(ScaleReport {
        // Set by `run`.
        started_at: String::new(),
        cores: thread::available_parallelism().map_or(1, |n| n.get()),
        config,
        plan,
        post_id,
        ramps,
    })
}

impl fmt::Display for ScaleReport {
    /// The steps as a table, the knees, the scaling factors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_ramps(f, &self.ramps)?;
        writeln!(
            f,
            "\nscaling out, GET /api/posts/{} through {}:",
            self.post_id, self.config.url
        )?;
        writeln!(
            f,
            "  {:<10} {:>10} {:>17} {:>20} {:>14}",
            "app hosts", "knee", "× the first knee", "served in full up to", "most achieved"
        )?;
        for ((hosts, knee, factor), ramp) in self.scaling().into_iter().zip(&self.ramps) {
            let most = (ramp.steps.iter())
                .map(|s| s.measured.achieved_rps)
                .fold(0.0, f64::max);
            let factor = factor.map_or("-".into(), |x| format!("{x:.2}"));
            writeln!(
                f,
                "  {hosts:<10} {:>10} {factor:>17} {:>20} {most:>12.0}/s",
                rate(knee),
                rate(served_in_full(ramp))
            )?;
        }
        writeln!(
            f,
            "note: each host's CPU is capped (cluster/hosts), and each app task's within it \
             (cluster/stack.yml); oha runs beside them on this machine's {} cores",
            self.cores
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::try_parse;
    use crate::load::ramp::sample;

    fn report(knees: &[Option<f64>]) -> ScaleReport {
        let config: ScaleConfig = try_parse(&["--url", "http://192.0.2.100", "--short"]).unwrap();
        let ramps = (knees.iter().enumerate())
            .map(|(i, knee)| Ramp {
                endpoint: label(i as u32 + 1),
                steps: vec![sample::step(1000.0, 990.0, 5.0, 0)],
                saturation: None,
                knee_rps: *knee,
            })
            .collect();
        ScaleReport {
            started_at: String::new(),
            cores: 2,
            plan: config.plan(),
            config,
            post_id: 7,
            ramps,
        }
    }

    #[test]
    fn app_host_counts_are_one_to_three() {
        let config: ScaleConfig =
            try_parse(&["--url", "http://192.0.2.100", "--app-hosts", "3,1"]).unwrap();
        assert_eq!(config.app_hosts, [3, 1]);
        assert!(try_parse::<ScaleConfig>(&["--app-hosts", "4"]).is_err());
        assert!(try_parse::<ScaleConfig>(&["--app-hosts", "0"]).is_err());
    }

    #[test]
    fn scaling_is_each_knee_over_the_first() {
        let report = report(&[Some(1000.0), Some(1500.0), None]);
        assert_eq!(
            report.scaling(),
            [
                (1, Some(1000.0), Some(1.0)),
                (2, Some(1500.0), Some(1.5)),
                (3, None, None)
            ]
        );
        let text = report.to_string();
        assert!(text.contains("1.50"), "{text}");
        assert!(text.contains("2 app hosts"), "{text}");
    }

    #[test]
    fn served_in_full_is_the_highest_unsaturated_step() {
        let ramp = Ramp {
            endpoint: label(1),
            steps: vec![
                sample::step(1000.0, 1000.0, 60.0, 0),
                sample::step(2000.0, 1990.0, 80.0, 0),
                sample::step(4000.0, 2500.0, 900.0, 0),
            ],
            saturation: None,
            knee_rps: None,
        };
        assert_eq!(served_in_full(&ramp), Some(2000.0));
    }

    #[test]
    fn markdown_gives_the_knees_as_docs_cluster_does() {
        let text = markdown::Page::markdown(&report(&[Some(1000.0), Some(1500.0), None]));
        assert!(text.starts_with("| app hosts | knee (p99 < 50 ms) | × the first knee |"));
        for expected in [
            "| 2 | 1 500 req/s | 1.50 | 1 000 req/s | 990 req/s |",
            "| 3 | none | - | 1 000 req/s | 990 req/s |",
        ] {
            assert!(
                text.lines().any(|line| line == expected),
                "{expected:?} in\n{text}"
            );
        }
    }

    #[test]
    fn without_a_first_knee_there_is_no_factor() {
        let report = report(&[None, Some(1500.0)]);
        assert_eq!(report.scaling()[1], (2, Some(1500.0), None));
    }
}
