//! `/api/users`: sign up, and one user's posts.

use actix_web::http::{header, Method};
use actix_web::{web, HttpResponse};
use diesel::Connection;
use serde_json::Value;

use super::auth::session_cookie;
use super::input;
use super::posts::{ListParams, Post, PostList};
use super::session::{Credentials, Me};
use crate::auth::{Hasher, SessionPolicy, SessionToken};
use crate::db::{posts, sessions, users, Db};
use crate::domain::{Field, Page, Password, Username};
use crate::error::{AppError, ErrorBody};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource(
        "/users",
        vec![(Method::POST, web::to(sign_up))],
    ))
    .service(super::resource(
        "/users/{username}/posts",
        vec![(Method::GET, web::to(user_posts))],
    ));
}

fn taken(name: &Username) -> AppError {
    AppError::Conflict {
        message: format!("username {} is taken", name.as_str()),
        field: Some(Field::Username.name().into()),
    }
}

/// Create an account and sign in to it.
#[utoipa::path(post, path = "/api/users", tag = "accounts", request_body = Credentials,
    responses(
        (status = 201, description = "Created and signed in", body = Me,
            headers(("Set-Cookie" = String, description = "foobar_session=...; HttpOnly; SameSite=Lax; Path=/"),
                    ("Location" = String, description = "/api/me"))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "Sent from another site", body = ErrorBody),
        (status = 409, description = "Username taken (`field` is `username`)", body = ErrorBody),
        (status = 413, description = "Body over 128 KiB", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "username or password breaks a rule (`field` names it)", body = ErrorBody),
        (status = 429, description = "Too many sign-ups from this address (nginx); see Retry-After", body = ErrorBody),
        (status = 503, description = "Database unavailable, or too many sign-ins at once", body = ErrorBody),
    ))]
pub async fn sign_up(
    db: web::Data<Db>,
    hasher: web::Data<Hasher>,
    policy: web::Data<SessionPolicy>,
    input: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let Credentials { username, password } = input::body(input.into_inner())?;
    let username = Username::parse(&username)?;
    let password = Password::new_for(Field::Password, password, &username)?;
    // Checked before hashing so a taken name costs no hash; the insert below still decides.
    let lookup = username.clone();
    if db.run(move |conn| users::exists(conn, &lookup)).await? {
        return Err(taken(&username));
    }
    let phc = hasher.hash(password).await?;
    let token = SessionToken::generate();
    let token_hash = token.hash();
    let name = username.clone();
    let user = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let Some(user) = users::insert(conn, &name, &phc)? else {
                    return Ok(None);
                };
                sessions::insert(conn, &token_hash, user.id)?;
                Ok(Some(user))
            })
        })
        .await?
        .ok_or_else(|| taken(&username))?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, "/api/me"))
        .cookie(session_cookie(&policy, &token))
        .json(Me {
            username: user.username,
            created_at: user.created_at,
            posts: 0,
        }))
}

/// One user's posts, newest first, paginated like the list of all posts.
#[utoipa::path(get, path = "/api/users/{username}/posts", tag = "posts",
    params(("username" = String, Path, description = "Case-insensitive"), ListParams),
    responses(
        (status = 200, description = "One page of the user's posts", body = PostList),
        (status = 400, description = "Unparseable query string", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "limit or before not a number in range", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ))]
pub async fn user_posts(
    db: web::Data<Db>,
    username: web::Path<String>,
    params: web::Query<ListParams>,
) -> Result<web::Json<PostList>, AppError> {
    let no_user = || AppError::NotFound(format!("no user {:?}", username.as_str()));
    let name = Username::parse(&username).map_err(|_| no_user())?;
    let page = Page::parse(params.limit.as_deref(), params.before.as_deref())?;
    let (rows, next_before) = db
        .run(move |conn| {
            let Some(user) = users::find_by_username(conn, &name)? else {
                return Ok(None);
            };
            posts::list(conn, page, Some(user.id)).map(Some)
        })
        .await?
        .ok_or_else(no_user)?;
    Ok(web::Json(PostList {
        posts: rows.into_iter().map(Post::from).collect(),
        next_before,
    }))
}
