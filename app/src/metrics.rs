//! Prometheus metrics, served on a listener of their own (`APP_METRICS_ADDR`) that nginx never
//! proxies, so only the monitoring network can read them.
//!
//! Requests are counted and timed by actix-web-prom: labelled by route pattern
//! (`/api/posts/{id}`), never by raw path, and every path no route matches collapses to
//! [`UNMATCHED`], so a scanner adds no series. Methods outside HTTP's own set never reach it
//! ([`crate::middleware::known_method`] answers them 501). Saturation is read at scrape time:
//! the database pool and the password hashers, each beside its capacity.

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use prometheus::{Encoder, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};

use crate::auth::Hasher;
use crate::db::Db;

/// The `endpoint` label of every request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// Latency buckets in seconds: from a cached read (about a millisecond) to the database
/// deadline (2.5 s) and past it, so the p99 alert's 0.5 s threshold falls on a bucket edge.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The registry and the gauges refreshed on each scrape.
pub struct Metrics {
    registry: Registry,
    db: Db,
    hasher: Arc<Hasher>,
    pool_connections: IntGaugeVec,
    pool_max: IntGauge,
    hashers_busy: IntGauge,
    hashers: IntGauge,
}

impl Metrics {
    /// Registers the application's metrics, and returns them with the request middleware
    /// that records into the same registry.
    pub fn new(
        db: Db,
        hasher: Arc<Hasher>,
        version: &str,
        revision: &str,
    ) -> prometheus::Result<(Self, PrometheusMetrics)> {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str| -> prometheus::Result<IntGauge> {
            let gauge = IntGauge::new(name, help)?;
            registry.register(Box::new(gauge.clone()))?;
            Ok(gauge)
        };
        let pool_connections = IntGaugeVec::new(
            Opts::new(
                "app_db_pool_connections",
                "Open database connections in the pool, by state (idle or in_use)",
            ),
            &["state"],
        )?;
        registry.register(Box::new(pool_connections.clone()))?;
        let metrics = Metrics {
            pool_max: gauge(
                "app_db_pool_max_connections",
                "Connections the pool may open (DATABASE_POOL_SIZE)",
            )?,
            hashers_busy: gauge(
                "app_hasher_busy",
                "Password hashers hashing or verifying right now",
            )?,
            hashers: gauge(
                "app_hasher_threads",
                "Password hashers (AUTH_HASH_CONCURRENCY)",
            )?,
            pool_connections,
            registry,
            db,
            hasher,
        };
        let info = IntGaugeVec::new(
            Opts::new("app_info", "The build that answers (always 1)"),
            &["version", "revision"],
        )?;
        info.with_label_values(&[version, revision]).set(1);
        metrics.registry.register(Box::new(info))?;
        metrics
            .registry
            .register(Box::new(metrics.db.unavailable_counter()))?;
        metrics
            .registry
            .register(Box::new(metrics.hasher.rejected_counter()))?;
        #[cfg(target_os = "linux")]
        metrics.registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        let requests = PrometheusMetricsBuilder::new("app")
            .registry(metrics.registry.clone())
            .buckets(&LATENCY_BUCKETS)
            .mask_unmatched_patterns(UNMATCHED)
            .build()
            .map_err(|err| prometheus::Error::Msg(err.to_string()))?;
        Ok((metrics, requests))
    }

    /// The text exposition of every metric, saturation read now.
    pub fn render(&self) -> String {
        let (open, idle, max) = self.db.pool_state();
        self.pool_connections
            .with_label_values(&["idle"])
            .set(idle.into());
        self.pool_connections
            .with_label_values(&["in_use"])
            .set(open.saturating_sub(idle).into());
        self.pool_max.set(max.into());
        self.hashers_busy.set(self.hasher.busy() as i64);
        self.hashers.set(self.hasher.threads() as i64);
        let mut text = Vec::new();
        // Encoding into a Vec fails only on metrics the registry itself refused to hold.
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut text) {
            log::error!("cannot encode the metrics: {err}");
        }
        String::from_utf8(text).unwrap_or_default()
    }
}

/// `GET /metrics` on the metrics listener.
pub async fn serve(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(TextEncoder::new().format_type())
        .body(metrics.render())
}
