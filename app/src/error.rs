//! The one error type handlers return. Client errors explain themselves; server errors
//! stay opaque in the body and are logged with the request id by `middleware::request_id`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::{DomainError, Field};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Seconds a client should wait before retrying a 503.
pub const RETRY_AFTER_SECS: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Unparseable request (malformed JSON, bad query string).
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed request whose content breaks a rule; `field` names the culprit.
    #[error("{message}")]
    Validation {
        field: Option<&'static str>,
        message: String,
    },
    #[error("request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("database unavailable: {0}")]
    DatabaseUnavailable(String),
    /// The server closed the connection (a restart): answered like `DatabaseUnavailable`, and
    /// `Db::run` drops the connection from the pool.
    #[error("database connection lost: {0}")]
    ConnectionLost(String),
    #[error("unexpected error: {0}")]
    Internal(#[source] BoxError),
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `validation_failed`.
    pub error: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// The input field at fault, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

impl AppError {
    pub fn internal(err: impl Into<BoxError>) -> Self {
        AppError::Internal(err.into())
    }

    fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Validation { .. } => "validation_failed",
            AppError::UnsupportedMediaType => "unsupported_media_type",
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::NotFound(_) => "not_found",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::Conflict(_) => "conflict",
            AppError::DatabaseUnavailable(_) | AppError::ConnectionLost(_) => {
                "database_unavailable"
            }
            AppError::Internal(_) => "internal_error",
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::DatabaseUnavailable(_) | AppError::ConnectionLost(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let message = match self {
            // The cause may name hosts, queries or credentials: log it, don't send it.
            AppError::DatabaseUnavailable(_) | AppError::ConnectionLost(_) => {
                "the database is unavailable, try again shortly".to_owned()
            }
            AppError::Internal(_) => "unexpected error".to_owned(),
            other => other.to_string(),
        };
        let field = match self {
            AppError::Validation { field, .. } => *field,
            _ => None,
        };
        let mut response = HttpResponse::build(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()));
        }
        response.json(ErrorBody {
            error: self.code(),
            message,
            field,
        })
    }
}

/// The one place a broken rule becomes a status: a bad header makes the request malformed
/// (400); a bad body or query field is well-formed content that breaks a rule (422).
impl From<DomainError> for AppError {
    fn from(err: DomainError) -> Self {
        match err.field {
            Field::IdempotencyKey => AppError::BadRequest(err.to_string()),
            // An id that cannot exist names no resource.
            Field::PostId => AppError::NotFound(err.to_string()),
            Field::Author | Field::Title | Field::Body | Field::Limit | Field::Before => {
                AppError::Validation {
                    field: Some(err.field.name()),
                    message: err.to_string(),
                }
            }
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::NotFound => AppError::NotFound("not found".to_owned()),
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => AppError::ConnectionLost(info.message().to_owned()),
            // statement_timeout fired: the database is too slow to answer in time.
            Error::DatabaseError(_, info) if info.message().contains("statement timeout") => {
                AppError::DatabaseUnavailable(info.message().to_owned())
            }
            other => AppError::internal(other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        AppError::DatabaseUnavailable(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_rules_map_to_a_status_and_name_body_and_query_fields() {
        for (field, status, named) in [
            (Field::Author, 422, Some("author")),
            (Field::Body, 422, Some("body")),
            (Field::Limit, 422, Some("limit")),
            (Field::Before, 422, Some("before")),
            (Field::IdempotencyKey, 400, None),
            (Field::PostId, 404, None),
        ] {
            let err = AppError::from(DomainError::new(field, "is wrong"));
            assert_eq!(err.status_code().as_u16(), status, "{field:?}");
            assert_eq!(err.to_string(), format!("{} is wrong", field.name()));
            let reported = match err {
                AppError::Validation { field, .. } => field,
                _ => None,
            };
            assert_eq!(reported, named, "{field:?}");
        }
    }
}
