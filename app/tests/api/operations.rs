use foobar_app::domain::{Body, IdempotencyKey, Title, PAGE_DEFAULT, PAGE_MAX};
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

#[tokio::test]
async fn health_is_ok() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let response = app.get("/api/health").await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn ready_is_ok_when_the_database_answers() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let body: Value = app.get("/api/ready").await.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn version_reports_build_and_process() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let response = app.get("/api/version").await;
    let header = response.headers()["x-app-version"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["version"], header);
    assert!(header.ends_with("+test"), "{header}");
    assert_eq!(body["revision"], "test");
    assert!(body["started_at"].is_string() && body["hostname"].is_string());
}

#[tokio::test]
async fn every_response_carries_the_app_version_even_errors() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    for path in ["/api/health", "/api/posts/0", "/api/nope", "/elsewhere"] {
        let response = app.get(path).await;
        assert!(response.headers().contains_key("x-app-version"), "{path}");
    }
}

#[tokio::test]
async fn unknown_routes_are_json_404() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    assert_error(app.get("/api/does-not-exist").await, 404, "not_found").await;
    assert_error(app.get("/").await, 404, "not_found").await;
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let echoed = app
        .client
        .get(app.url("/api/health"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "abc-123");

    let generated = app
        .client
        .get(app.url("/api/health"))
        .header("x-request-id", "not valid!")
        .send()
        .await
        .unwrap();
    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 32, "a fresh uuid replaces an unusable id: {id}");
}

#[tokio::test]
async fn openapi_document_describes_every_route() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/posts",
        "/api/posts/{id}",
        "/api/users",
        "/api/users/{username}/posts",
        "/api/session",
        "/api/me",
        "/api/me/password",
        "/api/health",
        "/api/ready",
        "/api/version",
    ] {
        assert!(paths.contains_key(path), "missing {path}");
    }
    assert!(doc["paths"]["/api/posts"]["post"]["responses"]["422"].is_object());
}

#[tokio::test]
async fn openapi_documents_the_session_cookie_and_every_account_status() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };

    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();

    let scheme = &doc["components"]["securitySchemes"]["session"];
    assert_eq!(
        (&scheme["type"], &scheme["in"], &scheme["name"]),
        (&json!("apiKey"), &json!("cookie"), &json!("foobar_session"))
    );
    for (path, method, statuses) in [
        ("/api/users", "post", &["201", "409", "422", "429"][..]),
        ("/api/session", "post", &["204", "401", "422", "429", "503"]),
        ("/api/session", "delete", &["204", "403"]),
        ("/api/me", "get", &["200", "401"]),
        ("/api/me/password", "put", &["204", "401", "422", "429"]),
        ("/api/posts", "post", &["201", "401", "403", "422"]),
        ("/api/posts/{id}", "delete", &["204", "401", "403", "404"]),
        ("/api/users/{username}/posts", "get", &["200", "404", "422"]),
    ] {
        let operation = &doc["paths"][path][method];
        for status in statuses {
            assert!(
                operation["responses"][status].is_object(),
                "{method} {path} documents {status}"
            );
        }
    }
    for (path, method) in [
        ("/api/me", "get"),
        ("/api/me/password", "put"),
        ("/api/posts", "post"),
        ("/api/posts/{id}", "delete"),
    ] {
        assert_eq!(
            doc["paths"][path][method]["security"],
            json!([{"session": []}]),
            "{method} {path} needs the session"
        );
    }
}

/// The parameter `name` of the operation at `path` and `method`.
fn parameter<'a>(doc: &'a Value, path: &str, method: &str, name: &str) -> &'a Value {
    doc["paths"][path][method]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{method} {path} documents {name}"))
}

#[tokio::test]
async fn openapi_states_every_bound_the_api_enforces() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };

    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();

    let input = &doc["components"]["schemas"]["PostInput"];
    for (field, max) in [("title", Title::MAX_CHARS), ("body", Body::MAX_CHARS)] {
        let schema = &input["properties"][field];
        assert_eq!(schema["minLength"], 1, "{field}");
        assert_eq!(schema["maxLength"], max, "{field}");
        assert!(schema["pattern"].is_string(), "{field}: control characters");
    }
    assert_eq!(input["required"], json!(["title", "body"]));
    assert_eq!(input["additionalProperties"], false);

    let limit = &parameter(&doc, "/api/posts", "get", "limit")["schema"];
    assert_eq!(
        (&limit["minimum"], &limit["maximum"], &limit["default"]),
        (&json!(1), &json!(PAGE_MAX), &json!(PAGE_DEFAULT))
    );
    let before = &parameter(&doc, "/api/posts", "get", "before")["schema"];
    assert_eq!(
        (&before["minimum"], &before["format"]),
        (&json!(1), &json!("int64"))
    );
    let id = &parameter(&doc, "/api/posts/{id}", "get", "id")["schema"];
    assert_eq!(
        (&id["minimum"], &id["format"]),
        (&json!(1), &json!("int64"))
    );

    let key = &parameter(&doc, "/api/posts", "post", "Idempotency-Key")["schema"];
    assert_eq!(key["minLength"], 1);
    assert_eq!(key["maxLength"], IdempotencyKey::MAX_LEN);
    assert_eq!(key["pattern"], "^[!-~]+$", "visible ASCII");

    let post = &doc["components"]["schemas"]["Post"]["properties"];
    assert_eq!(post["created_at"]["format"], "date-time");
    assert_eq!(post["id"]["minimum"], 1);
}
