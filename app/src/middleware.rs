//! Request ids: every request carries one (nginx's, or a fresh one when called directly), the
//! access log prints it, the response returns it, and server errors are logged with it.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;

use crate::error::AppError;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

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

/// Why a request that could change something comes from another site, if it does (CSRF).
/// Browsers say where a request comes from in `Sec-Fetch-Site` (all current ones) and
/// `Origin` (on every cross-origin request and on same-origin POSTs); only what they say is
/// refused, so clients that send neither (curl, scripts, the tools) pass. `SameSite=Lax`
/// already keeps the cookie off cross-site POSTs; this also covers same-site siblings,
/// older browsers and sign-in forms posted from elsewhere (login CSRF).
fn cross_site(req: &ServiceRequest) -> Option<&'static str> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let header = |name| req.headers().get(name).map(HeaderValue::as_bytes);
    if let Some(site) = header(SEC_FETCH_SITE) {
        if !matches!(site, b"same-origin" | b"none") {
            return Some("Sec-Fetch-Site says the request comes from another site");
        }
    }
    if let Some(origin) = header(header::ORIGIN) {
        // The port is not compared: a browser's cookies do not tell ports apart either, and
        // behind a published port the Host nginx forwards carries none.
        let origin_host = std::str::from_utf8(origin)
            .ok()
            .and_then(|origin| origin.split_once("://"))
            .map(|(_, authority)| host_of(authority));
        let own_host = header(header::HOST)
            .and_then(|host| std::str::from_utf8(host).ok())
            .map(host_of);
        match (origin_host, own_host) {
            (Some(origin), Some(own)) if origin.eq_ignore_ascii_case(own) => {}
            _ => return Some("its Origin is not this site"),
        }
    }
    None
}

/// `www.foobar.com` of `www.foobar.com:8080`, `[::1]` of `[::1]:8080`.
fn host_of(authority: &str) -> &str {
    let end = if authority.starts_with('[') {
        authority.find(']').map_or(authority.len(), |i| i + 1)
    } else {
        authority.find(':').unwrap_or(authority.len())
    };
    &authority[..end]
}

/// Refuses cross-site state-changing requests with 403 before any handler runs.
/// Answered as a response, not returned as an error, so the middlewares around it (the
/// request metrics) see the 403 like any other answer.
pub async fn refuse_cross_site(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Some(reason) = cross_site(&req) {
        return Ok(req
            .error_response(AppError::CrossSite(reason))
            .map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// HTTP's own methods (RFC 9110 and PATCH); any other token is answered 501 here, before the
/// request metrics, whose `method` label would otherwise take every token a client invents.
pub async fn known_method(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let known = matches!(
        *req.method(),
        Method::GET
            | Method::HEAD
            | Method::POST
            | Method::PUT
            | Method::DELETE
            | Method::CONNECT
            | Method::OPTIONS
            | Method::TRACE
            | Method::PATCH
    );
    if !known {
        return Ok(req
            .error_response(AppError::MethodNotImplemented)
            .map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn refused(method: Method, headers: &[(&str, &str)]) -> bool {
        let mut req = TestRequest::default()
            .method(method)
            .insert_header((header::HOST, "www.foobar.com"));
        for &(name, value) in headers {
            req = req.insert_header((name, value));
        }
        cross_site(&req.to_srv_request()).is_some()
    }

    #[test]
    fn cross_site_writes_are_refused_by_either_header() {
        assert!(refused(Method::POST, &[("sec-fetch-site", "cross-site")]));
        assert!(refused(Method::DELETE, &[("sec-fetch-site", "same-site")]));
        assert!(refused(Method::POST, &[("origin", "https://evil.example")]));
        assert!(refused(Method::PUT, &[("origin", "null")]));
        assert!(refused(
            Method::POST,
            &[("origin", "http://www.foobar.com.evil.example")]
        ));
    }

    #[test]
    fn same_site_reads_and_header_less_clients_pass() {
        assert!(!refused(Method::POST, &[]));
        assert!(!refused(Method::POST, &[("sec-fetch-site", "same-origin")]));
        assert!(!refused(Method::POST, &[("sec-fetch-site", "none")]));
        assert!(!refused(
            Method::POST,
            &[("origin", "http://WWW.foobar.com:9090")]
        ));
        assert!(!refused(Method::GET, &[("sec-fetch-site", "cross-site")]));
        assert!(!refused(
            Method::HEAD,
            &[("origin", "https://evil.example")]
        ));
    }

    #[test]
    fn hosts_lose_their_port() {
        assert_eq!(host_of("www.foobar.com:8080"), "www.foobar.com");
        assert_eq!(host_of("www.foobar.com"), "www.foobar.com");
        assert_eq!(host_of("[::1]:8080"), "[::1]");
    }

    #[test]
    fn request_ids_are_short_and_plain() {
        assert!(is_valid(&HeaderValue::from_static("abc-123_x.y")));
        assert!(!is_valid(&HeaderValue::from_static("")));
        assert!(!is_valid(&HeaderValue::from_static("has space")));
        assert!(!is_valid(&HeaderValue::from_str(&"a".repeat(65)).unwrap()));
    }
}
