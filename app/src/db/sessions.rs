//! Queries on `sessions`. Tokens never reach this module: only their SHA-256.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::users::UserRef;
use crate::schema::{sessions, users};

/// The SHA-256 of a session token.
pub type TokenHash = [u8; 32];

/// The instants before which a session is over: unused since `idle_before`, or created
/// before `created_before`.
#[derive(Debug, Clone, Copy)]
pub struct Expiry {
    pub idle_before: DateTime<Utc>,
    pub created_before: DateTime<Utc>,
}

pub fn insert(conn: &mut PgConnection, token_hash: &TokenHash, user_id: i64) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(token_hash.as_slice()),
            sessions::user_id.eq(user_id),
        ))
        .execute(conn)
        .map(drop)
}

/// The user a live session belongs to, and when it was last used.
pub fn find_user(
    conn: &mut PgConnection,
    token_hash: &TokenHash,
    expiry: Expiry,
) -> QueryResult<Option<(UserRef, DateTime<Utc>)>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash.as_slice()))
        .filter(sessions::last_seen_at.ge(expiry.idle_before))
        .filter(sessions::created_at.ge(expiry.created_before))
        .select((UserRef::as_select(), sessions::last_seen_at))
        .first(conn)
        .optional()
}

/// Marks the session used now (this is what the idle timeout counts from).
pub fn touch(conn: &mut PgConnection, token_hash: &TokenHash) -> QueryResult<()> {
    diesel::update(sessions::table.find(token_hash.as_slice()))
        .set(sessions::last_seen_at.eq(diesel::dsl::now))
        .execute(conn)
        .map(drop)
}

pub fn delete(conn: &mut PgConnection, token_hash: &TokenHash) -> QueryResult<()> {
    diesel::delete(sessions::table.find(token_hash.as_slice()))
        .execute(conn)
        .map(drop)
}

/// Revokes every session of the user; returns how many.
pub fn delete_all_of(conn: &mut PgConnection, user_id: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
}

/// Revokes every session of the user but `keep`; returns how many.
pub fn delete_others(
    conn: &mut PgConnection,
    user_id: i64,
    keep: &TokenHash,
) -> QueryResult<usize> {
    diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::token_hash.ne(keep.as_slice())),
    )
    .execute(conn)
}

/// Removes the user's sessions that are over, and all but the newest `keep - 1` of the rest,
/// making room for one more: each user's rows, and the work of every sign-in, stay bounded.
pub fn delete_expired(
    conn: &mut PgConnection,
    user_id: i64,
    expiry: Expiry,
    keep: i64,
) -> QueryResult<usize> {
    // When the newest `keep - 1` sessions were made: older ones go.
    let oldest_kept: DateTime<Utc> = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .order(sessions::created_at.desc())
        .select(sessions::created_at)
        .offset(keep - 2)
        .first(conn)
        .optional()?
        // Fewer than that: this condition adds nothing to the lifetime's.
        .unwrap_or(expiry.created_before);
    diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(
                sessions::last_seen_at
                    .lt(expiry.idle_before)
                    .or(sessions::created_at.lt(expiry.created_before))
                    .or(sessions::created_at.lt(oldest_kept)),
            ),
    )
    .execute(conn)
}
