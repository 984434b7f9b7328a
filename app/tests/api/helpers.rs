use std::collections::HashMap;

use foobar_app::config::Config;
use foobar_app::{db, startup::Application};
use secrecy::ExposeSecret;
use serde_json::Value;

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:54329/postgres";

pub struct TestApp {
    pub address: String,
    pub database_url: String,
    pub client: reqwest::Client,
}

/// Settings every test app shares; tests override single entries.
fn base_settings(database_url: &str) -> HashMap<String, String> {
    [
        ("DATABASE_URL", database_url),
        ("APP_ADDR", "127.0.0.1:0"),
        ("APP_WORKERS", "2"),
        ("APP_REVISION", "test"),
        ("DATABASE_POOL_SIZE", "4"),
        ("DATABASE_POOL_MIN_IDLE", "0"),
        ("DATABASE_STARTUP_TIMEOUT_SECS", "5"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn config_from(settings: HashMap<String, String>) -> Config {
    Config::from_vars(settings).expect("valid test configuration")
}

/// Creates an empty database for one test and returns its URL.
fn fresh_database() -> String {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let admin_url =
        std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
    let mut admin = PgConnection::establish(&admin_url).unwrap_or_else(|err| {
        panic!("cannot reach the test PostgreSQL at {admin_url} ({err}); run `make test-db`")
    });
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .expect("create test database");
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("URL ends in a database name");
    format!("{base}/{name}")
}

impl TestApp {
    /// A migrated fresh database and the app serving it.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    pub async fn spawn_with(overrides: &[(&str, &str)]) -> TestApp {
        let mut settings = base_settings(&fresh_database());
        settings.extend(
            overrides
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let config = config_from(settings);
        let database = config.database.clone();
        tokio::task::spawn_blocking(move || db::run_migrations(&database))
            .await
            .unwrap()
            .expect("migrations apply");
        Self::start(config)
    }

    /// The app pointed at `database_url` as is: no database is created or migrated.
    pub fn spawn_against(database_url: &str, overrides: &[(&str, &str)]) -> TestApp {
        let mut settings = base_settings(database_url);
        settings.extend(
            overrides
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        Self::start(config_from(settings))
    }

    fn start(config: Config) -> TestApp {
        let pool = db::build_pool(&config.database);
        let app = Application::build(&config, pool).expect("bind a free port");
        let address = format!("http://127.0.0.1:{}", app.port());
        let database_url = config.database.url.expose_secret().to_owned();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            database_url,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Creates a post and returns its JSON.
    pub async fn create_post(&self, title: &str) -> Value {
        let response = self
            .post_json(
                "/api/posts",
                &serde_json::json!({"author": "tester", "title": title, "body": "hello"}),
            )
            .await;
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }
}

/// Asserts the status and the JSON error code, and returns the body.
pub async fn assert_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "errors are JSON"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}
