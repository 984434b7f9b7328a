//! Queries on `users` and `login_failures`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::domain::Username;
use crate::schema::{login_failures, posts, users};

/// Who an account is: enough to author a post or own a session.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct UserRef {
    pub id: i64,
    pub username: String,
}

/// A stored account, with what signing in needs.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    /// argon2id PHC string; `None` for accounts nobody can sign in to.
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub fn find_by_username(conn: &mut PgConnection, name: &Username) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::username.eq(name.as_str()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// The id of the account, its row locked until the transaction ends: a post or session being
/// added to it is waited for, and none can be added after.
pub fn lock_by_username(conn: &mut PgConnection, name: &Username) -> QueryResult<Option<i64>> {
    users::table
        .filter(users::username.eq(name.as_str()))
        .select(users::id)
        .for_update()
        .first(conn)
        .optional()
}

pub fn exists(conn: &mut PgConnection, name: &Username) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(users::username.eq(name.as_str())),
    ))
    .get_result(conn)
}

/// Creates the account; `None` when the name is taken.
pub fn insert(
    conn: &mut PgConnection,
    name: &Username,
    password_hash: &str,
) -> QueryResult<Option<UserRow>> {
    diesel::insert_into(users::table)
        .values((
            users::username.eq(name.as_str()),
            users::password_hash.eq(password_hash),
        ))
        .on_conflict(users::username)
        .do_nothing()
        .returning(UserRow::as_returning())
        .get_result(conn)
        .optional()
}

pub fn set_password_hash(conn: &mut PgConnection, id: i64, password_hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(password_hash))
        .execute(conn)
        .map(drop)
}

pub fn count_posts(conn: &mut PgConnection, id: i64) -> QueryResult<i64> {
    posts::table
        .filter(posts::user_id.eq(id))
        .count()
        .get_result(conn)
}

/// Consecutive failed sign-ins to a name: how many, and when the last one was.
pub fn login_failures(
    conn: &mut PgConnection,
    name: &Username,
) -> QueryResult<Option<(i32, DateTime<Utc>)>> {
    login_failures::table
        .find(name.as_str())
        .select((login_failures::failures, login_failures::last_failure_at))
        .first(conn)
        .optional()
}

/// Counts one more failure at `now`; a run of failures older than `forget_before` starts
/// over. Returns the new count. Rows nobody failed on since `forget_before` are removed, so
/// the table stays small whatever names attackers try.
pub fn record_login_failure(
    conn: &mut PgConnection,
    name: &Username,
    now: DateTime<Utc>,
    forget_before: DateTime<Utc>,
) -> QueryResult<i32> {
    use diesel::dsl::case_when;
    use diesel::upsert::excluded;
    diesel::delete(login_failures::table.filter(login_failures::last_failure_at.lt(forget_before)))
        .execute(conn)?;
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::username.eq(name.as_str()),
            login_failures::failures.eq(1),
            login_failures::last_failure_at.eq(now),
        ))
        .on_conflict(login_failures::username)
        .do_update()
        .set((
            login_failures::failures.eq(case_when::<_, _, diesel::sql_types::Integer>(
                login_failures::last_failure_at.lt(forget_before),
                1,
            )
            .otherwise(login_failures::failures + 1)),
            login_failures::last_failure_at.eq(excluded(login_failures::last_failure_at)),
        ))
        .returning(login_failures::failures)
        .get_result(conn)
}

/// Forgets the failed sign-ins to a name; returns how many rows (0 or 1).
pub fn clear_login_failures(conn: &mut PgConnection, name: &Username) -> QueryResult<usize> {
    diesel::delete(login_failures::table.find(name.as_str())).execute(conn)
}

/// Deletes the user row (its sessions go with it); whether there was one. Fails with a
/// foreign key violation while a post still belongs to it.
pub fn delete(conn: &mut PgConnection, id: i64) -> QueryResult<bool> {
    Ok(diesel::delete(users::table.find(id)).execute(conn)? == 1)
}
