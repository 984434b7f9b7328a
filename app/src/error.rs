//! The one error type handlers return. Client errors explain themselves; server errors
//! stay opaque in the body and are logged with the request id by `middleware::request_id`.

use std::borrow::Cow;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::db::DbError;
use crate::domain::{DomainError, Field};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The `field` of a 422 about the request body as a whole (JSONPath's name for the root),
/// e.g. a JSON array where an object is expected.
pub const ROOT_FIELD: &str = "$";

/// Seconds a client should wait before retrying a 503.
pub const RETRY_AFTER_SECS: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Unparseable request (malformed JSON, bad query string).
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed request whose content breaks a rule; `field` names the culprit (a body or
    /// query field, a client's unknown key, or [`ROOT_FIELD`] for the body as a whole).
    #[error("{message}")]
    Validation {
        field: Cow<'static, str>,
        message: String,
    },
    #[error("request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// No session, or one that is over (signed out, expired, revoked).
    #[error("sign in first: this needs a signed-in user")]
    Unauthorized,
    /// Sign-in refused. Said the same way whether the user exists or the password is wrong.
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(String),
    /// A state-changing request sent by a browser from another site (CSRF).
    #[error("cross-site request refused: {0}")]
    CrossSite(&'static str),
    #[error("{0}")]
    NotFound(String),
    /// `allow` lists what the resource supports, e.g. `GET, HEAD`; it is also sent as the
    /// `Allow` header, which RFC 9110 requires on a 405.
    #[error("method not allowed here; allowed: {allow}")]
    MethodNotAllowed { allow: String },
    /// A method token HTTP does not define (RFC 9110 asks for 501).
    #[error("this method is not implemented by this server")]
    MethodNotImplemented,
    /// The request clashes with what is stored; `field` names the input at fault, if one is.
    #[error("{message}")]
    Conflict {
        message: String,
        field: Option<Cow<'static, str>>,
    },
    /// Too many attempts; the client may try again after `retry_after_secs`.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    /// Every password hasher is busy: a flood of sign-ins.
    #[error("too many sign-ins at once, try again shortly: {0}")]
    Busy(String),
    #[error("database unavailable: {0}")]
    DatabaseUnavailable(String),
    /// The server closed the connection (a restart): answered like `DatabaseUnavailable`;
    /// `Db::run` has already dropped the connection from the pool.
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
    /// The input field at fault: always present on a 422, on a 409 when one field clashes
    /// (a taken username), absent otherwise. `$` means the request body as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<Cow<'static, str>>,
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
            AppError::Unauthorized => "unauthorized",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::Forbidden(_) => "forbidden",
            AppError::CrossSite(_) => "cross_site_request",
            AppError::NotFound(_) => "not_found",
            AppError::MethodNotAllowed { .. } => "method_not_allowed",
            AppError::MethodNotImplemented => "not_implemented",
            AppError::Conflict { .. } => "conflict",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Busy(_) => "busy",
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
            AppError::Unauthorized | AppError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::CrossSite(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            AppError::MethodNotImplemented => StatusCode::NOT_IMPLEMENTED,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::DatabaseUnavailable(_) | AppError::ConnectionLost(_) | AppError::Busy(_) => {
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
            AppError::Busy(_) => "too many sign-ins at once, try again shortly".to_owned(),
            AppError::Internal(_) => "unexpected error".to_owned(),
            other => other.to_string(),
        };
        let field = match self {
            AppError::Validation { field, .. } => Some(field.clone()),
            AppError::Conflict { field, .. } => field.clone(),
            _ => None,
        };
        let mut response = HttpResponse::build(status);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()));
        }
        if let AppError::TooManyRequests {
            retry_after_secs, ..
        } = self
        {
            response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        if status == StatusCode::UNAUTHORIZED {
            // RFC 9110 asks a 401 to name a scheme; ours is the session cookie.
            response.insert_header((header::WWW_AUTHENTICATE, r#"Cookie realm="foobar.com""#));
        }
        if let AppError::MethodNotAllowed { allow } = self {
            response.insert_header((header::ALLOW, allow.as_str()));
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
            Field::Title
            | Field::Body
            | Field::Limit
            | Field::Before
            | Field::Username
            | Field::Password
            | Field::CurrentPassword
            | Field::NewPassword => AppError::Validation {
                field: Cow::Borrowed(err.field.name()),
                message: err.to_string(),
            },
        }
    }
}

/// The one place a database failure becomes a status. A slow, unreachable or restarted
/// database is a 503 (with `Retry-After`); its cause is logged, never sent.
impl From<DbError> for AppError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Unavailable(cause) => AppError::DatabaseUnavailable(cause),
            DbError::ConnectionLost(cause) => AppError::ConnectionLost(cause),
            DbError::Query(diesel::result::Error::NotFound) => {
                AppError::NotFound("not found".to_owned())
            }
            DbError::Query(other) => AppError::internal(other),
            DbError::Aborted(cause) => AppError::internal(cause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_rules_map_to_a_status_and_name_body_and_query_fields() {
        for (field, status, named) in [
            (Field::Title, 422, Some("title")),
            (Field::Username, 422, Some("username")),
            (Field::NewPassword, 422, Some("new_password")),
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
                AppError::Validation { field, .. } => Some(field),
                _ => None,
            };
            assert_eq!(reported.as_deref(), named, "{field:?}");
        }
    }

    #[test]
    fn method_not_allowed_lists_the_allowed_methods_in_allow() {
        let err = AppError::MethodNotAllowed {
            allow: "GET, HEAD".to_owned(),
        };

        let response = err.error_response();

        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers().get(header::ALLOW).unwrap(), "GET, HEAD");
        assert_eq!(
            err.to_string(),
            "method not allowed here; allowed: GET, HEAD"
        );
    }

    #[test]
    fn database_failures_map_to_a_status_code_and_retry_after() {
        use diesel::result::Error;
        for (err, status, code) in [
            (
                DbError::Unavailable("pool timed out".into()),
                503,
                "database_unavailable",
            ),
            (
                DbError::ConnectionLost("closed".into()),
                503,
                "database_unavailable",
            ),
            (DbError::Query(Error::NotFound), 404, "not_found"),
            (
                DbError::Query(Error::RollbackTransaction),
                500,
                "internal_error",
            ),
            (DbError::Aborted("panicked".into()), 500, "internal_error"),
        ] {
            let err = AppError::from(err);
            assert_eq!(err.status_code().as_u16(), status, "{err}");
            assert_eq!(err.code(), code, "{err}");
            let response = err.error_response();
            assert_eq!(
                response.headers().contains_key(header::RETRY_AFTER),
                status == 503,
                "{err}"
            );
        }
    }
}
