//! The site as users reach it: through nginx (the published web port) with
//! `Host: www.foobar.com`. One way to build the HTTP client for every tool and test: the
//! blocking [`Site`] for sequential work and the tests, the async [`AsyncSite`] for the probe
//! and the drills. Where it is by default: [`default_site_url`].

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result};
use reqwest::header::HOST;
use reqwest::{blocking, Method, StatusCode};
use serde_json::Value;

pub const SITE_HOST: &str = "www.foobar.com";

/// Where the tools find the site unless told (`--url`, `FOOBAR_URL`): `FOOBAR_URL`, else where
/// Compose publishes web, `http://HTTP_BIND:HTTP_PORT` (loopback when HTTP_BIND is every
/// address or empty; 127.0.0.1 and 8080 by default). Each from the environment first, then from
/// the repository's `.env`: the order Compose and the Makefile use, so that a tool run directly
/// goes where the stack is.
pub fn default_site_url() -> String {
    site_url(&crate::repo_root().join(".env"), from_process)
}

/// Where the load test finds the app without nginx unless told: where tools/compose.load.yml
/// publishes it, `http://127.0.0.1:APP_DIRECT_PORT` (18000 by default), the port found as in
/// [`default_site_url`].
pub fn default_direct_url() -> String {
    direct_url(&crate::repo_root().join(".env"), from_process)
}

fn from_process(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// [`default_site_url`], with `.env` at `dotenv` and the environment as `env` says.
fn site_url(dotenv: &Path, env: impl Fn(&str) -> Option<String>) -> String {
    let settings = Settings::read(dotenv, env);
    if let Some(url) = settings.get("FOOBAR_URL") {
        return url;
    }
    let host = match settings.get("HTTP_BIND") {
        None => "127.0.0.1".to_owned(),
        Some(any) if any == "0.0.0.0" => "127.0.0.1".to_owned(),
        Some(any) if any == "::" || any == "[::]" => "[::1]".to_owned(),
        Some(ipv6) if ipv6.contains(':') && !ipv6.starts_with('[') => format!("[{ipv6}]"),
        Some(host) => host,
    };
    let port = settings.get("HTTP_PORT").unwrap_or_else(|| "8080".into());
    format!("http://{host}:{port}")
}

/// [`default_direct_url`], with `.env` at `dotenv` and the environment as `env` says.
fn direct_url(dotenv: &Path, env: impl Fn(&str) -> Option<String>) -> String {
    let port = Settings::read(dotenv, env)
        .get("APP_DIRECT_PORT")
        .unwrap_or_else(|| "18000".into());
    format!("http://127.0.0.1:{port}")
}

/// The stack's settings as Compose resolves them: the environment, then `.env`.
struct Settings<E> {
    env: E,
    dotenv: HashMap<String, String>,
}

impl<E: Fn(&str) -> Option<String>> Settings<E> {
    /// Without a readable `.env`, the environment alone; a line dotenvy cannot parse is passed
    /// over (Compose would refuse it, and say so).
    fn read(dotenv: &Path, env: E) -> Settings<E> {
        let dotenv = dotenvy::from_path_iter(dotenv)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .collect();
        Settings { env, dotenv }
    }

    /// `name`'s value, `None` if it is unset or empty (`${NAME:-default}` in Compose's terms).
    /// Set in the environment, even empty, it hides `.env`'s.
    fn get(&self, name: &str) -> Option<String> {
        (self.env)(name)
            .or_else(|| self.dotenv.get(name).cloned())
            .filter(|value| !value.is_empty())
    }
}

/// Longest a request may take unless the caller says otherwise.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The settings every client of the site shares.
fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        // A redirect is an answer to check, not to follow.
        .redirect(reqwest::redirect::Policy::none())
        // A new connection per request, like a stream of distinct visitors. A reused keep-alive
        // connection can be closed by nginx's graceful reload just as a request goes out on it;
        // browsers resend such a request by themselves (RFC 9112 9.3.1), so counting it would
        // measure this client, not the site.
        .pool_max_idle_per_host(0)
        .timeout(timeout)
}

fn base_url(base: &str) -> String {
    base.trim_end_matches('/').to_owned()
}

/// The site with a blocking client. Not to be created or dropped inside the async runtime
/// (reqwest's blocking client runs one of its own): use [`AsyncSite`] there.
pub struct Site {
    base: String,
    client: blocking::Client,
}

impl Site {
    /// At [`default_site_url`].
    pub fn from_env() -> Result<Site> {
        Site::new(&default_site_url())
    }

    pub fn new(base: &str) -> Result<Site> {
        let client = blocking::ClientBuilder::from(builder(TIMEOUT))
            .timeout(TIMEOUT)
            .build()
            .context("building the HTTP client")?;
        Ok(Site {
            base: base_url(base),
            client,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// A request for `path` on `host` (use [`SITE_HOST`] for the site itself).
    pub fn request_to(&self, host: &str, method: Method, path: &str) -> blocking::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header(HOST, host)
    }

    pub fn request(&self, method: Method, path: &str) -> blocking::RequestBuilder {
        self.request_to(SITE_HOST, method, path)
    }

    pub fn get(&self, path: &str) -> Result<blocking::Response> {
        self.send(self.request(Method::GET, path), "GET", path)
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Result<blocking::Response> {
        self.send(self.request(Method::POST, path).json(body), "POST", path)
    }

    fn send(
        &self,
        request: blocking::RequestBuilder,
        method: &str,
        path: &str,
    ) -> Result<blocking::Response> {
        request
            .send()
            .with_context(|| format!("{method} {}{path} (is the stack up? `make up`)", self.base))
    }

    /// Polls `path` until it answers 200 or `timeout` passes; returns whether it did.
    pub fn wait_for_ok(&self, path: &str, timeout: Duration) -> bool {
        crate::wait_until(timeout, || {
            self.request(Method::GET, path)
                .timeout(Duration::from_secs(2))
                .send()
                .is_ok_and(|r| r.status() == StatusCode::OK)
        })
    }
}

/// The site with an async client, for the tools that run on tokio.
#[derive(Clone)]
pub struct AsyncSite {
    base: String,
    client: reqwest::Client,
}

impl AsyncSite {
    /// Requests time out after `timeout`, answer body included.
    pub fn new(base: &str, timeout: Duration) -> Result<AsyncSite> {
        let client = builder(timeout)
            .build()
            .context("building the HTTP client")?;
        Ok(AsyncSite {
            base: base_url(base),
            client,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header(HOST, SITE_HOST)
    }

    /// `GET path`: the status and the JSON body (`Null` when the body is not JSON).
    pub async fn get_json(&self, path: &str) -> Result<(StatusCode, Value)> {
        let response = self
            .request(Method::GET, path)
            .send()
            .await
            .with_context(|| format!("GET {}{path}", self.base))?;
        let status = response.status();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Polls `path` until it answers 200 or `timeout` passes; returns whether it did.
    pub async fn wait_for_ok(&self, path: &str, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let answer = self
                .request(Method::GET, path)
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if answer.is_ok_and(|r| r.status() == StatusCode::OK) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// A `.env` with `text`, in a directory of its own; removed on drop.
    struct DotEnv(PathBuf);

    impl DotEnv {
        fn new(name: &str, text: &str) -> DotEnv {
            let dir =
                std::env::temp_dir().join(format!("foobar-tools-{}-{name}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(".env"), text).unwrap();
            DotEnv(dir)
        }

        fn path(&self) -> PathBuf {
            self.0.join(".env")
        }
    }

    impl Drop for DotEnv {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// An environment with `vars` only.
    fn env<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        }
    }

    #[test]
    fn without_settings_the_defaults() {
        let missing = Path::new("/nonexistent/.env");
        assert_eq!(site_url(missing, env(&[])), "http://127.0.0.1:8080");
        assert_eq!(direct_url(missing, env(&[])), "http://127.0.0.1:18000");
    }

    #[test]
    fn dotenv_is_read_as_compose_reads_it() {
        let dotenv = DotEnv::new(
            "compose",
            "# the stack\nexport HTTP_BIND=\"192.0.2.7\"\nHTTP_PORT=8181 # moved\n\
             APP_DIRECT_PORT='18111'\nPOSTGRES_PASSWORD=x\n",
        );
        assert_eq!(site_url(&dotenv.path(), env(&[])), "http://192.0.2.7:8181");
        assert_eq!(
            direct_url(&dotenv.path(), env(&[])),
            "http://127.0.0.1:18111"
        );
    }

    #[test]
    fn the_environment_comes_before_dotenv_and_foobar_url_before_both() {
        let dotenv = DotEnv::new("precedence", "HTTP_BIND=0.0.0.0\nHTTP_PORT=8181\n");
        let path = dotenv.path();
        assert_eq!(
            site_url(&path, env(&[])),
            "http://127.0.0.1:8181",
            "every address: reached on loopback"
        );
        assert_eq!(
            site_url(&path, env(&[("HTTP_PORT", "9090")])),
            "http://127.0.0.1:9090"
        );
        assert_eq!(
            site_url(&path, env(&[("HTTP_PORT", "")])),
            "http://127.0.0.1:8080",
            "set empty in the environment: the default, as ${{HTTP_PORT:-8080}} gives"
        );
        assert_eq!(
            site_url(&path, env(&[("HTTP_BIND", "::")])),
            "http://[::1]:8181"
        );
        assert_eq!(
            site_url(
                &path,
                env(&[("FOOBAR_URL", "http://site:1"), ("HTTP_PORT", "9090")])
            ),
            "http://site:1"
        );
        assert_eq!(
            direct_url(&path, env(&[("APP_DIRECT_PORT", "28000")])),
            "http://127.0.0.1:28000"
        );
    }
}
