//! Smoke tests of the running stack, through nginx on 127.0.0.1 as a user reaches it.
//! `make test` starts a separate stack for them; `make test-smoke` aims them at yours.
//! Run one at a time (`--test-threads=1`): some restart or recreate containers. The tests that
//! write sign up an account of their own (`smoke-XXXXXXXX`), left with its posts.

use std::time::Duration;

use foobar_tools::site::Account;
use foobar_tools::{compose_ok, wait_until, Site, SITE_HOST};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{fresh_name, utc_now};

const SECURITY_HEADERS: [&str; 4] = [
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "content-security-policy",
];

fn assert_security_headers(response: &reqwest::Response) {
    for name in SECURITY_HEADERS {
        assert!(
            response.headers().contains_key(name),
            "{} {} lacks {name}",
            response.status(),
            response.url()
        );
    }
    assert!(
        !response.headers()["server"].to_str().unwrap().contains('/'),
        "server_tokens off hides the version"
    );
}

/// Container id and start time of a service's container: changes on restart and on recreate.
fn started_at(service: &str) -> String {
    let id = compose_ok(&["ps", "-q", service]).unwrap();
    assert!(!id.is_empty(), "{service} has a running container");
    let output = std::process::Command::new("docker")
        .args(["inspect", "-f", "{{.Id}} {{.State.StartedAt}}", &id])
        .output()
        .unwrap();
    assert!(output.status.success(), "docker inspect {service}");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The site, signed in as a fresh account (a minute allowed for nginx's per-address limit on
/// sign-ups, which other tests may have spent).
async fn signed_in_site() -> Site {
    let site = Site::from_env().unwrap();
    let account = Account::random("smoke").unwrap();
    let session = site
        .sign_up_until(&account, Duration::from_secs(60))
        .await
        .unwrap();
    site.signed_in(&session)
}

/// Creates a post as `site`'s user; checks its author is that user.
async fn create_post(site: &Site, title: &str) -> Value {
    let response = site
        .post_json(
            "/api/posts",
            &json!({"title": title, "body": "through nginx"}),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let post: Value = response.json().await.unwrap();
    assert_eq!(post["author"], site.session().unwrap().username());
    post
}

#[tokio::test]
#[ignore = "needs a running stack: make test-smoke, or make test"]
async fn static_page_is_served_with_security_headers() {
    let site = Site::from_env().unwrap();
    let response = site.get("/").await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_security_headers(&response);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("foobar.com") && page.contains("<form"),
        "the guestbook page"
    );
}

#[tokio::test]
#[ignore = "needs a running stack: make test-smoke, or make test"]
async fn static_assets_are_gzipped_when_asked() {
    let site = Site::from_env().unwrap();
    let response = site
        .request(Method::GET, "/app.js")
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
}

#[tokio::test]
#[ignore = "needs a running stack: make test-smoke, or make test"]
async fn post_created_through_nginx_reads_back_and_is_listed() {
    let site = signed_in_site().await;
    let created = create_post(&site, "smoke create").await;

    let read: Value = site
        .get(&format!("/api/posts/{}", created["id"]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed: Value = (site.get("/api/posts?limit=100").await.unwrap())
        .json()
        .await
        .unwrap();

    assert_eq!(read, created);
    assert!(listed["posts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == created["id"]));
}

#[tokio::test]
#[ignore = "needs a running stack: make test-smoke, or make test"]
async fn bad_input_gets_the_right_status_through_nginx() {
    let anonymous = Site::from_env().unwrap();
    let unsigned = anonymous
        .post_json("/api/posts", &json!({"title": "t", "body": "b"}))
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401, "writing needs a session");
    assert_eq!(
        unsigned.json::<Value>().await.unwrap()["error"],
        "unauthorized"
    );
    let site = signed_in_site().await;
    let invalid = site
        .post_json("/api/posts", &json!({"title": "", "body": "b"}))
        .await
        .unwrap();
    assert_eq!(invalid.status(), 422);
    assert_eq!(invalid.json::<Value>().await.unwrap()["field"], "title");
    let author = site
        .post_json(
            "/api/posts",
            &json!({"author": "someone", "title": "t", "body": "b"}),
        )
        .await
        .unwrap();
    assert_eq!(author.status(), 422, "the author is the user, not a field");
    assert_eq!(author.json::<Value>().await.unwrap()["field"], "author");
    let malformed = site
        .request(Method::POST, "/api/posts")
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let wrong_type = site
        .request(Method::POST, "/api/posts")
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 415);
    // Within the 128 KiB both nginx and the app allow, the character limit speaks: 422.
    let long = json!({"title": "t", "body": "x".repeat(20 * 1024)});
    let response = site.post_json("/api/posts", &long).await.unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(response.json::<Value>().await.unwrap()["field"], "body");
    let big = json!({"title": "t", "body": "x".repeat(200 * 1024)});
    let response = site.post_json("/api/posts", &big).await.unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.expect("413 is JSON, from nginx");
    assert_eq!(body["error"], "payload_too_large");
    let unknown = site.get("/api/nope").await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.headers()["content-type"], "application/json");
}

#[tokio::test]
#[ignore = "needs a running stack: make test-smoke, or make test"]
async fn api_responses_carry_the_app_version_and_security_headers() {
    let site = Site::from_env().unwrap();
    let response = site.get("/api/version").await.unwrap();
    assert_eq!(response.status(), 200);
    assert_security_headers(&response);
    let header = response.headers()["x-app-version"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["version"], header);
}

/// The site's plain HTTP where it is published (HTTP_PORT), which only redirects to HTTPS.
fn plain_site() -> Site {
    Site::new(&foobar_tools::site::default_http_url()).unwrap()
}

#[tokio::test]
#[ignore = "needs a running stack: make test-smoke, or make test"]
async fn plain_http_redirects_permanently_to_https_www_at_the_published_port_but_acme_challenges() {
    let https = url::Url::parse(&foobar_tools::site::default_tls_url()).unwrap();
    let port = match https.port_or_known_default().unwrap() {
        443 => String::new(),
        port => format!(":{port}"),
    };
    let site = plain_site();
    for (host, method, path) in [
        (SITE_HOST, Method::GET, "/some/path?x=1"),
        ("foobar.com", Method::GET, "/x"),
        ("foobar.com:8081", Method::GET, "/"),
        (SITE_HOST, Method::POST, "/api/posts"),
    ] {
        let response = site.request_to(host, method, path).send().await.unwrap();

        assert_eq!(response.status(), 301, "{host}{path}");
        assert_eq!(
            response.headers()["location"].to_str().unwrap(),
            format!("https://{SITE_HOST}{port}{path}"),
            "{host}{path}"
        );
        assert!(!response.headers().contains_key("strict-transport-security"));
    }

    // The CA fetches its challenge over plain HTTP: passed on (to no acme service here).
    let challenge = site.get("/.well-known/acme-challenge/token").await.unwrap();
    assert_eq!(challenge.status(), 404);
    assert_eq!(
        challenge.text().await.unwrap(),
        "no ACME challenge is pending\n"
    );
}

#[tokio::test]
#[ignore = "needs a running stack: make test-smoke, or make test"]
async fn unknown_host_gets_a_clear_answer() {
    // Over plain HTTP: over HTTP/2 a Host beside :authority is refused before any server.
    let site = plain_site();
    let response = site
        .request_to("evil.example", Method::GET, "/")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 421);
    assert_security_headers(&response);
    assert!(response.text().await.unwrap().contains(SITE_HOST));
}

#[tokio::test]
#[ignore = "needs a running stack: make test-smoke, or make test"]
async fn error_pages_carry_security_headers() {
    let site = Site::from_env().unwrap();
    let missing = site.get("/no-such-page").await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_security_headers(&missing);
    let dotfile = site.get("/.env").await.unwrap();
    assert_eq!(dotfile.status(), 404, "dotfiles are never served");
    assert_security_headers(&dotfile);
}

#[tokio::test]
#[ignore = "needs a running stack: make test-smoke, or make test"]
async fn request_id_round_trips_and_is_generated_when_absent() {
    let site = Site::from_env().unwrap();
    // An id no earlier run sent, and only the log lines written since: a line from before
    // cannot make this pass.
    let id = fresh_name("smoke-rid");
    let since = utc_now();
    let echoed = site
        .request(Method::GET, "/api/health")
        .header("x-request-id", &id)
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], id.as_str());
    let generated = site.get("/").await.unwrap();
    let made = generated.headers()["x-request-id"].to_str().unwrap();
    assert!(made.len() >= 16, "nginx generates an id: {made}");
    // The app writes its log in batches, at least once a second.
    let logged = wait_until(Duration::from_secs(5), || {
        compose_ok(&["logs", "--no-log-prefix", "--since", &since, "app"])
            .unwrap()
            .contains(&id)
    });
    assert!(logged, "the app's access log carries nginx's request id");
}

/// What `docker port` lists for a service's container: its published ports only.
fn published_ports(service: &str) -> String {
    let id = compose_ok(&["ps", "-q", service]).unwrap();
    let output = std::process::Command::new("docker")
        .args(["port", &id])
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
#[ignore = "needs a running stack: make test-smoke, or make test"]
fn only_web_publishes_a_port_and_the_database_is_not_reachable_from_the_host() {
    assert_eq!(published_ports("db"), "", "db publishes no port");
    assert_eq!(published_ports("app"), "", "app publishes no port");
    assert!(
        published_ports("web").contains("127.0.0.1:"),
        "web is published on loopback"
    );
    let refused = std::net::TcpStream::connect_timeout(
        &"127.0.0.1:5432".parse().unwrap(),
        Duration::from_secs(1),
    );
    assert!(refused.is_err(), "nothing answers on 127.0.0.1:5432");
}

#[test]
#[ignore = "needs a running stack: make test-smoke, or make test"]
fn web_cannot_reach_the_database_network() {
    let networks = compose_ok(&["ps", "--format", "{{.Service}} {{.Networks}}"]).unwrap();
    let web = networks
        .lines()
        .find(|l| l.starts_with("web "))
        .expect("web runs");
    let db = networks
        .lines()
        .find(|l| l.starts_with("db "))
        .expect("db runs");
    let db_net = db.split_whitespace().nth(1).unwrap();
    assert!(
        !web.contains(db_net),
        "web ({web}) shares no network with db ({db})"
    );
}

#[tokio::test]
#[ignore = "needs a running stack: make test-smoke, or make test"]
async fn data_and_sessions_survive_a_full_restart() {
    let site = signed_in_site().await;
    let created = create_post(&site, "before restart").await;

    compose_ok(&["restart"]).unwrap();
    assert!(
        site.wait_for_ok("/api/ready", Duration::from_secs(60))
            .await,
        "back within 60 s"
    );

    let read: Value = site
        .get(&format!("/api/posts/{}", created["id"]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read, created);
    // The session is in the database: the user is still signed in.
    create_post(&site, "after restart").await;
}

#[tokio::test]
#[ignore = "needs a running stack: make test-smoke, or make test"]
async fn app_outage_shows_maintenance_page_and_a_new_app_container_is_reached_without_restarting_nginx(
) {
    let site = Site::from_env().unwrap();
    let web_started = started_at("web");
    compose_ok(&["stop", "app"]).unwrap();

    let api = site.get("/api/posts").await.unwrap();
    assert_eq!(api.status(), 503, "the API answers maintenance, not 502");
    assert!(api.headers().contains_key("retry-after"));
    assert_eq!(api.headers()["content-type"], "application/json");
    let maintenance_page = site
        .wait_for("/", Duration::from_secs(10), |page| {
            page.status() == 503 && page.headers().contains_key("retry-after")
        })
        .await;
    assert!(
        maintenance_page,
        "browsers get the maintenance page once no app container exists"
    );
    assert_eq!(
        site.get("/style.css").await.unwrap().status(),
        200,
        "assets need no app"
    );

    compose_ok(&["up", "-d", "--wait", "--force-recreate", "--no-deps", "app"]).unwrap();
    assert!(
        site.wait_for_ok("/api/ready", Duration::from_secs(15))
            .await,
        "nginx reaches the new container"
    );
    assert_eq!(
        started_at("web"),
        web_started,
        "nginx was neither recreated nor restarted"
    );
}

/// The site over HTTPS as a browser reaches it: www.foobar.com (SNI, and the name the
/// certificate must carry) where HTTPS is published ([`foobar_tools::site::default_tls_url`]),
/// the certificate checked against the local CA that `make up` made it with (the tools trust it).
fn https_site() -> Site {
    Site::new(&foobar_tools::site::default_tls_url()).unwrap()
}

#[tokio::test]
#[ignore = "needs a running stack: make test-smoke, or make test"]
async fn the_page_is_served_over_https_with_a_certificate_of_the_local_ca_http2_and_hsts() {
    let site = https_site();

    let response = site.get("/").await.unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.version(),
        reqwest::Version::HTTP_2,
        "ALPN chose h2"
    );
    assert_security_headers(&response);
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=63072000; includeSubDomains"
    );
}

#[tokio::test]
#[ignore = "needs a running stack: make test-smoke, or make test"]
async fn signing_up_over_https_sets_a_secure_session_cookie_and_plain_http_carries_no_hsts() {
    let site = https_site();
    let account = Account::random("smoke").unwrap();

    let response = site
        .post_json("/api/users", &account.credentials())
        .await
        .unwrap();

    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("foobar_session="), "{cookie}");
    assert!(
        cookie
            .split(';')
            .any(|part| part.trim().eq_ignore_ascii_case("secure")),
        "the session cookie is Secure over HTTPS: {cookie}"
    );
    let plain = plain_site().get("/").await.unwrap();
    assert_eq!(plain.status(), 301);
    assert!(
        !plain.headers().contains_key("strict-transport-security"),
        "no HSTS over plain HTTP"
    );
}
