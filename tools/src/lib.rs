//! Shared pieces of the smoke tests and the operational tools: a client for the site as users
//! reach it (through nginx on 127.0.0.1, with `Host: www.foobar.com`), Compose and database
//! helpers, signal handling, and the report writer (JSON, with a markdown page of its figures).

pub mod alerts;
pub mod bench;
pub mod cli;
pub mod interrupt;
pub mod load;
pub mod markdown;
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

/// Writes a report as `<dir>/<name>.json`, its page `<dir>/<name>.md` ([`markdown::page`]) and
/// its plot `<dir>/<name>.svg`; returns their paths.
pub fn write_report(
    dir: &Path,
    name: &str,
    report: &impl markdown::Page,
    svg: &str,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths = write_json(dir, name, report)?;
    paths.push(write_file(
        &dir.join(format!("{name}.svg")),
        svg.as_bytes(),
    )?);
    Ok(paths)
}

/// [`write_report`] without a plot: `<dir>/<name>.json` and `<dir>/<name>.md`.
pub fn write_json(
    dir: &Path,
    name: &str,
    report: &impl markdown::Page,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = serde_json::to_vec_pretty(report).context("serialising the report")?;
    Ok(vec![
        write_file(&dir.join(format!("{name}.json")), &json)?,
        write_file(
            &dir.join(format!("{name}.md")),
            markdown::page(report).as_bytes(),
        )?,
    ])
}

fn write_file(path: &Path, contents: &[u8]) -> anyhow::Result<PathBuf> {
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    Ok(path.to_owned())
}

/// Reads back a report that [`write_json`] wrote.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))
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

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Figures {
        rps: f64,
    }

    impl markdown::Page for Figures {
        fn title(&self) -> String {
            "Figures".into()
        }

        fn markdown(&self) -> String {
            markdown::table(&["req/s"], [vec![markdown::count(self.rps)]])
        }
    }

    #[test]
    fn a_report_is_written_as_json_markdown_and_svg() {
        let temp = TempDir::new("write");
        let dir = temp.0.join("reports");
        let report = Figures { rps: 14416.0 };

        let paths = write_report(&dir, "run", &report, "<svg/>").unwrap();

        let names: Vec<_> = paths
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap())
            .collect();
        assert_eq!(names, ["run.json", "run.md", "run.svg"].map(Path::new));
        assert_eq!(read_json::<Figures>(&paths[0]).unwrap(), report);
        let page = std::fs::read_to_string(&paths[1]).unwrap();
        assert!(page.starts_with("# Figures\n\nRun "), "{page}");
        assert!(page.ends_with("| req/s |\n| --- |\n| 14 416 |\n"), "{page}");
        let error = read_json::<Figures>(&dir.join("none.json")).unwrap_err();
        assert!(format!("{error:#}").contains("none.json"), "{error:#}");
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
