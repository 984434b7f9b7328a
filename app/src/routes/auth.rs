//! Who is asking: the session cookie, read into [`SignedIn`], and written on sign-in.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use chrono::Utc;

use crate::auth::{SessionPolicy, SessionToken};
use crate::db::sessions::{self, TokenHash};
use crate::db::users::UserRef;
use crate::db::Db;
use crate::error::AppError;

/// The session cookie's name.
pub const COOKIE: &str = "foobar_session";

/// The user of a live session. As a handler argument it answers 401 without one.
#[derive(Debug)]
pub struct SignedIn {
    pub user: UserRef,
    pub token_hash: TokenHash,
}

/// The session token the request's cookie carries, if it could be one.
pub(crate) fn session_token(req: &HttpRequest) -> Option<SessionToken> {
    req.cookie(COOKIE)
        .and_then(|cookie| SessionToken::parse(cookie.value()))
}

impl FromRequest for SignedIn {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = session_token(req);
        let db = req.app_data::<web::Data<Db>>().cloned();
        let policy = req.app_data::<web::Data<SessionPolicy>>().cloned();
        Box::pin(async move {
            let token = token.ok_or(AppError::Unauthorized)?;
            let (db, policy) = db
                .zip(policy)
                .ok_or_else(|| AppError::internal("Db or SessionPolicy not configured"))?;
            let token_hash = token.hash();
            let now = Utc::now();
            let expiry = policy.expiry(now);
            let touch_before = now - policy.touch_interval();
            let user = db
                .run(move |conn| {
                    let found = sessions::find_user(conn, &token_hash, expiry)?;
                    if let Some((_, last_seen)) = &found {
                        if *last_seen < touch_before {
                            sessions::touch(conn, &token_hash)?;
                        }
                    }
                    Ok(found.map(|(user, _)| user))
                })
                .await?
                .ok_or(AppError::Unauthorized)?;
            Ok(SignedIn { user, token_hash })
        })
    }
}

/// The cookie that carries `token`: script cannot read it (`HttpOnly`), other sites' forms
/// and subrequests do not send it (`SameSite=Lax`), and it expires with the session.
pub(crate) fn session_cookie(policy: &SessionPolicy, token: &SessionToken) -> Cookie<'static> {
    let max_age = time::Duration::seconds(policy.lifetime.as_secs().try_into().unwrap_or(i64::MAX));
    let mut cookie = cookie(policy, token.expose().to_owned());
    cookie.set_max_age(max_age);
    cookie
}

/// Tells the browser to forget the session cookie.
pub(crate) fn removal_cookie(policy: &SessionPolicy) -> Cookie<'static> {
    let mut cookie = cookie(policy, String::new());
    cookie.make_removal();
    cookie
}

/// The session cookie's attributes, both when set and when removed (a browser matches a
/// removal by name, path and domain).
fn cookie(policy: &SessionPolicy, value: String) -> Cookie<'static> {
    Cookie::build(COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(policy.secure_cookie)
        .finish()
}
