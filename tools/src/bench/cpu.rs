//! Where the CPU goes: each container's CPU time from its cgroup (v1 `cpuacct.usage` or v2
//! `cpu.stat`), and the whole host's busy time from `/proc/stat`, read before and after a run.
//! The difference divided by the requests served is the CPU each tier spends per request; what
//! the containers do not account for is the load generator and the kernel's work outside them
//! (softirqs of the bridge, NAT, conntrack).

use std::fs;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A container's CPU-time counter.
#[derive(Debug, Clone)]
pub struct Counter {
    pub name: String,
    file: PathBuf,
}

impl Counter {
    /// The counter of the process `pid` (a container's main process), if its cgroup is found.
    pub fn of(name: &str, pid: u32) -> Option<Counter> {
        let groups = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        let file = groups.lines().find_map(|line| {
            let mut fields = line.splitn(3, ':');
            let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
            let path = path.trim_start_matches('/');
            if controllers.split(',').any(|c| c == "cpuacct") {
                Some(PathBuf::from(format!(
                    "/sys/fs/cgroup/cpuacct/{path}/cpuacct.usage"
                )))
            } else if controllers.is_empty() {
                Some(PathBuf::from(format!("/sys/fs/cgroup/{path}/cpu.stat")))
            } else {
                None
            }
        })?;
        let counter = Counter {
            name: name.to_owned(),
            file,
        };
        counter.seconds().map(|_| counter)
    }

    /// CPU seconds used so far.
    pub fn seconds(&self) -> Option<f64> {
        let text = fs::read_to_string(&self.file).ok()?;
        if self.file.ends_with("cpuacct.usage") {
            Some(text.trim().parse::<f64>().ok()? / 1e9)
        } else {
            let usec = text
                .lines()
                .find_map(|line| line.strip_prefix("usage_usec "))?;
            Some(usec.trim().parse::<f64>().ok()? / 1e6)
        }
    }
}

/// The host's busy CPU seconds so far: every state of `/proc/stat`'s `cpu` line but idle and
/// iowait.
pub fn host_busy_seconds() -> Option<f64> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    let busy: f64 = ticks
        .iter()
        .enumerate()
        // user nice system idle iowait irq softirq steal (guest time is inside user)
        .filter(|(i, _)| *i != 3 && *i != 4 && *i < 8)
        .map(|(_, t)| t)
        .sum();
    // USER_HZ is 100 on every Linux this runs on.
    Some(busy / 100.0)
}

/// A snapshot of every counter and the host.
#[derive(Debug, Clone)]
pub struct Snapshot {
    containers: Vec<Option<f64>>,
    host: Option<f64>,
}

pub fn snapshot(counters: &[Counter]) -> Snapshot {
    Snapshot {
        containers: counters.iter().map(Counter::seconds).collect(),
        host: host_busy_seconds(),
    }
}

/// CPU microseconds per request: each container's, and everything else's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerRequest {
    /// (container, µs per request), in the order of the counters.
    pub containers: Vec<(String, f64)>,
    /// The host's busy time not in any container: the load generator, and kernel work
    /// accounted to no container.
    pub rest_us: f64,
    pub total_us: f64,
}

/// What was spent between `before` and `after` on `requests` requests.
pub fn per_request(
    counters: &[Counter],
    before: &Snapshot,
    after: &Snapshot,
    requests: u64,
) -> Option<PerRequest> {
    let per = |seconds: f64| seconds * 1e6 / requests.max(1) as f64;
    let mut containers = Vec::new();
    let mut in_containers = 0.0;
    for ((counter, b), a) in counters
        .iter()
        .zip(&before.containers)
        .zip(&after.containers)
    {
        let spent = (*a)? - (*b)?;
        in_containers += spent;
        containers.push((counter.name.clone(), per(spent)));
    }
    let total = after.host? - before.host?;
    Some(PerRequest {
        containers,
        rest_us: per((total - in_containers).max(0.0)),
        total_us: per(total),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_busy_at_some_point() {
        assert!(host_busy_seconds().is_some_and(|s| s > 0.0));
    }

    #[test]
    fn splits_the_time_per_request() {
        let before = Snapshot {
            containers: vec![Some(1.0), Some(2.0)],
            host: Some(10.0),
        };
        let after = Snapshot {
            containers: vec![Some(1.5), Some(2.25)],
            host: Some(11.0),
        };
        let counters = [
            Counter {
                name: "web".into(),
                file: "x".into(),
            },
            Counter {
                name: "app".into(),
                file: "y".into(),
            },
        ];
        let split = per_request(&counters, &before, &after, 1000).unwrap();
        assert_eq!(
            split.containers,
            [("web".into(), 500.0), ("app".into(), 250.0)]
        );
        assert_eq!(split.rest_us, 250.0);
        assert_eq!(split.total_us, 1000.0);
    }
}
