//! The stack as Compose runs it: Compose and make commands, and SQL run inside the db container
//! (the API deletes no account, and posts only one at a time), which is how the tools remove
//! what they wrote.

use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context as _, Result};

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
    match std::env::var("FOOBAR_DB_EXEC") {
        Ok(exec) if !exec.trim().is_empty() => {
            let mut words = exec.split_whitespace();
            let mut command = Command::new(words.next().unwrap_or_default());
            own_group(&mut command)
                .args(words)
                .args(&all)
                .current_dir(repo_root()?);
            Ok(command)
        }
        _ => {
            let mut compose = vec!["exec", "-T", "db"];
            compose.extend_from_slice(&all);
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

/// The posts in the guestbook, everyone's, as the tools must leave them.
pub fn post_count() -> Result<i64> {
    number("SELECT count(*) FROM posts")
}

/// The accounts, the reserved "guest" included, as the tools must leave them.
pub fn user_count() -> Result<i64> {
    number("SELECT count(*) FROM users")
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

/// Deletes a tool's account `username` with everything of it: its posts (every one written by
/// the run that signed it up), its sessions, its failed sign-ins, then the user row. Its
/// sessions go first, so nothing more can be written as it; posts a write cut off may still
/// commit are waited for as [`delete_until_gone`] does. Refuses any name but `PREFIX-` and 8
/// hex digits, as [`crate::site::Account::random`] makes them for the tool, so no one else's
/// data can go. Returns how many posts.
pub fn delete_tool_account(prefix: &str, username: &str) -> Result<u64> {
    ensure!(
        is_tool_user(prefix, username),
        "{username:?} is not an account of the tool's ({prefix}-XXXXXXXX): not deleting it"
    );
    psql(&revoke_sessions(username))?;
    let removed = delete_until_gone(&posts_of(username))?;
    psql(&delete_account(username)).with_context(|| {
        format!("deleting the account {username} (its {removed} posts deleted)")
    })?;
    Ok(removed)
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

/// The id of user `username`, as an SQL expression (NULL when there is none: nothing matches).
fn user_id(username: &str) -> String {
    format!(
        "(SELECT id FROM users WHERE username = {})",
        literal(username)
    )
}

fn revoke_sessions(username: &str) -> String {
    format!("DELETE FROM sessions WHERE user_id = {}", user_id(username))
}

/// The user's posts, for [`delete_until_gone`].
fn posts_of(username: &str) -> String {
    format!("user_id = {}", user_id(username))
}

/// One transaction (psql runs a `-c` string of several statements as one): sessions again (a
/// sign-in cannot have happened, but the user row cannot go with any left), failed sign-ins,
/// the user. Fails if a post of the user is left (posts.user_id has no cascade).
fn delete_account(username: &str) -> String {
    let name = literal(username);
    format!(
        "{}; DELETE FROM login_failures WHERE username = {name}; \
         DELETE FROM users WHERE username = {name}",
        revoke_sessions(username)
    )
}

/// How long after a writer stopped a post of its may still be committed: the app gives up on
/// the database after DATABASE_DEADLINE_MS (2.5 s by default), so a write whose client was cut
/// off can land that much later. A pass this long after the last one that found posts, which
/// finds none, ends the deletion.
const LATE_WRITES: Duration = Duration::from_secs(3);

/// Between passes.
const PASS_EVERY: Duration = Duration::from_secs(1);

/// Longest the deletion goes on while posts keep appearing.
const GIVE_UP_AFTER: Duration = Duration::from_secs(30);

/// Deletes the posts matching `condition`, in passes until one finds none at least
/// [`LATE_WRITES`] after the start and after the last pass that deleted some: a request the
/// client gave up on may still be committed by the app a moment later.
fn delete_until_gone(condition: &str) -> Result<u64> {
    let sql = format!(
        "WITH deleted AS (DELETE FROM posts WHERE {condition} RETURNING 1) SELECT count(*) FROM deleted"
    );
    let pass = || number(&sql).map(|deleted| deleted.max(0) as u64);
    let schedule = Passes {
        quiet: LATE_WRITES,
        every: PASS_EVERY,
        give_up: GIVE_UP_AFTER,
    };
    match schedule.run(pass)? {
        Some(total) => Ok(total),
        None => bail!(
            "posts matching {condition} still appeared after {} s: is a run still writing?",
            GIVE_UP_AFTER.as_secs()
        ),
    }
}

/// When [`delete_until_gone`] passes, and when it stops.
struct Passes {
    /// How long after the start, and after the last pass that deleted something, a pass must
    /// find nothing.
    quiet: Duration,
    every: Duration,
    give_up: Duration,
}

impl Passes {
    /// Runs `pass` (which returns how many it deleted) as scheduled; returns the total, or
    /// `None` if passes still deleted something at `give_up`.
    fn run(&self, mut pass: impl FnMut() -> Result<u64>) -> Result<Option<u64>> {
        let start = Instant::now();
        // The writer stopped before the deletion started: its late writes come after.
        let mut last_found = start;
        let mut total = 0;
        loop {
            let passed_at = Instant::now();
            let deleted = pass()?;
            total += deleted;
            if deleted > 0 {
                last_found = passed_at;
            } else if passed_at.duration_since(last_found) >= self.quiet {
                return Ok(Some(total));
            }
            if passed_at.duration_since(start) >= self.give_up {
                return Ok(None);
            }
            thread::sleep(self.every);
        }
    }
}

/// An SQL string literal (standard_conforming_strings: only quotes are special).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_writes_are_the_posts_of_its_user() {
        assert_eq!(
            posts_of("probe-0a1b2c3d"),
            "user_id = (SELECT id FROM users WHERE username = 'probe-0a1b2c3d')"
        );
        assert_eq!(
            revoke_sessions("probe-0a1b2c3d"),
            "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = 'probe-0a1b2c3d')"
        );
    }

    #[test]
    fn the_account_goes_with_its_sessions_and_failed_sign_ins() {
        assert_eq!(
            delete_account("probe-0a1b2c3d"),
            "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = 'probe-0a1b2c3d'); \
             DELETE FROM login_failures WHERE username = 'probe-0a1b2c3d'; \
             DELETE FROM users WHERE username = 'probe-0a1b2c3d'"
        );
    }

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

    const QUIET: Duration = Duration::from_millis(60);

    fn passes() -> Passes {
        Passes {
            quiet: QUIET,
            every: Duration::from_millis(10),
            give_up: Duration::from_secs(5),
        }
    }

    /// Runs [`Passes::run`] with passes that delete `found` in turn, then nothing; returns the
    /// total and when each pass came, from the start.
    fn run_passes(found: &[u64]) -> (Option<u64>, Vec<Duration>) {
        let start = Instant::now();
        let mut times = Vec::new();
        let total = passes()
            .run(|| {
                times.push(start.elapsed());
                Ok(found.get(times.len() - 1).copied().unwrap_or(0))
            })
            .unwrap();
        (total, times)
    }

    #[test]
    fn deleting_goes_on_until_a_pass_long_after_the_last_find_finds_nothing() {
        let (total, times) = run_passes(&[2, 0, 1, 0]);
        assert_eq!(total, Some(3));
        let last_find = times[2];
        let end = *times.last().unwrap();
        assert!(end - last_find >= QUIET, "{times:?}");
        assert!(times.len() > 4, "quiet passes continue: {times:?}");
    }

    #[test]
    fn a_first_pass_that_finds_nothing_is_not_the_last() {
        // A post of the writer's last moments may be committed after the first pass.
        let (total, times) = run_passes(&[0, 0, 1]);
        assert_eq!(total, Some(1));
        assert!(*times.last().unwrap() - times[2] >= QUIET, "{times:?}");
    }

    #[test]
    fn deleting_gives_up_if_posts_keep_appearing() {
        let quick = Passes {
            give_up: Duration::from_millis(50),
            ..passes()
        };
        assert_eq!(quick.run(|| Ok(1)).unwrap(), None);
        assert!(quick.run(|| anyhow::bail!("psql failed")).is_err());
    }

    #[test]
    fn literals_escape_quotes() {
        assert_eq!(literal("it's"), "'it''s'");
    }
}
