//! The cluster's autoscaler: Kubernetes' HorizontalPodAutoscaler algorithm (`hpa`), fed each
//! app task's CPU against its quota from Prometheus (`prometheus`), acting through Swarm's
//! node labels (`swarm`), one pass at a time (`controller`).
pub mod controller;
pub mod hpa;
pub mod prometheus;
pub mod swarm;
