//! foobar-spof: fault drills against the running stack. For each component in turn, under the
//! open-loop probe with writes: take it away (SIGKILL, or pause), bring it back, measure what
//! users saw and how fast the site recovered, and audit the writes. Writes
//! `<out>/spof-SERVICE-FAULT.{json,svg}` per drill and `<out>/spof.json`; prints a table.
//! Exit status 1 if a drill lost or duplicated a write, or the site did not recover.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use foobar_tools::probe::{self, Config};
use foobar_tools::spof::{self, DrillResult, Fault, SpofReport};
use tokio::time::sleep;

#[derive(Parser)]
#[command(about = "Fault drills: kill or pause each component under load, measure, audit writes")]
struct Cli {
    /// Base URL of the site, through nginx.
    #[arg(long, env = "FOOBAR_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Components to kill, in order.
    #[arg(long, value_delimiter = ',', default_value = "db,app,web")]
    services: Vec<String>,
    /// How long a killed component stays down.
    #[arg(long, default_value_t = 5.0)]
    down_secs: f64,
    /// How long the database stays paused (0: no pause drill).
    #[arg(long, default_value_t = 30.0)]
    pause_secs: f64,
    /// Probe requests per second.
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// Probing before the fault, and after the site is ready again.
    #[arg(long, default_value_t = 3.0)]
    settle_secs: f64,
    /// Directory of the reports [default: <repo>/target/reports].
    #[arg(long)]
    out: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut drills: Vec<(String, Fault, f64)> = cli
        .services
        .iter()
        .map(|service| (service.clone(), Fault::Kill, cli.down_secs))
        .collect();
    if cli.pause_secs > 0.0 {
        drills.push(("db".to_owned(), Fault::Pause, cli.pause_secs));
    }
    let mut results = Vec::new();
    for (service, fault, away) in drills {
        results.push(drill(&cli, &service, fault, away).await);
    }
    let report = SpofReport {
        down_secs: cli.down_secs,
        pause_secs: cli.pause_secs,
        drills: results,
    };
    let out = cli.out.clone().unwrap_or_else(foobar_tools::reports_dir);
    let path = out.join("spof.json");
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(&report).expect("serializable"),
    )
    .unwrap_or_else(|err| panic!("write {}: {err}", path.display()));
    println!("\n{report}\nreport: {}", path.display());
    let healthy = report.drills.iter().all(|d| {
        d.writes.lost == 0 && d.writes.duplicates == 0 && d.outage.recovery_after_back_ms.is_some()
    });
    if healthy {
        ExitCode::SUCCESS
    } else {
        eprintln!("a drill lost or duplicated writes, or the site did not recover");
        ExitCode::FAILURE
    }
}

async fn drill(cli: &Cli, service: &str, fault: Fault, away_secs: f64) -> DrillResult {
    let name = format!("spof-{service}-{}", fault.as_str());
    let url = cli.url.clone();
    let newest_before = blocking(move || spof::newest_post_id(&url)).await;
    let config = Config {
        url: cli.url.clone(),
        rate: cli.rate,
        // Longer than any answer the stack should give, so slow answers are measured, not cut.
        deadline_ms: 5000,
        writes: true,
        duration_secs: 600.0,
        until_new_version: false,
        settle_secs: 0.0,
        min_requests: 0,
        stop_file: None,
        name: name.clone(),
        out: cli.out.clone(),
        quiet: true,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let clock = Instant::now();
    let probe = tokio::spawn(probe::probe(config, async {
        stopped.await.ok();
    }));
    let at = |clock: Instant| clock.elapsed().as_secs_f64() * 1000.0;

    sleep(Duration::from_secs_f64(cli.settle_secs)).await;
    let fault_at_ms = at(clock);
    let svc = service.to_owned();
    blocking(move || fault.apply(&svc, false)).await;
    eprintln!(
        "[{name}] {} {service} at {:.2} s",
        fault.as_str(),
        fault_at_ms / 1000.0
    );
    sleep(Duration::from_secs_f64(away_secs)).await;
    let back_at_ms = at(clock);
    let svc = service.to_owned();
    blocking(move || fault.apply(&svc, true)).await;
    eprintln!("[{name}] {service} back at {:.2} s", back_at_ms / 1000.0);
    let url = cli.url.clone();
    let ready = blocking(move || spof::wait_ready(&url, Duration::from_secs(60))).await;
    eprintln!(
        "[{name}] site ready again: {ready} at {:.2} s",
        at(clock) / 1000.0
    );
    sleep(Duration::from_secs_f64(cli.settle_secs)).await;
    stop.send(()).ok();
    let report = probe.await.expect("probe task");
    report.write().expect("write the drill's report");

    let outage = spof::assess(&report.records, fault_at_ms, back_at_ms);
    let url = cli.url.clone();
    let writes = blocking(move || spof::audit_writes(&url, &report, newest_before)).await;
    DrillResult {
        name,
        service: service.to_owned(),
        fault,
        fault_at_ms,
        back_at_ms,
        outage,
        writes,
    }
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .expect("blocking task")
}
