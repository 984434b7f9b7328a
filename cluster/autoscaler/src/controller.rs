//! One pass of the loop: observe (Swarm's tasks, Prometheus's CPU), decide (`hpa`), act (a
//! node label), and say so: a log line per decision and the gauges below.

use std::time::Instant;

use anyhow::Result;
use prometheus::{Gauge, IntCounterVec, IntGauge, Opts, Registry};

use crate::hpa::{Autoscaler, Decision, Task};
use crate::prometheus::Prometheus;
use crate::swarm::{Host, Swarm};

pub struct Metrics {
    pub current: IntGauge,
    pub desired: IntGauge,
    pub recommended: IntGauge,
    pub min: IntGauge,
    pub max: IntGauge,
    pub utilization: Gauge,
    pub target: Gauge,
    pub enabled: IntGauge,
    pub scale_events: IntCounterVec,
    pub errors: IntCounterVec,
}

impl Metrics {
    pub fn register(registry: &Registry) -> Result<Self> {
        let gauge = |name: &str, help: &str| -> Result<IntGauge> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let float = |name: &str, help: &str| -> Result<Gauge> {
            let g = Gauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let counter = |name: &str, help: &str, label: &str| -> Result<IntCounterVec> {
            let c = IntCounterVec::new(Opts::new(name, help), &[label])?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        Ok(Metrics {
            current: gauge(
                "autoscaler_current_hosts",
                "App hosts now (labelled and usable)",
            )?,
            desired: gauge(
                "autoscaler_desired_hosts",
                "App hosts the last decision scaled to",
            )?,
            recommended: gauge(
                "autoscaler_recommended_hosts",
                "App hosts the metric asked for, before stabilization and limits",
            )?,
            min: gauge("autoscaler_min_hosts", "Fewest app hosts allowed")?,
            max: gauge("autoscaler_max_hosts", "Most app hosts allowed")?,
            utilization: float(
                "autoscaler_cpu_utilization",
                "Mean CPU of the ready app tasks, as a share of their quota",
            )?,
            target: float("autoscaler_cpu_target", "The CPU utilization aimed at")?,
            enabled: gauge(
                "autoscaler_enabled",
                "1: it acts on its decisions; 0: off (cluster/hosts autoscale off), it only recommends",
            )?,
            scale_events: counter(
                "autoscaler_scale_events_total",
                "Scale changes made",
                "direction",
            )?,
            errors: counter(
                "autoscaler_errors_total",
                "Passes that could not observe or act",
                "stage",
            )?,
        })
    }
}

pub struct Controller {
    pub swarm: Swarm,
    pub prometheus: Prometheus,
    pub hpa: Autoscaler,
    pub metrics: Metrics,
    /// The DNS name of the app's running tasks (`tasks.app`).
    pub tasks_dns: String,
    /// PromQL: each app task's CPU in cores, by `instance`.
    pub cpu_query: String,
    /// PromQL: each host's idle CPU in cores, by `instance` (node-exporter).
    pub idle_query: String,
    /// The scale it would have set while off, so that a decision held back is logged once.
    pub held: Option<u32>,
}

impl Controller {
    pub async fn pass(&mut self, now: Instant) -> Result<Decision> {
        let hosts = self.swarm.hosts().await?;
        let starting = self.swarm.app_tasks_starting().await?;
        let service = self.swarm.app_service().await?;
        let quota = service.cpu_quota;
        let running = running_tasks(&self.tasks_dns).await;
        let cpu = self.prometheus.by_instance(&self.cpu_query).await?;
        // A labelled host that is down or drained runs no task: not counted, so that losing the
        // only app host brings the label to another (min), as Kubernetes reschedules a pod.
        let current = hosts.iter().filter(|h| h.labelled && h.usable).count() as u32;
        let observed: Vec<Task> = running
            .iter()
            .map(|ip| Task {
                ready: true,
                metric: cpu.get(&ip.to_string()).map(|cores| cores / quota),
            })
            .chain((0..starting).map(|_| Task {
                ready: false,
                metric: None,
            }))
            .collect();
        let decision = self.hpa.decide(now, current, &observed);
        self.metrics.current.set(i64::from(current));
        self.metrics
            .recommended
            .set(i64::from(decision.recommendation.replicas));
        self.metrics.desired.set(i64::from(decision.desired));
        self.metrics
            .utilization
            .set(decision.recommendation.metric.unwrap_or(f64::NAN));
        self.metrics.enabled.set(i64::from(service.enabled));
        if decision.desired == current {
            log::debug!("{decision}");
            self.held = None;
            return Ok(decision);
        }
        // Read again just before acting: `cluster/hosts autoscale off` returns once the label
        // is set, and from then on nothing may change the scale.
        if !service.enabled || !self.swarm.app_service().await?.enabled {
            if self.held != Some(decision.desired) {
                log::info!("auto-scaling is off, not acting: {decision}");
            }
            self.held = Some(decision.desired);
            return Ok(decision);
        }
        self.held = None;
        log::info!("scaling: {decision}");
        let idle = self
            .prometheus
            .by_instance(&self.idle_query)
            .await
            .unwrap_or_default();
        self.act(&hosts, &idle, current, decision.desired).await?;
        self.hpa.scaled(now, current, decision.desired);
        let direction = if decision.desired > current {
            "up"
        } else {
            "down"
        };
        self.metrics
            .scale_events
            .with_label_values(&[direction])
            .inc();
        Ok(decision)
    }

    async fn act(
        &self,
        hosts: &[Host],
        idle: &std::collections::HashMap<String, f64>,
        current: u32,
        desired: u32,
    ) -> Result<()> {
        let order = rank(hosts, idle);
        if desired > current {
            for host in order
                .iter()
                .filter(|h| !h.labelled && h.usable)
                .take((desired - current) as usize)
            {
                log::info!("adding the app to {}", host.name);
                self.swarm.set_label(&host.id, true).await?;
            }
        } else {
            for host in order
                .iter()
                .rev()
                .filter(|h| h.labelled && h.usable)
                .take((current - desired) as usize)
            {
                log::info!("removing the app from {}", host.name);
                self.swarm.set_label(&host.id, false).await?;
            }
        }
        Ok(())
    }
}

/// The addresses Swarm's DNS gives for the running tasks. A name that does not resolve (no
/// task runs, or no DNS) gives none: every task then lacks a metric, and the scale is kept.
async fn running_tasks(name: &str) -> Vec<std::net::IpAddr> {
    match tokio::net::lookup_host((name, 0)).await {
        Ok(addrs) => addrs.map(|a| a.ip()).collect(),
        Err(e) => {
            log::warn!("no running task found: {name}: {e}");
            Vec::new()
        }
    }
}

/// Hosts best first for the app: the most idle CPU (in steps of a tenth of a core, as equal
/// hosts never read exactly alike), then the fewest tasks, then by name. Scaling out takes from
/// the front, scaling in from the back.
pub fn rank<'a>(hosts: &'a [Host], idle: &std::collections::HashMap<String, f64>) -> Vec<&'a Host> {
    let mut ranked: Vec<&Host> = hosts.iter().collect();
    let idle_tenths = |h: &Host| (idle.get(&h.addr).copied().unwrap_or(0.0) * 10.0).round() as i64;
    ranked.sort_by(|a, b| {
        idle_tenths(b)
            .cmp(&idle_tenths(a))
            .then(a.tasks.cmp(&b.tasks))
            .then(a.name.cmp(&b.name))
    });
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn host(name: &str, addr: &str, tasks: usize) -> Host {
        Host {
            id: name.to_owned(),
            name: name.to_owned(),
            addr: addr.to_owned(),
            labelled: false,
            usable: true,
            tasks,
        }
    }

    #[test]
    fn the_host_with_most_idle_cpu_comes_first_then_the_least_busy() {
        let hosts = [host("h1", "a", 4), host("h2", "b", 9), host("h3", "c", 11)];
        let names = |idle: &HashMap<String, f64>| {
            rank(&hosts, idle)
                .iter()
                .map(|h| h.name.clone())
                .collect::<Vec<_>>()
        };

        let idle = HashMap::from([("a".into(), 0.2), ("b".into(), 1.5), ("c".into(), 0.9)]);
        assert_eq!(names(&idle), ["h2", "h3", "h1"]);
        // Hosts sharing one machine read the same idle CPU: fewest tasks first.
        let same = HashMap::from([("a".into(), 1.51), ("b".into(), 1.49), ("c".into(), 1.5)]);
        assert_eq!(names(&same), ["h1", "h2", "h3"]);
    }
}
