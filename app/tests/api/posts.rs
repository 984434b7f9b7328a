use serde_json::{json, Value};

use foobar_app::domain::{Body, Title};

use crate::helpers::{assert_error, TestApp};

#[tokio::test]
async fn create_returns_201_with_location_and_the_stored_post() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };

    let response = app
        .post_json("/api/posts", &json!({"title": " Hi ", "body": "First!"}))
        .await;

    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/api/posts/{}", created["id"]));
    assert_eq!(created["title"], "Hi", "input is trimmed");
    assert_eq!(created["author"], app.username, "the signed-in user");
    let read_back: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(read_back, created);
}

#[tokio::test]
async fn unknown_post_is_404_json() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    assert_error(app.get("/api/posts/999999").await, 404, "not_found").await;
}

#[tokio::test]
async fn non_numeric_post_id_is_404_json() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    assert_error(app.get("/api/posts/abc").await, 404, "not_found").await;
    assert_error(
        app.get("/api/posts/99999999999999999999").await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn ids_that_cannot_exist_are_404_json() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    for id in ["0", "-1", "9223372036854775808", "1.5", "1e3"] {
        assert_error(app.get(&format!("/api/posts/{id}")).await, 404, "not_found").await;
    }
}

#[tokio::test]
async fn invalid_fields_are_422_naming_the_field() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let long_title = "t".repeat(201);
    let cases = [
        (json!({"title": long_title, "body": "b"}), "title"),
        (json!({"title": "t", "body": "x".repeat(10_001)}), "body"),
        (json!({"title": "t\u{0007}", "body": "b"}), "title"),
    ];
    for (input, field) in cases {
        let body = assert_error(
            app.post_json("/api/posts", &input).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(body["field"], field);
    }
    let listed: Value = app.get("/api/posts").await.json().await.unwrap();
    assert_eq!(listed["posts"], json!([]), "nothing invalid was stored");
}

#[tokio::test]
async fn missing_unknown_or_mistyped_fields_are_422_naming_the_field() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    for (input, field) in [
        (json!({"title": "t"}), "body"),
        (json!({"body": "b"}), "title"),
        (json!({"title": "t", "body": "b", "admin": true}), "admin"),
        (json!({"author": "a", "title": "t", "body": "b"}), "author"),
        (json!({"title": null, "body": "b"}), "title"),
        (json!({"title": "t", "body": ["b"]}), "body"),
    ] {
        let body = assert_error(
            app.post_json("/api/posts", &input).await,
            422,
            "validation_failed",
        )
        .await;

        assert_eq!(body["field"], field, "{input}");
    }
}

/// POSTs `raw` as JSON to /api/posts; the status and the body's JSON (`null` when empty).
async fn post_raw(app: &TestApp, raw: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/api/posts"))
        .header("content-type", "application/json")
        .body(raw.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_422_says_what_is_wrong_with_the_first_field_in_order_then_unknown_keys() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let only = "unknown field: a post has only title and body (its author is the signed-in user)";
    let cases = [
        (r#"{"body": 5}"#, "title", "title is missing"),
        (
            r#"{"zz": 1, "body": "b", "title": 5}"#,
            "title",
            "title must be a string, not a number",
        ),
        (
            r#"{"title": "t", "admin": true}"#,
            "body",
            "body is missing",
        ),
        (
            r#"{"title": "t", "body": {}}"#,
            "body",
            "body must be a string, not an object",
        ),
        (
            r#"{"zz": 1, "title": "t", "body": "b", "aa": 1}"#,
            "aa",
            only,
        ),
        (
            "[\"t\", \"b\"]",
            "$",
            "the request body must be a JSON object, not an array",
        ),
    ];
    for (raw, field, message) in cases {
        let (status, body) = post_raw(&app, raw).await;
        assert_eq!(status, 422, "{raw}");
        assert_eq!(
            body,
            json!({"error": "validation_failed", "message": message, "field": field}),
            "{raw}"
        );
    }
    // The whole body is read as JSON first: a bad number anywhere is malformed JSON.
    let (status, body) = post_raw(&app, r#"{"title": 5, "x": 1e400}"#).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "bad_request");
    // A repeated key counts once, its last value.
    let (status, body) = post_raw(&app, r#"{"title": 5, "title": "last", "body": "b"}"#).await;
    assert_eq!((status, &body["title"]), (201, &json!("last")));
}

#[tokio::test]
async fn a_post_is_created_only_from_a_json_object() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    for input in [
        json!(["a", "t", "b"]),
        json!([1, 2]),
        json!("a t b"),
        json!(42),
        json!(null),
        json!(true),
    ] {
        let body = assert_error(
            app.post_json("/api/posts", &input).await,
            422,
            "validation_failed",
        )
        .await;

        assert_eq!(body["field"], "$", "the body as a whole: {input}");
    }
    let listed: Value = app.get("/api/posts").await.json().await.unwrap();
    assert_eq!(listed["posts"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn fields_of_only_invisible_characters_are_422_as_empty() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let invisible = [
        "\u{200B}",
        "\u{200C}",
        "\u{200D}",
        "\u{2060}",
        "\u{FEFF}",
        "\u{00AD}",
        "\u{3000}\u{00A0}\u{2003}\u{2028}",
        " \u{200B}\u{FEFF} ",
    ];
    for text in invisible {
        for field in ["title", "body"] {
            let mut input = json!({"title": "t", "body": "b"});
            input[field] = json!(text);

            let body = assert_error(
                app.post_json("/api/posts", &input).await,
                422,
                "validation_failed",
            )
            .await;

            assert_eq!(body["field"], field, "{text:?}");
            assert_eq!(body["message"], format!("{field} must not be empty"));
        }
    }
    let listed: Value = app.get("/api/posts").await.json().await.unwrap();
    assert_eq!(listed["posts"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn malformed_json_is_400() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let response = app
        .client
        .post(app.url("/api/posts"))
        .header("content-type", "application/json")
        .body(r#"{"title": "a", "#)
        .send()
        .await
        .unwrap();
    assert_error(response, 400, "bad_request").await;
}

#[tokio::test]
async fn non_json_content_type_is_415() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut request = app
            .client
            .post(app.url("/api/posts"))
            .body("author=a&title=t&body=b");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        assert_error(request.send().await.unwrap(), 415, "unsupported_media_type").await;
    }
}

#[tokio::test]
async fn a_10_000_character_body_fits_in_any_script() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let cjk = "字".repeat(10_000);

    let response = app
        .post_json("/api/posts", &json!({"title": "标题", "body": cjk}))
        .await;

    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["body"], cjk);
}

#[tokio::test]
async fn the_largest_post_fits_with_every_character_escaped_as_a_surrogate_pair() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    // U+1F600 as Python's json.dumps writes it: 12 bytes of JSON for one character.
    let escaped = |chars: usize| r"\ud83d\ude00".repeat(chars);
    let raw = format!(
        r#"{{"title":"{}","body":"{}"}}"#,
        escaped(Title::MAX_CHARS),
        escaped(Body::MAX_CHARS)
    );
    assert!(raw.len() > 120_000, "the worst case, {} bytes", raw.len());

    let response = app
        .client
        .post(app.url("/api/posts"))
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["body"], "\u{1F600}".repeat(Body::MAX_CHARS));
}

#[tokio::test]
async fn a_10_001_character_body_is_422_naming_body() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let input = json!({"title": "t", "body": "字".repeat(10_001)});

    let body = assert_error(
        app.post_json("/api/posts", &input).await,
        422,
        "validation_failed",
    )
    .await;

    assert_eq!(body["field"], "body");
}

#[tokio::test]
async fn body_over_128_kib_is_413_json() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let huge = json!({"title": "t", "body": "x".repeat(128 * 1024)});

    let body = assert_error(
        app.post_json("/api/posts", &huge).await,
        413,
        "payload_too_large",
    )
    .await;

    assert_eq!(body["message"], "request body is larger than 131072 bytes");
}

#[tokio::test]
async fn unsupported_method_is_405_json() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let response = app
        .client
        .put(app.url("/api/posts/1"))
        .send()
        .await
        .unwrap();
    assert_error(response, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn list_is_newest_first_with_default_page_of_20() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    for n in 0..25 {
        app.create_post(&format!("post {n}")).await;
    }

    let page: Value = app.get("/api/posts").await.json().await.unwrap();

    let titles: Vec<&str> = page["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 20);
    assert_eq!(titles[0], "post 24");
    assert_eq!(titles[19], "post 5");
    assert!(page["next_before"].is_i64());
}

#[tokio::test]
async fn keyset_pages_cover_every_post_once() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let mut created = Vec::new();
    for n in 0..7 {
        created.push(
            app.create_post(&format!("p{n}")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }

    let mut seen = Vec::new();
    let mut path = "/api/posts?limit=3".to_owned();
    loop {
        let page: Value = app.get(&path).await.json().await.unwrap();
        seen.extend(
            page["posts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_i64().unwrap()),
        );
        match page["next_before"].as_i64() {
            Some(before) => path = format!("/api/posts?limit=3&before={before}"),
            None => break,
        }
    }

    created.reverse();
    assert_eq!(seen, created);
}

#[tokio::test]
async fn exactly_full_last_page_has_no_next_cursor() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    for n in 0..3 {
        app.create_post(&format!("p{n}")).await;
    }
    let page: Value = app.get("/api/posts?limit=3").await.json().await.unwrap();
    assert_eq!(page["posts"].as_array().unwrap().len(), 3);
    assert_eq!(page["next_before"], Value::Null);
}

#[tokio::test]
async fn empty_list_and_cursor_past_the_oldest_post_are_empty_pages() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let empty: Value = app.get("/api/posts").await.json().await.unwrap();
    assert_eq!(empty, json!({"posts": [], "next_before": null}));
    let first = app.create_post("only").await;
    let past: Value = app
        .get(&format!("/api/posts?before={}", first["id"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(past["posts"], json!([]));
}

#[tokio::test]
async fn limit_bounds_are_enforced() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    assert_eq!(app.get("/api/posts?limit=100").await.status(), 200);
    assert_eq!(app.get("/api/posts?limit=1").await.status(), 200);
    for query in ["limit=0", "limit=101", "limit=-5", "before=0"] {
        let body = assert_error(
            app.get(&format!("/api/posts?{query}")).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(body["field"], query.split('=').next().unwrap());
    }
}

#[tokio::test]
async fn query_values_that_are_not_numbers_in_range_are_422_naming_the_field() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    for query in [
        "limit=abc",
        "limit=1.5",
        "limit=",
        "limit=99999999999999999999",
        "before=x",
        "before=-1",
        "before=99999999999999999999",
    ] {
        let body = assert_error(
            app.get(&format!("/api/posts?{query}")).await,
            422,
            "validation_failed",
        )
        .await;

        assert_eq!(body["field"], query.split('=').next().unwrap(), "{query}");
    }
}

#[tokio::test]
async fn a_repeated_query_parameter_is_400() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    assert_error(
        app.get("/api/posts?limit=1&limit=2").await,
        400,
        "bad_request",
    )
    .await;
}
