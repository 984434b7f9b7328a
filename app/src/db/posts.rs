//! Queries on `posts`. They take a connection and return diesel's result; what a failure
//! means to a client is decided by the caller.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::users::UserRef;
use crate::domain::{IdempotencyKey, NewPost, Page, PostId};
use crate::schema::posts;

/// A stored post.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = posts, check_for_backend(diesel::pg::Pg))]
pub struct PostRow {
    pub id: i64,
    pub author: String,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// The account it belongs to ("guest" for posts from before accounts).
    pub user_id: i64,
}

impl PostRow {
    /// Whether inserting `new_post` would have stored this row's content: a retry, not a
    /// reused idempotency key. (Keys are per user, so the author is the same.)
    pub fn has_content_of(&self, new_post: &NewPost) -> bool {
        (self.title.as_str(), self.body.as_str())
            == (new_post.title.as_str(), new_post.body.as_str())
    }
}

#[derive(Insertable)]
#[diesel(table_name = posts)]
struct NewPostRow<'a> {
    user_id: i64,
    author: &'a str,
    title: &'a str,
    body: &'a str,
    idempotency_key: Option<&'a str>,
}

/// Inserts the post as `author`; `None` when the author already used its idempotency key
/// (the first write won).
pub fn insert(
    conn: &mut PgConnection,
    author: &UserRef,
    new_post: &NewPost,
) -> QueryResult<Option<PostRow>> {
    let row = NewPostRow {
        user_id: author.id,
        author: &author.username,
        title: new_post.title.as_str(),
        body: new_post.body.as_str(),
        idempotency_key: new_post
            .idempotency_key
            .as_ref()
            .map(IdempotencyKey::as_str),
    };
    diesel::insert_into(posts::table)
        .values(row)
        .on_conflict((posts::user_id, posts::idempotency_key))
        .do_nothing()
        .returning(PostRow::as_returning())
        .get_result(conn)
        .optional()
}

pub fn find_by_idempotency_key(
    conn: &mut PgConnection,
    user_id: i64,
    key: &IdempotencyKey,
) -> QueryResult<Option<PostRow>> {
    posts::table
        .filter(posts::user_id.eq(user_id))
        .filter(posts::idempotency_key.eq(key.as_str()))
        .select(PostRow::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut PgConnection, id: PostId) -> QueryResult<Option<PostRow>> {
    posts::table
        .find(id.get())
        .select(PostRow::as_select())
        .first(conn)
        .optional()
}

/// Deletes the post; whether there was one.
pub fn delete(conn: &mut PgConnection, id: PostId) -> QueryResult<bool> {
    Ok(diesel::delete(posts::table.find(id.get())).execute(conn)? == 1)
}

/// Deletes every post of the user; returns how many.
pub fn delete_all_of(conn: &mut PgConnection, user_id: i64) -> QueryResult<usize> {
    diesel::delete(posts::table.filter(posts::user_id.eq(user_id))).execute(conn)
}

/// Newest first by id (keyset pagination: stable under concurrent inserts, no OFFSET scans),
/// everyone's or one user's. Returns the page and the `before` cursor of the next one, if
/// there is one.
pub fn list(
    conn: &mut PgConnection,
    page: Page,
    user_id: Option<i64>,
) -> QueryResult<(Vec<PostRow>, Option<i64>)> {
    let mut query = posts::table
        .select(PostRow::as_select())
        .order(posts::id.desc())
        .limit(page.limit() + 1)
        .into_boxed();
    if let Some(before) = page.before() {
        query = query.filter(posts::id.lt(before.get()));
    }
    if let Some(user_id) = user_id {
        query = query.filter(posts::user_id.eq(user_id));
    }
    let mut rows = query.load(conn)?;
    let next_before = if rows.len() as i64 > page.limit() {
        rows.truncate(page.limit() as usize);
        rows.last().map(|post| post.id)
    } else {
        None
    };
    Ok((rows, next_before))
}
