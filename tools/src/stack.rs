//! The stack as Compose runs it: Compose and make commands, and SQL run inside the db container
//! (there is no DELETE in the API), which is how the tools remove what they wrote.

use std::process::{Command, Output};
use std::thread;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};

use crate::repo_root;

/// `docker compose ARGS` for this project (honours `COMPOSE_PROJECT_NAME`), not yet run.
pub fn compose_command(args: &[&str]) -> Command {
    let mut command = Command::new("docker");
    command.arg("compose").args(args).current_dir(repo_root());
    command
}

/// Runs `docker compose ARGS`; fails only if it cannot be started.
pub fn compose(args: &[&str]) -> Result<Output> {
    compose_command(args)
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
pub fn make(args: &[&str]) -> bool {
    Command::new("make")
        .arg("--no-print-directory")
        .args(args)
        .current_dir(repo_root())
        .status()
        .is_ok_and(|status| status.success())
}

/// `sh -c SCRIPT` in the db container, connected over TCP as the application's role with the
/// credentials the container has; `args` are the script's `$1`, `$2`..., passed unquoted.
pub fn in_db(script: &str, args: &[&str]) -> Command {
    let script = format!(
        r#"export PGPASSWORD="$POSTGRES_PASSWORD" PGHOST=127.0.0.1 PGUSER="$POSTGRES_USER" PGDATABASE="$POSTGRES_DB"; {script}"#
    );
    let mut all = vec!["exec", "-T", "db", "sh", "-c", script.as_str(), "sh"];
    all.extend_from_slice(args);
    compose_command(&all)
}

/// Runs `sql` with psql in the app's database; returns the rows, unaligned (`|` between
/// columns), without headers.
pub fn psql(sql: &str) -> Result<String> {
    let output = in_db(r#"psql -X -q -A -t -v ON_ERROR_STOP=1 -c "$1""#, &[sql])
        .output()
        .context("running docker compose exec db psql")?;
    checked(&output, || format!("psql in the db container: {sql}"))
}

fn number(sql: &str) -> Result<i64> {
    let text = psql(sql)?;
    text.parse()
        .with_context(|| format!("{sql}: expected a number, got {text:?}"))
}

/// The posts in the guestbook, as the tools must leave them.
pub fn post_count() -> Result<i64> {
    number("SELECT count(*) FROM posts")
}

/// The highest post id (0 without posts): whatever a run writes gets a higher one.
pub fn newest_post_id() -> Result<i64> {
    number("SELECT coalesce(max(id), 0) FROM posts")
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

/// Deletes the posts written by probe run `run_id` (all its writes carry the idempotency key
/// `probe-RUN_ID-SEQ`, retries too); returns how many.
pub fn delete_probe_writes(run_id: &str) -> Result<u64> {
    delete_until_gone(&probe_writes(run_id))
}

/// Deletes the posts foobar-load wrote in the run titled `marker`: its author, that exact title,
/// and newer than `newest_before`, the newest post before the run. Returns how many.
pub fn delete_load_posts(marker: &str, newest_before: i64) -> Result<u64> {
    delete_until_gone(&load_posts(marker, newest_before))
}

/// The probe run's posts, by the prefix of their idempotency keys.
fn probe_writes(run_id: &str) -> String {
    let prefix = crate::probe::idempotency_key_prefix(run_id);
    format!("starts_with(idempotency_key, {})", literal(&prefix))
}

fn load_posts(marker: &str, newest_before: i64) -> String {
    format!(
        "author = {} AND title = {} AND id > {newest_before}",
        literal(crate::load::AUTHOR),
        literal(marker)
    )
}

/// Deletes the posts matching `condition`, again after a pause until a pass finds none: a
/// request the client gave up on may still be committed by the app a moment later.
fn delete_until_gone(condition: &str) -> Result<u64> {
    let sql = format!(
        "WITH deleted AS (DELETE FROM posts WHERE {condition} RETURNING 1) SELECT count(*) FROM deleted"
    );
    let mut total = 0;
    for _ in 0..10 {
        let deleted = number(&sql)?;
        if deleted == 0 {
            return Ok(total);
        }
        total += deleted as u64;
        thread::sleep(Duration::from_secs(1));
    }
    bail!("posts matching {condition} keep appearing: is a run still writing?")
}

/// An SQL string literal (standard_conforming_strings: only quotes are special).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_writes_are_found_by_their_run_prefix_only() {
        assert_eq!(
            probe_writes("19ab3"),
            "starts_with(idempotency_key, 'probe-19ab3-')"
        );
    }

    #[test]
    fn load_posts_need_author_exact_marker_and_a_newer_id() {
        assert_eq!(
            load_posts("foobar-load 19ab3", 42),
            "author = 'foobar-load' AND title = 'foobar-load 19ab3' AND id > 42"
        );
    }

    #[test]
    fn literals_escape_quotes() {
        assert_eq!(literal("it's"), "'it''s'");
    }
}
