//! Typed configuration from the environment. Every setting is parsed once at start-up;
//! a missing or malformed one stops the process with a message naming it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use figment::error::Kind;
use figment::providers::Serialized;
use figment::Figment;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is not set (see .env.example)")]
    Missing(&'static str),
    #[error("{name}={value:?} is invalid: {reason}")]
    Invalid {
        name: String,
        value: String,
        reason: String,
    },
    #[error("{name}={value:?} cannot be read: {reason}")]
    Unreadable {
        name: String,
        value: String,
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Address the HTTP server binds (`APP_ADDR`); port 0 picks a free port (tests).
    pub addr: SocketAddr,
    /// Address of the Prometheus metrics listener (`APP_METRICS_ADDR`), apart from `addr` so
    /// that nginx, which proxies `addr` only, never exposes it; port 0 picks a free port.
    pub metrics_addr: SocketAddr,
    /// actix worker threads (`APP_WORKERS`, default: one per core).
    pub workers: usize,
    /// How long in-flight requests may take to finish after SIGTERM (`APP_SHUTDOWN_TIMEOUT_SECS`).
    /// Keep it below the container's stop grace period so Docker never has to SIGKILL.
    pub shutdown_timeout: Duration,
    /// Identifies the build that answers (`APP_REVISION`), shown in `X-App-Version`.
    pub revision: String,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
}

#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// A session unused this long is over (`SESSION_IDLE_TIMEOUT_SECS`, default 7 days).
    pub session_idle_timeout: Duration,
    /// A session this old is over however much it is used (`SESSION_LIFETIME_SECS`, default
    /// 30 days). Also the cookie's `Max-Age`.
    pub session_lifetime: Duration,
    /// Mark the session cookie `Secure` (`SESSION_COOKIE_SECURE`): set it when the site is
    /// served over HTTPS. Off by default because this stack serves plain HTTP on 127.0.0.1,
    /// where a `Secure` cookie would never come back.
    pub cookie_secure: bool,
    /// Passwords hashed or verified at once (`AUTH_HASH_CONCURRENCY`, default: one per
    /// core). Each takes 19 MiB and a core while it runs.
    pub hash_concurrency: usize,
    /// How long a sign-in waits for a free hasher before answering 503
    /// (`AUTH_HASH_WAIT_MS`).
    pub hash_wait: Duration,
    /// Failed sign-ins to a name are forgotten this long after the last one
    /// (`AUTH_FAILURE_WINDOW_SECS`, default 15 minutes): the next failure counts from one again.
    pub failure_window: Duration,
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// libpq connection URL (`DATABASE_URL`, with the password of `DATABASE_PASSWORD_FILE`
    /// put in when that is set). It holds the password, so it never prints.
    pub url: SecretString,
    /// The setting the password came from, for errors: `DATABASE_PASSWORD_FILE` or
    /// `DATABASE_URL`.
    pub password_setting: &'static str,
    /// Upper bound of open connections (`DATABASE_POOL_SIZE`).
    pub pool_size: u32,
    /// Connections kept open while idle (`DATABASE_POOL_MIN_IDLE`).
    pub min_idle: u32,
    /// How long a request waits for a free pooled connection (`DATABASE_POOL_TIMEOUT_MS`).
    pub pool_timeout: Duration,
    /// libpq `connect_timeout` for new connections (`DATABASE_CONNECT_TIMEOUT_SECS`, whole seconds).
    pub connect_timeout: Duration,
    /// Server-side `statement_timeout` set on every connection (`DATABASE_STATEMENT_TIMEOUT_MS`).
    pub statement_timeout: Duration,
    /// Total time a request may spend on the database before it answers 503
    /// (`DATABASE_DEADLINE_MS`). Covers what no server-side timeout can: a database that
    /// accepts bytes but never answers (paused, network black hole).
    pub deadline: Duration,
    /// Run `SELECT 1` on each check-out to skip connections the server closed
    /// (`DATABASE_TEST_ON_CHECKOUT`). Off by default: it is a second round trip per request
    /// (`make load`: a fifth of the throughput), and a closed connection costs one 503 and is
    /// dropped from the pool anyway.
    pub test_on_checkout: bool,
    /// How long start-up waits for the database before giving up (`DATABASE_STARTUP_TIMEOUT_SECS`).
    pub startup_timeout: Duration,
}

/// How to reach the database, as serde reads it: all that `foobar-app admin` reads, so a
/// one-off command works whatever the server's other settings are.
#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE", default)]
struct ConnectionSettings {
    database_url: Option<SecretString>,
    database_password_file: Option<String>,
    database_connect_timeout_secs: u64,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        ConnectionSettings {
            database_url: None,
            database_password_file: None,
            database_connect_timeout_secs: 2,
        }
    }
}

/// The rest of the environment as serde reads it: one field per variable, named and typed as
/// set, with the defaults of any left unset. [`Config`] is built from it and
/// [`ConnectionSettings`] after the cross-field checks.
#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE", default)]
struct Settings {
    app_addr: SocketAddr,
    app_metrics_addr: SocketAddr,
    app_workers: usize,
    app_shutdown_timeout_secs: u64,
    app_revision: String,
    database_pool_size: u32,
    database_pool_min_idle: u32,
    database_pool_timeout_ms: u64,
    database_statement_timeout_ms: u64,
    database_deadline_ms: u64,
    database_test_on_checkout: bool,
    database_startup_timeout_secs: u64,
    session_idle_timeout_secs: u64,
    session_lifetime_secs: u64,
    session_cookie_secure: bool,
    auth_hash_concurrency: usize,
    auth_hash_wait_ms: u64,
    auth_failure_window_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            app_addr: SocketAddr::from(([0, 0, 0, 0], 8000)),
            app_metrics_addr: SocketAddr::from(([0, 0, 0, 0], 9464)),
            app_workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            app_shutdown_timeout_secs: 10,
            app_revision: "dev".to_owned(),
            database_pool_size: 10,
            database_pool_min_idle: 2,
            database_pool_timeout_ms: 1000,
            database_statement_timeout_ms: 2000,
            database_deadline_ms: 2500,
            database_test_on_checkout: false,
            database_startup_timeout_secs: 30,
            session_idle_timeout_secs: 7 * 24 * 3600,
            session_lifetime_secs: 30 * 24 * 3600,
            session_cookie_secure: false,
            auth_hash_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            auth_hash_wait_ms: 5000,
            auth_failure_window_secs: 15 * 60,
        }
    }
}

/// The variables as figment reads them, and their values for error messages.
struct Vars {
    figment: Figment,
    values: BTreeMap<String, String>,
}

impl Vars {
    fn new<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: AsRef<str>,
    {
        // Empty values count as unset, as an empty `FOO=` line in `.env` usually means "not configured".
        let values: BTreeMap<String, String> = vars
            .into_iter()
            .map(|(name, value)| (name.into(), value.as_ref().trim().to_owned()))
            .filter(|(_, value)| !value.is_empty())
            .collect();
        Vars {
            figment: Figment::from(Serialized::defaults(&values)),
            values,
        }
    }

    /// Every value is a string; lossy extraction parses those the field wants as numbers or
    /// booleans, and leaves strings (`APP_REVISION=1234567`) alone. Variables `T` has no
    /// field for are ignored.
    fn extract<T: serde::de::DeserializeOwned>(&self) -> Result<T, ConfigError> {
        self.figment
            .extract_lossy()
            .map_err(|err| ConfigError::from_figment(err, &self.values))
    }
}

/// The process environment (after `.env` has been loaded by `main`). Variables that are not
/// UTF-8 count as unset, as none of ours can be.
fn process_vars() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
}

/// The URL a one-off command (`foobar-app admin`) connects with: `DATABASE_URL` with the
/// password of `DATABASE_PASSWORD_FILE` and libpq's `connect_timeout` of
/// `DATABASE_CONNECT_TIMEOUT_SECS`, read and checked as the server does. No other setting is
/// read.
pub fn connection_url_from_env() -> Result<SecretString, ConfigError> {
    connection_url_from_vars(process_vars())
}

/// [`connection_url_from_env`] from any set of variables.
pub fn connection_url_from_vars<K, V>(
    vars: impl IntoIterator<Item = (K, V)>,
) -> Result<SecretString, ConfigError>
where
    K: Into<String>,
    V: AsRef<str>,
{
    let connection: ConnectionSettings = Vars::new(vars).extract()?;
    connection.check()?;
    let (url, _, connect_timeout) = connection.into_url()?;
    Ok(with_connect_timeout(&url, connect_timeout))
}

impl Config {
    /// Reads the process environment (after `.env` has been loaded by `main`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(process_vars())
    }

    /// Builds the configuration from any set of variables, so tests need not touch the
    /// process environment.
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Self, ConfigError>
    where
        K: Into<String>,
        V: AsRef<str>,
    {
        let vars = Vars::new(vars);
        let connection: ConnectionSettings = vars.extract()?;
        let settings: Settings = vars.extract()?;
        connection.check()?;
        settings.check()?;
        settings.into_config(connection)
    }

    /// The value of the `X-App-Version` header: crate version plus build revision.
    pub fn version(&self) -> String {
        format!("{}+{}", env!("CARGO_PKG_VERSION"), self.revision)
    }
}

/// `Ok` if `ok`, else `name=value` is invalid for `reason`.
fn rule(name: &str, value: u64, ok: bool, reason: &str) -> Result<(), ConfigError> {
    if ok {
        return Ok(());
    }
    Err(ConfigError::Invalid {
        name: name.to_owned(),
        value: value.to_string(),
        reason: reason.to_owned(),
    })
}

impl ConnectionSettings {
    fn check(&self) -> Result<(), ConfigError> {
        rule(
            "DATABASE_CONNECT_TIMEOUT_SECS",
            self.database_connect_timeout_secs,
            self.database_connect_timeout_secs >= 1,
            "must be at least 1 (0 means wait forever in libpq)",
        )
    }

    /// The URL with the password of the file put in, the setting the password came from, and
    /// the connect timeout.
    fn into_url(self) -> Result<(SecretString, &'static str, Duration), ConfigError> {
        let url = self
            .database_url
            .ok_or(ConfigError::Missing("DATABASE_URL"))?;
        let (url, password_setting) = match &self.database_password_file {
            Some(path) => (
                url_with_password_file(&url, path)?,
                "DATABASE_PASSWORD_FILE",
            ),
            None => (url, "DATABASE_URL"),
        };
        let connect_timeout = Duration::from_secs(self.database_connect_timeout_secs);
        Ok((url, password_setting, connect_timeout))
    }
}

impl Settings {
    /// Rules that span settings or that a type alone cannot express.
    fn check(&self) -> Result<(), ConfigError> {
        rule(
            "APP_WORKERS",
            self.app_workers as u64,
            self.app_workers >= 1,
            "must be at least 1",
        )?;
        rule(
            "DATABASE_POOL_SIZE",
            self.database_pool_size.into(),
            self.database_pool_size >= 1,
            "must be at least 1",
        )?;
        rule(
            "DATABASE_POOL_MIN_IDLE",
            self.database_pool_min_idle.into(),
            self.database_pool_min_idle <= self.database_pool_size,
            "must not exceed DATABASE_POOL_SIZE",
        )?;
        rule(
            "SESSION_IDLE_TIMEOUT_SECS",
            self.session_idle_timeout_secs,
            self.session_idle_timeout_secs >= 60,
            "must be at least 60",
        )?;
        rule(
            "SESSION_LIFETIME_SECS",
            self.session_lifetime_secs,
            self.session_lifetime_secs >= self.session_idle_timeout_secs,
            "must not be shorter than SESSION_IDLE_TIMEOUT_SECS",
        )?;
        rule(
            "AUTH_HASH_CONCURRENCY",
            self.auth_hash_concurrency as u64,
            self.auth_hash_concurrency >= 1,
            "must be at least 1",
        )?;
        rule(
            "AUTH_FAILURE_WINDOW_SECS",
            self.auth_failure_window_secs,
            self.auth_failure_window_secs >= 1,
            "must be at least 1",
        )?;
        rule(
            "DATABASE_DEADLINE_MS",
            self.database_deadline_ms,
            self.database_deadline_ms > self.database_pool_timeout_ms,
            "must be longer than DATABASE_POOL_TIMEOUT_MS",
        )
    }

    fn into_config(self, connection: ConnectionSettings) -> Result<Config, ConfigError> {
        let (url, password_setting, connect_timeout) = connection.into_url()?;
        Ok(Config {
            addr: self.app_addr,
            metrics_addr: self.app_metrics_addr,
            workers: self.app_workers,
            shutdown_timeout: Duration::from_secs(self.app_shutdown_timeout_secs),
            revision: self.app_revision,
            database: DatabaseConfig {
                url,
                password_setting,
                pool_size: self.database_pool_size,
                min_idle: self.database_pool_min_idle,
                pool_timeout: Duration::from_millis(self.database_pool_timeout_ms),
                connect_timeout,
                statement_timeout: Duration::from_millis(self.database_statement_timeout_ms),
                deadline: Duration::from_millis(self.database_deadline_ms),
                test_on_checkout: self.database_test_on_checkout,
                startup_timeout: Duration::from_secs(self.database_startup_timeout_secs),
            },
            auth: AuthConfig {
                session_idle_timeout: Duration::from_secs(self.session_idle_timeout_secs),
                session_lifetime: Duration::from_secs(self.session_lifetime_secs),
                cookie_secure: self.session_cookie_secure,
                hash_concurrency: self.auth_hash_concurrency,
                hash_wait: Duration::from_millis(self.auth_hash_wait_ms),
                failure_window: Duration::from_secs(self.auth_failure_window_secs),
            },
        })
    }
}

impl ConfigError {
    /// Names the variable serde could not read, with the value as it was set.
    fn from_figment(err: figment::Error, vars: &BTreeMap<String, String>) -> Self {
        let name = err.path.join(".");
        let reason = match &err.kind {
            Kind::InvalidType(_, expected) | Kind::InvalidValue(_, expected) => {
                format!("expected {expected}")
            }
            other => other.to_string(),
        };
        ConfigError::Invalid {
            value: vars.get(&name).cloned().unwrap_or_default(),
            name,
            reason,
        }
    }
}

/// `DATABASE_URL` with the password read from `DATABASE_PASSWORD_FILE` (a Docker secret, so
/// the password is not in the container's environment). The file is UTF-8; one trailing
/// `\n` or `\r\n` is dropped (editors add it), nothing else.
fn url_with_password_file(url: &SecretString, path: &str) -> Result<SecretString, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        name: "DATABASE_PASSWORD_FILE".to_owned(),
        value: path.to_owned(),
        reason: reason.to_owned(),
    };
    // Checked before the file is read: the URL alone decides whether the setting can apply.
    let Some(uri) = ConnectionUri::parse(url.expose_secret()) else {
        return Err(invalid(
            "DATABASE_URL must then be a URL (postgres://user@host:port/db) to put the password in",
        ));
    };
    if uri.has_password() {
        return Err(invalid(
            "ambiguous, DATABASE_URL already contains a password; \
             remove it from DATABASE_URL or unset DATABASE_PASSWORD_FILE",
        ));
    }
    let mut content = std::fs::read_to_string(path).map_err(|err| ConfigError::Unreadable {
        name: "DATABASE_PASSWORD_FILE".to_owned(),
        value: path.to_owned(),
        reason: io_reason(&err),
    })?;
    let password = content
        .strip_suffix("\r\n")
        .or_else(|| content.strip_suffix('\n'))
        .unwrap_or(&content);
    if password.is_empty() {
        return Err(invalid("the file is empty"));
    }
    let secret = uri.with_password(password);
    content.zeroize();
    Ok(secret)
}

/// A libpq connection URI, `postgres[ql]://[user[:password]@][hosts][/dbname][?params]`, split
/// where libpq splits it to find the user part. The url crate cannot be used: it refuses the
/// several hosts libpq takes (`db1:5432,db2:5432`, the cluster's), cannot give a password to a
/// URL without a host (`postgres:///db?host=/run/postgresql`), and leaves `%` unencoded in
/// one, so `%41` would reach libpq as `A`.
struct ConnectionUri<'a> {
    /// `postgres://` or `postgresql://`.
    scheme: &'a str,
    /// Before the `@` that ends the user part, if there is one.
    userinfo: Option<&'a str>,
    /// The hosts, database and parameters, as written.
    rest: &'a str,
}

impl<'a> ConnectionUri<'a> {
    /// `None` for what is not a URI (libpq also takes `host=db user=foobar` strings).
    fn parse(url: &'a str) -> Option<Self> {
        let scheme = ["postgresql://", "postgres://"]
            .into_iter()
            .find(|scheme| url.starts_with(scheme))?;
        let after = &url[scheme.len()..];
        // libpq's reading: the user part ends at the first `@` before any `/`.
        let (userinfo, rest) = match after.find(['@', '/']) {
            Some(at) if after.as_bytes()[at] == b'@' => (Some(&after[..at]), &after[at + 1..]),
            _ => (None, after),
        };
        Some(ConnectionUri {
            scheme,
            userinfo,
            rest,
        })
    }

    /// A password in the user part (`user:password@`, even empty) or a `password` parameter
    /// (whose name may be percent-encoded).
    fn has_password(&self) -> bool {
        self.userinfo.is_some_and(|userinfo| userinfo.contains(':'))
            || self.rest.split_once('?').is_some_and(|(_, query)| {
                query.split('&').any(|param| {
                    let key = param.split_once('=').map_or(param, |(key, _)| key);
                    percent_decode_str(key).eq(b"password".iter().copied())
                })
            })
    }

    /// The URI with `password` in the user part, percent-encoded so that libpq, which decodes
    /// every `%XX` there, reads it back byte for byte. Written straight into the secret, sized
    /// first so no reallocation leaves a copy behind.
    fn with_password(&self, password: &str) -> SecretString {
        let encoded = || utf8_percent_encode(password, USERINFO);
        let user = self.userinfo.unwrap_or("");
        let length = self.scheme.len()
            + user.len()
            + 1
            + encoded().map(str::len).sum::<usize>()
            + 1
            + self.rest.len();
        let mut built = String::with_capacity(length);
        built.push_str(self.scheme);
        built.push_str(user);
        built.push(':');
        encoded().for_each(|part| built.push_str(part));
        built.push('@');
        built.push_str(self.rest);
        SecretString::from(built)
    }
}

/// Everything but RFC 3986's unreserved characters.
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The operating system's message without Rust's " (os error N)" suffix.
fn io_reason(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_owned(),
        _ => text,
    }
}

impl DatabaseConfig {
    /// The connection URL with libpq's `connect_timeout` added, unless the URL sets one.
    pub fn url_with_connect_timeout(&self) -> SecretString {
        with_connect_timeout(&self.url, self.connect_timeout)
    }
}

/// `url` with libpq's `connect_timeout` added, unless it sets one.
fn with_connect_timeout(url: &SecretString, timeout: Duration) -> SecretString {
    let text = url.expose_secret();
    if text.contains("connect_timeout=") {
        return url.clone();
    }
    let separator = if text.contains('?') { '&' } else { '?' };
    format!("{text}{separator}connect_timeout={}", timeout.as_secs()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(pairs.iter().copied())
    }

    /// Asserts that the configuration is refused because of the setting `name`.
    fn assert_rejects(pairs: &[(&str, &str)], name: &str) -> String {
        let err = config_from(pairs).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { name: named, .. } if named == name),
            "expected {name} to be rejected, got {err:?}"
        );
        err.to_string()
    }

    const URL: (&str, &str) = ("DATABASE_URL", "postgres://u:p@db/foobar");

    #[test]
    fn defaults_apply_when_only_the_database_url_is_set() {
        let config = config_from(&[URL]).unwrap();
        assert_eq!(config.addr, "0.0.0.0:8000".parse().unwrap());
        assert_eq!(config.metrics_addr, "0.0.0.0:9464".parse().unwrap());
        assert_eq!(config.database.pool_size, 10);
        assert_eq!(config.database.pool_timeout, Duration::from_secs(1));
        assert!(!config.database.test_on_checkout);
        assert_eq!(config.auth.failure_window, Duration::from_secs(15 * 60));
        assert_eq!(
            config.version(),
            format!("{}+dev", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn every_setting_is_read_by_its_name() {
        let config = config_from(&[
            URL,
            ("APP_ADDR", "127.0.0.1:9000"),
            ("APP_METRICS_ADDR", "127.0.0.1:9001"),
            ("APP_WORKERS", "3"),
            ("APP_SHUTDOWN_TIMEOUT_SECS", "7"),
            ("APP_REVISION", "abc123"),
            ("DATABASE_POOL_SIZE", "5"),
            ("DATABASE_POOL_MIN_IDLE", "1"),
            ("DATABASE_POOL_TIMEOUT_MS", "300"),
            ("DATABASE_CONNECT_TIMEOUT_SECS", "4"),
            ("DATABASE_STATEMENT_TIMEOUT_MS", "600"),
            ("DATABASE_DEADLINE_MS", "900"),
            ("DATABASE_TEST_ON_CHECKOUT", "true"),
            ("DATABASE_STARTUP_TIMEOUT_SECS", "8"),
            ("SESSION_IDLE_TIMEOUT_SECS", "600"),
            ("SESSION_LIFETIME_SECS", "3600"),
            ("SESSION_COOKIE_SECURE", "true"),
            ("AUTH_HASH_CONCURRENCY", "3"),
            ("AUTH_HASH_WAIT_MS", "250"),
            ("AUTH_FAILURE_WINDOW_SECS", "120"),
        ])
        .unwrap();
        assert_eq!(config.addr, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(config.metrics_addr, "127.0.0.1:9001".parse().unwrap());
        assert_eq!(config.workers, 3);
        assert_eq!(config.shutdown_timeout, Duration::from_secs(7));
        assert_eq!(config.revision, "abc123");
        let db = &config.database;
        assert_eq!((db.pool_size, db.min_idle), (5, 1));
        assert_eq!(db.pool_timeout, Duration::from_millis(300));
        assert_eq!(db.connect_timeout, Duration::from_secs(4));
        assert_eq!(db.statement_timeout, Duration::from_millis(600));
        assert_eq!(db.deadline, Duration::from_millis(900));
        assert!(db.test_on_checkout);
        assert_eq!(db.startup_timeout, Duration::from_secs(8));
        let auth = &config.auth;
        assert_eq!(auth.session_idle_timeout, Duration::from_secs(600));
        assert_eq!(auth.session_lifetime, Duration::from_secs(3600));
        assert!(auth.cookie_secure);
        assert_eq!(auth.hash_concurrency, 3);
        assert_eq!(auth.hash_wait, Duration::from_millis(250));
        assert_eq!(auth.failure_window, Duration::from_secs(120));
    }

    #[test]
    fn a_session_lifetime_shorter_than_its_idle_timeout_is_rejected() {
        let pairs = [
            URL,
            ("SESSION_IDLE_TIMEOUT_SECS", "600"),
            ("SESSION_LIFETIME_SECS", "300"),
        ];
        let message = assert_rejects(&pairs, "SESSION_LIFETIME_SECS");
        assert!(message.contains("SESSION_IDLE_TIMEOUT_SECS"), "{message}");
        assert_rejects(
            &[URL, ("AUTH_HASH_CONCURRENCY", "0")],
            "AUTH_HASH_CONCURRENCY",
        );
        assert_rejects(
            &[URL, ("AUTH_FAILURE_WINDOW_SECS", "0")],
            "AUTH_FAILURE_WINDOW_SECS",
        );
    }

    #[test]
    fn numeric_revision_stays_text() {
        let config = config_from(&[URL, ("APP_REVISION", "1234567")]).unwrap();
        assert_eq!(config.revision, "1234567");
    }

    #[test]
    fn missing_database_url_is_named() {
        let err = config_from(&[]).unwrap_err();
        assert_eq!(err, ConfigError::Missing("DATABASE_URL"));
        assert!(err.to_string().contains("DATABASE_URL is not set"));
    }

    #[test]
    fn empty_value_counts_as_missing() {
        let err = config_from(&[("DATABASE_URL", "  ")]).unwrap_err();
        assert_eq!(err, ConfigError::Missing("DATABASE_URL"));
    }

    #[test]
    fn malformed_number_names_the_setting_and_value() {
        let message = assert_rejects(&[URL, ("DATABASE_POOL_SIZE", "ten")], "DATABASE_POOL_SIZE");
        assert_eq!(
            message,
            r#"DATABASE_POOL_SIZE="ten" is invalid: expected u32"#
        );
    }

    #[test]
    fn negative_number_is_rejected() {
        assert_rejects(
            &[URL, ("DATABASE_DEADLINE_MS", "-5")],
            "DATABASE_DEADLINE_MS",
        );
    }

    #[test]
    fn malformed_address_is_rejected() {
        let message = assert_rejects(&[URL, ("APP_ADDR", "localhost")], "APP_ADDR");
        assert!(
            message.starts_with(r#"APP_ADDR="localhost" is invalid: "#),
            "{message}"
        );
    }

    #[test]
    fn malformed_boolean_is_rejected() {
        assert_rejects(
            &[URL, ("DATABASE_TEST_ON_CHECKOUT", "maybe")],
            "DATABASE_TEST_ON_CHECKOUT",
        );
    }

    #[test]
    fn zero_pool_size_is_rejected() {
        assert_rejects(&[URL, ("DATABASE_POOL_SIZE", "0")], "DATABASE_POOL_SIZE");
    }

    #[test]
    fn zero_workers_are_rejected() {
        assert_rejects(&[URL, ("APP_WORKERS", "0")], "APP_WORKERS");
    }

    #[test]
    fn zero_connect_timeout_is_rejected() {
        assert_rejects(
            &[URL, ("DATABASE_CONNECT_TIMEOUT_SECS", "0")],
            "DATABASE_CONNECT_TIMEOUT_SECS",
        );
    }

    #[test]
    fn min_idle_above_pool_size_is_rejected() {
        let message = assert_rejects(
            &[
                URL,
                ("DATABASE_POOL_SIZE", "2"),
                ("DATABASE_POOL_MIN_IDLE", "3"),
            ],
            "DATABASE_POOL_MIN_IDLE",
        );
        assert_eq!(
            message,
            r#"DATABASE_POOL_MIN_IDLE="3" is invalid: must not exceed DATABASE_POOL_SIZE"#
        );
    }

    #[test]
    fn deadline_must_exceed_pool_timeout() {
        assert_rejects(
            &[URL, ("DATABASE_DEADLINE_MS", "500")],
            "DATABASE_DEADLINE_MS",
        );
    }

    #[test]
    fn debug_output_hides_the_database_password() {
        let config = config_from(&[("DATABASE_URL", "postgres://u:s3cret-pw@db/foobar")]).unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("s3cret-pw"), "{printed}");
        assert!(
            printed.contains("pool_size: 10"),
            "the rest still shows: {printed}"
        );
        let with_timeout = config.database.url_with_connect_timeout();
        assert!(!format!("{with_timeout:?}").contains("s3cret-pw"));
    }

    /// A file under the temp dir, unique to this test process and name, removed on drop.
    struct TempFile(std::path::PathBuf);

    impl TempFile {
        fn with(name: &str, content: &[u8]) -> Self {
            let path = std::env::temp_dir()
                .join(format!("foobar-app-config-{}-{name}", std::process::id()));
            std::fs::write(&path, content).unwrap();
            TempFile(path)
        }

        fn path(&self) -> &str {
            self.0.to_str().unwrap()
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    const URL_WITHOUT_PASSWORD: (&str, &str) = ("DATABASE_URL", "postgres://foobar@db:5432/foobar");

    /// The URL built from `DATABASE_URL` and a password file with `content`.
    fn url_with_file(name: &str, url: &str, content: &[u8]) -> Result<String, ConfigError> {
        let file = TempFile::with(name, content);
        let config = config_from(&[
            ("DATABASE_URL", url),
            ("DATABASE_PASSWORD_FILE", file.path()),
        ])?;
        Ok(config.database.url.expose_secret().to_owned())
    }

    #[test]
    fn password_file_puts_its_password_into_the_url() {
        let url = url_with_file("plain", URL_WITHOUT_PASSWORD.1, b"s3cret\n").unwrap();
        assert_eq!(url, "postgres://foobar:s3cret@db:5432/foobar");
        let without_user = url_with_file("no-user", "postgresql://db/foobar", b"s3cret").unwrap();
        assert_eq!(without_user, "postgresql://:s3cret@db/foobar");
    }

    #[test]
    fn password_file_goes_into_a_url_of_several_hosts() {
        let url = url_with_file(
            "multi-host",
            "postgres://foobar@db1:5432,db2:5432,db3:5432/foobar?target_session_attrs=read-write",
            b"p@ss:w/rd%41,\n",
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://foobar:p%40ss%3Aw%2Frd%2541%2C@db1:5432,db2:5432,db3:5432/foobar\
             ?target_session_attrs=read-write"
        );
        let in_param = url_with_file(
            "multi-host-param",
            "postgres://foobar@db1,db2/foobar?target_session_attrs=read-write&password=x",
            b"pw",
        );
        assert!(in_param.is_err(), "a password parameter is still seen");
    }

    #[test]
    fn password_file_goes_into_a_url_without_a_host() {
        let url = url_with_file(
            "no-host",
            "postgres:///foobar?host=/run/postgresql",
            b"s3cret",
        )
        .unwrap();
        assert_eq!(url, "postgres://:s3cret@/foobar?host=/run/postgresql");
    }

    #[test]
    fn password_file_loses_one_trailing_newline_and_nothing_else() {
        let password_of = |name: &str, content: &[u8]| {
            let url = url_with_file(name, URL_WITHOUT_PASSWORD.1, content).unwrap();
            let parsed = url::Url::parse(&url).unwrap();
            percent_decode_str(parsed.password().unwrap())
                .decode_utf8()
                .unwrap()
                .into_owned()
        };
        assert_eq!(password_of("lf", b"pw\n"), "pw");
        assert_eq!(password_of("crlf", b"pw\r\n"), "pw");
        assert_eq!(password_of("none", b"pw"), "pw");
        assert_eq!(password_of("two-lf", b"pw\n\n"), "pw\n");
        assert_eq!(password_of("spaces", b" pw \n"), " pw ");
        assert_eq!(password_of("cr", b"pw\r"), "pw\r");
    }

    #[test]
    fn any_password_round_trips_through_the_url() {
        let password = "p@ss:w/rd%41#?&= +'\"\\[]é€";
        let url = url_with_file("special", URL_WITHOUT_PASSWORD.1, password.as_bytes()).unwrap();
        let parsed = url::Url::parse(&url).unwrap();
        let decoded = percent_decode_str(parsed.password().unwrap())
            .decode_utf8()
            .unwrap();
        assert_eq!(decoded, password);
        assert_eq!(parsed.username(), "foobar");
        assert_eq!(parsed.host_str(), Some("db"));
        assert_eq!(parsed.port(), Some(5432));
        assert_eq!(parsed.path(), "/foobar");
        assert_eq!(parsed.query(), None);
        assert_eq!(parsed.fragment(), None);
    }

    #[test]
    fn password_from_file_never_prints() {
        let file = TempFile::with("debug", b"s3cret-pw\n");
        let config = config_from(&[
            URL_WITHOUT_PASSWORD,
            ("DATABASE_PASSWORD_FILE", file.path()),
        ])
        .unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("s3cret-pw"), "{printed}");
        assert!(printed.contains("[REDACTED]"), "{printed}");
    }

    #[test]
    fn missing_password_file_is_named() {
        let path =
            std::env::temp_dir().join(format!("foobar-app-config-{}-absent", std::process::id()));
        let path = path.to_str().unwrap();
        let err =
            config_from(&[URL_WITHOUT_PASSWORD, ("DATABASE_PASSWORD_FILE", path)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(r#"DATABASE_PASSWORD_FILE="{path}" cannot be read: No such file or directory"#)
        );
    }

    #[test]
    fn password_file_that_is_no_text_is_rejected() {
        let err = url_with_file("latin1", URL_WITHOUT_PASSWORD.1, b"caf\xe9").unwrap_err();
        assert!(
            matches!(&err, ConfigError::Unreadable { name, .. } if name == "DATABASE_PASSWORD_FILE"),
            "{err:?}"
        );
    }

    #[test]
    fn empty_password_file_is_rejected() {
        for (name, content) in [
            ("empty", &b""[..]),
            ("only-lf", b"\n"),
            ("only-crlf", b"\r\n"),
        ] {
            let file = TempFile::with(name, content);
            let message = assert_rejects(
                &[
                    URL_WITHOUT_PASSWORD,
                    ("DATABASE_PASSWORD_FILE", file.path()),
                ],
                "DATABASE_PASSWORD_FILE",
            );
            assert_eq!(
                message,
                format!(
                    r#"DATABASE_PASSWORD_FILE="{}" is invalid: the file is empty"#,
                    file.path()
                )
            );
        }
    }

    #[test]
    fn password_in_both_the_url_and_a_file_is_ambiguous() {
        for (name, url) in [
            ("both", "postgres://foobar:in-url@db/foobar"),
            ("both-empty", "postgres://foobar:@db/foobar"),
            ("both-param", "postgres://foobar@db/foobar?password=in-url"),
            (
                "both-encoded",
                "postgres://foobar@db/foobar?sslmode=disable&pass%77ord=x",
            ),
        ] {
            let file = TempFile::with(name, b"in-file");
            let message = assert_rejects(
                &[
                    ("DATABASE_URL", url),
                    ("DATABASE_PASSWORD_FILE", file.path()),
                ],
                "DATABASE_PASSWORD_FILE",
            );
            assert!(message.contains("ambiguous"), "{message}");
            assert!(!message.contains("in-url"), "{message}");
        }
    }

    #[test]
    fn password_file_needs_a_url() {
        let file = TempFile::with("keywords", b"in-file");
        let message = assert_rejects(
            &[
                ("DATABASE_URL", "host=db user=foobar"),
                ("DATABASE_PASSWORD_FILE", file.path()),
            ],
            "DATABASE_PASSWORD_FILE",
        );
        assert!(!message.contains("host=db"), "{message}");
    }

    #[test]
    fn password_in_the_url_alone_still_works() {
        let config = config_from(&[URL]).unwrap();
        assert_eq!(config.database.url.expose_secret(), URL.1);
    }

    #[test]
    fn a_command_reads_only_how_to_reach_the_database() {
        let server_only = [
            ("APP_ADDR", "localhost"),
            ("APP_WORKERS", "0"),
            ("DATABASE_POOL_SIZE", "0"),
            ("DATABASE_DEADLINE_MS", "5"),
            ("SESSION_LIFETIME_SECS", "1"),
        ];
        let file = TempFile::with("command", b"s3cret\n");
        let mut vars = server_only.to_vec();
        vars.extend([
            URL_WITHOUT_PASSWORD,
            ("DATABASE_PASSWORD_FILE", file.path()),
            ("DATABASE_CONNECT_TIMEOUT_SECS", "5"),
        ]);
        let url = connection_url_from_vars(vars).unwrap();
        assert_eq!(
            url.expose_secret(),
            "postgres://foobar:s3cret@db:5432/foobar?connect_timeout=5"
        );
    }

    #[test]
    fn a_command_names_the_connection_setting_it_cannot_use() {
        let err = connection_url_from_vars([("APP_ADDR", "localhost")]).unwrap_err();
        assert_eq!(err, ConfigError::Missing("DATABASE_URL"));
        let err =
            connection_url_from_vars([URL, ("DATABASE_CONNECT_TIMEOUT_SECS", "0")]).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { name, .. } if name == "DATABASE_CONNECT_TIMEOUT_SECS"),
            "{err:?}"
        );
        let err = connection_url_from_vars([
            URL_WITHOUT_PASSWORD,
            ("DATABASE_PASSWORD_FILE", "/nonexistent/foobar-password"),
        ])
        .unwrap_err();
        assert!(
            matches!(&err, ConfigError::Unreadable { name, .. } if name == "DATABASE_PASSWORD_FILE"),
            "{err:?}"
        );
    }

    #[test]
    fn connect_timeout_is_added_to_the_url_unless_present() {
        let url_for = |url: &str| {
            let config = config_from(&[("DATABASE_URL", url)]).unwrap();
            let with_timeout = config.database.url_with_connect_timeout();
            with_timeout.expose_secret().to_owned()
        };
        assert_eq!(
            url_for("postgres://u:p@db/foobar"),
            "postgres://u:p@db/foobar?connect_timeout=2"
        );
        assert_eq!(
            url_for("postgres://db/x?sslmode=disable"),
            "postgres://db/x?sslmode=disable&connect_timeout=2"
        );
        assert_eq!(
            url_for("postgres://db/x?connect_timeout=9"),
            "postgres://db/x?connect_timeout=9"
        );
    }
}
