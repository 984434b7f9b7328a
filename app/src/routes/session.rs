//! `/api/session` (sign in, sign out) and `/api/me` (the signed-in user, their password).

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::auth::{removal_cookie, session_cookie, session_token, SignedIn};
use super::input::{self, invalid, RequestBody};
use crate::auth::{HashError, Hasher, SessionPolicy, SessionToken};
use crate::db::users::{self, UserRow};
use crate::db::{sessions, Db};
use crate::domain::{Field, LoginThrottle, Password, Username};
use crate::error::{AppError, ErrorBody};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource(
        "/session",
        vec![
            (Method::POST, web::to(sign_in)),
            (Method::DELETE, web::to(sign_out)),
        ],
    ))
    .service(super::resource("/me", vec![(Method::GET, web::to(me))]))
    .service(super::resource(
        "/me/password",
        vec![(Method::PUT, web::to(change_password))],
    ));
}

/// A user, as they see themselves.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    #[schema(min_length = 3, max_length = 32, pattern = "^[a-z0-9_-]+$")]
    pub username: String,
    pub created_at: DateTime<Utc>,
    /// How many posts they have.
    #[schema(minimum = 0)]
    pub posts: i64,
}

/// `{username, password}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// 3–32 characters of `a-z 0-9 _ -`; upper case is accepted and lower-cased.
    #[schema(min_length = 3, max_length = 32, pattern = "^[A-Za-z0-9_-]+$")]
    pub username: String,
    /// Up to 256 characters. A new one must have at least 10, differ from the username and
    /// not be a very common password.
    #[schema(min_length = 1, max_length = 256)]
    pub password: String,
}

/// `{current_password, new_password}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(min_length = 1, max_length = 256)]
    pub current_password: String,
    /// At least 10 characters, not the username, not a very common password.
    #[schema(min_length = 10, max_length = 256)]
    pub new_password: String,
}

impl RequestBody for Credentials {
    const ONLY: &'static str = "send only username and password";
}

impl RequestBody for PasswordChange {
    const ONLY: &'static str = "send only current_password and new_password";
}

impl From<HashError> for AppError {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Busy { .. } => AppError::Busy(err.to_string()),
            HashError::Failed(_) => AppError::internal(err),
        }
    }
}

/// The account `name` would sign in to, if there is one, once the throttle allows another
/// attempt: 429 while `name` must wait after repeated failures (see [`LoginThrottle`]). The
/// failures and the account come in one round trip.
async fn attempt(
    db: &Db,
    throttle: &LoginThrottle,
    name: &Username,
) -> Result<Option<UserRow>, AppError> {
    let lookup = name.clone();
    let (failures, user) = db
        .run(move |conn| {
            Ok((
                users::login_failures(conn, &lookup)?,
                users::find_by_username(conn, &lookup)?,
            ))
        })
        .await?;
    let Some((failures, last)) = failures else {
        return Ok(user);
    };
    let now = Utc::now();
    let wait = LoginThrottle::wait_after(failures);
    let remaining = (last + wait - now).num_milliseconds();
    if remaining <= 0 || last + throttle.forget_after < now {
        return Ok(user);
    }
    let retry_after_secs = (remaining as u64).div_ceil(1000);
    Err(AppError::TooManyRequests {
        message: format!(
            "too many failed sign-ins for this username: wait {retry_after_secs} s before trying again"
        ),
        retry_after_secs,
    })
}

async fn record_failure(db: &Db, throttle: &LoginThrottle, name: Username) -> Result<(), AppError> {
    let now = Utc::now();
    let forget_before = now - throttle.forget_after;
    db.run(move |conn| users::record_login_failure(conn, &name, now, forget_before))
        .await?;
    Ok(())
}

/// Sign in: a session cookie for a username and its password. An unknown username and a
/// wrong password get the same answer after the same work.
#[utoipa::path(post, path = "/api/session", tag = "accounts", request_body = Credentials,
    responses(
        (status = 204, description = "Signed in",
            headers(("Set-Cookie" = String, description = "foobar_session=...; HttpOnly; SameSite=Lax; Path=/"))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 403, description = "Sent from another site", body = ErrorBody),
        (status = 413, description = "Body over 128 KiB", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "A field missing or malformed, or a password over 256 characters", body = ErrorBody),
        (status = 429, description = "Too many failed sign-ins for this username (or, from nginx, from this address); see Retry-After", body = ErrorBody),
        (status = 503, description = "Database unavailable, or too many sign-ins at once", body = ErrorBody),
    ))]
pub async fn sign_in(
    db: web::Data<Db>,
    hasher: web::Data<Hasher>,
    policy: web::Data<SessionPolicy>,
    throttle: web::Data<LoginThrottle>,
    input: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let Credentials { username, password } = input::body(input.into_inner())?;
    let username = Username::parse(&username)?;
    let password = Password::given(Field::Password, password)?;
    let user = attempt(&db, &throttle, &username).await?;
    // Without an account (or a hash) this verifies against a dummy hash: the same work.
    let stored = user.as_ref().and_then(|user| user.password_hash.clone());
    let matches = hasher.verify(password, stored).await?;
    let Some(user) = user.filter(|_| matches) else {
        record_failure(&db, &throttle, username).await?;
        return Err(AppError::InvalidCredentials);
    };
    let token = SessionToken::generate();
    let token_hash = token.hash();
    let expiry = policy.expiry(Utc::now());
    // One transaction: one commit (one WAL flush) per sign-in instead of three.
    db.run(move |conn| {
        use diesel::Connection;
        conn.transaction(|conn| {
            users::clear_login_failures(conn, &username)?;
            sessions::delete_expired(conn, user.id, expiry, SessionPolicy::MAX_PER_USER)?;
            sessions::insert(conn, &token_hash, user.id)
        })
    })
    .await?;
    Ok(HttpResponse::NoContent()
        .cookie(session_cookie(&policy, &token))
        .finish())
}

/// Sign out: the session is revoked on the server and the cookie cleared. Answers 204 also
/// without a session, so signing out twice is harmless.
#[utoipa::path(delete, path = "/api/session", tag = "accounts",
    responses(
        (status = 204, description = "Signed out (the session, if any, is revoked)"),
        (status = 403, description = "Sent from another site", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ))]
pub async fn sign_out(
    db: web::Data<Db>,
    policy: web::Data<SessionPolicy>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    if let Some(token) = session_token(&req) {
        let token_hash = token.hash();
        db.run(move |conn| sessions::delete(conn, &token_hash))
            .await?;
    }
    Ok(HttpResponse::NoContent()
        .cookie(removal_cookie(&policy))
        .finish())
}

pub(crate) async fn me_of(db: &Db, user_id: i64) -> Result<Me, AppError> {
    let (user, posts) = db
        .run(move |conn| {
            Ok((
                users::find(conn, user_id)?,
                users::count_posts(conn, user_id)?,
            ))
        })
        .await?;
    let user: UserRow = user.ok_or(AppError::Unauthorized)?;
    Ok(Me {
        username: user.username,
        created_at: user.created_at,
        posts,
    })
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/me", tag = "accounts", security(("session" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = Me),
        (status = 401, description = "Not signed in, or the session is over", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ))]
pub async fn me(db: web::Data<Db>, signed_in: SignedIn) -> Result<web::Json<Me>, AppError> {
    Ok(web::Json(me_of(&db, signed_in.user.id).await?))
}

/// Change the password. Every other session of the user is revoked; this one stays.
#[utoipa::path(put, path = "/api/me/password", tag = "accounts", security(("session" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; other sessions revoked"),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Sent from another site", body = ErrorBody),
        (status = 413, description = "Body over 128 KiB", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "current_password is wrong, or new_password breaks a rule", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords for this user; see Retry-After", body = ErrorBody),
        (status = 503, description = "Database unavailable, or too many sign-ins at once", body = ErrorBody),
    ))]
pub async fn change_password(
    db: web::Data<Db>,
    hasher: web::Data<Hasher>,
    throttle: web::Data<LoginThrottle>,
    signed_in: SignedIn,
    input: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let PasswordChange {
        current_password: current,
        new_password: new,
    } = input::body(input.into_inner())?;
    let username = Username::parse(&signed_in.user.username).map_err(AppError::internal)?;
    let current = Password::given(Field::CurrentPassword, current)?;
    let new = Password::new_for(Field::NewPassword, new, &username)?;
    let user_id = signed_in.user.id;
    let stored = attempt(&db, &throttle, &username)
        .await?
        .ok_or(AppError::Unauthorized)?
        .password_hash;
    if !hasher.verify(current, stored).await? {
        record_failure(&db, &throttle, username).await?;
        return Err(invalid(
            Field::CurrentPassword.name(),
            "current_password is not your password".to_owned(),
        ));
    }
    let phc = hasher.hash(new).await?;
    let keep = signed_in.token_hash;
    db.run(move |conn| {
        use diesel::Connection;
        conn.transaction(|conn| {
            users::set_password_hash(conn, user_id, &phc)?;
            sessions::delete_others(conn, user_id, &keep)?;
            users::clear_login_failures(conn, &username)
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
