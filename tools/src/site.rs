//! The site as users reach it: through nginx (the published web port) with
//! `Host: www.foobar.com`. One way to build the HTTP client for every tool and test: the
//! blocking [`Site`] for sequential work and the tests, the async [`AsyncSite`] for the probe
//! and the drills.

use std::time::Duration;

use anyhow::{Context as _, Result};
use reqwest::header::HOST;
use reqwest::{blocking, Method, StatusCode};
use serde_json::Value;

use crate::wait_until;

pub const SITE_HOST: &str = "www.foobar.com";

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
    /// `FOOBAR_URL`, default `http://127.0.0.1:8080`.
    pub fn from_env() -> Result<Site> {
        let base = std::env::var("FOOBAR_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
        Site::new(&base)
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
        wait_until(timeout, || {
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
