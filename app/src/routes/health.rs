use actix_web::http::Method;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::Db;
use crate::error::{AppError, ErrorBody};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource(
        "/health",
        vec![(Method::GET, web::to(health))],
    ))
    .service(super::resource(
        "/ready",
        vec![(Method::GET, web::to(ready))],
    ))
    .service(super::resource(
        "/version",
        vec![(Method::GET, web::to(version))],
    ));
}

/// Facts about the running process, fixed at start-up.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppInfo {
    /// Crate version plus build revision; also sent as `X-App-Version` on every response.
    pub version: String,
    pub revision: String,
    pub started_at: DateTime<Utc>,
    /// The container (or host) that answered.
    pub hostname: String,
}

#[derive(Serialize, ToSchema)]
pub struct Status {
    status: &'static str,
}

/// Liveness: the process answers HTTP. Never touches the database.
#[utoipa::path(get, path = "/api/health", tag = "operations",
    responses((status = 200, description = "Alive", body = Status)))]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ok" })
}

/// Readiness: the database answers a query within the request deadline.
#[utoipa::path(get, path = "/api/ready", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Status),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ))]
pub async fn ready(db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    db.run(|conn| conn.batch_execute("SELECT 1")).await?;
    Ok(HttpResponse::Ok().json(Status { status: "ready" }))
}

/// Which build answered, since when, and where.
#[utoipa::path(get, path = "/api/version", tag = "operations",
    responses((status = 200, description = "Build and process facts", body = AppInfo)))]
pub async fn version(info: web::Data<AppInfo>) -> web::Json<AppInfo> {
    web::Json(info.get_ref().clone())
}
