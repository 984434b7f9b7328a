//! The cluster's autoscaler: Kubernetes' HorizontalPodAutoscaler algorithm (`hpa`), fed each
//! app task's CPU against its quota from Prometheus, acting through Swarm's node labels.
pub mod hpa;
