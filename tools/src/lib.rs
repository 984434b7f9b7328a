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

use anyhow::Context as _;

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

/// The checkout the tools work on (Compose, cluster/, .env, reports): `$FOOBAR_REPO`, else the
/// nearest directory from the current one up that holds docker-compose.yml and
/// tools/Cargo.toml. Found at run time: a tool built in one checkout and run in another works
/// on the one it runs in.
pub fn repo_root() -> anyhow::Result<PathBuf> {
    let here = std::env::current_dir().context("reading the current directory")?;
    let given = std::env::var_os("FOOBAR_REPO").filter(|dir| !dir.is_empty());
    find_repo(&here, given.map(PathBuf::from))
}

/// [`repo_root`] from `here`, or `given` (relative to `here`) if set.
fn find_repo(here: &Path, given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let is_repo = |dir: &Path| {
        dir.join("docker-compose.yml").is_file() && dir.join("tools/Cargo.toml").is_file()
    };
    if let Some(given) = given {
        let dir = here.join(given);
        anyhow::ensure!(
            is_repo(&dir),
            "FOOBAR_REPO={} holds no docker-compose.yml and tools/Cargo.toml",
            dir.display()
        );
        return Ok(dir);
    }
    (here.ancestors().find(|dir| is_repo(dir)))
        .map(Path::to_owned)
        .with_context(|| {
            format!(
                "found no foobar.com checkout (docker-compose.yml and tools/Cargo.toml) in {} or \
                 above it: run this inside one, or set FOOBAR_REPO",
                here.display()
            )
        })
}

/// Where reports go unless told otherwise: `$REPORTS`, else `<repo>/target/reports`.
pub fn reports_dir() -> anyhow::Result<PathBuf> {
    match std::env::var_os("REPORTS") {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Ok(repo_root()?.join("target/reports")),
    }
}

/// Writes a report as `<dir>/<name>.json` and `<dir>/<name>.svg`; returns their paths.
pub fn write_report(
    dir: &Path,
    name: &str,
    report: &impl serde::Serialize,
    svg: &str,
) -> anyhow::Result<[PathBuf; 2]> {
    let json_path = write_json(dir, name, report)?;
    let svg_path = dir.join(format!("{name}.svg"));
    std::fs::write(&svg_path, svg).with_context(|| format!("writing {}", svg_path.display()))?;
    Ok([json_path, svg_path])
}

/// Reads back a report that [`write_json`] wrote.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Writes a report as `<dir>/<name>.json` only (the part of [`write_report`] without a plot);
/// returns its path.
pub fn write_json(
    dir: &Path,
    name: &str,
    report: &impl serde::Serialize,
) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!("{name}.json"));
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(&path, serde_json::to_vec_pretty(report)?)
    };
    write().with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory of its own under the system's temp directory; removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir =
                std::env::temp_dir().join(format!("foobar-lib-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        /// Makes `dir` (relative) a checkout as [`repo_root`] recognises one.
        fn checkout(&self, dir: &str) -> PathBuf {
            let root = self.0.join(dir);
            std::fs::create_dir_all(root.join("tools")).unwrap();
            std::fs::write(root.join("docker-compose.yml"), "").unwrap();
            std::fs::write(root.join("tools/Cargo.toml"), "").unwrap();
            root
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn the_repository_is_the_nearest_checkout_at_or_above_the_current_directory() {
        let temp = TempDir::new("search");
        let outer = temp.checkout("outer");
        let inner = temp.checkout("outer/work/inner");
        std::fs::create_dir_all(inner.join("tests/tests")).unwrap();
        // Only docker-compose.yml: not a checkout of this project.
        std::fs::create_dir_all(outer.join("work/other/deep")).unwrap();
        std::fs::write(outer.join("work/other/docker-compose.yml"), "").unwrap();

        assert_eq!(find_repo(&inner.join("tests/tests"), None).unwrap(), inner);
        assert_eq!(find_repo(&inner, None).unwrap(), inner);
        assert_eq!(
            find_repo(&outer.join("work/other/deep"), None).unwrap(),
            outer
        );
        let error = find_repo(&temp.0, None).unwrap_err().to_string();
        assert!(error.contains("FOOBAR_REPO"), "{error}");
        assert!(error.contains(&temp.0.display().to_string()), "{error}");
    }

    #[test]
    fn foobar_repo_names_the_repository_and_must_be_one() {
        let temp = TempDir::new("given");
        let root = temp.checkout("checkout");
        let elsewhere = temp.0.join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap();

        assert_eq!(find_repo(&elsewhere, Some(root.clone())).unwrap(), root);
        assert_eq!(
            find_repo(&temp.0, Some("checkout".into())).unwrap(),
            root,
            "relative to the current directory"
        );
        let error = find_repo(&root, Some(elsewhere.clone()))
            .unwrap_err()
            .to_string();
        assert!(error.contains("FOOBAR_REPO="), "{error}");
    }
}
