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

    /// The app's CPU quota per task, in cores (the service's `limits.cpus`).
    pub async fn cpu_quota(&self) -> Result<f64> {
        let service = self
            .docker
            .inspect_service(
                &self.service,
                None::<bollard::query_parameters::InspectServiceOptions>,
            )
            .await
            .with_context(|| format!("the service {}", self.service))?;
        let nano = service
            .spec
            .and_then(|s| s.task_template)
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
        Ok(nano as f64 / 1e9)
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
