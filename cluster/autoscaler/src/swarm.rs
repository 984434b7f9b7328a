//! What the controller reads from Swarm and the one thing it changes: a node label.

use std::collections::HashMap;

use anyhow::{anyhow, Context, Result};
use bollard::models::{NodeSpec, NodeSpecAvailabilityEnum, NodeState, TaskState};
use bollard::query_parameters::{ListTasksOptionsBuilder, UpdateNodeOptionsBuilder};
use bollard::{ClientVersion, Docker};

/// A Swarm node, as far as placing the app goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub id: String,
    /// The `foobar.host` label (h1, h2, h3) if it has one, else the node's hostname.
    pub name: String,
    /// The address the node talks to the Swarm from (its node-exporter listens there).
    pub addr: String,
    /// Carries the label that places the app on it.
    pub labelled: bool,
    /// Ready and active: a task placed there would start.
    pub usable: bool,
    /// Tasks Swarm means to run there (any service).
    pub tasks: usize,
}

/// The scaled service's label that turns acting on or off (`cluster/hosts autoscale on|off`).
pub const SWITCH_LABEL: &str = "foobar.autoscale";

fn parse_switch(value: &str) -> Option<bool> {
    match value {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    }
}

pub struct AppService {
    pub cpu_quota: f64,
    pub enabled: bool,
}

pub struct Swarm {
    docker: Docker,
    service: String,
    label: String,
}

impl Swarm {
    /// The Docker Engine API on `socket` (a manager's), at API 1.41 (Docker 20.10, Debian's),
    /// which every later engine also speaks.
    pub fn connect(socket: &str, service: &str, label: &str) -> Result<Self> {
        let version = ClientVersion {
            major_version: 1,
            minor_version: 41,
        };
        let docker = Docker::connect_with_unix(socket, 10, &version)
            .with_context(|| format!("the Docker socket {socket}"))?;
        Ok(Swarm {
            docker,
            service: service.to_owned(),
            label: label.to_owned(),
        })
    }

    pub async fn hosts(&self) -> Result<Vec<Host>> {
        let nodes = self
            .docker
            .list_nodes(None::<bollard::query_parameters::ListNodesOptions>)
            .await?;
        let mut per_node: HashMap<String, usize> = HashMap::new();
        let running = HashMap::from([("desired-state", vec!["running"])]);
        let tasks = self
            .docker
            .list_tasks(Some(
                ListTasksOptionsBuilder::default().filters(&running).build(),
            ))
            .await?;
        for task in tasks {
            if let Some(node) = task.node_id {
                *per_node.entry(node).or_default() += 1;
            }
        }
        Ok(nodes
            .into_iter()
            .filter_map(|node| {
                let id = node.id?;
                let spec = node.spec.unwrap_or_default();
                let labels = spec.labels.unwrap_or_default();
                let status = node.status.unwrap_or_default();
                let name = labels
                    .get("foobar.host")
                    .cloned()
                    .or_else(|| node.description.and_then(|d| d.hostname))
                    .unwrap_or_else(|| id.clone());
                Some(Host {
                    name,
                    addr: status.addr.unwrap_or_default(),
                    labelled: labels.contains_key(&self.label),
                    usable: status.state == Some(NodeState::READY)
                        && spec.availability == Some(NodeSpecAvailabilityEnum::ACTIVE),
                    tasks: per_node.get(&id).copied().unwrap_or(0),
                    id,
                })
            })
            .collect())
    }

    /// How many of the app service's tasks Swarm means to run are not running yet (starting:
    /// a task with a health check stays so until it passes). The running ones are found by
    /// their addresses in Swarm's DNS (`tasks.app`), as Prometheus finds them: the Engine API
    /// does not give a task's address.
    pub async fn app_tasks_starting(&self) -> Result<usize> {
        let filters = HashMap::from([
            ("service", vec![self.service.as_str()]),
            ("desired-state", vec!["running"]),
        ]);
        let tasks = self
            .docker
            .list_tasks(Some(
                ListTasksOptionsBuilder::default().filters(&filters).build(),
            ))
            .await?;
        Ok(tasks
            .iter()
            .filter(|t| t.status.as_ref().and_then(|s| s.state) != Some(TaskState::RUNNING))
            .count())
    }

    /// What the controller reads from the scaled service itself: its CPU quota per task, in
    /// cores (`limits.cpus`), and whether it may act (the service label `foobar.autoscale`,
    /// `on` or `off`; none: on). Off, it still observes and recommends but changes nothing, as
    /// KEDA's `paused` annotation does: turning it off is not stopping it, so nothing it serves
    /// (its metrics) disappears.
    pub async fn app_service(&self) -> Result<AppService> {
        let spec = self
            .docker
            .inspect_service(
                &self.service,
                None::<bollard::query_parameters::InspectServiceOptions>,
            )
            .await
            .with_context(|| format!("the service {}", self.service))?
            .spec
            .unwrap_or_default();
        let enabled = match spec.labels.as_ref().and_then(|l| l.get(SWITCH_LABEL)) {
            None => true,
            Some(value) => parse_switch(value).ok_or_else(|| {
                anyhow!(
                    "the service {} has {SWITCH_LABEL}={value:?}: need on or off",
                    self.service
                )
            })?,
        };
        let nano = spec
            .task_template
            .and_then(|t| t.resources)
            .and_then(|r| r.limits)
            .and_then(|l| l.nano_cpus)
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                anyhow!(
                    "the service {} has no CPU limit to measure against",
                    self.service
                )
            })?;
        Ok(AppService {
            cpu_quota: nano as f64 / 1e9,
            enabled,
        })
    }

    /// Puts the app's label on the node, or takes it off. Swarm then starts or stops the
    /// global service's task there (a stop: SIGQUIT, the app drains, within the grace period).
    pub async fn set_label(&self, node_id: &str, on: bool) -> Result<()> {
        let node = self.docker.inspect_node(node_id).await?;
        let version = node
            .version
            .and_then(|v| v.index)
            .ok_or_else(|| anyhow!("node {node_id} has no version"))?;
        let mut spec: NodeSpec = node.spec.unwrap_or_default();
        let labels = spec.labels.get_or_insert_with(HashMap::new);
        if on {
            labels.insert(self.label.clone(), "yes".to_owned());
        } else {
            labels.remove(&self.label);
        }
        self.docker
            .update_node(
                node_id,
                spec,
                UpdateNodeOptionsBuilder::default()
                    .version(version as i64)
                    .build(),
            )
            .await
            .with_context(|| format!("labelling node {node_id}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_switch;

    #[test]
    fn the_switch_is_on_or_off_and_nothing_else() {
        assert_eq!(parse_switch("on"), Some(true));
        assert_eq!(parse_switch("off"), Some(false));
        assert_eq!(parse_switch("yes"), None);
        assert_eq!(parse_switch(""), None);
    }
}
