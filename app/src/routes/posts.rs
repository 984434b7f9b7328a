//! `/api/posts`: the request and response shapes of posts, and their handlers.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::posts::{self, PostRow};
use crate::db::Db;
use crate::domain::{Author, Body, DomainError, IdempotencyKey, NewPost, Page, PostId, Title};
use crate::error::{AppError, ErrorBody};

const IDEMPOTENCY_KEY: &str = "idempotency-key";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/posts")
            .route(web::get().to(list_posts))
            .route(web::post().to(create_post))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::resource("/posts/{id}")
            .route(web::get().to(get_post))
            .default_service(web::to(super::method_not_allowed)),
    );
}

/// A stored post, as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Post {
    pub id: i64,
    pub author: String,
    pub title: String,
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

/// What a client sends to create a post, before any checks.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostInput {
    /// 1–50 characters after trimming, no control characters.
    pub author: String,
    /// 1–200 characters after trimming, no control characters.
    pub title: String,
    /// 1–10 000 characters after trimming; line breaks and tabs allowed.
    pub body: String,
}

impl PostInput {
    fn parse(self, idempotency_key: Option<IdempotencyKey>) -> Result<NewPost, DomainError> {
        Ok(NewPost {
            author: Author::parse(&self.author)?,
            title: Title::parse(&self.title)?,
            body: Body::parse(&self.body)?,
            idempotency_key,
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListParams {
    /// Page size, 1–100 (default 20).
    limit: Option<i64>,
    /// Only posts with an id below this one (the previous page's `next_before`).
    before: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct PostList {
    pub posts: Vec<Post>,
    /// Pass as `before` to get the next (older) page; null on the last page.
    pub next_before: Option<i64>,
}

/// Create a post. With an `Idempotency-Key` header a retry returns the post the first
/// attempt created (`Idempotent-Replayed: true`) instead of a duplicate.
#[utoipa::path(post, path = "/api/posts", tag = "posts", request_body = PostInput,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "1–100 visible ASCII characters; makes the write safe to retry")),
    responses(
        (status = 201, description = "Created", body = Post,
            headers(("Location" = String, description = "URL of the new post"))),
        (status = 400, description = "Malformed JSON or Idempotency-Key", body = ErrorBody),
        (status = 409, description = "Idempotency-Key already used for another post", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ))]
pub async fn create_post(
    db: web::Data<Db>,
    req: HttpRequest,
    input: web::Json<PostInput>,
) -> Result<HttpResponse, AppError> {
    let key = req
        .headers()
        .get(IDEMPOTENCY_KEY)
        .map(|value| IdempotencyKey::parse(value.as_bytes()))
        .transpose()?;
    let new_post = input.into_inner().parse(key)?;
    // The outer result is the database's; the inner one what the rows mean for this request.
    let (created, replayed) = db
        .run(move |conn| {
            if let Some(created) = posts::insert(conn, &new_post)? {
                return Ok(Ok((created, false)));
            }
            // The key was used before: a retry gets the first answer, a different post a 409.
            let Some(key) = new_post.idempotency_key.as_ref() else {
                return Ok(Err(AppError::internal(
                    "insert conflicted on a post without an idempotency key",
                )));
            };
            Ok(match posts::find_by_idempotency_key(conn, key)? {
                Some(existing) if existing.has_content_of(&new_post) => Ok((existing, true)),
                Some(_) => Err(AppError::Conflict(
                    "Idempotency-Key was already used for a different post".to_owned(),
                )),
                None => Err(AppError::internal(
                    "insert conflicted but no row has the key",
                )),
            })
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
        (status = 400, description = "Unparseable query string", body = ErrorBody),
        (status = 422, description = "limit or before out of range", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ))]
pub async fn list_posts(
    db: web::Data<Db>,
    params: web::Query<ListParams>,
) -> Result<web::Json<PostList>, AppError> {
    let page = Page::parse(params.limit, params.before)?;
    let (rows, next_before) = db.run(move |conn| posts::list(conn, page)).await?;
    Ok(web::Json(PostList {
        posts: rows.into_iter().map(Post::from).collect(),
        next_before,
    }))
}

/// Read one post.
#[utoipa::path(get, path = "/api/posts/{id}", tag = "posts",
    params(("id" = i64, Path, description = "Post id")),
    responses(
        (status = 200, description = "The post", body = Post),
        (status = 404, description = "No such post", body = ErrorBody),
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
