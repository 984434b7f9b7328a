//! HTTP routes: one module per resource, wired together by [`configure`].

pub mod auth;
pub mod health;
mod input;
pub mod openapi;
pub mod posts;
pub mod session;
pub mod users;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::Method;
use actix_web::{guard, web, HttpRequest, HttpResponse, Resource, Route};

use crate::error::{AppError, ROOT_FIELD};

/// Largest accepted JSON body, 128 KiB: the largest valid post must fit in any script and any
/// JSON encoder. It has 10 000 + 200 + 50 characters, and JSON spends at most 12 bytes on one
/// (an astral character as a `\uXXXX\uXXXX` surrogate pair, which e.g. Python's `json.dumps`
/// writes by default): 123 000 bytes, plus names and punctuation. nginx's
/// `client_max_body_size` is the same 128k, so both refuse the same requests.
pub const JSON_LIMIT_BYTES: usize = 128 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(json_config())
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .service(
            web::scope("/api")
                .configure(health::configure)
                .configure(posts::configure)
                .configure(users::configure)
                .configure(session::configure)
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
        // Well-formed JSON of the wrong shape is a content problem. Handlers take any JSON value
        // and check its shape themselves, naming the field; this is the fallback.
        JsonPayloadError::Deserialize(err) if err.classify() == Category::Data => {
            AppError::Validation {
                field: ROOT_FIELD.into(),
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

/// Whatever the method: a path that names nothing is a 404, and HEAD's headers match GET's.
async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound(format!("no resource at {}", req.path())))
}

/// One resource: `routes` pairs each method it supports with its handler (`web::to(...)`).
/// Every other method gets 405 with `Allow` listing the supported ones, so the list cannot
/// drift from the routes. A GET handler also answers HEAD: actix-http sends a HEAD response's
/// status and headers without its body.
pub(crate) fn resource(path: &str, routes: Vec<(Method, Route)>) -> Resource {
    let mut allowed = Vec::new();
    let mut resource = web::resource(path);
    for (method, route) in routes {
        resource = if method == Method::GET {
            allowed.extend([Method::GET, Method::HEAD]);
            resource.route(route.guard(guard::Any(guard::Get()).or(guard::Head())))
        } else {
            allowed.push(method.clone());
            resource.route(route.method(method))
        };
    }
    let allow = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    resource.default_service(web::to(move || {
        let allow = allow.clone();
        async move { Err::<HttpResponse, _>(AppError::MethodNotAllowed { allow }) }
    }))
}
