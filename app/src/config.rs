//! Typed configuration from the environment. Every setting is parsed once at start-up;
//! a missing or malformed one stops the process with a message naming it.

use std::fmt::Display;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is not set (see .env.example)")]
    Missing(&'static str),
    #[error("{name}={value:?} is invalid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Address the HTTP server binds (`APP_ADDR`); port 0 picks a free port (tests).
    pub addr: SocketAddr,
    /// actix worker threads (`APP_WORKERS`, default: one per core).
    pub workers: usize,
    /// How long in-flight requests may take to finish after SIGTERM (`APP_SHUTDOWN_TIMEOUT_SECS`).
    /// Keep it below the container's stop grace period so Docker never has to SIGKILL.
    pub shutdown_timeout: Duration,
    /// Identifies the build that answers (`APP_REVISION`), shown in `X-App-Version`.
    pub revision: String,
    pub database: DatabaseConfig,
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// libpq connection URL (`DATABASE_URL`).
    pub url: String,
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

impl Config {
    /// Reads the process environment (after `.env` has been loaded by `main`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any name → value lookup, so tests need not touch the
    /// process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let default_workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let database = DatabaseConfig {
            url: env.required("DATABASE_URL")?,
            pool_size: env.parse_or("DATABASE_POOL_SIZE", 10)?,
            min_idle: env.parse_or("DATABASE_POOL_MIN_IDLE", 2)?,
            pool_timeout: Duration::from_millis(env.parse_or("DATABASE_POOL_TIMEOUT_MS", 1000)?),
            connect_timeout: Duration::from_secs(env.parse_or("DATABASE_CONNECT_TIMEOUT_SECS", 2)?),
            statement_timeout: Duration::from_millis(
                env.parse_or("DATABASE_STATEMENT_TIMEOUT_MS", 2000)?,
            ),
            deadline: Duration::from_millis(env.parse_or("DATABASE_DEADLINE_MS", 2500)?),
            test_on_checkout: env.parse_or("DATABASE_TEST_ON_CHECKOUT", false)?,
            startup_timeout: Duration::from_secs(
                env.parse_or("DATABASE_STARTUP_TIMEOUT_SECS", 30)?,
            ),
        };
        env.check(
            "DATABASE_POOL_SIZE",
            database.pool_size >= 1,
            "must be at least 1",
        )?;
        env.check(
            "DATABASE_POOL_MIN_IDLE",
            database.min_idle <= database.pool_size,
            "must not exceed DATABASE_POOL_SIZE",
        )?;
        env.check(
            "DATABASE_CONNECT_TIMEOUT_SECS",
            !database.connect_timeout.is_zero(),
            "must be at least 1 (0 means wait forever in libpq)",
        )?;
        env.check(
            "DATABASE_DEADLINE_MS",
            database.deadline > database.pool_timeout,
            "must be longer than DATABASE_POOL_TIMEOUT_MS",
        )?;
        let config = Config {
            addr: env.parse_or("APP_ADDR", SocketAddr::from(([0, 0, 0, 0], 8000)))?,
            workers: env.parse_or("APP_WORKERS", default_workers)?,
            shutdown_timeout: Duration::from_secs(env.parse_or("APP_SHUTDOWN_TIMEOUT_SECS", 10)?),
            revision: env.parse_or("APP_REVISION", "dev".to_owned())?,
            database,
        };
        env.check("APP_WORKERS", config.workers >= 1, "must be at least 1")?;
        Ok(config)
    }

    /// The value of the `X-App-Version` header: crate version plus build revision.
    pub fn version(&self) -> String {
        format!("{}+{}", env!("CARGO_PKG_VERSION"), self.revision)
    }
}

impl DatabaseConfig {
    /// The connection URL with libpq's `connect_timeout` added, unless the URL sets one.
    pub fn url_with_connect_timeout(&self) -> String {
        if self.url.contains("connect_timeout=") {
            return self.url.clone();
        }
        let separator = if self.url.contains('?') { '&' } else { '?' };
        format!(
            "{}{separator}connect_timeout={}",
            self.url,
            self.connect_timeout.as_secs()
        )
    }
}

struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    /// Empty values count as unset, as an empty `FOO=` line in `.env` usually means "not configured".
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|value| !value.trim().is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing(name))
    }

    fn parse_or<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(value) => value
                .trim()
                .parse()
                .map_err(|err: T::Err| ConfigError::Invalid {
                    name,
                    reason: err.to_string(),
                    value,
                }),
        }
    }

    fn check(&self, name: &'static str, ok: bool, reason: &str) -> Result<(), ConfigError> {
        if ok {
            return Ok(());
        }
        Err(ConfigError::Invalid {
            name,
            value: self.get(name).unwrap_or_default(),
            reason: reason.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config_from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    const URL: (&str, &str) = ("DATABASE_URL", "postgres://u:p@db/foobar");

    #[test]
    fn defaults_apply_when_only_the_database_url_is_set() {
        let config = config_from(&[URL]).unwrap();
        assert_eq!(config.addr, "0.0.0.0:8000".parse().unwrap());
        assert_eq!(config.database.pool_size, 10);
        assert_eq!(config.database.pool_timeout, Duration::from_secs(1));
        assert!(!config.database.test_on_checkout);
        assert_eq!(
            config.version(),
            format!("{}+dev", env!("CARGO_PKG_VERSION"))
        );
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
        let err = config_from(&[URL, ("DATABASE_POOL_SIZE", "ten")]).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("DATABASE_POOL_SIZE=\"ten\" is invalid"),
            "{message}"
        );
    }

    #[test]
    fn malformed_address_is_rejected() {
        let err = config_from(&[URL, ("APP_ADDR", "localhost")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "APP_ADDR",
                ..
            }
        ));
    }

    #[test]
    fn malformed_boolean_is_rejected() {
        let err = config_from(&[URL, ("DATABASE_TEST_ON_CHECKOUT", "yes")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "DATABASE_TEST_ON_CHECKOUT",
                ..
            }
        ));
    }

    #[test]
    fn zero_pool_size_is_rejected() {
        let err = config_from(&[URL, ("DATABASE_POOL_SIZE", "0")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "DATABASE_POOL_SIZE",
                ..
            }
        ));
    }

    #[test]
    fn min_idle_above_pool_size_is_rejected() {
        let err = config_from(&[
            URL,
            ("DATABASE_POOL_SIZE", "2"),
            ("DATABASE_POOL_MIN_IDLE", "3"),
        ])
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "DATABASE_POOL_MIN_IDLE",
                ..
            }
        ));
    }

    #[test]
    fn deadline_must_exceed_pool_timeout() {
        let err = config_from(&[URL, ("DATABASE_DEADLINE_MS", "500")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "DATABASE_DEADLINE_MS",
                ..
            }
        ));
    }

    #[test]
    fn connect_timeout_is_added_to_the_url_unless_present() {
        let config = config_from(&[URL]).unwrap();
        assert_eq!(
            config.database.url_with_connect_timeout(),
            "postgres://u:p@db/foobar?connect_timeout=2"
        );
        let config = config_from(&[("DATABASE_URL", "postgres://db/x?sslmode=disable")]).unwrap();
        assert_eq!(
            config.database.url_with_connect_timeout(),
            "postgres://db/x?sslmode=disable&connect_timeout=2"
        );
        let config = config_from(&[("DATABASE_URL", "postgres://db/x?connect_timeout=9")]).unwrap();
        assert_eq!(
            config.database.url_with_connect_timeout(),
            "postgres://db/x?connect_timeout=9"
        );
    }
}
