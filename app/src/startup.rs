//! Builds the HTTP server from a configuration and a pool.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, DefaultHeaders, Logger};
use actix_web::{web, App, HttpServer};

use crate::auth::{Hasher, SessionPolicy};
use crate::config::Config;
use crate::db::{Db, DbPool};
use crate::domain::LoginThrottle;
use crate::metrics::Metrics;
use crate::middleware::{known_method, refuse_cross_site, request_id, ACCESS_LOG_FORMAT};
use crate::routes::{self, health::AppInfo};

pub struct Application {
    port: u16,
    metrics_port: u16,
    server: Server,
    metrics_server: Server,
}

impl Application {
    /// Binds `config.addr` (port 0 picks a free one) and prepares the server; nothing is
    /// served until [`Application::run_until_stopped`].
    pub fn build(config: &Config, pool: DbPool) -> std::io::Result<Self> {
        let listener = TcpListener::bind(config.addr)?;
        let port = listener.local_addr()?.port();
        let metrics_listener = TcpListener::bind(config.metrics_addr)?;
        let metrics_port = metrics_listener.local_addr()?.port();
        let info = AppInfo {
            version: config.version(),
            revision: config.revision.clone(),
            started_at: chrono::Utc::now(),
            hostname: hostname(),
        };
        let db = Db::new(pool, config.database.deadline);
        let hasher = Arc::new(Hasher::new(
            config.auth.hash_concurrency,
            config.auth.hash_wait,
        ));
        let (metrics, request_metrics) = Metrics::new(
            db.clone(),
            hasher.clone(),
            &config.version(),
            &config.revision,
        )
        .map_err(std::io::Error::other)?;
        let db = web::Data::new(db);
        let hasher = web::Data::from(hasher);
        let sessions = web::Data::new(SessionPolicy {
            idle_timeout: config.auth.session_idle_timeout,
            lifetime: config.auth.session_lifetime,
            secure_cookie: config.auth.cookie_secure,
        });
        let throttle = web::Data::new(LoginThrottle {
            forget_after: config.auth.failure_window,
        });
        let info = web::Data::new(info);
        let version = config.version();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(refuse_cross_site))
                .wrap(DefaultHeaders::new().add(("X-App-Version", version.as_str())))
                .wrap(request_metrics.clone())
                .wrap(from_fn(known_method))
                .wrap(Logger::new(ACCESS_LOG_FORMAT))
                // Outermost, so the logger and every handler see the request id.
                .wrap(from_fn(request_id))
                .app_data(db.clone())
                .app_data(info.clone())
                .app_data(hasher.clone())
                .app_data(sessions.clone())
                .app_data(throttle.clone())
                .configure(routes::configure)
        })
        .workers(config.workers)
        .shutdown_timeout(config.shutdown_timeout.as_secs())
        .listen(listener)?
        .run();
        let metrics = web::Data::new(metrics);
        // One worker is plenty for a scrape every few seconds.
        let metrics_server = HttpServer::new(move || {
            App::new()
                .app_data(metrics.clone())
                .route("/metrics", web::get().to(crate::metrics::serve))
        })
        .workers(1)
        .disable_signals()
        .listen(metrics_listener)?
        .run();
        Ok(Self {
            port,
            metrics_port,
            server,
            metrics_server,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Port of the Prometheus metrics listener.
    pub fn metrics_port(&self) -> u16 {
        self.metrics_port
    }

    /// Serves until SIGTERM/SIGINT, then lets in-flight requests finish (up to the shutdown
    /// timeout); the metrics listener answers until then.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics_server.handle();
        let (served, _) = tokio::join!(
            async {
                let served = self.server.await;
                metrics.stop(false).await;
                served
            },
            self.metrics_server
        );
        served
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}
