//! The stack as Compose runs it: Compose and make commands, and SQL run inside the db container
//! (there is no DELETE in the API), which is how the tools remove what they wrote.

use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use crate::interrupt::own_group;
use crate::repo_root;

/// `docker compose ARGS` for this project (honours `COMPOSE_PROJECT_NAME`), not yet run. In a
/// process group of its own ([`own_group`]): a Ctrl-C must not cut a cleanup's command short.
pub fn compose_command(args: &[&str]) -> Command {
    let mut command = Command::new("docker");
    own_group(&mut command)
        .arg("compose")
        .args(args)
        .current_dir(repo_root());
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
/// In the terminal's process group, unlike the tools' children: a Ctrl-C of the test that runs
/// it reaches the tool under make, which then cleans up and exits.
pub fn make(args: &[&str]) -> bool {
    Command::new("make")
        .arg("--no-print-directory")
        .args(args)
        .current_dir(repo_root())
        .status()
        .is_ok_and(|status| status.success())
}

/// `sh -c SCRIPT` in the db container, connected over TCP as the application's role with the
/// credentials the container has (the password from its secret file, or from the environment of
/// a container made before secrets); `args` are the script's `$1`, `$2`..., passed unquoted.
pub fn in_db(script: &str, args: &[&str]) -> Command {
    let script = format!(
        r#"export PGPASSWORD="${{POSTGRES_PASSWORD:-$(cat "$POSTGRES_PASSWORD_FILE")}}" PGHOST=127.0.0.1 PGUSER="$POSTGRES_USER" PGDATABASE="$POSTGRES_DB"; {script}"#
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
