//! Connection pool, migrations, and the one way handlers reach the database. Nothing here
//! knows about HTTP: failures are [`DbError`]s, and `error.rs` decides what a client sees.

pub mod posts;
pub mod sessions;
pub mod users;

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, ManageConnection, Pool};
use diesel::{Connection, QueryResult};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use secrecy::ExposeSecret;

use crate::config::DatabaseConfig;

pub type DbPool = Pool<Manager>;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// diesel's r2d2 manager, plus what it does not notice: a connection the server closed (after
/// a database restart). Without a check-out test (`DATABASE_TEST_ON_CHECKOUT`, off for speed)
/// the pool would hand such a connection out again and again; marked, it is dropped instead.
#[derive(Debug)]
pub struct Manager(ConnectionManager<PgConnection>);

pub struct DbConnection {
    pg: PgConnection,
    lost: bool,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        let pg = self.0.connect()?;
        Ok(DbConnection { pg, lost: false })
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        self.0.is_valid(&mut conn.pg)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.lost || self.0.has_broken(&mut conn.pg)
    }
}

/// Sets per-session limits on every new connection, so a runaway query is cancelled by the
/// server instead of holding a pooled connection forever.
#[derive(Debug)]
struct SessionSettings {
    statement_timeout: Duration,
}

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        conn.pg
            .batch_execute(&format!(
                "SET statement_timeout = {}; SET idle_in_transaction_session_timeout = {0};",
                self.statement_timeout.as_millis()
            ))
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Builds the pool without connecting: the app starts (and answers 503) while the database is down.
pub fn build_pool(config: &DatabaseConfig) -> DbPool {
    let url = config.url_with_connect_timeout();
    let manager = Manager(ConnectionManager::new(url.expose_secret()));
    Pool::builder()
        .max_size(config.pool_size)
        .min_idle(Some(config.min_idle))
        .connection_timeout(config.pool_timeout)
        .test_on_check_out(config.test_on_checkout)
        .connection_customizer(Box::new(SessionSettings {
            statement_timeout: config.statement_timeout,
        }))
        .build_unchecked(manager)
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("database not reachable within {timeout:?}: {last_error}")]
    Unreachable {
        timeout: Duration,
        last_error: diesel::ConnectionError,
    },
    /// Not worth waiting for: the password will not change while the app waits.
    #[error(
        "the database refused the password ({setting} holds another one than the database's \
         role; a data directory made with an earlier password keeps it): {reason}"
    )]
    PasswordRefused {
        setting: &'static str,
        /// The server's message, as one line.
        reason: String,
    },
    #[error("migration failed: {0}")]
    Failed(Box<dyn std::error::Error + Send + Sync>),
}

/// The server's answer to a wrong password (SQLSTATE 28P01), which libpq passes on as text only.
fn is_password_refused(err: &diesel::ConnectionError) -> bool {
    matches!(err, diesel::ConnectionError::BadConnection(message)
        if message.contains("password authentication failed"))
}

/// Waits up to `config.startup_timeout` for the database, then applies pending migrations.
/// Returns the versions it applied. A refused password fails at once.
pub fn run_migrations(config: &DatabaseConfig) -> Result<Vec<String>, MigrationError> {
    let url = config.url_with_connect_timeout();
    let started = Instant::now();
    let mut conn = loop {
        match PgConnection::establish(url.expose_secret()) {
            Ok(conn) => break conn,
            Err(err) if is_password_refused(&err) => {
                return Err(MigrationError::PasswordRefused {
                    setting: config.password_setting,
                    reason: err.to_string().trim().to_owned(),
                })
            }
            Err(err) if started.elapsed() >= config.startup_timeout => {
                return Err(MigrationError::Unreachable {
                    timeout: config.startup_timeout,
                    last_error: err,
                })
            }
            Err(err) => {
                log::warn!("waiting for the database: {}", err.to_string().trim());
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    };
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(MigrationError::Failed)?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Why a call through [`Db::run`] failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database did not answer in time: no connection within the pool timeout (the
    /// server is down, refusing or silent), no answer within the deadline, or the server
    /// cancelled a statement that ran past `statement_timeout`.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The server closed the connection (a restart), or it no longer takes writes (a primary
    /// demoted to a standby, in the cluster). `Db::run` has already marked it, so the pool
    /// drops it instead of handing it out again; a new connection finds the primary.
    #[error("database connection lost: {0}")]
    ConnectionLost(String),
    /// Any other failure of the query itself, `diesel::result::Error::NotFound` included.
    #[error(transparent)]
    Query(diesel::result::Error),
    /// The blocking task ended without an answer (the work panicked).
    #[error("blocking task failed: {0}")]
    Aborted(String),
}

impl From<diesel::result::Error> for DbError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => DbError::ConnectionLost(info.message().to_owned()),
            // SQLSTATE 25006: connected to a server that is (now) read-only.
            Error::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, info) => {
                DbError::ConnectionLost(format!("read-only server: {}", info.message()))
            }
            // statement_timeout fired: the database is too slow to answer in time.
            Error::DatabaseError(_, info) if info.message().contains("statement timeout") => {
                DbError::Unavailable(info.message().to_owned())
            }
            other => DbError::Query(other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for DbError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        DbError::Unavailable(err.to_string())
    }
}

/// The pool plus the deadline that bounds every database call made for a request.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    deadline: Duration,
    /// Calls that failed for want of the database (a clone shares the count).
    unavailable: prometheus::IntCounter,
}

impl Db {
    pub fn new(pool: DbPool, deadline: Duration) -> Self {
        let unavailable = prometheus::IntCounter::new(
            "app_db_unavailable_total",
            "Database calls that got no connection or no answer in time, or lost their connection",
        )
        .expect("a valid metric name");
        Self {
            pool,
            deadline,
            unavailable,
        }
    }

    /// The counter behind `app_db_unavailable_total`, for the metrics registry.
    pub fn unavailable_counter(&self) -> prometheus::IntCounter {
        self.unavailable.clone()
    }

    /// Open connections, idle ones among them, and the most the pool may open.
    pub fn pool_state(&self) -> (u32, u32, u32) {
        let state = self.pool.state();
        (
            state.connections,
            state.idle_connections,
            self.pool.max_size(),
        )
    }

    /// Runs `work` (queries, as in [`posts`]) on a pooled connection in actix's blocking
    /// thread pool. Checking out a connection blocks too, so it happens inside the closure.
    /// If the whole call exceeds the deadline it fails at once with [`DbError::Unavailable`];
    /// the blocked thread finishes on its own later and the pool's size bounds how many
    /// threads can be stuck that way. A connection the server closed is marked lost, so the
    /// pool drops it.
    pub async fn run<T, F>(&self, work: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut PgConnection) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let call = actix_web::web::block(move || {
            let mut conn = pool.get()?;
            let result = work(&mut conn.pg).map_err(DbError::from);
            conn.lost = matches!(result, Err(DbError::ConnectionLost(_)));
            result
        });
        let result = match actix_web::rt::time::timeout(self.deadline, call).await {
            Ok(Ok(result)) => result,
            Ok(Err(blocking)) => Err(DbError::Aborted(blocking.to_string())),
            Err(_elapsed) => Err(DbError::Unavailable(format!(
                "no answer within {:?}",
                self.deadline
            ))),
        };
        if matches!(
            result,
            Err(DbError::Unavailable(_) | DbError::ConnectionLost(_))
        ) {
            self.unavailable.inc();
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error};

    fn database_error(kind: DatabaseErrorKind, message: &str) -> Error {
        Error::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn diesel_errors_are_sorted_by_what_the_caller_can_do() {
        for kind in [
            DatabaseErrorKind::ClosedConnection,
            DatabaseErrorKind::UnableToSendCommand,
            DatabaseErrorKind::ReadOnlyTransaction,
        ] {
            let err = DbError::from(database_error(kind, "server closed the connection"));
            assert!(matches!(err, DbError::ConnectionLost(_)), "{err:?}");
        }
        let cancelled = database_error(
            DatabaseErrorKind::Unknown,
            "canceling statement due to statement timeout",
        );
        assert!(matches!(DbError::from(cancelled), DbError::Unavailable(_)));
        let duplicate = database_error(DatabaseErrorKind::UniqueViolation, "duplicate key");
        assert!(matches!(DbError::from(duplicate), DbError::Query(_)));
        assert!(matches!(
            DbError::from(Error::NotFound),
            DbError::Query(Error::NotFound)
        ));
    }
}
