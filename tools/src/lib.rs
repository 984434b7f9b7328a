//! Shared pieces of the smoke tests and the operational tools: a client for the site as users
//! reach it (through nginx on 127.0.0.1, with `Host: www.foobar.com`), Compose and database
//! helpers, signal handling, and the report writer.

pub mod bench;
pub mod cli;
pub mod interrupt;
pub mod load;
pub mod plot;
pub mod probe;
pub mod site;
pub mod spof;
pub mod stack;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use site::{Site, SITE_HOST};
pub use stack::{compose, compose_ok};

/// Calls `check` every 200 ms until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs blocking `work` (Compose, psql) off the async runtime's threads.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(work).await?
}

/// The repository root, where docker-compose.yml is: tools/ sits in it.
pub fn repo_root() -> PathBuf {
    let tools = Path::new(env!("CARGO_MANIFEST_DIR"));
    tools.parent().unwrap_or(tools).to_owned()
}

/// Where reports go unless told otherwise: `$REPORTS`, else `<repo>/target/reports`.
pub fn reports_dir() -> PathBuf {
    std::env::var_os("REPORTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/reports"))
}

/// Writes a report as `<dir>/<name>.json` and `<dir>/<name>.svg`; returns their paths.
pub fn write_report(
    dir: &Path,
    name: &str,
    report: &impl serde::Serialize,
    svg: &str,
) -> std::io::Result<[PathBuf; 2]> {
    let json_path = write_json(dir, name, report)?;
    let svg_path = dir.join(format!("{name}.svg"));
    std::fs::write(&svg_path, svg)?;
    Ok([json_path, svg_path])
}

/// Reads back a report that [`write_json`] wrote.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    use anyhow::Context as _;
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Writes a report as `<dir>/<name>.json` only (the part of [`write_report`] without a plot);
/// returns its path.
pub fn write_json(
    dir: &Path,
    name: &str,
    report: &impl serde::Serialize,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(report)?)?;
    Ok(path)
}
