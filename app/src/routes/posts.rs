//! `/api/posts`: the request and response shapes of posts, and their handlers.

use actix_web::http::{header, Method};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::auth::SignedIn;
use super::input::{self, RequestBody};
use crate::db::posts::{self, PostRow};
use crate::db::Db;
use crate::domain::{Body, DomainError, IdempotencyKey, NewPost, Page, PostId, Title};
use crate::error::{AppError, ErrorBody};

const IDEMPOTENCY_KEY: &str = "idempotency-key";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource(
        "/posts",
        vec![
            (Method::GET, web::to(list_posts)),
            (Method::POST, web::to(create_post)),
        ],
    ))
    .service(super::resource(
        "/posts/{id}",
        vec![
            (Method::GET, web::to(get_post)),
            (Method::DELETE, web::to(delete_post)),
        ],
    ));
}

/// A stored post, as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Post {
    #[schema(minimum = 1)]
    pub id: i64,
    #[schema(min_length = 1, max_length = 50)]
    pub author: String,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[schema(min_length = 1, max_length = 10000)]
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl From<PostRow> for Post {
    fn from(row: PostRow) -> Self {
        Post {
            id: row.id,
            author: row.author,
            title: row.title,
            body: row.body,
            created_at: row.created_at,
        }
    }
}

/// What a client sends to create a post: a JSON object with exactly these two strings; the
/// author is the signed-in user. Lengths count characters (code points) after trimming
/// whitespace; a field with no visible character (only whitespace, zero-width or other
/// default-ignorable characters) counts as empty. The schema's lengths and patterns hold for
/// the untrimmed text, so text that keeps to them is refused only when it has no visible
/// character.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostInput {
    /// 1–200 characters, on one line: no control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub title: String,
    /// 1–10 000 characters; line breaks and tabs are the only control characters allowed.
    #[schema(
        min_length = 1,
        max_length = 10000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub body: String,
}

impl RequestBody for PostInput {
    const ONLY: &'static str = "a post has only title and body (its author is the signed-in user)";
}

impl PostInput {
    fn parse(self, idempotency_key: Option<IdempotencyKey>) -> Result<NewPost, DomainError> {
        Ok(NewPost {
            title: Title::parse(&self.title)?,
            body: Body::parse(&self.body)?,
            idempotency_key,
        })
    }
}

/// Taken as text and parsed by [`Page::parse`], so that `limit=abc` or a number past i64 is a
/// 422 naming the field, like any other out-of-range value, not the query parser's 400.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListParams {
    /// Page size.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100, default = 20)]
    pub(crate) limit: Option<String>,
    /// Only posts with an id below this one (the previous page's `next_before`).
    #[param(value_type = Option<i64>, minimum = 1)]
    pub(crate) before: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PostList {
    pub posts: Vec<Post>,
    /// Pass as `before` to get the next (older) page; null on the last page.
    #[schema(minimum = 1)]
    pub next_before: Option<i64>,
}

/// Create a post as the signed-in user. With an `Idempotency-Key` header a retry returns the
/// post the first attempt created (`Idempotent-Replayed: true`) instead of a duplicate; keys
/// are per user.
#[utoipa::path(post, path = "/api/posts", tag = "posts", request_body = PostInput,
    security(("session" = [])),
    params(("Idempotency-Key" = Option<String>, Header,
        min_length = 1, max_length = 100, pattern = "^[!-~]+$",
        description = "1–100 visible ASCII characters; makes the write safe to retry")),
    responses(
        (status = 201, description = "Created", body = Post,
            headers(("Location" = String, description = "URL of the new post"))),
        (status = 400, description = "Malformed JSON or Idempotency-Key", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Sent from another site", body = ErrorBody),
        (status = 409, description = "Idempotency-Key already used for another post", body = ErrorBody),
        (status = 413, description = "Body over 128 KiB (131 072 bytes)", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "A field breaks a rule, or the body is not a JSON object \
            (`field` names the field, or is `$` for the body as a whole)", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ))]
pub async fn create_post(
    signed_in: SignedIn,
    db: web::Data<Db>,
    req: HttpRequest,
    input: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let key = req
        .headers()
        .get(IDEMPOTENCY_KEY)
        .map(|value| IdempotencyKey::parse(value.as_bytes()))
        .transpose()?;
    let new_post = input::body::<PostInput>(input.into_inner())?.parse(key)?;
    // The outer result is the database's; the inner one what the rows mean for this request.
    let author = signed_in.user;
    let (created, replayed) = db
        .run(move |conn| {
            if let Some(created) = posts::insert(conn, &author, &new_post)? {
                return Ok(Ok((created, false)));
            }
            // The key was used before: a retry gets the first answer, a different post a 409.
            let Some(key) = new_post.idempotency_key.as_ref() else {
                return Ok(Err(AppError::internal(
                    "insert conflicted on a post without an idempotency key",
                )));
            };
            Ok(
                match posts::find_by_idempotency_key(conn, author.id, key)? {
                    Some(existing) if existing.has_content_of(&new_post) => Ok((existing, true)),
                    Some(_) => Err(AppError::Conflict {
                        message: "Idempotency-Key was already used for a different post".to_owned(),
                        field: None,
                    }),
                    None => Err(AppError::internal(
                        "insert conflicted but no row has the key",
                    )),
                },
            )
        })
        .await??;
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, format!("/api/posts/{}", created.id)));
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(response.json(Post::from(created)))
}

/// List posts, newest first.
#[utoipa::path(get, path = "/api/posts", tag = "posts", params(ListParams),
    responses(
        (status = 200, description = "One page of posts", body = PostList),
        (status = 400, description = "Unparseable query string (e.g. a repeated parameter)", body = ErrorBody),
        (status = 422, description = "limit or before not a number in range", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ))]
pub async fn list_posts(
    db: web::Data<Db>,
    params: web::Query<ListParams>,
) -> Result<web::Json<PostList>, AppError> {
    let page = Page::parse(params.limit.as_deref(), params.before.as_deref())?;
    let (rows, next_before) = db.run(move |conn| posts::list(conn, page, None)).await?;
    Ok(web::Json(PostList {
        posts: rows.into_iter().map(Post::from).collect(),
        next_before,
    }))
}

/// Read one post.
#[utoipa::path(get, path = "/api/posts/{id}", tag = "posts",
    params(("id" = i64, Path, minimum = 1,
        description = "Post id. One that is not a whole number from 1 to 2^63-1 cannot exist: 404")),
    responses(
        (status = 200, description = "The post", body = Post),
        (status = 404, description = "No such post, or an id that cannot exist", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ))]
pub async fn get_post(db: web::Data<Db>, id: web::Path<i64>) -> Result<web::Json<Post>, AppError> {
    let id = PostId::parse(id.into_inner())?;
    let row = db
        .run(move |conn| posts::find(conn, id))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no post {}", id.get())))?;
    Ok(web::Json(Post::from(row)))
}

/// Delete one of your own posts.
#[utoipa::path(delete, path = "/api/posts/{id}", tag = "posts", security(("session" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Post id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Someone else's post, or sent from another site", body = ErrorBody),
        (status = 404, description = "No such post", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ))]
pub async fn delete_post(
    signed_in: SignedIn,
    db: web::Data<Db>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = PostId::parse(id.into_inner())?;
    let user_id = signed_in.user.id;
    // Checked and deleted in one transaction, so the post cannot change hands in between.
    let outcome = db
        .run(move |conn| {
            use diesel::Connection;
            conn.transaction(|conn| match posts::find(conn, id)? {
                None => Ok(Err(AppError::NotFound(format!("no post {}", id.get())))),
                Some(post) if post.user_id != user_id => Ok(Err(AppError::Forbidden(
                    "this post is someone else's: only its author may delete it".to_owned(),
                ))),
                Some(_) => posts::delete(conn, id).map(|_| Ok(())),
            })
        })
        .await?;
    outcome?;
    Ok(HttpResponse::NoContent().finish())
}
