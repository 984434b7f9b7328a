//! The database's own ceiling for comparison: `pgbench -S` (one primary-key SELECT per
//! transaction, like `GET /api/posts/{id}`) inside the db container, on a database of its own
//! ([`PGBENCH_DATABASE`]) so the app's data stays untouched; foobar-load drops it when done.

use std::time::Duration;

use anyhow::{Context as _, Result};

use crate::interrupt::Interrupt;
use crate::stack::{checked, in_db, PGBENCH_DATABASE};

/// pgbench's scale: 10 = one million accounts, more than shared_buffers holds.
const SCALE: u32 = 10;

/// Creates and fills the pgbench database: created by the superuser over the container's own
/// socket (the app's role may not create databases), owned by the app's role, which fills and
/// reads it over TCP as the app does. One left by a run that was killed outright is
/// reused: the accounts' primary key is the last thing `pgbench -i` makes, so its presence
/// means a complete initialisation.
pub fn init(interrupt: &Interrupt) -> Result<()> {
    let script = format!(
        "createdb -h /tmp -U postgres -O \"$PGUSER\" {PGBENCH_DATABASE} 2>/dev/null; \
         [ \"$(psql -d {PGBENCH_DATABASE} -Atc \"SELECT to_regclass('pgbench_accounts_pkey') IS NOT NULL\")\" = t ] \
         || pgbench -i -q -s {SCALE} {PGBENCH_DATABASE}"
    );
    run(&script, interrupt).map(drop)
}

/// Select-only transactions a second with `clients` connections for `duration`.
pub fn select_tps(clients: u32, duration: Duration, interrupt: &Interrupt) -> Result<f64> {
    let script = format!(
        "pgbench -S -n -c {clients} -j {} -T {} {PGBENCH_DATABASE}",
        clients.min(2),
        // pgbench takes whole seconds.
        duration.as_secs_f64().round().max(1.0)
    );
    let output = run(&script, interrupt)?;
    parse_tps(&output).with_context(|| format!("no tps in pgbench's output:\n{output}"))
}

/// Runs `script` in the db container; returns its stdout. A signal stops the local
/// `docker compose exec`; dropping the database then ends what still runs inside.
fn run(script: &str, interrupt: &Interrupt) -> Result<String> {
    let output = interrupt.output(&mut in_db(script, &[])?)?;
    checked(&output, || format!("in the db container: {script}"))
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
