//! The site as users reach it: through nginx (the published web port) with
//! `Host: www.foobar.com`. One HTTP client for every tool and test, [`Site`]. Where it is by
//! default: [`default_site_url`]. Signing up and in: [`Account`], [`Session`],
//! [`Site::sign_up_until`].

use std::collections::HashMap;
use std::fmt;
use std::io::Read as _;
use std::net::ToSocketAddrs as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use reqwest::header::{HeaderMap, COOKIE, HOST, RETRY_AFTER, SET_COOKIE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};

pub const SITE_HOST: &str = "www.foobar.com";

/// Where the tools find the site unless told (`--url`, `FOOBAR_URL`): `FOOBAR_URL`, else where
/// Compose publishes web's HTTPS, `https://HTTP_BIND:HTTPS_PORT` (loopback when HTTP_BIND is
/// every address; 127.0.0.1 and 8443 by default; plain HTTP there only redirects), as Compose
/// resolves them from the environment and `.env` ([`Settings`]), so that a tool run directly
/// goes where the stack is. Requests name www.foobar.com ([`Site`]).
pub fn default_site_url() -> String {
    site_url(&Settings::of_checkout())
}

/// The site's plain HTTP where Compose publishes it, `http://HTTP_BIND:HTTP_PORT` (8080 by
/// default): `make load` and `make bench` turn its redirect off for their runs
/// (tools/compose.load.yml), to measure plain HTTP beside HTTPS and the tiers below.
pub fn default_http_url() -> String {
    http_url(&Settings::of_checkout())
}

/// Where a harness reaches the stack: the site through nginx, and the app alone (published for
/// the run by tools/compose.load.yml). Options of `foobar-load` and `foobar-bench`.
#[derive(Debug, Clone, clap::Args, serde::Serialize, serde::Deserialize)]
pub struct StackUrls {
    /// Base URL of the site's plain HTTP, through nginx (requests carry
    /// `Host: www.foobar.com`), its redirect turned off for the run (tools/compose.load.yml).
    /// By default where Compose publishes web (HTTP_BIND and HTTP_PORT, from the environment or
    /// .env).
    #[arg(long, env = "FOOBAR_HTTP_URL", default_value_t = default_http_url())]
    pub url: String,

    /// The app itself, without nginx: where tools/compose.load.yml publishes it (APP_DIRECT_PORT,
    /// from the environment or .env).
    #[arg(long, env = "FOOBAR_DIRECT_URL", default_value_t = default_direct_url())]
    pub direct_url: String,
}

impl StackUrls {
    /// Waits up to 30 s each for the site to be ready and the app to answer on its own;
    /// `make_target` is what publishes the app (the error says so).
    pub async fn wait_until_up(&self, make_target: &str) -> Result<()> {
        let timeout = Duration::from_secs(30);
        if !Site::new(&self.url)?
            .wait_for_ok("/api/ready", timeout)
            .await
        {
            bail!("{} is not ready (is the stack up? `make up`)", self.url);
        }
        // The app answers on its own port for any Host; the health check needs no database.
        if !Site::new(&self.direct_url)?
            .wait_for_ok("/api/health", timeout)
            .await
        {
            bail!(
                "the app does not answer on {} (publish it with tools/compose.load.yml; `make {make_target}` does)",
                self.direct_url
            );
        }
        Ok(())
    }
}

/// Where the load test finds the app without nginx unless told: where tools/compose.load.yml
/// publishes it, `http://127.0.0.1:APP_DIRECT_PORT` (18000 by default), the port found as in
/// [`default_site_url`].
pub fn default_direct_url() -> String {
    direct_url(&Settings::of_checkout())
}

fn site_url(settings: &Settings) -> String {
    if let Some(url) = settings.get("FOOBAR_URL") {
        return url;
    }
    let port = settings.get("HTTPS_PORT").unwrap_or_else(|| "8443".into());
    format!("https://{}:{port}", published_host(settings))
}

fn http_url(settings: &Settings) -> String {
    let port = settings.get("HTTP_PORT").unwrap_or_else(|| "8080".into());
    format!("http://{}:{port}", published_host(settings))
}

/// The address web publishes on (HTTP_BIND), loopback when that is every address.
fn published_host(settings: &Settings) -> String {
    match settings.get("HTTP_BIND") {
        None => "127.0.0.1".to_owned(),
        Some(any) if any == "0.0.0.0" => "127.0.0.1".to_owned(),
        Some(host) => host,
    }
}

/// Where the site's HTTPS is unless told: the host of [`default_site_url`] (loopback when it
/// names the site itself) at `HTTPS_PORT` (8443 by default), found as that is. The requests
/// still name www.foobar.com (SNI, `Host`).
pub fn default_tls_url() -> String {
    tls_url(&Settings::of_checkout())
}

fn tls_url(settings: &Settings) -> String {
    let site = site_url(settings);
    let host = reqwest::Url::parse(&site)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .filter(|host| host != SITE_HOST && host != "foobar.com")
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let port = settings.get("HTTPS_PORT").unwrap_or_else(|| "8443".into());
    format!("https://{host}:{port}")
}

fn direct_url(settings: &Settings) -> String {
    let port = settings
        .get("APP_DIRECT_PORT")
        .unwrap_or_else(|| "18000".into());
    format!("http://127.0.0.1:{port}")
}

/// `docker compose config` in `dir`: its docker-compose.yml and `.env`, resolved.
fn compose_config(dir: &Path) -> std::process::Command {
    let mut command = std::process::Command::new("docker");
    command
        .args(["compose", "config", "--format", "json"])
        .current_dir(dir);
    command
}

/// The stack's settings as Compose resolves them (the environment first, then `.env`): the
/// `x-make` list of docker-compose.yml, read through `docker compose config`, so that `.env` is
/// read one way, Compose's, by the stack, make and the tools alike. Without a checkout or
/// Compose, the environment alone.
struct Settings(HashMap<String, String>);

impl Settings {
    fn of_checkout() -> Settings {
        crate::repo_root()
            .ok()
            .and_then(|root| Settings::resolved_by(&mut compose_config(&root)))
            .unwrap_or_else(|| {
                Settings(
                    [
                        "FOOBAR_URL",
                        "HTTP_BIND",
                        "HTTP_PORT",
                        "HTTPS_PORT",
                        "APP_DIRECT_PORT",
                    ]
                    .into_iter()
                    .filter_map(|name| Some((name.to_owned(), std::env::var(name).ok()?)))
                    .collect(),
                )
            })
    }

    /// What Compose resolves (`compose_config`); `None` if it fails.
    fn resolved_by(compose_config: &mut std::process::Command) -> Option<Settings> {
        let output = compose_config
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|output| output.status.success())?;
        let config: Value = serde_json::from_slice(&output.stdout).ok()?;
        let settings = config.get("x-make")?.as_object()?;
        Some(Settings(
            settings
                .iter()
                .filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_owned())))
                .collect(),
        ))
    }

    /// `name`'s value, `None` if it is unset or empty.
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|value| !value.is_empty()).cloned()
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

/// The local CA that `make up` made the site's certificate with: `.secrets/tls/ca.pem` in the
/// checkout (`None` outside one).
pub fn local_ca() -> Option<PathBuf> {
    Some(crate::repo_root().ok()?.join(".secrets/tls/ca.pem"))
}

/// The CA file the tools trust beside the public ones: `FOOBAR_CA_FILE` if set, else the local
/// CA `make up` made (`.secrets/tls/ca.pem`), if the checkout has it.
pub fn site_ca() -> Option<PathBuf> {
    std::env::var_os("FOOBAR_CA_FILE")
        .filter(|file| !file.is_empty())
        .map(PathBuf::from)
        .or_else(|| local_ca().filter(|local| local.exists()))
}

/// An `https://` base at an address (`https://127.0.0.1:8443`) becomes the site's name at that
/// address: SNI and the certificate's check ask for www.foobar.com, as a browser's would. The
/// CAs trusted: `FOOBAR_CA_FILE` if set, else the local CA `make up` made
/// (`.secrets/tls/ca.pem`) beside the public ones, if the checkout has it. Other bases pass.
fn over_tls(
    base: &str,
    builder: reqwest::ClientBuilder,
) -> Result<(String, reqwest::ClientBuilder)> {
    let Ok(mut url) = reqwest::Url::parse(base) else {
        return Ok((base.to_owned(), builder));
    };
    if url.scheme() != "https" {
        return Ok((base.to_owned(), builder));
    }
    let mut builder = builder;
    if let Some(ca) = site_ca() {
        let pem = std::fs::read(&ca).with_context(|| format!("reading {}", ca.display()))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .ok()
            .filter(|certificates| !certificates.is_empty())
            .with_context(|| format!("{}: no PEM certificate in it", ca.display()))?;
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    let host = url.host_str().unwrap_or_default().to_owned();
    if host != SITE_HOST {
        let port = url.port_or_known_default().unwrap_or(443);
        let addr = (host.trim_matches(['[', ']']), port)
            .to_socket_addrs()
            .with_context(|| format!("resolving {host}"))?
            .next()
            .with_context(|| format!("{host} has no address"))?;
        builder = builder.resolve(SITE_HOST, addr);
        url.set_host(Some(SITE_HOST))
            .context("the site's name as the URL's host")?;
    }
    Ok((base_url(url.as_str()), builder))
}

fn base_url(base: &str) -> String {
    base.trim_end_matches('/').to_owned()
}

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "foobar_session";

/// An account's credentials: a username (3–32 of `a-z 0-9 _ -`) and a password (10–256
/// characters). The password never prints: `Debug` hides it.
#[derive(Clone)]
pub struct Account {
    pub username: String,
    password: String,
}

impl Account {
    pub fn new(username: &str, password: &str) -> Account {
        Account {
            username: username.to_owned(),
            password: password.to_owned(),
        }
    }

    /// A fresh account, `PREFIX-` and 8 random hex digits (`prefix` must leave a valid
    /// username: up to 23 of `a-z 0-9 _ -`), with a random 32-hex-digit password.
    pub fn random(prefix: &str) -> Result<Account> {
        Ok(Account {
            username: format!("{prefix}-{}", random_hex(4)?),
            password: random_hex(16)?,
        })
    }

    /// The body of a sign-up or sign-in, `{username, password}`: it holds the password.
    pub fn credentials(&self) -> Value {
        json!({"username": self.username, "password": self.password})
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .finish()
    }
}

/// `bytes` random bytes from the kernel, as hex.
fn random_hex(bytes: usize) -> Result<String> {
    let mut random = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut urandom| urandom.read_exact(&mut random))
        .context("reading /dev/urandom")?;
    Ok(random.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// A signed-in user: the username and the session cookie's value, which `Debug` hides.
#[derive(Clone)]
pub struct Session {
    username: String,
    token: String,
}

impl Session {
    /// `username`'s session whose cookie carries `token`.
    pub fn new(username: &str, token: &str) -> Session {
        Session {
            username: username.to_owned(),
            token: token.to_owned(),
        }
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    /// The value of the `Cookie` header that carries the session, `foobar_session=TOKEN`: it
    /// holds the secret.
    pub fn cookie(&self) -> String {
        format!("{SESSION_COOKIE}={}", self.token)
    }

    /// The session `headers` set (`Set-Cookie: foobar_session=...`), if they set one.
    fn from_headers(username: &str, headers: &HeaderMap) -> Option<Session> {
        headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|cookie| cookie.split(';').next())
            .filter_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
            .find(|token| !token.is_empty())
            .map(|token| Session {
                username: username.to_owned(),
                token: token.to_owned(),
            })
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("username", &self.username)
            .field("token", &"[REDACTED]")
            .finish()
    }
}

/// The session a sign-up's 201 or a sign-in's 204 set; an error naming the answer otherwise.
fn session_from(
    account: &Account,
    what: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &str,
) -> Result<Session> {
    let expected = match what {
        SIGN_UP => StatusCode::CREATED,
        _ => StatusCode::NO_CONTENT,
    };
    if status != expected {
        bail!(
            "{what} as {} answered {status}: {}",
            account.username,
            body.trim()
        );
    }
    Session::from_headers(&account.username, headers).with_context(|| {
        format!(
            "{what} as {} answered {status} without a {SESSION_COOKIE} cookie",
            account.username
        )
    })
}

const SIGN_UP: &str = "sign-up";
const SIGN_IN: &str = "sign-in";

/// What to do after one sign-up attempt (see [`Site::sign_up_until`]).
#[derive(Debug, PartialEq)]
enum Attempt {
    /// Signed up.
    Done,
    /// The site is not there or not ready (restarting, maintenance, rate limit): try again
    /// after the wait.
    Again(Duration),
    /// 409: the name exists. If an earlier attempt of ours went unanswered, it may have
    /// created it: sign in.
    Taken,
    /// Any other answer: give up.
    Refused,
}

/// The next step after a sign-up answered `status` (`None`: no complete answer).
fn next_step(status: Option<StatusCode>, headers: Option<&HeaderMap>) -> Attempt {
    let retry_after = headers
        .and_then(|h| h.get(RETRY_AFTER))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|secs| Duration::from_secs(secs.clamp(1, 10)));
    let again = Attempt::Again(retry_after.unwrap_or(SIGN_UP_RETRY_EVERY));
    match status {
        None => again,
        Some(StatusCode::CREATED) => Attempt::Done,
        Some(StatusCode::CONFLICT) => Attempt::Taken,
        Some(
            StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT,
        ) => again,
        Some(_) => Attempt::Refused,
    }
}

/// Between sign-up attempts when the site gives no Retry-After.
const SIGN_UP_RETRY_EVERY: Duration = Duration::from_millis(500);

/// An attempt that got no complete answer.
struct Unanswered {
    /// What went wrong, with its causes.
    what: String,
    /// Whether the request may have reached the app (anything but a failed connection): the
    /// account may then exist.
    maybe_reached: bool,
}

impl Unanswered {
    fn of(error: &reqwest::Error) -> Unanswered {
        let mut what = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            what = format!("{what}: {cause}");
            source = cause.source();
        }
        Unanswered {
            what,
            maybe_reached: !error.is_connect(),
        }
    }
}

/// After a sign-up attempt: what the client does next.
enum Next {
    SignedUp(Session),
    /// The name is taken, perhaps by an earlier attempt of ours: sign in with the password.
    SignIn,
    Wait(Duration),
}

/// The sign-up attempts so far ([`Site::sign_up_until`]).
struct SignUpTries<'a> {
    account: &'a Account,
    base: &'a str,
    timeout: Duration,
    deadline: std::time::Instant,
    maybe_created: bool,
}

impl<'a> SignUpTries<'a> {
    fn new(account: &'a Account, base: &'a str, timeout: Duration) -> SignUpTries<'a> {
        SignUpTries {
            account,
            base,
            timeout,
            deadline: std::time::Instant::now() + timeout,
            maybe_created: false,
        }
    }

    /// What to do after an attempt answered `(status, headers, body)`, or got no answer.
    fn after(
        &mut self,
        answer: Result<(StatusCode, HeaderMap, String), Unanswered>,
    ) -> Result<Next> {
        let name = &self.account.username;
        let (step, last) = match &answer {
            Ok((status, headers, body)) => (
                next_step(Some(*status), Some(headers)),
                format!("{status}: {}", body.trim()),
            ),
            Err(unanswered) => {
                self.maybe_created |= unanswered.maybe_reached;
                (next_step(None, None), unanswered.what.clone())
            }
        };
        match (step, answer) {
            (Attempt::Done, Ok((status, headers, body))) => {
                session_from(self.account, SIGN_UP, status, &headers, &body).map(Next::SignedUp)
            }
            (Attempt::Taken, _) if self.maybe_created => Ok(Next::SignIn),
            (Attempt::Again(wait), _) if std::time::Instant::now() + wait < self.deadline => {
                Ok(Next::Wait(wait))
            }
            (Attempt::Again(_), _) => bail!(
                "sign-up as {name} at {}/api/users did not succeed within {} s (last: {last}){}",
                self.base,
                self.timeout.as_secs(),
                if self.maybe_created {
                    "; an attempt that got no answer may have made the account"
                } else {
                    ""
                }
            ),
            _ => bail!(
                "sign-up as {name} at {}/api/users answered {last}",
                self.base
            ),
        }
    }
}

/// The site, through reqwest's async client: the tools on tokio call it directly, the blocking
/// ones through [`crate::cli::block_on`], the tests from `#[tokio::test]`. Signed in
/// ([`Site::signed_in`]), every request carries the session cookie, as a browser's would.
#[derive(Clone)]
pub struct Site {
    base: String,
    client: reqwest::Client,
    session: Option<Session>,
}

impl Site {
    /// At [`default_site_url`].
    pub fn from_env() -> Result<Site> {
        Site::new(&default_site_url())
    }

    /// Requests time out after 10 s, answer body included.
    pub fn new(base: &str) -> Result<Site> {
        Site::with_timeout(base, TIMEOUT)
    }

    /// Requests time out after `timeout`, answer body included. An `https://` base is reached
    /// as a browser reaches the site: see [`over_tls`].
    pub fn with_timeout(base: &str, timeout: Duration) -> Result<Site> {
        let (base, builder) = over_tls(&base_url(base), builder(timeout))?;
        let client = builder.build().context("building the HTTP client")?;
        Ok(Site {
            base,
            client,
            session: None,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The same site, each request carrying `session`'s cookie.
    pub fn signed_in(&self, session: &Session) -> Site {
        Site {
            session: Some(session.clone()),
            ..self.clone()
        }
    }

    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// A request for `path` on `host` (use [`SITE_HOST`] for the site itself).
    pub fn request_to(&self, host: &str, method: Method, path: &str) -> RequestBuilder {
        let url = format!("{}{path}", self.base);
        // A base that names the host already says it (HTTP/1.1's Host, HTTP/2's :authority):
        // a second Host header beside :authority is a request nginx refuses (400).
        let named = reqwest::Url::parse(&url).is_ok_and(|url| url.host_str() == Some(host));
        let request = self.client.request(method, url);
        let request = if named {
            request
        } else {
            request.header(HOST, host)
        };
        match &self.session {
            Some(session) => request.header(COOKIE, session.cookie()),
            None => request,
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request_to(SITE_HOST, method, path)
    }

    pub async fn get(&self, path: &str) -> Result<Response> {
        self.send(self.request(Method::GET, path), "GET", path)
            .await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Result<Response> {
        self.send(self.request(Method::POST, path).json(body), "POST", path)
            .await
    }

    async fn send(&self, request: RequestBuilder, method: &str, path: &str) -> Result<Response> {
        request
            .send()
            .await
            .with_context(|| format!("{method} {}{path} (is the stack up? `make up`)", self.base))
    }

    /// `GET path`: the status and the JSON body (`Null` when the body is not JSON).
    pub async fn get_json(&self, path: &str) -> Result<(StatusCode, Value)> {
        let response = self.get(path).await?;
        let status = response.status();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Creates `account` and returns its session, trying again while the site is away or not
    /// ready (no answer, 502, 503 maintenance, 504, nginx's 429: a tool may start while the app
    /// restarts) until `timeout` has passed. A 409 after an attempt that may have reached the
    /// app unanswered (and made the account) signs in instead. Any other answer is an error.
    pub async fn sign_up_until(&self, account: &Account, timeout: Duration) -> Result<Session> {
        let mut tries = SignUpTries::new(account, &self.base, timeout);
        loop {
            let sent = self
                .request(Method::POST, "/api/users")
                .json(&account.credentials())
                .send()
                .await;
            let answer = match sent {
                Ok(response) => {
                    let (status, headers) = (response.status(), response.headers().clone());
                    match response.text().await {
                        Ok(body) => Ok((status, headers, body)),
                        Err(err) => Err(Unanswered::of(&err)),
                    }
                }
                Err(err) => Err(Unanswered::of(&err)),
            };
            match tries.after(answer)? {
                Next::SignedUp(session) => return Ok(session),
                Next::SignIn => return self.sign_in(account).await,
                Next::Wait(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Signs in to `account` (`POST /api/session`, which must answer 204).
    pub async fn sign_in(&self, account: &Account) -> Result<Session> {
        let response = self
            .post_json("/api/session", &account.credentials())
            .await
            .context("sign-in")?;
        let (status, headers) = (response.status(), response.headers().clone());
        let body = response.text().await.unwrap_or_default();
        session_from(account, SIGN_IN, status, &headers, &body)
    }

    /// Polls `path` until it answers 200 or `timeout` passes; returns whether it did.
    pub async fn wait_for_ok(&self, path: &str, timeout: Duration) -> bool {
        self.wait_for(path, timeout, |answer| answer.status() == StatusCode::OK)
            .await
    }

    /// Polls `path` (2 s allowed each time) until its answer is `ok` or `timeout` passes;
    /// returns whether it was.
    pub async fn wait_for(
        &self,
        path: &str,
        timeout: Duration,
        ok: impl Fn(&Response) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let answer = self
                .request(Method::GET, path)
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if answer.is_ok_and(|answer| ok(&answer)) {
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

    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn an_https_address_is_reached_by_the_site_name_and_plain_http_as_given() {
        let plain = Site::new("http://127.0.0.1:8080/").unwrap();
        let tls = Site::new("https://127.0.0.1:8443").unwrap();
        let named = Site::new("https://www.foobar.com").unwrap();

        assert_eq!(plain.base(), "http://127.0.0.1:8080");
        assert_eq!(tls.base(), "https://www.foobar.com:8443");
        assert_eq!(named.base(), "https://www.foobar.com");
    }

    #[test]
    fn a_ca_file_that_is_not_a_certificate_is_refused_by_name() {
        let dir = std::env::temp_dir().join(format!("foobar-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ca.pem");
        std::fs::write(&file, "not a certificate").unwrap();

        std::env::set_var("FOOBAR_CA_FILE", &file);
        let refused = Site::new("https://127.0.0.1:8443").err();
        std::env::remove_var("FOOBAR_CA_FILE");
        let _ = std::fs::remove_dir_all(&dir);

        let error = format!("{:#}", refused.expect("refused"));
        assert!(error.contains("ca.pem"), "{error}");
    }

    #[test]
    fn random_accounts_follow_the_rules_and_never_print_their_password() {
        let account = Account::random("probe").unwrap();
        let hex = account.username.strip_prefix("probe-").unwrap();
        assert_eq!(hex.len(), 8);
        assert!(hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(account.password.len(), 32, "10–256 characters");
        assert_ne!(account.password, account.username);
        assert_ne!(Account::random("probe").unwrap().username, account.username);
        let shown = format!("{account:?}");
        assert!(shown.contains(&account.username), "{shown}");
        assert!(!shown.contains(&account.password), "{shown}");
        let sent = account.credentials().to_string();
        assert!(sent.contains(&account.password), "the sign-up sends it");
    }

    fn headers(set_cookies: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for cookie in set_cookies {
            headers.append(SET_COOKIE, HeaderValue::from_str(cookie).unwrap());
        }
        headers
    }

    #[test]
    fn the_session_is_read_from_set_cookie_and_sent_as_a_cookie() {
        let token = "a".repeat(43);
        let set =
            format!("foobar_session={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age=2592000");
        let session = Session::from_headers("alice", &headers(&["other=1; Path=/", &set])).unwrap();
        assert_eq!(session.username(), "alice");
        assert_eq!(session.cookie(), format!("foobar_session={token}"));
        assert!(!format!("{session:?}").contains(&token), "{session:?}");
        assert!(
            Session::from_headers("alice", &headers(&["foobar_session=; Max-Age=0"])).is_none(),
            "a cleared cookie is no session"
        );
        assert!(Session::from_headers("alice", &headers(&["foobar_sessionx=1"])).is_none());
        assert!(Session::from_headers("alice", &HeaderMap::new()).is_none());
    }

    #[test]
    fn sign_up_and_sign_in_must_answer_their_status_with_a_cookie() {
        let account = Account::new("alice", "a long password");
        let set = headers(&[&format!("foobar_session={}; Path=/", "b".repeat(43))]);
        assert!(session_from(&account, SIGN_UP, StatusCode::CREATED, &set, "").is_ok());
        assert!(session_from(&account, SIGN_IN, StatusCode::NO_CONTENT, &set, "").is_ok());
        let error = session_from(&account, SIGN_IN, StatusCode::UNAUTHORIZED, &set, "{}")
            .unwrap_err()
            .to_string();
        assert!(error.contains("401") && error.contains("alice"), "{error}");
        assert!(!error.contains("a long password"), "{error}");
        let no_cookie = session_from(
            &account,
            SIGN_UP,
            StatusCode::CREATED,
            &HeaderMap::new(),
            "",
        );
        assert!(no_cookie.is_err());
    }

    fn unanswered(maybe_reached: bool) -> Result<(StatusCode, HeaderMap, String), Unanswered> {
        Err(Unanswered {
            what: "connection refused".into(),
            maybe_reached,
        })
    }

    fn answered(status: u16) -> Result<(StatusCode, HeaderMap, String), Unanswered> {
        let cookie = format!("foobar_session={}; Path=/", "c".repeat(43));
        Ok((
            StatusCode::from_u16(status).unwrap(),
            headers(&[&cookie]),
            "{}".into(),
        ))
    }

    #[test]
    fn a_taken_name_is_signed_in_to_only_if_an_attempt_may_have_made_it() {
        let account = Account::new("probe-0a1b2c3d", "a long password");
        let timeout = Duration::from_secs(60);
        let mut tries = SignUpTries::new(&account, "http://site", timeout);
        assert!(matches!(tries.after(unanswered(false)), Ok(Next::Wait(_))));
        let error = tries.after(answered(409)).err().unwrap().to_string();
        assert!(error.contains("409"), "{error}");

        let mut tries = SignUpTries::new(&account, "http://site", timeout);
        assert!(matches!(tries.after(unanswered(true)), Ok(Next::Wait(_))));
        assert!(matches!(tries.after(answered(503)), Ok(Next::Wait(_))));
        assert!(matches!(tries.after(answered(409)), Ok(Next::SignIn)));

        let mut tries = SignUpTries::new(&account, "http://site", timeout);
        assert!(matches!(tries.after(answered(201)), Ok(Next::SignedUp(_))));
        assert!(tries.after(answered(422)).is_err());
    }

    #[test]
    fn sign_up_gives_up_at_its_deadline_saying_why() {
        let account = Account::new("probe-0a1b2c3d", "a long password");
        let mut tries = SignUpTries::new(&account, "http://site", Duration::ZERO);
        let error = tries.after(unanswered(true)).err().unwrap().to_string();
        assert!(error.contains("did not succeed within 0 s"), "{error}");
        assert!(error.contains("connection refused"), "{error}");
        assert!(error.contains("may have made the account"), "{error}");
        assert!(!error.contains("a long password"), "{error}");
    }

    #[test]
    fn sign_up_tries_again_while_the_site_is_away_or_not_ready() {
        let again = Attempt::Again(SIGN_UP_RETRY_EVERY);
        assert_eq!(next_step(None, None), again, "no answer");
        for status in [429, 502, 503, 504] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(next_step(Some(status), Some(&HeaderMap::new())), again);
        }
        let mut retry_after = HeaderMap::new();
        retry_after.insert(RETRY_AFTER, HeaderValue::from_static("5"));
        assert_eq!(
            next_step(Some(StatusCode::SERVICE_UNAVAILABLE), Some(&retry_after)),
            Attempt::Again(Duration::from_secs(5)),
            "nginx's maintenance answer says when"
        );
        retry_after.insert(RETRY_AFTER, HeaderValue::from_static("3600"));
        assert_eq!(
            next_step(Some(StatusCode::TOO_MANY_REQUESTS), Some(&retry_after)),
            Attempt::Again(Duration::from_secs(10)),
            "capped"
        );
        assert_eq!(next_step(Some(StatusCode::CREATED), None), Attempt::Done);
        assert_eq!(next_step(Some(StatusCode::CONFLICT), None), Attempt::Taken);
        for status in [400, 401, 403, 422, 500] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(next_step(Some(status), None), Attempt::Refused, "{status}");
        }
    }

    /// A server on loopback that answers each of `answers` to one connection in turn; the
    /// requests it got come out of the receiver, head and body.
    fn server(answers: &[&'static str]) -> (String, std::sync::mpsc::Receiver<String>) {
        use std::io::Write as _;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (sent, received) = std::sync::mpsc::channel();
        let answers = answers.to_vec();
        std::thread::spawn(move || {
            for answer in answers {
                let (mut stream, _) = listener.accept().unwrap();
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                // Enough for these small requests: the head and the body come in one read or two.
                while !String::from_utf8_lossy(&request).contains("\r\n\r\n") {
                    let n = stream.read(&mut buffer).unwrap();
                    request.extend_from_slice(&buffer[..n]);
                }
                stream.write_all(answer.as_bytes()).unwrap();
                sent.send(String::from_utf8_lossy(&request).to_lowercase())
                    .unwrap();
            }
        });
        (url, received)
    }

    #[tokio::test]
    async fn requests_carry_the_site_host_and_once_signed_in_the_session() {
        let (url, requests) = server(&[
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 201 Created\r\nSet-Cookie: foobar_session=t0k3n; HttpOnly; Path=/\r\n\
             Content-Length: 2\r\n\r\n{}",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
        ]);
        let site = Site::new(&format!("{url}/")).unwrap();
        let account = Account::new("alice", "a long password");

        let session = site
            .sign_up_until(&account, Duration::from_secs(10))
            .await
            .unwrap();
        let (status, _) = site.signed_in(&session).get_json("/api/me").await.unwrap();

        assert_eq!(status, StatusCode::OK);
        assert_eq!(session.cookie(), "foobar_session=t0k3n");
        let requests: Vec<String> = requests.iter().collect();
        assert!(
            requests[0].starts_with("post /api/users "),
            "{}",
            requests[0]
        );
        assert_eq!(requests[0], requests[1], "sent again after the 503");
        assert!(requests[2].starts_with("get /api/me "), "{}", requests[2]);
        for request in &requests {
            assert!(request.contains("host: www.foobar.com\r\n"), "{request}");
        }
        assert!(!requests[0].contains("cookie:"), "{}", requests[0]);
        assert!(requests[2].contains("cookie: foobar_session=t0k3n\r\n"));
    }

    /// A checkout's docker-compose.yml and a `.env` with `text`, in a directory of its own;
    /// removed on drop.
    struct Checkout(PathBuf);

    impl Checkout {
        fn new(name: &str, text: &str) -> Checkout {
            let dir =
                std::env::temp_dir().join(format!("foobar-tools-{}-{name}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let compose = crate::repo_root().unwrap().join("docker-compose.yml");
            std::fs::copy(compose, dir.join("docker-compose.yml")).unwrap();
            std::fs::write(dir.join(".env"), text).unwrap();
            Checkout(dir)
        }

        /// As Compose resolves them with none of the settings in the environment (make
        /// exports some to the tests it runs).
        fn settings(&self) -> Settings {
            let mut compose = compose_config(&self.0);
            for name in ["FOOBAR_URL", "HTTP_BIND", "HTTP_PORT", "APP_DIRECT_PORT"] {
                compose.env_remove(name);
            }
            Settings::resolved_by(&mut compose).expect("docker compose config")
        }
    }

    impl Drop for Checkout {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn settings(vars: &[(&str, &str)]) -> Settings {
        Settings(
            vars.iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        )
    }

    #[test]
    fn without_settings_the_defaults() {
        assert_eq!(site_url(&settings(&[])), "https://127.0.0.1:8443");
        assert_eq!(http_url(&settings(&[])), "http://127.0.0.1:8080");
        assert_eq!(direct_url(&settings(&[])), "http://127.0.0.1:18000");
    }

    #[test]
    fn foobar_url_comes_first_and_every_address_is_reached_on_loopback() {
        assert_eq!(
            site_url(&settings(&[
                ("HTTP_BIND", "0.0.0.0"),
                ("HTTPS_PORT", "8181")
            ])),
            "https://127.0.0.1:8181"
        );
        assert_eq!(
            site_url(&settings(&[
                ("FOOBAR_URL", "http://site:1"),
                ("HTTP_PORT", "9090")
            ])),
            "http://site:1"
        );
        assert_eq!(
            site_url(&settings(&[("FOOBAR_URL", ""), ("HTTPS_PORT", "9443")])),
            "https://127.0.0.1:9443",
            "empty is unset"
        );
    }

    #[test]
    fn dotenv_is_read_by_compose_with_its_quoting_and_comments() {
        let checkout = Checkout::new(
            "compose",
            "# the stack\nexport HTTP_BIND=\"192.0.2.7\"\nHTTP_PORT=8181 # moved\n\
             APP_DIRECT_PORT='18111'\nPOSTGRES_PASSWORD=x\n",
        );
        let settings = checkout.settings();
        assert_eq!(http_url(&settings), "http://192.0.2.7:8181");
        assert_eq!(direct_url(&settings), "http://127.0.0.1:18111");
    }
}
