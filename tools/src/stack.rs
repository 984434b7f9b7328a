//! The stack as Compose runs it: Compose and make commands, `foobar-app admin` run inside the
//! app container (the API deletes no account), which is how the tools remove what they wrote,
//! and SQL run inside the db container for what they count.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Output};

use anyhow::{bail, ensure, Context as _, Result};
use serde::Deserialize;

use crate::interrupt::own_group;
use crate::repo_root;

/// `docker compose ARGS` for this project (honours `COMPOSE_PROJECT_NAME`), not yet run. In a
/// process group of its own ([`own_group`]): a Ctrl-C must not cut a cleanup's command short.
pub fn compose_command(args: &[&str]) -> Result<Command> {
    let mut command = Command::new("docker");
    own_group(&mut command)
        .arg("compose")
        .args(args)
        .current_dir(repo_root()?);
    Ok(command)
}

/// Runs `docker compose ARGS`; fails only if it cannot be started.
pub fn compose(args: &[&str]) -> Result<Output> {
    compose_command(args)?
        .output()
        .context("running docker compose (is Docker installed?)")
}

/// Like [`compose`], but fails with its stderr unless it succeeds; returns stdout, trimmed.
pub fn compose_ok(args: &[&str]) -> Result<String> {
    let output = compose(args)?;
    checked(&output, || format!("docker compose {}", args.join(" ")))
}

/// stdout of a finished command, or an error naming `what` with its stderr.
pub fn checked(output: &Output, what: impl FnOnce() -> String) -> Result<String> {
    if !output.status.success() {
        bail!(
            "{} ({}): {}",
            what(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Runs `make ARGS` in the repository, its output going to ours; returns whether it succeeded.
/// In the terminal's process group, unlike the tools' children: a Ctrl-C of the test that runs
/// it reaches the tool under make, which then cleans up and exits.
pub fn make(args: &[&str]) -> bool {
    let root = match repo_root() {
        Ok(root) => root,
        Err(err) => {
            eprintln!("make {}: {err:#}", args.join(" "));
            return false;
        }
    };
    Command::new("make")
        .arg("--no-print-directory")
        .args(args)
        .current_dir(root)
        .status()
        .is_ok_and(|status| status.success())
}

/// `sh -c SCRIPT` in the db container, connected over TCP as the application's role with the
/// credentials the container has (the password from its secret file, or from the environment of
/// a container made before secrets); `args` are the script's `$1`, `$2`..., passed unquoted.
/// The container is Compose's `db`, or, when `FOOBAR_DB_EXEC` is set, whatever that command
/// runs its arguments in (the cluster's: `cluster/hosts db-exec`, relative to the repository).
pub fn in_db(script: &str, args: &[&str]) -> Result<Command> {
    let script = format!(
        r#"export PGPASSWORD="${{POSTGRES_PASSWORD:-$(cat "$POSTGRES_PASSWORD_FILE")}}" PGHOST=127.0.0.1 PGUSER="$POSTGRES_USER" PGDATABASE="$POSTGRES_DB"; {script}"#
    );
    let mut all = vec!["sh", "-c", script.as_str(), "sh"];
    all.extend_from_slice(args);
    exec_in(exec_override(DB_EXEC).as_deref(), "db", &all)
}

const DB_EXEC: &str = "FOOBAR_DB_EXEC";
const APP_EXEC: &str = "FOOBAR_APP_EXEC";

/// `foobar-app ARGS` in an app container, with the server's environment: Compose's `app`, or,
/// when `FOOBAR_APP_EXEC` is set, whatever that command runs its arguments in (the cluster's:
/// `cluster/hosts app-exec`). Refused when only `FOOBAR_DB_EXEC` is set: the tools would count
/// one stack's rows and delete in another's.
pub fn in_app(args: &[&str]) -> Result<Command> {
    let exec = exec_override(APP_EXEC);
    ensure!(
        exec.is_some() || exec_override(DB_EXEC).is_none(),
        "{DB_EXEC} is set but {APP_EXEC} is not: set both for a stack that Compose does not run"
    );
    let mut all = vec!["foobar-app"];
    all.extend_from_slice(args);
    exec_in(exec.as_deref(), "app", &all)
}

/// The command in the variable `name`, if set.
pub(crate) fn exec_override(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|exec| !exec.trim().is_empty())
}

/// `ARGS` run by `exec` (its words, relative to the repository), or without one by
/// `docker compose exec -T SERVICE`.
pub(crate) fn exec_in(exec: Option<&str>, service: &str, args: &[&str]) -> Result<Command> {
    match exec {
        Some(exec) => {
            let mut words = exec.split_whitespace();
            let mut command = Command::new(words.next().unwrap_or_default());
            own_group(&mut command)
                .args(words)
                .args(args)
                .current_dir(repo_root()?);
            Ok(command)
        }
        None => {
            let mut compose = vec!["exec", "-T", service];
            compose.extend_from_slice(args);
            compose_command(&compose)
        }
    }
}

/// Runs `sql` with psql in the app's database; returns the rows, unaligned (`|` between
/// columns), without headers.
pub fn psql(sql: &str) -> Result<String> {
    let output = in_db(r#"psql -X -q -A -t -v ON_ERROR_STOP=1 -c "$1""#, &[sql])?
        .output()
        .context("running docker compose exec db psql")?;
    checked(&output, || format!("psql in the db container: {sql}"))
}

fn number(sql: &str) -> Result<i64> {
    let text = psql(sql)?;
    text.parse()
        .with_context(|| format!("{sql}: expected a number, got {text:?}"))
}

/// How many posts the guestbook has, everyone's. A count only: whether a tool left the
/// guestbook as it found it is [`guestbook`]'s rows compared.
pub fn post_count() -> Result<i64> {
    number("SELECT count(*) FROM posts")
}

/// How many accounts, the reserved "guest" included. A count only: see [`guestbook`].
pub fn user_count() -> Result<i64> {
    number("SELECT count(*) FROM users")
}

/// A row of the guestbook, as [`Guestbook`] compares it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Row {
    pub id: i64,
    /// What names it in a report: a post's author and title, an account's username.
    pub label: String,
    /// md5 over all its columns (a post's body, date, key and owner, an account's password
    /// hash and date too): a row of the same id and md5 is the same row.
    pub md5: String,
}

/// The guestbook's posts and accounts, row by row: what the tools must leave as they found it.
/// Counts would not see a row deleted and another added, nor a row changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guestbook {
    /// By id.
    pub posts: Vec<Row>,
    /// By id, the reserved "guest" included.
    pub users: Vec<Row>,
}

/// At most this many rows of each table are named in [`Guestbook::changes_since`].
const CHANGES_SHOWN: usize = 20;

/// One JSON object per row (`id`, `label`, `md5`), by id: one line each, whatever the text
/// holds (JSON escapes line breaks).
const POST_ROWS: &str = "SELECT json_build_object('id', id, 'label', author || ': ' || title, \
                         'md5', md5(p::text))::text FROM posts p ORDER BY id";
const USER_ROWS: &str = "SELECT json_build_object('id', id, 'label', username, \
                         'md5', md5(u::text))::text FROM users u ORDER BY id";

/// The guestbook's rows now, read with psql in the database ([`psql`], as [`post_count`]).
pub fn guestbook() -> Result<Guestbook> {
    Ok(Guestbook {
        posts: rows(&psql(POST_ROWS)?).context("the posts")?,
        users: rows(&psql(USER_ROWS)?).context("the accounts")?,
    })
}

/// The rows psql printed for [`POST_ROWS`] or [`USER_ROWS`].
fn rows(text: &str) -> Result<Vec<Row>> {
    (text.lines())
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).with_context(|| format!("not a row: {line:?}")))
        .collect()
}

impl Guestbook {
    /// What differs from `before`, one line per row gone, added or changed (at most
    /// 20 per table, then how many more): empty when left as found.
    pub fn changes_since(&self, before: &Guestbook) -> Vec<String> {
        let mut changes = changed_rows("post", &before.posts, &self.posts);
        changes.extend(changed_rows("account", &before.users, &self.users));
        changes
    }
}

/// The rows of `table` gone, added or changed from `before` to `after`, by id.
fn changed_rows(table: &str, before: &[Row], after: &[Row]) -> Vec<String> {
    let by_id = |rows: &[Row]| -> BTreeMap<i64, Row> {
        rows.iter().map(|row| (row.id, row.clone())).collect()
    };
    let (before, after) = (by_id(before), by_id(after));
    let ids: BTreeSet<i64> = before.keys().chain(after.keys()).copied().collect();
    let changes: Vec<String> = ids
        .into_iter()
        .filter_map(|id| match (before.get(&id), after.get(&id)) {
            (Some(was), None) => Some(format!("{table} {id} ({}) is gone", was.label)),
            (None, Some(now)) => Some(format!("{table} {id} ({}) was added", now.label)),
            (Some(was), Some(now)) if was.md5 == now.md5 => None,
            (Some(was), Some(now)) if was.label == now.label => Some(format!(
                "{table} {id} ({}) changed in its other columns",
                was.label
            )),
            (Some(was), Some(now)) => Some(format!(
                "{table} {id} changed: ({}) is now ({})",
                was.label, now.label
            )),
            (None, None) => None,
        })
        .collect();
    let more = changes.len().saturating_sub(CHANGES_SHOWN);
    let mut shown: Vec<String> = changes.into_iter().take(CHANGES_SHOWN).collect();
    if more > 0 {
        shown.push(format!("and {more} more {table} rows"));
    }
    shown
}

/// The database foobar-load fills for pgbench.
pub const PGBENCH_DATABASE: &str = "pgbench";

pub fn pgbench_database_exists() -> Result<bool> {
    let sql = format!(
        "SELECT count(*) FROM pg_database WHERE datname = {}",
        literal(PGBENCH_DATABASE)
    );
    Ok(number(&sql)? > 0)
}

/// Drops the pgbench database, ending any session still in it (a pgbench cut off by Ctrl-C).
pub fn drop_pgbench_database() -> Result<()> {
    psql(&format!(
        "DROP DATABASE IF EXISTS {PGBENCH_DATABASE} WITH (FORCE)"
    ))
    .map(drop)
}

/// Deletes the probe's account `username` with its posts: [`delete_tool_account`] for
/// [`crate::probe::USER_PREFIX`]. Returns how many posts.
pub fn delete_probe_writes(username: &str) -> Result<u64> {
    delete_tool_account(crate::probe::USER_PREFIX, username)
}

/// Deletes a tool's account `username` with everything of it, as [`delete_accounts`] does.
/// Refuses any name but `PREFIX-` and 8 hex digits, as [`crate::site::Account::random`] makes
/// them for the tool, so no one else's data can go. Returns how many posts.
pub fn delete_tool_account(prefix: &str, username: &str) -> Result<u64> {
    ensure!(
        is_tool_user(prefix, username),
        "{username:?} is not an account of the tool's ({prefix}-XXXXXXXX): not deleting it"
    );
    delete_accounts(&[username])
}

/// `PREFIX-` and 8 lower-case hex digits (a non-empty prefix).
fn is_tool_user(prefix: &str, username: &str) -> bool {
    !prefix.is_empty()
        && username
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|hex| {
                hex.len() == 8
                    && hex
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            })
}

/// Deletes the accounts `usernames` (lower-case) with their posts, sessions and failed
/// sign-ins, by `foobar-app admin delete-account` in the app container ([`in_app`]): one
/// transaction each, which waits for a post of the account still being committed (a write
/// whose client gave up lands up to DATABASE_DEADLINE_MS later) and after which none can be
/// written. An account that is not there is no error. Returns how many posts went.
pub fn delete_accounts(usernames: &[&str]) -> Result<u64> {
    let mut args = vec!["admin", "delete-account"];
    args.extend_from_slice(usernames);
    let output = in_app(&args)?
        .output()
        .context("running foobar-app admin in the app container")?;
    let stdout = checked(&output, || format!("foobar-app {}", args.join(" ")))?;
    posts_deleted(&stdout, usernames)
}

/// The posts `delete-account` says it deleted, once it said something of every name:
/// `deleted account NAME: 3 posts, ...` or `no account NAME: ...`.
fn posts_deleted(stdout: &str, usernames: &[&str]) -> Result<u64> {
    let mut total = 0;
    for name in usernames {
        let deleted = format!("deleted account {name}: ");
        let absent = format!("no account {name}: ");
        let line = stdout
            .lines()
            .find(|line| line.starts_with(&deleted) || line.starts_with(&absent))
            .with_context(|| format!("foobar-app admin said nothing of {name}: {stdout:?}"))?;
        if let Some(counts) = line.strip_prefix(&deleted) {
            total += counts
                .split_once(" post")
                .and_then(|(posts, _)| posts.parse::<u64>().ok())
                .with_context(|| format!("no post count in {line:?}"))?;
        }
    }
    Ok(total)
}

/// An SQL string literal (standard_conforming_strings: only quotes are special).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_tools_accounts_are_deleted() {
        assert!(is_tool_user("probe", "probe-0a1b2c3d"));
        assert!(is_tool_user("foobar-load", "foobar-load-0a1b2c3d"));
        assert!(!is_tool_user("", "-0a1b2c3d"));
        assert!(!is_tool_user("foobar-load", "probe-0a1b2c3d"));
        for name in [
            "guest",
            "alice",
            "probe",
            "probe-",
            "probe-0a1b2c3",
            "probe-0a1b2c3d4",
            "probe-0A1B2C3D",
            "probe-0a1b2c3g",
            "probe_0a1b2c3d",
            "xprobe-0a1b2c3d",
            "probe-0a1b'c3d",
        ] {
            assert!(!is_tool_user("probe", name), "{name}");
            assert!(delete_probe_writes(name).is_err(), "{name}");
        }
    }

    #[test]
    fn the_posts_deleted_are_read_from_what_the_command_says() {
        let said = "deleted account probe-0a1b2c3d: 3 posts, 1 session, 0 failed sign-ins\n\
                    no account probe-11111111: nothing to delete\n\
                    deleted account probe-22222222: 1 post, 0 sessions, 1 failed sign-in";
        let names = ["probe-0a1b2c3d", "probe-11111111", "probe-22222222"];
        assert_eq!(posts_deleted(said, &names).unwrap(), 4);
        assert_eq!(posts_deleted(said, &names[1..2]).unwrap(), 0);
        assert!(posts_deleted(said, &["probe-33333333"]).is_err());
        assert!(posts_deleted("deleted account a: many posts", &["a"]).is_err());
    }

    fn row(id: i64, label: &str, md5: &str) -> Row {
        Row {
            id,
            label: label.into(),
            md5: md5.into(),
        }
    }

    fn guestbook(posts: Vec<Row>) -> Guestbook {
        Guestbook {
            posts,
            users: vec![row(1, "guest", "g"), row(2, "alice", "a")],
        }
    }

    #[test]
    fn rows_are_read_one_json_object_a_line_whatever_the_text_holds() {
        let printed = "{\"id\" : 1, \"label\" : \"alice: a | b\\nc\", \"md5\" : \"0cc1\"}\n\
                       {\"id\" : 3, \"label\" : \"bob: it's\", \"md5\" : \"9f2e\"}";
        assert_eq!(
            rows(printed).unwrap(),
            [
                row(1, "alice: a | b\nc", "0cc1"),
                row(3, "bob: it's", "9f2e")
            ]
        );
        assert!(rows("").unwrap().is_empty(), "an empty table");
        assert!(rows("1|alice|0cc1").is_err());
    }

    #[test]
    fn the_guestbook_is_left_as_found_only_with_the_same_rows() {
        let found = guestbook(vec![row(1, "alice: hi", "a1"), row(2, "bob: yo", "b2")]);
        assert!(found.changes_since(&found.clone()).is_empty());

        // As many rows as before, but not the same: a count sees nothing.
        let mut after = guestbook(vec![
            row(1, "alice: hi", "a1"),
            row(3, "probe-0a1b2c3d: probe 18f #4", "c3"),
        ]);
        assert_eq!(after.posts.len(), found.posts.len());
        assert_eq!(
            after.changes_since(&found),
            [
                "post 2 (bob: yo) is gone",
                "post 3 (probe-0a1b2c3d: probe 18f #4) was added"
            ]
        );

        // A body (or any column not in the label) changed, then the title too, an account
        // replaced.
        after.posts = vec![row(1, "alice: hi", "a1-edited"), row(2, "bob: yo!", "b2-2")];
        after.users[1] = row(2, "alice", "a-new-password");
        assert_eq!(
            after.changes_since(&found),
            [
                "post 1 (alice: hi) changed in its other columns",
                "post 2 changed: (bob: yo) is now (bob: yo!)",
                "account 2 (alice) changed in its other columns",
            ]
        );
    }

    #[test]
    fn many_changes_are_named_up_to_a_limit_then_counted() {
        let found = guestbook(Vec::new());
        let after = guestbook((1..=25).map(|id| row(id, "x: y", "m")).collect());
        let changes = after.changes_since(&found);
        assert_eq!(changes.len(), CHANGES_SHOWN + 1);
        assert_eq!(changes[0], "post 1 (x: y) was added");
        assert_eq!(changes[CHANGES_SHOWN], "and 5 more post rows");
    }

    #[test]
    fn literals_escape_quotes() {
        assert_eq!(literal("it's"), "'it''s'");
    }
}
