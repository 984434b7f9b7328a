use std::collections::HashMap;
use std::io::Write;
use std::sync::Once;

use foobar_app::config::Config;
use foobar_app::{db, startup::Application};
use secrecy::ExposeSecret;
use serde_json::Value;

const HOW_TO_RUN: &str = "\
note: TEST_DATABASE_URL is not set, so the integration tests that need PostgreSQL pass \
without running. To run them: `make test-app`, or
    tools/test-db start
    TEST_DATABASE_URL=$(tools/test-db url) cargo test -p foobar-app --test api
";

const NO_DATABASE_IN_CI: &str = "\
TEST_DATABASE_URL is not set, and CI is: the tests that need PostgreSQL would pass without \
running. Start one with `tools/test-db start` and set TEST_DATABASE_URL=$(tools/test-db url) \
(`make test-app` does both).";

pub struct TestApp {
    pub address: String,
    /// The Prometheus metrics listener, apart from `address`.
    pub metrics_address: String,
    pub database_url: String,
    /// Signed in as [`TestApp::username`] (after `spawn`); it keeps cookies like a browser.
    pub client: reqwest::Client,
    pub username: String,
}

/// The password every test account gets.
pub const PASSWORD: &str = "a long test password";

/// A client that keeps cookies and does not follow redirects.
pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

/// Settings every test app shares; tests override single entries.
fn base_settings(database_url: &str) -> HashMap<String, String> {
    [
        ("DATABASE_URL", database_url),
        ("APP_ADDR", "127.0.0.1:0"),
        ("APP_METRICS_ADDR", "127.0.0.1:0"),
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

/// The test settings for `database_url`, with `overrides`.
pub fn config_against(database_url: &str, overrides: &[(&str, &str)]) -> Config {
    let mut settings = base_settings(database_url);
    settings.extend(
        overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    config_from(settings)
}

fn config_from(settings: HashMap<String, String>) -> Config {
    Config::from_vars(settings).expect("valid test configuration")
}

/// Whether `CI` (its value given) says this is a CI run: set to anything but empty, `0` or
/// `false`, as CI services set it (`CI=true`, `CI=1`).
fn is_ci(value: Option<&str>) -> bool {
    value
        .map(str::trim)
        .is_some_and(|ci| !ci.is_empty() && ci != "0" && !ci.eq_ignore_ascii_case("false"))
}

/// The PostgreSQL server tests create their databases in, from `TEST_DATABASE_URL`. Unset,
/// `cargo test --workspace` works without one: says once how to run these tests, and `None`.
/// In CI that would make every such test green without running, so there it panics instead.
pub fn test_server_url() -> Option<String> {
    static HOW_TO_RUN_SHOWN: Once = Once::new();
    let url = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty());
    if url.is_none() {
        assert!(
            !is_ci(std::env::var("CI").ok().as_deref()),
            "{NO_DATABASE_IN_CI}"
        );
        // Straight to stderr: libtest captures `eprintln!` of passing tests, hiding the hint.
        HOW_TO_RUN_SHOWN.call_once(|| {
            let _ = std::io::stderr().write_all(HOW_TO_RUN.as_bytes());
        });
    }
    url
}

/// The URL of a new, empty (unmigrated) database; `None` without a test database.
pub fn empty_database() -> Option<String> {
    test_server_url().map(|server| fresh_database(&server))
}

/// Creates an empty database for one test and returns its URL. A server that is configured
/// but unreachable fails the test.
fn fresh_database(admin_url: &str) -> String {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let mut admin = PgConnection::establish(admin_url).unwrap_or_else(|err| {
        panic!("cannot reach the test PostgreSQL at {admin_url} ({err}); run `tools/test-db start`")
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
    /// A migrated fresh database and the app serving it, with `client` signed in as a new
    /// user "tester"; `None` without a test database (the test then returns early).
    pub async fn spawn() -> Option<TestApp> {
        Self::spawn_with(&[]).await
    }

    /// Like [`TestApp::spawn`], with settings overridden.
    pub async fn spawn_with(overrides: &[(&str, &str)]) -> Option<TestApp> {
        let mut app = Self::spawn_signed_out(overrides).await?;
        app.client = app.sign_up("tester").await;
        app.username = "tester".to_owned();
        Some(app)
    }

    /// Like [`TestApp::spawn_with`], with no account and a client that is signed out.
    pub async fn spawn_signed_out(overrides: &[(&str, &str)]) -> Option<TestApp> {
        let server_url = test_server_url()?;
        let config = config_against(&fresh_database(&server_url), overrides);
        let database = config.database.clone();
        tokio::task::spawn_blocking(move || db::run_migrations(&database))
            .await
            .unwrap()
            .expect("migrations apply");
        Some(Self::start(config))
    }

    /// The app pointed at `database_url` as is: no database is created or migrated.
    pub fn spawn_against(database_url: &str, overrides: &[(&str, &str)]) -> TestApp {
        Self::start(config_against(database_url, overrides))
    }

    fn start(config: Config) -> TestApp {
        let pool = db::build_pool(&config.database);
        let app = Application::build(&config, pool).expect("bind a free port");
        let address = format!("http://127.0.0.1:{}", app.port());
        let metrics_address = format!("http://127.0.0.1:{}", app.metrics_port());
        let database_url = config.database.url.expose_secret().to_owned();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            metrics_address,
            database_url,
            client: new_client(),
            username: String::new(),
        }
    }

    /// Signs up `username` (password [`PASSWORD`]) and returns a client signed in as it.
    pub async fn sign_up(&self, username: &str) -> reqwest::Client {
        let (client, response) = self
            .send_credentials("/api/users", username, PASSWORD)
            .await;
        assert_eq!(response.status(), 201, "sign up {username}");
        client
    }

    /// Signs in with a new client; returns it and the response.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
    ) -> (reqwest::Client, reqwest::Response) {
        self.send_credentials("/api/session", username, password)
            .await
    }

    /// POSTs `{username, password}` to `path` from a new client; returns it and the response.
    async fn send_credentials(
        &self,
        path: &str,
        username: &str,
        password: &str,
    ) -> (reqwest::Client, reqwest::Response) {
        let client = new_client();
        let response = client
            .post(self.url(path))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .expect("request sent");
        (client, response)
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

    /// Creates a post as the signed-in user and returns its JSON.
    pub async fn create_post(&self, title: &str) -> Value {
        let response = self
            .post_json(
                "/api/posts",
                &serde_json::json!({"title": title, "body": "hello"}),
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

#[test]
fn ci_is_any_value_of_ci_but_empty_0_or_false() {
    for ci in ["1", "true", "TRUE", "yes", "woodpecker"] {
        assert!(is_ci(Some(ci)), "{ci}");
    }
    for not_ci in [
        None,
        Some(""),
        Some("  "),
        Some("0"),
        Some("false"),
        Some("False"),
    ] {
        assert!(!is_ci(not_ci), "{not_ci:?}");
    }
}
