use serde_json::{json, Value};

use crate::helpers::{assert_error, new_client, TestApp, PASSWORD};

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

/// The number `keyword` (`maxLength`, `minimum` ...) of `schema`, which must state it.
fn bound(schema: &Value, keyword: &str) -> usize {
    schema[keyword]
        .as_u64()
        .unwrap_or_else(|| panic!("the document states {keyword} in {schema}")) as usize
}

/// The served OpenAPI document, and the fields its error body (`ErrorBody`) may have.
async fn document(app: &TestApp) -> (Value, Vec<String>) {
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let error_fields = doc["components"]["schemas"]["ErrorBody"]["properties"]
        .as_object()
        .expect("ErrorBody is documented")
        .keys()
        .cloned()
        .collect();
    (doc, error_fields)
}

/// Asserts that `what` was refused in the documented error shape: `error` and `message`,
/// `field` naming the input at fault (a 422) or absent (a 400), and no key the document does
/// not list.
async fn assert_refused(
    what: &str,
    response: reqwest::Response,
    status: u16,
    field: Option<&str>,
    error_fields: &[String],
) {
    assert_eq!(response.status(), status, "{what} is refused");
    let code = if status == 422 {
        "validation_failed"
    } else {
        "bad_request"
    };
    let body = assert_error(response, status, code).await;
    assert_eq!(body.get("field").and_then(Value::as_str), field, "{body}");
    for key in body.as_object().unwrap().keys() {
        assert!(error_fields.contains(key), "undocumented {key}: {body}");
    }
}

#[tokio::test]
async fn every_bound_the_openapi_document_states_for_posts_is_the_one_enforced() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (doc, error_fields) = document(&app).await;

    // limit: one post more than the default page, so every accepted bound shows in the count.
    let limit = &parameter(&doc, "/api/posts", "get", "limit")["schema"];
    let (min, max, default) = (
        bound(limit, "minimum"),
        bound(limit, "maximum"),
        bound(limit, "default"),
    );
    for n in 0..=default {
        app.create_post(&format!("post {n}")).await;
    }
    let stored = default + 1;
    assert_eq!(count(&app, "").await, default, "the default page");
    assert_eq!(count(&app, &format!("limit={min}")).await, min);
    assert_eq!(count(&app, &format!("limit={max}")).await, stored.min(max));
    for past in [min - 1, max + 1] {
        let response = app.get(&format!("/api/posts?limit={past}")).await;
        let what = format!("limit={past}");
        assert_refused(&what, response, 422, Some("limit"), &error_fields).await;
    }

    // before: a post id, from the minimum to the largest int64.
    let before = &parameter(&doc, "/api/posts", "get", "before")["schema"];
    assert_eq!(before["format"], "int64", "the largest value tried below");
    let min = bound(before, "minimum");
    assert_eq!(count(&app, &format!("before={min}")).await, 0);
    let everything = format!("before={}&limit={max}", i64::MAX);
    assert_eq!(count(&app, &everything).await, stored.min(max));
    for past in [(min - 1).to_string(), (i64::MAX as u64 + 1).to_string()] {
        let response = app.get(&format!("/api/posts?before={past}")).await;
        let what = format!("before={past}");
        assert_refused(&what, response, 422, Some("before"), &error_fields).await;
    }

    // Title and body: lengths in characters, so each character here is two bytes.
    let input = &doc["components"]["schemas"]["PostInput"]["properties"];
    for field in ["title", "body"] {
        let (min, max) = (
            bound(&input[field], "minLength"),
            bound(&input[field], "maxLength"),
        );
        for (chars, accepted) in [(min, true), (max, true), (min - 1, false), (max + 1, false)] {
            let mut post = json!({"title": "t", "body": "b"});
            post[field] = json!("é".repeat(chars));

            let response = app.post_json("/api/posts", &post).await;

            if accepted {
                assert_eq!(response.status(), 201, "{field} of {chars} characters");
            } else {
                let what = format!("{field} of {chars} characters");
                assert_refused(&what, response, 422, Some(field), &error_fields).await;
            }
        }
    }

    // Idempotency-Key: its lengths, and visible ASCII ('!' to '~'; a space is just below).
    let key = &parameter(&doc, "/api/posts", "post", "Idempotency-Key")["schema"];
    let (min, max) = (bound(key, "minLength"), bound(key, "maxLength"));
    assert_eq!(key["pattern"], "^[!-~]+$", "the range tried below");
    for (key, accepted) in [
        ("!".repeat(min), true),
        ("~".repeat(max), true),
        ("!".repeat(min - 1), false),
        ("~".repeat(max + 1), false),
        ("a b".to_owned(), false),
    ] {
        let response = app
            .client
            .post(app.url("/api/posts"))
            .header("idempotency-key", &key)
            .json(&json!({"title": format!("keyed {}", key.len()), "body": "b"}))
            .send()
            .await
            .unwrap();

        if accepted {
            assert_eq!(response.status(), 201, "a key of {} characters", key.len());
        } else {
            let what = format!("key {key:?}");
            assert_refused(&what, response, 400, None, &error_fields).await;
        }
    }
}

/// How many posts `GET /api/posts?query` lists.
async fn count(app: &TestApp, query: &str) -> usize {
    let response = app.get(&format!("/api/posts?{query}")).await;
    assert_eq!(response.status(), 200, "{query}");
    let page: Value = response.json().await.unwrap();
    page["posts"].as_array().unwrap().len()
}

#[tokio::test]
async fn every_bound_the_openapi_document_states_for_credentials_is_the_one_enforced() {
    let Some(app) = TestApp::spawn_signed_out(&[]).await else {
        return;
    };
    let (doc, error_fields) = document(&app).await;
    let credentials = &doc["components"]["schemas"]["Credentials"]["properties"];
    let sign_up = |username: String, password: String| {
        new_client()
            .post(app.url("/api/users"))
            .json(&json!({"username": username, "password": password}))
            .send()
    };

    let name = &credentials["username"];
    let (min, max) = (bound(name, "minLength"), bound(name, "maxLength"));
    for (chars, accepted) in [(min, true), (max, true), (min - 1, false), (max + 1, false)] {
        let response = sign_up("u".repeat(chars), PASSWORD.to_owned())
            .await
            .unwrap();

        if accepted {
            assert_eq!(response.status(), 201, "a username of {chars} characters");
        } else {
            let what = format!("a username of {chars} characters");
            assert_refused(&what, response, 422, Some("username"), &error_fields).await;
        }
    }

    // The longest password: accepted to sign up, and to sign in with.
    let max = bound(&credentials["password"], "maxLength");
    let longest: String = PASSWORD.chars().cycle().take(max).collect();
    let response = sign_up("longest".to_owned(), longest.clone())
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "a password of {max} characters");
    assert_eq!(app.sign_in("longest", &longest).await.1.status(), 204);
    let too_long: String = PASSWORD.chars().cycle().take(max + 1).collect();
    let what = format!("a password of {} characters", max + 1);
    let response = sign_up("toolong".to_owned(), too_long.clone())
        .await
        .unwrap();
    assert_refused(&what, response, 422, Some("password"), &error_fields).await;
    let (_, response) = app.sign_in("longest", &too_long).await;
    assert_refused(&what, response, 422, Some("password"), &error_fields).await;

    // Signing in takes any password from the minimum up: a short one is just wrong.
    let min = bound(&credentials["password"], "minLength");
    let (_, response) = app.sign_in("longest", &"x".repeat(min)).await;
    assert_error(response, 401, "invalid_credentials").await;
    let (_, response) = app.sign_in("longest", &"x".repeat(min - 1)).await;
    let what = format!("signing in with a password of {} characters", min - 1);
    assert_refused(&what, response, 422, Some("password"), &error_fields).await;
}
