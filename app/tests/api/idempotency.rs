use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

fn post_body(title: &str) -> Value {
    json!({"title": title, "body": "b"})
}

async fn post_with_key(app: &TestApp, key: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/posts"))
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn count_posts(app: &TestApp) -> usize {
    let page: Value = app.get("/api/posts?limit=100").await.json().await.unwrap();
    page["posts"].as_array().unwrap().len()
}

#[tokio::test]
async fn retried_write_with_the_same_key_returns_the_first_post() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };

    let first = post_with_key(&app, "retry-1", &post_body("once")).await;
    assert_eq!(first.status(), 201);
    assert!(!first.headers().contains_key("idempotent-replayed"));
    let first: Value = first.json().await.unwrap();
    let retry = post_with_key(&app, "retry-1", &post_body("once")).await;

    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
    assert_eq!(count_posts(&app).await, 1, "no duplicate");
}

#[tokio::test]
async fn same_key_for_a_different_post_is_409() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    assert_eq!(
        post_with_key(&app, "k", &post_body("one")).await.status(),
        201
    );

    let reused = post_with_key(&app, "k", &post_body("another")).await;

    assert_error(reused, 409, "conflict").await;
    assert_eq!(count_posts(&app).await, 1);
}

#[tokio::test]
async fn writes_without_a_key_are_independent() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    app.create_post("same").await;
    app.create_post("same").await;
    assert_eq!(count_posts(&app).await, 2);
}

#[tokio::test]
async fn malformed_key_is_400() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    for key in ["", "has space", &"k".repeat(101)] {
        assert_error(
            post_with_key(&app, key, &post_body("t")).await,
            400,
            "bad_request",
        )
        .await;
    }
    assert_eq!(count_posts(&app).await, 0);
}

#[tokio::test]
async fn concurrent_retries_create_exactly_one_post() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };

    let body = post_body("raced");
    let attempts = (0..8).map(|_| post_with_key(&app, "race", &body));
    let responses = futures_util::future::join_all(attempts).await;

    let mut ids = Vec::new();
    for response in responses {
        assert_eq!(response.status(), 201);
        ids.push(response.json::<Value>().await.unwrap()["id"].clone());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every attempt got the same post");
    assert_eq!(count_posts(&app).await, 1);
}
