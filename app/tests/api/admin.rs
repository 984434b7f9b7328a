//! `foobar-app admin delete-account`: the binary as the tools run it, and the deletion's
//! transaction against a post being written.

use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use foobar_app::admin::{delete_account, Deletion, Removed};
use foobar_app::domain::Username;
use foobar_app::schema::{posts, users};
use serde_json::json;

use crate::helpers::{assert_error, new_client, TestApp, PASSWORD};

/// `foobar-app admin ARGS` with only `vars` in its environment, away from any `.env`.
fn admin(vars: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_foobar-app"))
        .arg("admin")
        .args(args)
        .env_clear()
        .envs(vars.iter().copied())
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run foobar-app")
}

/// Runs `admin` against the app's database; returns its exit code and stdout.
fn delete_accounts(app: &TestApp, names: &[&str]) -> (i32, String) {
    let mut args = vec!["delete-account"];
    args.extend_from_slice(names);
    let output = admin(&[("DATABASE_URL", &app.database_url)], &args);
    (
        output.status.code().expect("exited"),
        String::from_utf8(output.stdout).unwrap(),
    )
}

async fn sign_in_status(app: &TestApp, username: &str, password: &str) -> u16 {
    app.sign_in(username, password).await.1.status().as_u16()
}

#[tokio::test]
async fn an_account_goes_with_its_posts_sessions_and_failed_sign_ins() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    for n in 0..3 {
        app.create_post(&format!("post {n}")).await;
    }
    let (second, _) = app.sign_in("tester", PASSWORD).await;
    assert_eq!(
        sign_in_status(&app, "tester", "a wrong password").await,
        401
    );
    let other = app.sign_up("other").await;
    let kept = other
        .post(app.url("/api/posts"))
        .json(&json!({"title": "kept", "body": "not tester's"}))
        .send()
        .await
        .unwrap();
    assert_eq!(kept.status(), 201);

    let (code, stdout) = delete_accounts(&app, &["Tester"]);

    assert_eq!(
        (code, stdout.as_str()),
        (
            0,
            "deleted account tester: 3 posts, 2 sessions, 1 failed sign-in\n"
        )
    );
    for client in [&app.client, &second] {
        let me = client.get(app.url("/api/me")).send().await.unwrap();
        assert_error(me, 401, "unauthorized").await;
    }
    let posts = app.get("/api/users/tester/posts").await;
    assert_error(posts, 404, "not_found").await;
    let all: serde_json::Value = app.get("/api/posts").await.json().await.unwrap();
    let titles: Vec<_> = all["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|post| post["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["kept"], "only the other user's post is left");
    // The name is free again, with no failures counted against it.
    app.sign_up("tester").await;
}

#[tokio::test]
async fn a_missing_account_is_said_and_is_no_error() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    assert_eq!(sign_in_status(&app, "ghost", "a wrong password").await, 401);

    let (code, stdout) = delete_accounts(&app, &["ghost", "nobody", "tester"]);

    assert_eq!(code, 0, "{stdout}");
    assert_eq!(
        stdout,
        "no account ghost: 1 failed sign-in deleted\n\
         no account nobody: nothing to delete\n\
         deleted account tester: 0 posts, 1 session, 0 failed sign-ins\n"
    );
    assert_eq!(
        delete_accounts(&app, &["tester"]),
        (0, "no account tester: nothing to delete\n".to_owned()),
        "a second run finds nothing"
    );
}

#[tokio::test]
async fn a_bad_name_deletes_nothing_and_is_a_usage_error() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    for names in [&["tester", "no such"][..], &["tester", "guest"], &[]] {
        let (code, stdout) = delete_accounts(&app, names);
        assert_eq!((code, stdout.as_str()), (2, ""), "{names:?}");
    }
    let me = app.get("/api/me").await;
    assert_eq!(me.status(), 200, "tester is still there");
    let guest = app.get("/api/users/guest/posts").await;
    assert_eq!(guest.status(), 200, "guest is still there");
}

#[tokio::test]
async fn the_command_needs_only_the_database_settings() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let broken_server_settings = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("APP_ADDR", "not an address"),
        ("APP_WORKERS", "0"),
        ("SESSION_LIFETIME_SECS", "1"),
    ];
    let output = admin(&broken_server_settings, &["delete-account", "tester"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");

    let output = admin(&[], &["delete-account", "tester"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DATABASE_URL is not set"), "{stderr}");

    let unreachable = [("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")];
    let output = admin(&unreachable, &["delete-account", "tester"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
}

/// Polls `ready` every 20 ms for up to 10 s.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < Duration::from_secs(10), "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn a_post_still_being_written_is_waited_for_and_deleted_and_none_comes_after() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    app.create_post("before").await;
    let url = app.database_url.clone();
    let connect = move || PgConnection::establish(&url).unwrap();
    let mut writer = connect();
    let mut deleter = connect();
    let mut observer = connect();
    let user_id: i64 = users::table
        .filter(users::username.eq("tester"))
        .select(users::id)
        .first(&mut writer)
        .unwrap();
    let insert = move |conn: &mut PgConnection| {
        diesel::insert_into(posts::table)
            .values((
                posts::user_id.eq(user_id),
                posts::author.eq("tester"),
                posts::title.eq("late"),
                posts::body.eq("committed after the deletion began"),
            ))
            .execute(conn)
    };

    let outcome = tokio::task::spawn_blocking(move || {
        let (begun, written) = mpsc::channel::<()>();
        std::thread::scope(|scope| {
            let write = scope.spawn(move || {
                writer.transaction(|conn| {
                    insert(conn)?;
                    begun.send(()).unwrap();
                    // Committed only once the deletion waits for it.
                    wait_for("the deletion waits for the write", || {
                        diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
                            "EXISTS (SELECT 1 FROM pg_stat_activity \
                             WHERE datname = current_database() AND wait_event_type = 'Lock')",
                        ))
                        .get_result(&mut observer)
                        .unwrap()
                    });
                    QueryResult::Ok(())
                })
            });
            written.recv().unwrap();
            let deletion = delete_account(&mut deleter, &Username::parse("tester").unwrap());
            write.join().unwrap().unwrap();
            let late = insert(&mut deleter);
            (deletion, late)
        })
    })
    .await
    .unwrap();

    let (deletion, late) = outcome;
    assert_eq!(
        deletion.unwrap(),
        Deletion::Deleted(Removed {
            posts: 2,
            sessions: 1,
            login_failures: 0,
        })
    );
    assert!(
        matches!(
            late,
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _
            ))
        ),
        "no post can be written for the account after: {late:?}"
    );
    let left = new_client()
        .get(app.url("/api/posts"))
        .send()
        .await
        .unwrap();
    let left: serde_json::Value = left.json().await.unwrap();
    assert_eq!(left["posts"], json!([]));
}
