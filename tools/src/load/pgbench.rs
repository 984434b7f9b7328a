//! The database's own ceiling for comparison: `pgbench -S` (one primary-key SELECT per
//! transaction, like `GET /api/posts/{id}`) inside the db container, on a database of its own
//! so the app's data stays untouched.

use std::time::Duration;

use super::Error;

/// Connects over TCP as the application's role, with the credentials the container has.
const CONNECT: &str =
    r#"export PGPASSWORD="$POSTGRES_PASSWORD" PGHOST=127.0.0.1 PGUSER="$POSTGRES_USER""#;

/// pgbench's scale: 10 = one million accounts, more than shared_buffers holds.
const SCALE: u32 = 10;

/// Creates and fills the `pgbench` database unless an earlier run did. The accounts' primary
/// key is the last thing `pgbench -i` makes, so its presence means a complete initialisation.
pub fn init() -> Result<(), Error> {
    let script = format!(
        "{CONNECT}; createdb pgbench 2>/dev/null; \
         [ \"$(psql -d pgbench -Atc \"SELECT to_regclass('pgbench_accounts_pkey') IS NOT NULL\")\" = t ] \
         || pgbench -i -q -s {SCALE} pgbench"
    );
    in_db(&script).map(drop)
}

/// Select-only transactions a second with `clients` connections for `duration`.
pub fn select_tps(clients: u32, duration: Duration) -> Result<f64, Error> {
    let script = format!(
        "{CONNECT}; pgbench -S -n -c {clients} -j {} -T {} pgbench",
        clients.min(2),
        // pgbench takes whole seconds.
        duration.as_secs_f64().round().max(1.0)
    );
    let output = in_db(&script)?;
    parse_tps(&output).ok_or_else(|| format!("no tps in pgbench's output:\n{output}").into())
}

/// Runs `script` with sh inside the db container; returns its stdout.
fn in_db(script: &str) -> Result<String, Error> {
    let output = crate::compose(&["exec", "-T", "db", "sh", "-c", script]);
    if !output.status.success() {
        return Err(format!(
            "in the db container: {script}\n{}",
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The figure from `tps = N (without initial connection time)`: what the database serves once
/// the connections are open, as the app's pool keeps them.
pub fn parse_tps(output: &str) -> Option<f64> {
    output.lines().find_map(|line| {
        line.strip_prefix("tps = ")?
            .strip_suffix(" (without initial connection time)")?
            .parse()
            .ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tps_without_connection_time() {
        assert_eq!(
            parse_tps(include_str!("testdata/pgbench-S.txt")),
            Some(8319.407162)
        );
    }

    #[test]
    fn no_tps_in_a_failed_run() {
        assert_eq!(
            parse_tps("pgbench: error: connection to server failed\n"),
            None
        );
    }
}
