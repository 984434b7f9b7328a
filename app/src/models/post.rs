//! A guestbook post: its input parsing, its rows, and its queries.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::AppError;
use crate::schema::posts;

pub const AUTHOR_MAX_CHARS: usize = 50;
pub const TITLE_MAX_CHARS: usize = 200;
pub const BODY_MAX_CHARS: usize = 10_000;
pub const PAGE_MAX: i64 = 100;
pub const PAGE_DEFAULT: i64 = 20;

/// A stored post, as the API returns it.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, Deserialize, ToSchema)]
#[diesel(table_name = posts, check_for_backend(diesel::pg::Pg))]
pub struct Post {
    pub id: i64,
    pub author: String,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
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

/// A post that passed every rule: the only way to get one is [`NewPost::parse`].
#[derive(Debug, PartialEq, Eq, Insertable)]
#[diesel(table_name = posts)]
pub struct NewPost {
    author: String,
    title: String,
    body: String,
    idempotency_key: Option<String>,
}

impl NewPost {
    pub fn parse(input: PostInput, key: Option<IdempotencyKey>) -> Result<Self, AppError> {
        Ok(NewPost {
            author: parse_text("author", &input.author, AUTHOR_MAX_CHARS, false)?,
            title: parse_text("title", &input.title, TITLE_MAX_CHARS, false)?,
            body: parse_text("body", &input.body, BODY_MAX_CHARS, true)?,
            idempotency_key: key.map(|key| key.0),
        })
    }

    /// Whether `post` is what this input would have created: a retry, not a reused key.
    pub fn matches(&self, post: &Post) -> bool {
        (
            self.author.as_str(),
            self.title.as_str(),
            self.body.as_str(),
        ) == (
            post.author.as_str(),
            post.title.as_str(),
            post.body.as_str(),
        )
    }
}

/// The `Idempotency-Key` header: 1–100 visible ASCII characters chosen by the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 100;

    pub fn parse(raw: &[u8]) -> Result<Self, AppError> {
        let valid =
            (1..=Self::MAX_LEN).contains(&raw.len()) && raw.iter().all(u8::is_ascii_graphic);
        match std::str::from_utf8(raw) {
            Ok(key) if valid => Ok(IdempotencyKey(key.to_owned())),
            _ => Err(AppError::BadRequest(format!(
                "Idempotency-Key must be 1 to {} visible ASCII characters",
                Self::MAX_LEN
            ))),
        }
    }
}

fn parse_text(
    field: &'static str,
    raw: &str,
    max_chars: usize,
    multiline: bool,
) -> Result<String, AppError> {
    let invalid = |message: String| AppError::Validation {
        field: Some(field),
        message,
    };
    let text = raw.trim();
    if text.is_empty() {
        return Err(invalid(format!("{field} must not be empty")));
    }
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(invalid(format!(
            "{field} is {chars} characters long, at most {max_chars} are allowed"
        )));
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(invalid(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(text.to_owned())
}

/// One page of the newest-first listing: `limit` posts older than `before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub before: Option<i64>,
}

impl Page {
    pub fn parse(limit: Option<i64>, before: Option<i64>) -> Result<Self, AppError> {
        let limit = limit.unwrap_or(PAGE_DEFAULT);
        if !(1..=PAGE_MAX).contains(&limit) {
            return Err(AppError::Validation {
                field: Some("limit"),
                message: format!("limit must be between 1 and {PAGE_MAX}"),
            });
        }
        if before.is_some_and(|id| id < 1) {
            return Err(AppError::Validation {
                field: Some("before"),
                message: "before must be a positive post id".to_owned(),
            });
        }
        Ok(Page { limit, before })
    }
}

/// Inserts the post; `None` when its idempotency key is taken (the first write won).
pub fn insert(conn: &mut PgConnection, new_post: &NewPost) -> QueryResult<Option<Post>> {
    diesel::insert_into(posts::table)
        .values(new_post)
        .on_conflict(posts::idempotency_key)
        .do_nothing()
        .returning(Post::as_returning())
        .get_result(conn)
        .optional()
}

pub fn find_by_idempotency_key(
    conn: &mut PgConnection,
    new_post: &NewPost,
) -> QueryResult<Option<Post>> {
    posts::table
        .filter(posts::idempotency_key.eq(&new_post.idempotency_key))
        .select(Post::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Option<Post>> {
    posts::table
        .find(id)
        .select(Post::as_select())
        .first(conn)
        .optional()
}

/// Newest first by id (keyset pagination: stable under concurrent inserts, no OFFSET scans).
/// Returns the page and the `before` cursor of the next one, if there is one.
pub fn list(conn: &mut PgConnection, page: Page) -> QueryResult<(Vec<Post>, Option<i64>)> {
    let mut query = posts::table
        .select(Post::as_select())
        .order(posts::id.desc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(before) = page.before {
        query = query.filter(posts::id.lt(before));
    }
    let mut rows = query.load(conn)?;
    let next_before = if rows.len() as i64 > page.limit {
        rows.truncate(page.limit as usize);
        rows.last().map(|post| post.id)
    } else {
        None
    };
    Ok((rows, next_before))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(author: &str, title: &str, body: &str) -> PostInput {
        PostInput {
            author: author.into(),
            title: title.into(),
            body: body.into(),
        }
    }

    fn parse(input: PostInput) -> Result<NewPost, AppError> {
        NewPost::parse(input, None)
    }

    fn rejected_field(result: Result<NewPost, AppError>) -> &'static str {
        match result {
            Err(AppError::Validation {
                field: Some(field), ..
            }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn valid_input_is_trimmed() {
        let post = parse(input("  Ann ", "\tHello\n", "  first line\nsecond\t ")).unwrap();
        assert_eq!(
            post,
            NewPost {
                author: "Ann".into(),
                title: "Hello".into(),
                body: "first line\nsecond".into(),
                idempotency_key: None,
            }
        );
    }

    #[test]
    fn blank_fields_are_rejected_by_name() {
        assert_eq!(rejected_field(parse(input("  ", "t", "b"))), "author");
        assert_eq!(rejected_field(parse(input("a", "", "b"))), "title");
        assert_eq!(rejected_field(parse(input("a", "t", "\n\t "))), "body");
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        let fifty_accented = "é".repeat(AUTHOR_MAX_CHARS);
        assert!(parse(input(&fifty_accented, "t", "b")).is_ok());
        let too_long = "é".repeat(AUTHOR_MAX_CHARS + 1);
        assert_eq!(rejected_field(parse(input(&too_long, "t", "b"))), "author");
        let title = "x".repeat(TITLE_MAX_CHARS + 1);
        assert_eq!(rejected_field(parse(input("a", &title, "b"))), "title");
        let body = "x".repeat(BODY_MAX_CHARS + 1);
        assert_eq!(rejected_field(parse(input("a", "t", &body))), "body");
        assert!(parse(input("a", "t", &"x".repeat(BODY_MAX_CHARS))).is_ok());
    }

    #[test]
    fn control_characters_are_rejected() {
        assert_eq!(rejected_field(parse(input("a\u{7}b", "t", "b"))), "author");
        assert_eq!(rejected_field(parse(input("a", "t\nx", "b"))), "title");
        assert_eq!(rejected_field(parse(input("a", "t", "b\u{0}c"))), "body");
        assert_eq!(
            rejected_field(parse(input("a", "t", "b\u{1b}[31m"))),
            "body"
        );
    }

    #[test]
    fn idempotency_keys_are_short_visible_ascii() {
        assert!(IdempotencyKey::parse(b"probe-1f3a-000042").is_ok());
        assert!(IdempotencyKey::parse(&[b'k'; 100]).is_ok());
        for bad in [
            &b""[..],
            &[b'k'; 101],
            b"has space",
            b"tab\t",
            "é".as_bytes(),
        ] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn page_defaults_and_bounds() {
        assert_eq!(
            Page::parse(None, None).unwrap(),
            Page {
                limit: 20,
                before: None
            }
        );
        assert!(Page::parse(Some(100), Some(1)).is_ok());
        for (limit, before, field) in [
            (Some(0), None, "limit"),
            (Some(101), None, "limit"),
            (Some(-1), None, "limit"),
            (None, Some(0), "before"),
        ] {
            match Page::parse(limit, before) {
                Err(AppError::Validation { field: Some(f), .. }) => assert_eq!(f, field),
                other => panic!("{limit:?}/{before:?}: {other:?}"),
            }
        }
    }
}
