//! Accounts through nginx: the session cookie's round trip, nginx's per-address limit on
//! sign-ins, the refusal of cross-site writes, and logs free of secrets. Each test removes the
//! accounts it made.

use std::time::Duration;

use foobar_tools::stack::{delete_accounts, psql};

use crate::helpers::{fresh_name, utc_now};
use foobar_tools::{compose_ok, Site};
use reqwest::Method;
use reqwest::Response;
use serde_json::{json, Value};

/// Sends the request; a 429 from nginx's per-address limit (another test may have spent the
/// burst) is waited out and retried.
async fn send(
    site: &Site,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    body: Option<&Value>,
) -> Response {
    for _ in 0..30 {
        let mut request = site.request(method.clone(), path);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(cookie) = cookie {
            request = request.header("cookie", format!("foobar_session={cookie}"));
        }
        let response = request.send().await.unwrap();
        if response.status() != 429 {
            return response;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    panic!("{method} {path}: still 429 after a minute");
}

/// The session cookie's value, asserting the attributes that protect it.
fn session_cookie(response: &Response) -> String {
    let header = response.headers()["set-cookie"].to_str().unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(header.contains(attribute), "{attribute} in {header}");
    }
    let value = header.split(';').next().unwrap();
    value.strip_prefix("foobar_session=").unwrap().to_owned()
}

/// Removes an account this test made, with its posts, sessions and failure counts.
fn remove_account(username: &str) {
    delete_accounts(&[username]).unwrap();
}

const PASSWORD: &str = "stack test password 1";

async fn sign_up(site: &Site, username: &str) -> String {
    let response = send(
        site,
        Method::POST,
        "/api/users",
        None,
        Some(&json!({"username": username, "password": PASSWORD})),
    )
    .await;
    assert_eq!(response.status(), 201);
    session_cookie(&response)
}

#[tokio::test]
#[ignore = "needs a running stack: make test-smoke, or make test"]
async fn the_session_cookie_round_trips_through_nginx_until_sign_out() {
    let site = Site::from_env().unwrap();
    let username = fresh_name("smoke");
    let cookie = sign_up(&site, &username).await;

    let me = send(&site, Method::GET, "/api/me", Some(&cookie), None).await;
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.json::<Value>().await.unwrap()["username"],
        username.as_str()
    );
    let post = json!({"title": "from the smoke test", "body": "signed in"});
    let created = send(
        &site,
        Method::POST,
        "/api/posts",
        Some(&cookie),
        Some(&post),
    )
    .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["author"], username.as_str());
    let path = format!("/api/posts/{}", created["id"]);
    let deleted = send(&site, Method::DELETE, &path, Some(&cookie), None).await;
    assert_eq!(deleted.status(), 204);

    let signed_out = send(&site, Method::DELETE, "/api/session", Some(&cookie), None).await;
    assert_eq!(signed_out.status(), 204);
    let after = send(&site, Method::GET, "/api/me", Some(&cookie), None).await;
    assert_eq!(
        after.status(),
        401,
        "the old cookie is revoked on the server"
    );
    remove_account(&username);
}

#[tokio::test]
#[ignore = "needs a running stack: make test-smoke, or make test"]
async fn cross_site_writes_are_refused_through_nginx() {
    let site = Site::from_env().unwrap();
    let username = fresh_name("smoke");
    let cookie = sign_up(&site, &username).await;
    let post = json!({"title": "csrf", "body": "must not land"});

    for (name, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let response = site
            .request(Method::POST, "/api/posts")
            .header("cookie", format!("foobar_session={cookie}"))
            .header(name, value)
            .json(&post)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{name}: {value}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "cross_site_request");
    }

    let me: Value = send(&site, Method::GET, "/api/me", Some(&cookie), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["posts"], 0, "nothing was written");
    remove_account(&username);
}

#[tokio::test]
#[ignore = "needs a running stack: make test-smoke, or make test"]
async fn nginx_limits_sign_in_attempts_per_client_address() {
    let site = Site::from_env().unwrap();
    let prefix = fresh_name("nobody");

    let mut statuses = Vec::new();
    let mut limited = None;
    for n in 0..40 {
        let response = site
            .request(Method::POST, "/api/session")
            .json(&json!({"username": format!("{prefix}-{n}"), "password": "wrong guess"}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 && limited.is_none() {
            limited = Some(response);
        }
    }

    let limited = limited.unwrap_or_else(|| panic!("no 429 in {statuses:?}"));
    // How many pass first depends on what earlier tests left of the burst of 20.
    assert!(
        statuses.iter().all(|&s| s == 401 || s == 429),
        "the app refuses, or nginx limits: {statuses:?}"
    );
    assert_eq!(limited.headers()["retry-after"], "5");
    assert!(
        !limited.headers().contains_key("x-app-version"),
        "nginx answered, the app never saw it"
    );
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"], "too_many_requests");
    // The names have no account, only failure counts, which go all the same.
    let names: Vec<String> = (0..40).map(|n| format!("{prefix}-{n}")).collect();
    delete_accounts(&names.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
}

#[tokio::test]
#[ignore = "needs a running stack: make test-smoke, or make test"]
async fn logs_never_show_passwords_hashes_or_session_tokens() {
    let site = Site::from_env().unwrap();
    let username = fresh_name("logs");
    let started = utc_now();
    let cookie = sign_up(&site, &username).await;
    let signed_in = send(
        &site,
        Method::POST,
        "/api/session",
        None,
        Some(&json!({"username": username, "password": PASSWORD})),
    )
    .await;
    assert_eq!(signed_in.status(), 204);
    let second_cookie = session_cookie(&signed_in);
    let wrong = "a wrong password for the logs";
    let failed = send(
        &site,
        Method::POST,
        "/api/session",
        None,
        Some(&json!({"username": username, "password": wrong})),
    )
    .await;
    assert_eq!(failed.status(), 401);
    let hash = psql(&format!(
        "SELECT password_hash FROM users WHERE username = '{username}'"
    ))
    .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    // The access log is flushed each second.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let logs = compose_ok(&["logs", "--no-color", "--since", &started]).unwrap();

    assert!(logs.contains("/api/session"), "the run is in the logs");
    for secret in [
        PASSWORD,
        wrong,
        &cookie,
        &second_cookie,
        &hash,
        "$argon2id$",
    ] {
        assert!(!logs.contains(secret), "the logs show {secret:?}");
    }
    remove_account(&username);
}
