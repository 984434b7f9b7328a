//! foobar-autoscaler: runs as a service of the cluster's stack on a manager (cluster/stack.yml).
//! Every setting is a flag or its environment variable (`foobar-autoscaler --help`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::{Context, Result};
use clap::Parser;
use foobar_autoscaler::controller::{Controller, Metrics};
use foobar_autoscaler::hpa::{Autoscaler, Behavior, Spec};
use foobar_autoscaler::prometheus::Prometheus;
use foobar_autoscaler::swarm::Swarm;
use prometheus::{Encoder, Registry, TextEncoder};

#[derive(Parser, Debug)]
#[command(about = "Scales the app over the Swarm's hosts by Kubernetes' HPA algorithm")]
struct Config {
    /// A Swarm manager's Docker socket.
    #[arg(
        long,
        env = "AUTOSCALER_DOCKER_SOCKET",
        default_value = "/var/run/docker.sock"
    )]
    docker_socket: String,
    #[arg(
        long,
        env = "AUTOSCALER_PROMETHEUS_URL",
        default_value = "http://prometheus:9090"
    )]
    prometheus_url: String,
    /// The global service scaled, and the node label that places it.
    #[arg(long, env = "AUTOSCALER_SERVICE", default_value = "foobar_app")]
    service: String,
    #[arg(long, env = "AUTOSCALER_LABEL", default_value = "foobar.app")]
    label: String,
    /// The DNS name of the service's running tasks (Swarm's `tasks.<service>`).
    #[arg(long, env = "AUTOSCALER_TASKS_DNS", default_value = "tasks.app")]
    tasks_dns: String,
    #[arg(long, env = "AUTOSCALER_MIN", default_value_t = 1)]
    min: u32,
    #[arg(long, env = "AUTOSCALER_MAX", default_value_t = 3)]
    max: u32,
    /// CPU per task aimed at, as a share of its quota.
    #[arg(long, env = "AUTOSCALER_TARGET", default_value_t = 0.6)]
    target: f64,
    #[arg(long, env = "AUTOSCALER_TOLERANCE", default_value_t = 0.1)]
    tolerance: f64,
    /// Seconds between passes (HPA's sync period).
    #[arg(long, env = "AUTOSCALER_SYNC_SECS", default_value_t = 15)]
    sync_secs: u64,
    /// Seconds of recommendations a scale-down must agree with (HPA's default: 300).
    #[arg(long, env = "AUTOSCALER_DOWN_WINDOW_SECS", default_value_t = 300)]
    down_window_secs: u64,
    /// The window of the CPU rate, in Prometheus's duration syntax.
    #[arg(long, env = "AUTOSCALER_RATE_WINDOW", default_value = "30s")]
    rate_window: String,
    /// Where its own metrics are served (on the cluster's networks only).
    #[arg(long, env = "AUTOSCALER_METRICS_ADDR", default_value = "0.0.0.0:9466")]
    metrics_addr: SocketAddr,
}

impl Config {
    fn spec(&self) -> Result<Spec> {
        anyhow::ensure!(
            1 <= self.min && self.min <= self.max,
            "AUTOSCALER_MIN={} and AUTOSCALER_MAX={}: need 1 <= min <= max",
            self.min,
            self.max
        );
        anyhow::ensure!(
            self.target > 0.0 && self.target.is_finite(),
            "AUTOSCALER_TARGET={}: need a share of the quota above 0",
            self.target
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.tolerance),
            "AUTOSCALER_TOLERANCE={}: need 0 <= tolerance < 1",
            self.tolerance
        );
        anyhow::ensure!(
            self.sync_secs > 0,
            "AUTOSCALER_SYNC_SECS=0: need at least 1"
        );
        let mut down = Behavior::default_down();
        down.stabilization = Duration::from_secs(self.down_window_secs);
        Ok(Spec {
            min: self.min,
            max: self.max,
            target: self.target,
            tolerance: self.tolerance,
            up: Behavior::default_up(),
            down,
        })
    }
}

#[actix_web::main]
async fn main() -> Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    // An empty setting means its default, as in the app: the stack passes every one, set or not.
    for (name, value) in std::env::vars_os() {
        if value.is_empty() && name.to_string_lossy().starts_with("AUTOSCALER_") {
            std::env::remove_var(name);
        }
    }
    let config = Config::parse();
    let spec = config.spec()?;
    let registry = Registry::new();
    let metrics = Metrics::register(&registry)?;
    metrics.min.set(i64::from(spec.min));
    metrics.max.set(i64::from(spec.max));
    metrics.target.set(spec.target);
    let swarm = Swarm::connect(&config.docker_socket, &config.service, &config.label)?;
    let current = swarm
        .hosts()
        .await
        .context("reading the Swarm's nodes (is this a manager's socket?)")?
        .iter()
        .filter(|h| h.labelled && h.usable)
        .count() as u32;
    log::info!(
        "{} on {current} hosts; min {} max {}, target {:.0}% of the CPU quota, tolerance {}, sync {} s, scale-down window {} s",
        config.service,
        spec.min,
        spec.max,
        spec.target * 100.0,
        spec.tolerance,
        config.sync_secs,
        config.down_window_secs
    );
    let mut controller = Controller {
        swarm,
        prometheus: Prometheus::new(&config.prometheus_url)?,
        hpa: Autoscaler::new(spec, Instant::now(), current),
        metrics,
        tasks_dns: config.tasks_dns.clone(),
        cpu_query: format!(
            "rate(process_cpu_seconds_total{{job=\"app\"}}[{}])",
            config.rate_window
        ),
        idle_query: format!(
            "sum by (instance) (rate(node_cpu_seconds_total{{job=\"node\",mode=\"idle\"}}[{}]))",
            config.rate_window
        ),
        held: None,
    };
    let sync = Duration::from_secs(config.sync_secs);
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(sync);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = controller.pass(Instant::now()).await {
                // Nothing observed, nothing changed: HPA keeps the scale on an error too.
                log::warn!("pass skipped: {e:#}");
                controller.metrics.errors.with_label_values(&["pass"]).inc();
            }
        }
    });
    let registry = web::Data::new(registry);
    HttpServer::new(move || {
        App::new().app_data(registry.clone()).route(
            "/metrics",
            web::get().to(|registry: web::Data<Registry>| async move {
                let mut body = Vec::new();
                match TextEncoder::new().encode(&registry.gather(), &mut body) {
                    Ok(()) => HttpResponse::Ok()
                        .content_type(prometheus::TEXT_FORMAT)
                        .body(body),
                    Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
                }
            }),
        )
    })
    .workers(1)
    .bind(config.metrics_addr)
    .with_context(|| format!("AUTOSCALER_METRICS_ADDR={}", config.metrics_addr))?
    .run()
    .await?;
    Ok(())
}
