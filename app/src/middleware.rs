//! Request ids: every request carries one (nginx's, or a fresh one when called directly), the
//! access log prints it, the response returns it, and server errors are logged with it.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Access log line; `%{x-request-id}i` is always set because [`request_id`] wraps the logger.
pub const ACCESS_LOG_FORMAT: &str = r#"%{x-request-id}i %a "%r" %s %b %Dms "%{User-Agent}i""#;

fn is_valid(id: &HeaderValue) -> bool {
    let bytes = id.as_bytes();
    (1..=64).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

pub async fn request_id(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = match req.headers().get(X_REQUEST_ID) {
        Some(id) if is_valid(id) => id.clone(),
        _ => HeaderValue::from_str(&uuid::Uuid::new_v4().simple().to_string())
            .expect("a uuid is a valid header value"),
    };
    req.headers_mut().insert(X_REQUEST_ID, id.clone());
    let mut res = next.call(req).await?;
    if res.status().is_server_error() {
        if let Some(err) = res.response().error() {
            log::error!(
                "request_id={} {} {}: {err}",
                id.to_str().unwrap_or("-"),
                res.request().method(),
                res.request().path()
            );
        }
    }
    res.headers_mut().insert(X_REQUEST_ID, id);
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_short_and_plain() {
        assert!(is_valid(&HeaderValue::from_static("abc-123_x.y")));
        assert!(!is_valid(&HeaderValue::from_static("")));
        assert!(!is_valid(&HeaderValue::from_static("has space")));
        assert!(!is_valid(&HeaderValue::from_str(&"a".repeat(65)).unwrap()));
    }
}
