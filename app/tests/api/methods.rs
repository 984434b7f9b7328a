use reqwest::Method;

use crate::helpers::{assert_error, TestApp};

/// Every resource and the methods it supports, as `Allow` lists them.
const RESOURCES: [(&str, &str); 11] = [
    ("/api/posts", "GET, HEAD, POST"),
    ("/api/posts/1", "GET, HEAD, DELETE"),
    ("/api/users", "POST"),
    ("/api/users/tester/posts", "GET, HEAD"),
    ("/api/session", "POST, DELETE"),
    ("/api/me", "GET, HEAD"),
    ("/api/me/password", "PUT"),
    ("/api/health", "GET, HEAD"),
    ("/api/ready", "GET, HEAD"),
    ("/api/version", "GET, HEAD"),
    ("/api/openapi.json", "GET, HEAD"),
];

const OTHER_METHODS: [&str; 5] = ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

#[tokio::test]
async fn unsupported_methods_are_405_json_with_allow_on_every_resource() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    for (path, allow) in RESOURCES {
        for method in OTHER_METHODS {
            if allow.split(", ").any(|allowed| allowed == method) {
                continue;
            }

            let response = send(&app, method, path).await;

            assert_eq!(
                response.headers().get("allow").map(|v| v.to_str().unwrap()),
                Some(allow),
                "{method} {path}"
            );
            let body = assert_error(response, 405, "method_not_allowed").await;
            assert!(body.get("field").is_none(), "{body}");
        }
    }
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let post = app.create_post("one").await;
    let own_post = format!("/api/posts/{}", post["id"]);
    let paths = RESOURCES.iter().map(|(path, _)| *path).chain([
        own_post.as_str(),
        "/api/posts/999999",
        "/api/nope",
        "/",
    ]);

    for path in paths {
        let get = app.get(path).await;
        let head = app.client.head(app.url(path)).send().await.unwrap();

        assert_eq!(head.status(), get.status(), "{path}");
        for name in ["content-type", "content-length", "x-app-version", "allow"] {
            assert_eq!(
                head.headers().get(name),
                get.headers().get(name),
                "{name} of {path}"
            );
        }
        assert!(head.bytes().await.unwrap().is_empty(), "{path}");
        assert!(!get.bytes().await.unwrap().is_empty(), "{path}");
    }
}

#[tokio::test]
async fn unknown_paths_are_404_json_whatever_the_method() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    for path in ["/api/nope", "/api/posts/1/comments", "/api", "/elsewhere"] {
        for method in ["GET", "POST", "DELETE"] {
            let response = send(&app, method, path).await;

            assert!(!response.headers().contains_key("allow"), "{method} {path}");
            assert_error(response, 404, "not_found").await;
        }
    }
}

/// `METHOD path` to the app, whatever the method's name.
async fn send(app: &TestApp, method: &str, path: &str) -> reqwest::Response {
    app.client
        .request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            app.url(path),
        )
        .send()
        .await
        .unwrap()
}
