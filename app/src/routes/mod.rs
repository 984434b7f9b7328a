//! HTTP routes: one module per resource, wired together by [`configure`].

pub mod health;
pub mod openapi;
pub mod posts;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::AppError;

/// Largest accepted JSON body.
pub const JSON_LIMIT_BYTES: usize = 16 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(json_config())
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .service(
            web::scope("/api")
                .configure(health::configure)
                .configure(posts::configure)
                .configure(openapi::configure),
        )
        .default_service(web::to(not_found));
}

fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(JSON_LIMIT_BYTES)
        .content_type_required(true)
        .error_handler(|err, _req| json_error(err).into())
}

fn json_error(err: JsonPayloadError) -> AppError {
    use serde_json::error::Category;
    match err {
        JsonPayloadError::ContentType => AppError::UnsupportedMediaType,
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            AppError::PayloadTooLarge {
                limit: JSON_LIMIT_BYTES,
            }
        }
        // Well-formed JSON of the wrong shape (missing field, wrong type) is a content problem.
        JsonPayloadError::Deserialize(err) if err.classify() == Category::Data => {
            AppError::Validation {
                field: None,
                message: err.to_string(),
            }
        }
        JsonPayloadError::Deserialize(err) => {
            AppError::BadRequest(format!("malformed JSON: {err}"))
        }
        other => AppError::BadRequest(other.to_string()),
    }
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    AppError::BadRequest(format!("invalid query string: {err}")).into()
}

/// A path segment that does not parse (e.g. `/api/posts/abc`) names no resource.
fn path_error(_err: PathError, req: &HttpRequest) -> actix_web::Error {
    AppError::NotFound(format!("no resource at {}", req.path())).into()
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}

async fn method_not_allowed() -> Result<HttpResponse, AppError> {
    Err(AppError::MethodNotAllowed)
}
