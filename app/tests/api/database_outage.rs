use std::time::{Duration, Instant};

use crate::helpers::{assert_error, config_against, test_server_url, TestApp};

/// A "database" that accepts TCP connections and never answers, like a paused container.
fn black_hole() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("postgres://u:p@{}/db", listener.local_addr().unwrap());
    (listener, url)
}

async fn assert_fast_503(app: &TestApp, path: &str) {
    let started = Instant::now();
    let response = app.get(path).await;
    let elapsed = started.elapsed();
    assert_eq!(response.headers()["retry-after"], "5");
    let body = assert_error(response, 503, "database_unavailable").await;
    assert!(elapsed < Duration::from_secs(3), "{path} took {elapsed:?}");
    assert!(
        !body["message"].as_str().unwrap().contains("127.0.0.1"),
        "the cause stays out of the body"
    );
}

#[tokio::test]
async fn refused_database_gives_fast_503_and_liveness_stays_ok() {
    let app = TestApp::spawn_against("postgres://u:p@127.0.0.1:1/db", &[]);

    assert_fast_503(&app, "/api/posts").await;
    assert_fast_503(&app, "/api/posts/1").await;
    assert_fast_503(&app, "/api/ready").await;
    assert_eq!(app.get("/api/health").await.status(), 200);
}

#[tokio::test]
async fn silent_database_gives_503_within_the_deadline() {
    let (_listener, url) = black_hole();
    let app = TestApp::spawn_against(
        &url,
        &[
            ("DATABASE_POOL_TIMEOUT_MS", "500"),
            ("DATABASE_DEADLINE_MS", "2000"),
        ],
    );

    assert_fast_503(&app, "/api/posts").await;
    // A session cookie sends the write to the database, to look the session up.
    let writes = app
        .client
        .post(app.url("/api/posts"))
        .header("cookie", format!("foobar_session={}", "A".repeat(43)))
        .json(&serde_json::json!({"title": "t", "body": "b"}))
        .send()
        .await
        .unwrap();
    assert_error(writes, 503, "database_unavailable").await;
}

#[tokio::test]
async fn query_stuck_behind_a_lock_is_cancelled_with_503() {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let Some(app) = TestApp::spawn_with(&[("DATABASE_STATEMENT_TIMEOUT_MS", "300")]).await else {
        return;
    };
    app.create_post("before the lock").await;
    let (locked_tx, locked_rx) = tokio::sync::oneshot::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let database_url = app.database_url.clone();
    let locker = tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&database_url).unwrap();
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            diesel::sql_query("LOCK TABLE posts IN ACCESS EXCLUSIVE MODE").execute(conn)?;
            locked_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            Ok(())
        })
    });
    locked_rx.await.unwrap();

    assert_fast_503(&app, "/api/posts").await;

    release_tx.send(()).unwrap();
    locker.await.unwrap().unwrap();
    assert_eq!(
        app.get("/api/posts").await.status(),
        200,
        "recovers once the lock is gone"
    );
}

/// Closes every connection the app holds, as a database restart does.
fn terminate_app_connections(database_url: &str) {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let mut conn = PgConnection::establish(database_url).unwrap();
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut conn)
    .unwrap();
}

/// Statuses of `count` reads, one after another, after the server closed the pool's
/// connections; `None` when there is no test database.
async fn reads_after_the_server_closed_connections(
    test_on_checkout: &str,
    count: usize,
) -> Option<Vec<u16>> {
    let app = TestApp::spawn_with(&[
        ("DATABASE_POOL_SIZE", "3"),
        ("DATABASE_POOL_MIN_IDLE", "3"),
        ("DATABASE_TEST_ON_CHECKOUT", test_on_checkout),
    ])
    .await?;
    app.create_post("before the restart").await;
    terminate_app_connections(&app.database_url);

    let mut statuses = Vec::new();
    for _ in 0..count {
        let response = app.get("/api/posts").await;
        let status = response.status().as_u16();
        if status != 200 {
            assert_error(response, 503, "database_unavailable").await;
        }
        statuses.push(status);
    }
    Some(statuses)
}

#[tokio::test]
async fn closed_connections_cost_one_503_each_then_the_pool_replaces_them() {
    let Some(statuses) = reads_after_the_server_closed_connections("false", 6).await else {
        return;
    };

    let failed = statuses.iter().filter(|&&s| s == 503).count();
    assert!((1..=3).contains(&failed), "{statuses:?}");
    assert_eq!(statuses[3..], [200, 200, 200], "{statuses:?}");
}

#[tokio::test]
async fn checkout_test_hides_closed_connections() {
    let Some(statuses) = reads_after_the_server_closed_connections("true", 3).await else {
        return;
    };

    assert_eq!(statuses, [200, 200, 200]);
}

#[tokio::test]
async fn a_refused_password_fails_start_up_at_once_naming_the_setting() {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let Some(server_url) = test_server_url() else {
        return;
    };
    // tools/test-db asks this role, alone, for its password (pg_hba.conf); other roles are trusted.
    let mut admin = PgConnection::establish(&server_url).unwrap();
    diesel::sql_query(
        "DO $$ BEGIN CREATE ROLE password_check LOGIN PASSWORD 'right'; \
         EXCEPTION WHEN duplicate_object THEN NULL; END $$",
    )
    .execute(&mut admin)
    .unwrap();
    let url = |password: &str| {
        let (_, rest) = server_url.split_once('@').unwrap();
        format!("postgres://password_check:{password}@{rest}")
    };
    assert!(
        PgConnection::establish(&url("wrong")).is_err(),
        "the server must check this role's password: restart it with `tools/test-db stop; tools/test-db start`"
    );
    let config = config_against(&url("wrong"), &[("DATABASE_STARTUP_TIMEOUT_SECS", "30")]);

    let started = Instant::now();
    let result =
        tokio::task::spawn_blocking(move || foobar_app::db::run_migrations(&config.database))
            .await
            .unwrap();

    let elapsed = started.elapsed();
    let err = result.expect_err("a wrong password fails").to_string();
    assert!(
        elapsed < Duration::from_secs(5),
        "gave up after {elapsed:?}, not at once"
    );
    assert!(err.contains("refused the password"), "{err}");
    assert!(err.contains("DATABASE_URL"), "names the setting: {err}");
    assert!(
        !err.contains("wrong"),
        "the password stays out of the message: {err}"
    );
}
