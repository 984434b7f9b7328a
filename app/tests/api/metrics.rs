use reqwest::Method;

use crate::helpers::{assert_error, new_client, TestApp};

/// The metrics listener's text exposition.
async fn scrape(app: &TestApp) -> String {
    let response = new_client()
        .get(format!("{}/metrics", app.metrics_address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// Series of the request counter, one line each.
fn request_series(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| line.starts_with("app_http_requests_total{"))
        .collect()
}

fn value_of(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test]
async fn requests_are_counted_by_route_pattern_not_by_path() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let post = app.create_post("counted").await;

    let own = app.get(&format!("/api/posts/{}", post["id"])).await;
    let missing = app.get("/api/posts/987654").await;

    assert_eq!(own.status(), 200);
    assert_eq!(missing.status(), 404);
    let text = scrape(&app).await;
    assert_eq!(
        value_of(
            &text,
            r#"app_http_requests_total{endpoint="/api/posts/{id}",method="GET",status="200"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value_of(
            &text,
            r#"app_http_requests_total{endpoint="/api/posts/{id}",method="GET",status="404"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains("987654"), "{text}");
    assert!(
        text.contains(r#"app_http_requests_duration_seconds_bucket{endpoint="/api/posts/{id}",method="GET",status="200",le="0.5"}"#),
        "the p99 alert's 0.5 s is a bucket edge: {text}"
    );
}

#[tokio::test]
async fn a_scanner_adds_a_bounded_number_of_series() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    app.get("/api/health").await;
    let before = request_series(&scrape(&app).await).len();

    // What a scanner sends: paths no route knows, under and beside /api, and invented
    // methods, each different.
    for n in 0..200 {
        for path in [
            format!("/scan-{n}/wp-login.php"),
            format!("/api/scan-{n}"),
            format!("/api/posts/1/scan-{n}"),
        ] {
            assert_eq!(app.get(&path).await.status(), 404, "{path}");
        }
        let method = Method::from_bytes(format!("SCAN{n}").as_bytes()).unwrap();
        let invented = app
            .client
            .request(method, app.url("/api/posts"))
            .send()
            .await
            .unwrap();
        assert_error(invented, 501, "not_implemented").await;
    }

    let text = scrape(&app).await;
    let after = request_series(&text);
    assert!(!text.contains("scan-") && !text.contains("SCAN"), "{text}");
    // One unmatched series per status, as many as a handful of 404 shapes.
    assert!(
        after.len() <= before + 3,
        "{} series before, {}: {after:#?}",
        before,
        after.len()
    );
}

#[tokio::test]
async fn saturation_is_read_beside_its_capacity() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };

    let text = scrape(&app).await;

    // base_settings: DATABASE_POOL_SIZE 4; spawn signed a user up, so a connection was open.
    assert_eq!(value_of(&text, "app_db_pool_max_connections"), Some(4.0));
    let idle = value_of(&text, r#"app_db_pool_connections{state="idle"}"#).unwrap();
    let in_use = value_of(&text, r#"app_db_pool_connections{state="in_use"}"#).unwrap();
    assert!(idle + in_use >= 1.0, "{text}");
    assert!(value_of(&text, "app_hasher_threads").unwrap() >= 1.0);
    assert_eq!(value_of(&text, "app_hasher_busy"), Some(0.0));
    assert_eq!(value_of(&text, "app_db_unavailable_total"), Some(0.0));
    assert_eq!(value_of(&text, "app_hasher_rejected_total"), Some(0.0));
    assert!(text.contains(r#"app_info{revision="test""#), "{text}");
}

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_only() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };

    let on_api_port = app.get("/metrics").await;
    let api_on_metrics_port = new_client()
        .get(format!("{}/api/health", app.metrics_address))
        .send()
        .await
        .unwrap();

    assert_error(on_api_port, 404, "not_found").await;
    assert_eq!(api_on_metrics_port.status(), 404);
}

#[tokio::test]
async fn a_database_that_does_not_answer_is_counted() {
    // Port 1 refuses at once: every check-out fails within the pool timeout.
    let down = TestApp::spawn_against(
        "postgres://nobody@127.0.0.1:1/none",
        &[
            ("DATABASE_POOL_TIMEOUT_MS", "200"),
            ("DATABASE_DEADLINE_MS", "500"),
        ],
    );

    let response = down.get("/api/posts").await;

    assert_eq!(response.status(), 503);
    let text = scrape(&down).await;
    assert_eq!(
        value_of(&text, "app_db_unavailable_total"),
        Some(1.0),
        "{text}"
    );
}
