//! `foobar-app admin`: what the API does not offer, run where the server runs (in its
//! container, with its configuration and queries). The tools and stack tests remove the
//! accounts they made with `delete-account`, so no SQL outside the app knows its tables.

use std::process::ExitCode;

use diesel::pg::PgConnection;
use diesel::{Connection, QueryResult};
use secrecy::ExposeSecret;

use crate::config;
use crate::db::{posts, sessions, users};
use crate::domain::Username;

pub const USAGE: &str = "\
usage: foobar-app admin delete-account NAME [NAME...]
  delete-account  delete each account with its posts, sessions and failed sign-ins, one
                  transaction each, and print one line per name: `deleted account NAME: ...`,
                  or `no account NAME: ...` when there is none (its failed sign-ins still go)
Reads DATABASE_URL, DATABASE_PASSWORD_FILE and DATABASE_CONNECT_TIMEOUT_SECS only.
Exit status: 0 when every named account is gone (deleted, or there was none), so clean-ups
can run twice; 1 on a database error (the other names are still done); 2 on a usage or
configuration error (nothing is deleted).";

/// Holds the posts from before accounts; nobody can sign in to it.
const RESERVED: &str = "guest";

/// What went with an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Removed {
    pub posts: usize,
    pub sessions: usize,
    pub login_failures: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    Deleted(Removed),
    /// No such account. Failed sign-ins are counted by name whether or not it exists, so
    /// those to the name were deleted all the same.
    NoAccount {
        login_failures: usize,
    },
}

/// Deletes the account `name` in one transaction: its sessions, posts, failed sign-ins, then
/// the user. The user row is locked first, so a post still being written for it (a request
/// whose client gave up, committed up to `DATABASE_DEADLINE_MS` later) is waited for and
/// deleted too; once the row is gone, none can be written (posts.user_id references it).
pub fn delete_account(conn: &mut PgConnection, name: &Username) -> QueryResult<Deletion> {
    conn.transaction(|conn| {
        let Some(id) = users::lock_by_username(conn, name)? else {
            let login_failures = users::clear_login_failures(conn, name)?;
            return Ok(Deletion::NoAccount { login_failures });
        };
        let sessions = sessions::delete_all_of(conn, id)?;
        let posts = posts::delete_all_of(conn, id)?;
        let login_failures = users::clear_login_failures(conn, name)?;
        users::delete(conn, id)?;
        Ok(Deletion::Deleted(Removed {
            posts,
            sessions,
            login_failures,
        }))
    })
}

/// The line `delete-account` prints for `name`.
pub fn describe(name: &Username, deletion: &Deletion) -> String {
    match deletion {
        Deletion::Deleted(removed) => format!(
            "deleted account {}: {}, {}, {}",
            name.as_str(),
            count(removed.posts, "post"),
            count(removed.sessions, "session"),
            count(removed.login_failures, "failed sign-in"),
        ),
        Deletion::NoAccount { login_failures: 0 } => {
            format!("no account {}: nothing to delete", name.as_str())
        }
        Deletion::NoAccount { login_failures } => format!(
            "no account {}: {} deleted",
            name.as_str(),
            count(*login_failures, "failed sign-in")
        ),
    }
}

fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// `foobar-app admin ARGS` (the words after `admin`); returns the exit status of [`USAGE`].
pub fn main(args: &[String]) -> ExitCode {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let names = match args.as_slice() {
        ["help" | "-h" | "--help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        ["delete-account", names @ ..] if !names.is_empty() => names,
        _ => {
            return usage_error(&format!(
                "expected a command and its arguments, got {args:?}"
            ))
        }
    };
    let names = match parse_names(names) {
        Ok(names) => names,
        Err(message) => return usage_error(&message),
    };
    let url = match config::connection_url_from_env() {
        Ok(url) => url,
        Err(err) => {
            eprintln!("configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    let mut conn = match PgConnection::establish(url.expose_secret()) {
        Ok(conn) => conn,
        Err(err) => {
            eprintln!(
                "error: cannot connect to the database: {}",
                err.to_string().trim()
            );
            return ExitCode::FAILURE;
        }
    };
    let mut failed = false;
    for name in &names {
        match delete_account(&mut conn, name) {
            Ok(deletion) => println!("{}", describe(name, &deletion)),
            Err(err) => {
                eprintln!("error: deleting account {}: {err}", name.as_str());
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Every name, or why not: none is deleted unless all are names of accounts that may go.
fn parse_names(raw: &[&str]) -> Result<Vec<Username>, String> {
    raw.iter()
        .map(|raw| {
            let name = Username::parse(raw)
                .map_err(|err| format!("{raw:?} is no account name: it {}", err.reason))?;
            if name.as_str() == RESERVED {
                return Err(format!(
                    "{RESERVED:?} holds the posts from before accounts: not deleting it"
                ));
            }
            Ok(name)
        })
        .collect()
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}\n{USAGE}");
    ExitCode::from(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(raw: &str) -> Username {
        Username::parse(raw).unwrap()
    }

    #[test]
    fn the_line_says_what_went() {
        let removed = Removed {
            posts: 3,
            sessions: 1,
            login_failures: 0,
        };
        assert_eq!(
            describe(&name("probe-0a1b2c3d"), &Deletion::Deleted(removed)),
            "deleted account probe-0a1b2c3d: 3 posts, 1 session, 0 failed sign-ins"
        );
        assert_eq!(
            describe(&name("alice"), &Deletion::NoAccount { login_failures: 0 }),
            "no account alice: nothing to delete"
        );
        assert_eq!(
            describe(&name("alice"), &Deletion::NoAccount { login_failures: 1 }),
            "no account alice: 1 failed sign-in deleted"
        );
    }

    #[test]
    fn names_are_checked_before_anything_is_deleted() {
        let names = parse_names(&["Alice", "probe-0a1b2c3d"]).unwrap();
        assert_eq!(names, [name("alice"), name("probe-0a1b2c3d")]);
        let err = parse_names(&["alice", "a b"]).unwrap_err();
        assert!(err.starts_with(r#""a b" is no account name: "#), "{err}");
        let err = parse_names(&["alice", "Guest"]).unwrap_err();
        assert!(err.contains("not deleting it"), "{err}");
    }
}
