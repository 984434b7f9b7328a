//! Shared pieces of the smoke tests and the operational tools: a client for the site as users
//! reach it (through nginx on 127.0.0.1, with `Host: www.foobar.com`) and Compose helpers.

pub mod cli;
pub mod load;
pub mod probe;
pub mod spof;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::Method;

pub const SITE_HOST: &str = "www.foobar.com";

/// The site through the published web port: `FOOBAR_URL`, default `http://127.0.0.1:8080`.
pub struct Site {
    base: String,
    client: Client,
}

impl Site {
    pub fn from_env() -> Site {
        let base = std::env::var("FOOBAR_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
        Site::new(base.trim_end_matches('/'))
    }

    pub fn new(base: &str) -> Site {
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("HTTP client");
        Site {
            base: base.to_owned(),
            client,
        }
    }

    /// A request for `path` on `host` (use [`SITE_HOST`] for the site itself).
    pub fn request_to(&self, host: &str, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header(reqwest::header::HOST, host)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request_to(SITE_HOST, method, path)
    }

    pub fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path)
            .send()
            .unwrap_or_else(|err| panic!("GET {path}: {err} (is the stack up? `make up`)"))
    }

    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> Response {
        self.request(Method::POST, path)
            .json(body)
            .send()
            .unwrap_or_else(|err| panic!("POST {path}: {err}"))
    }

    /// Polls `path` until it answers 200 or `timeout` passes; returns whether it did.
    pub fn wait_for_ok(&self, path: &str, timeout: Duration) -> bool {
        wait_until(timeout, || {
            self.request(Method::GET, path)
                .timeout(Duration::from_secs(2))
                .send()
                .is_ok_and(|r| r.status() == 200)
        })
    }
}

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

/// The repository root, where docker-compose.yml is.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tools/ sits in the repository")
        .to_owned()
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
    std::fs::create_dir_all(dir)?;
    let json_path = dir.join(format!("{name}.json"));
    let svg_path = dir.join(format!("{name}.svg"));
    std::fs::write(&json_path, serde_json::to_vec_pretty(report)?)?;
    std::fs::write(&svg_path, svg)?;
    Ok([json_path, svg_path])
}

/// Runs `docker compose ARGS` for this project (honours `COMPOSE_PROJECT_NAME`).
pub fn compose(args: &[&str]) -> Output {
    Command::new("docker")
        .arg("compose")
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("docker compose runs")
}

/// Like [`compose`], but panics with its stderr unless it succeeds; returns stdout.
pub fn compose_ok(args: &[&str]) -> String {
    let output = compose(args);
    assert!(
        output.status.success(),
        "docker compose {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}
