//! The guestbook page in a real browser: Debian's headless chromium, driven through
//! chromedriver (WebDriver) by fantoccini. It signs up a fresh user, posts, reloads, deletes the
//! post and signs out, through the page as a person would, and fails on any console error or
//! Content-Security-Policy violation, and on a page wider than a 360 px phone. Screenshots of
//! each step go to target/reports/browser-*.png.
//!
//! The browser cannot be told `Host: www.foobar.com` like the other tests' client: it opens
//! `https://www.foobar.com:HTTPS_PORT/`, and chromium's `--host-resolver-rules` sends that name
//! to the host of the site's URL ([`foobar_tools::site::default_site_url`]: `FOOBAR_URL`, else
//! `HTTP_BIND`/`HTTPS_PORT` from the environment or `.env`). It trusts the local CA that
//! `make up` made the certificate with, as a user who ran `mkcert -install` does: in an NSS
//! database of its own (a temporary `$HOME`, `certutil`), nowhere else.
//!
//! Needs `chromium` and `chromedriver` (`make deps` installs them). `make test` runs it on its
//! own stack; `make test-browser` aims it at yours.
//!
//! What it leaves behind: nothing. The page deletes the test's post; the account it creates
//! (`browser-` and 12 hex digits; there is no API to delete one) is removed at the end with
//! `foobar-app admin delete-account` in the stack's app container. Aimed at a site that is not
//! this checkout's Compose stack, it cannot do that and says so, naming the account to delete
//! there.

use std::error::Error;
use std::io::Write as _;
use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use foobar_tools::stack::delete_accounts;

use crate::helpers::fresh_name;
use foobar_tools::{Site, SITE_HOST};
use serde_json::{json, Value};

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

/// Longest any one step may take (a page load, an answer from the API) before the test fails.
const STEP_TIMEOUT: Duration = Duration::from_secs(15);
/// A desktop window, and the narrowest phone the page must fit without scrolling sideways.
const DESKTOP: (u32, u32) = (1280, 1000);
const PHONE_WIDTH: u32 = 360;

// ---- chromedriver -------------------------------------------------------------------------------

/// chromedriver on a free loopback port, in a process group of its own; on drop the whole group
/// (chromedriver and the chromium it started) is killed, however the test ended.
struct ChromeDriver {
    child: Child,
    port: u16,
}

impl ChromeDriver {
    /// `home`: the `$HOME` of chromedriver and the chromium it starts (its NSS database).
    fn start(log: &Path, home: &Path) -> Result<ChromeDriver> {
        use std::os::unix::process::CommandExt as _;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("chromedriver")
            .env("HOME", home)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("starting chromedriver (sudo make deps installs it): {e}"))?;
        let driver = ChromeDriver { child, port };
        let deadline = Instant::now() + STEP_TIMEOUT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(format!("chromedriver did not listen on port {port}").into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(driver)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid: it was started as the group's leader.
        let group = self.child.id() as libc::pid_t;
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

// ---- chromedriver's own commands (not in the WebDriver standard) -----------------------------

/// A command under `/session/{id}/` with a JSON body.
#[derive(Debug)]
struct SessionCommand {
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for SessionCommand {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/{}",
            session.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// Runs a Chrome DevTools Protocol command in the page.
async fn cdp(client: &Client, cmd: &str, params: Value) -> Result<Value> {
    let body = json!({"cmd": cmd, "params": params});
    Ok(client
        .issue_cmd(SessionCommand {
            path: "goog/cdp/execute",
            body,
        })
        .await?)
}

/// The browser console's entries since the last call (chromedriver empties its buffer).
async fn console_entries(client: &Client) -> Result<Vec<Value>> {
    let logs = client
        .issue_cmd(SessionCommand {
            path: "se/log",
            body: json!({"type": "browser"}),
        })
        .await?;
    Ok(logs.as_array().cloned().unwrap_or_default())
}

/// Recorded in every page before its own script runs (DevTools adds it, so the page's CSP does
/// not apply to it): each Content-Security-Policy violation, kept in sessionStorage so that a
/// reload does not lose it.
const CSP_RECORDER: &str = r#"
document.addEventListener('securitypolicyviolation', function (e) {
  var seen = JSON.parse(sessionStorage.getItem('csp-violations') || '[]');
  seen.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' +
            e.sourceFile + ':' + e.lineNumber);
  sessionStorage.setItem('csp-violations', JSON.stringify(seen));
});
"#;

// ---- the test's view of the page ----------------------------------------------------------------

struct Browser {
    client: Client,
    reports: PathBuf,
    step: u32,
    /// Console errors so far, with the step they came in.
    console_errors: Vec<String>,
    /// Requests the scenario makes to fail on purpose: their "Failed to load resource" console
    /// lines are expected (the page asks /api/me whether anyone is signed in: 401 when not).
    expected_failures: Vec<(&'static str, u16)>,
}

impl Browser {
    /// Evaluates `script` (a function body: `return ...`) in the page.
    async fn js(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        Ok(self.client.execute(script, args).await?)
    }

    /// Waits until `script` returns true; fails with `what` (and a screenshot) after
    /// [`STEP_TIMEOUT`].
    async fn wait_until(&mut self, what: &str, script: &str, args: Vec<Value>) -> Result<()> {
        self.wait_for(what, script, args).await.map(drop)
    }

    /// Waits until `script` returns something other than false or null, and returns it; fails
    /// with `what` (and a screenshot) after [`STEP_TIMEOUT`].
    async fn wait_for(&mut self, what: &str, script: &str, args: Vec<Value>) -> Result<Value> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let value = self.js(script, args.clone()).await?;
            if !matches!(value, Value::Bool(false) | Value::Null) {
                return Ok(value);
            }
            if Instant::now() > deadline {
                let shot = self.screenshot("timeout").await?;
                return Err(format!("timed out waiting until {what} (screenshot {shot})").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks a sign-in or sign-up button (`#submit`) and waits until `done` (a function body
    /// like [`Browser::wait_until`]'s) is true. nginx lets an address sign in or up once a
    /// second, in bursts of 20, and the stack tests before this one may have spent the burst:
    /// when the form's status line (`#status`) says so (429), this waits the seconds it names
    /// and submits again.
    async fn submit_account_form(
        &mut self,
        submit: &str,
        status: &str,
        what: &str,
        done: &str,
        args: Vec<Value>,
    ) -> Result<()> {
        let script = format!(
            "if ((function () {{ {done} }}).apply(null, arguments)) return 'done'; \
             var limited = /Too many .*Try again in (\\d+ second|a moment)/ \
               .exec(document.getElementById('{status}').textContent); \
             return limited ? (parseInt(limited[1], 10) || 5) : false;"
        );
        for _ in 0..12 {
            self.click(&format!("#{submit}")).await?;
            match self.wait_for(what, &script, args.clone()).await? {
                Value::Number(seconds) => {
                    println!("{what}: nginx's sign-in limit; waiting {seconds} s");
                    self.expected_failures.push(("/api/", 429));
                    let seconds = seconds.as_u64().unwrap_or(5);
                    tokio::time::sleep(Duration::from_secs(seconds)).await;
                }
                _ => return Ok(()),
            }
        }
        Err(format!("{what}: still limited after a minute").into())
    }

    async fn displayed(&self, id: &str) -> Result<bool> {
        let found = self.client.find_all(Locator::Id(id)).await?;
        match found.first() {
            Some(element) => Ok(element.is_displayed().await?),
            None => Ok(false),
        }
    }

    async fn type_into(&self, id: &str, text: &str) -> Result<()> {
        let input = self.client.find(Locator::Id(id)).await?;
        input.clear().await?;
        input.send_keys(text).await?;
        Ok(())
    }

    async fn click(&self, css: &str) -> Result<()> {
        self.client.find(Locator::Css(css)).await?.click().await?;
        Ok(())
    }

    /// Saves a screenshot of the whole page (not only the window) as
    /// target/reports/browser-NN-NAME.png; returns its path.
    async fn screenshot(&mut self, name: &str) -> Result<String> {
        use base64::Engine as _;
        self.step += 1;
        let path = self
            .reports
            .join(format!("browser-{:02}-{name}.png", self.step));
        let metrics = cdp(&self.client, "Page.getLayoutMetrics", json!({})).await?;
        let size = &metrics["cssContentSize"];
        let shot = cdp(
            &self.client,
            "Page.captureScreenshot",
            json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
            }),
        )
        .await?;
        let png = base64::engine::general_purpose::STANDARD.decode(
            shot["data"]
                .as_str()
                .ok_or("a screenshot from Page.captureScreenshot")?,
        )?;
        std::fs::write(&path, png)?;
        Ok(path.display().to_string())
    }

    /// Collects the console's errors (and CSP reports) since the last call, noting `step`.
    async fn collect_console(&mut self, step: &str) -> Result<()> {
        for entry in console_entries(&self.client).await? {
            let level = entry["level"].as_str().unwrap_or_default();
            let message = entry["message"].as_str().unwrap_or_default();
            println!("console [{step}] {level} {message}");
            let expected = entry["source"] == "network"
                && self.expected_failures.iter().any(|(path, status)| {
                    message.contains(path) && message.contains(&status.to_string())
                });
            if level == "SEVERE" && !expected {
                self.console_errors.push(format!("[{step}] {message}"));
            }
        }
        Ok(())
    }

    /// The CSP violations the page recorded (see [`CSP_RECORDER`]).
    async fn csp_violations(&self) -> Result<Vec<String>> {
        let seen = self
            .js(
                "return sessionStorage.getItem('csp-violations') || '[]';",
                vec![],
            )
            .await?;
        Ok(serde_json::from_str(seen.as_str().unwrap_or("[]"))?)
    }

    /// At a 360 px wide phone viewport, the page does not scroll sideways; a screenshot of it.
    async fn fits_a_phone(&mut self, name: &str) -> Result<()> {
        let (width, height) = (PHONE_WIDTH, 780);
        cdp(
            &self.client,
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": true}),
        )
        .await?;
        // Let layout settle at the new size.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let sizes = self
            .js(
                "return [document.documentElement.scrollWidth, window.innerWidth];",
                vec![],
            )
            .await?;
        let shot = self.screenshot(name).await?;
        cdp(
            &self.client,
            "Emulation.clearDeviceMetricsOverride",
            json!({}),
        )
        .await?;
        let (scroll, inner) = (sizes[0].as_u64(), sizes[1].as_u64());
        assert_eq!(
            inner,
            Some(u64::from(width)),
            "the phone viewport is {width} px wide"
        );
        assert!(
            scroll <= inner,
            "{name}: at {width} px the page is {scroll:?} px wide and scrolls sideways ({shot})"
        );
        Ok(())
    }
}

/// Removes the test's account with whatever it left (there is no API to delete an account):
/// `foobar-app admin delete-account` in the stack's app container, as the accounts tests do.
/// Best effort: a stack the test cannot reach that way (a site not run by Compose here) keeps
/// the account, and the test says so instead of failing.
async fn remove_account(username: String) {
    let name = username.clone();
    match tokio::task::spawn_blocking(move || delete_accounts(&[&name])).await {
        Ok(Ok(_)) => println!("removed the test account {username}"),
        Ok(Err(e)) => println!("kept the test account {username}: {e:#}"),
        Err(e) => println!("kept the test account {username}: {e}"),
    }
}

/// A fresh `$HOME` at `dir` whose NSS database (where chromium on Linux looks for the CAs a
/// user added) trusts the local CA to identify sites.
fn trusting_the_local_ca(dir: &Path) -> Result<PathBuf> {
    let _ = std::fs::remove_dir_all(dir);
    let nssdb = dir.join(".pki/nssdb");
    std::fs::create_dir_all(&nssdb)?;
    let db = format!("sql:{}", nssdb.display());
    let ca = foobar_tools::site::local_ca()
        .ok_or("no checkout: the local CA is its .secrets/tls/ca.pem")?
        .display()
        .to_string();
    for args in [
        vec!["-N", "-d", &db, "--empty-password"],
        vec![
            "-A",
            "-d",
            &db,
            "-t",
            "C,,",
            "-n",
            "foobar-local-ca",
            "-i",
            &ca,
        ],
    ] {
        let output = Command::new("certutil")
            .args(&args)
            .output()
            .map_err(|e| format!("certutil (libnss3-tools; sudo make deps installs it): {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "certutil {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
    }
    Ok(dir.to_owned())
}

/// The port the site's HTTPS is published on, from [`foobar_tools::site::default_tls_url`].
fn https_port() -> Result<u16> {
    let url = url::Url::parse(&foobar_tools::site::default_tls_url())?;
    Ok(url
        .port_or_known_default()
        .ok_or("no port in the HTTPS URL")?)
}

/// Where the site is for the browser and for the test's own HTTP client.
struct Target {
    /// The site's URL with www.foobar.com for its host: what the browser opens.
    page_url: String,
    /// Where chromium must send that name: the URL's own host (loopback when the URL already
    /// names the site itself).
    resolve_to: String,
    /// The site's URL, for the test's API checks (the tools' client names www.foobar.com there).
    api_url: String,
}

fn browser_target(site_url: &str) -> Result<Target> {
    let url = url::Url::parse(site_url)?;
    let target = match url.host() {
        Some(url::Host::Domain(name)) if name == SITE_HOST || name == "foobar.com" => {
            "127.0.0.1".to_owned()
        }
        Some(url::Host::Domain(name)) => name.to_owned(),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).to_string(),
        Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
        None => return Err(format!("no host in {site_url}").into()),
    };
    Ok(Target {
        page_url: format!("https://{SITE_HOST}:{}/", https_port()?),
        api_url: site_url.trim_end_matches('/').to_owned(),
        resolve_to: target,
    })
}

fn capabilities(resolve_to: &str) -> Capabilities {
    let mut args = vec![
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-gpu".to_owned(),
        "--no-first-run".to_owned(),
        format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
        format!("--host-resolver-rules=MAP {SITE_HOST} {resolve_to}"),
    ];
    args.push("--lang=en-US".to_owned());
    let mut chrome = json!({ "args": args });
    if Path::new("/usr/bin/chromium").exists() {
        chrome["binary"] = json!("/usr/bin/chromium");
    }
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": chrome,
        "goog:loggingPrefs": {"browser": "ALL"},
    });
    match caps {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

#[tokio::test]
#[ignore = "needs a running stack and chromium: make test-browser, or make test"]
async fn a_visitor_signs_up_posts_deletes_and_signs_out() -> Result<()> {
    let reports = foobar_tools::reports_dir()?;
    std::fs::create_dir_all(&reports)?;
    let site_url = foobar_tools::site::default_site_url();
    let target = browser_target(&site_url)?;
    println!(
        "site {site_url}: the browser opens {} ({SITE_HOST} -> {})",
        target.page_url, target.resolve_to
    );

    // reqwest brings ring, fantoccini aws-lc-rs: rustls needs to be told which (either is fine).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let home = trusting_the_local_ca(&reports.join("browser-home"))?;
    let driver = ChromeDriver::start(&reports.join("browser-chromedriver.log"), &home)?;
    let client = ClientBuilder::rustls()?
        .capabilities(capabilities(&target.resolve_to))
        .connect(&driver.url())
        .await
        .map_err(|e| format!("a chromium session through chromedriver: {e}"))?;
    let mut browser = Browser {
        client: client.clone(),
        reports,
        step: 0,
        console_errors: Vec::new(),
        expected_failures: vec![("/api/me", 401)],
    };
    let username = fresh_name("browser");
    let outcome = scenario(&mut browser, &target, &username).await;
    // Whatever happened: what the console said, then the browser closes (chromium exits).
    let console = browser.collect_console("end").await;
    let _ = client.close().await;
    drop(driver);
    remove_account(username).await;
    outcome?;
    console?;
    assert!(
        browser.console_errors.is_empty(),
        "console errors:\n{}",
        browser.console_errors.join("\n")
    );
    Ok(())
}

async fn scenario(browser: &mut Browser, target: &Target, username: &str) -> Result<()> {
    cdp(
        &browser.client,
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": CSP_RECORDER}),
    )
    .await?;
    let api = Site::with_timeout(&target.api_url, STEP_TIMEOUT)?;
    let password = format!("pw {username} {}", std::process::id());

    // Signed out: the two account forms, no post form. Over HTTPS with a certificate the
    // browser trusts, the page is a secure context.
    browser.client.goto(&target.page_url).await?;
    assert_eq!(
        browser.js("return window.isSecureContext;", vec![]).await?,
        json!(true),
        "{} is a secure context",
        target.page_url
    );
    browser
        .wait_until(
            "the page knows nobody is signed in (sign-in form shown)",
            "var f = document.getElementById('signin-form'); \
             return !!f && f.offsetParent !== null && document.getElementById('posts-heading') !== null;",
            vec![],
        )
        .await?;
    assert!(
        browser.displayed("signup-form").await?,
        "sign-up form shown"
    );
    assert!(
        !browser.displayed("post-form").await?,
        "no post form signed out"
    );
    assert!(
        !browser.displayed("signout").await?,
        "no sign-out button signed out"
    );
    browser.screenshot("signed-out").await?;
    browser.fits_a_phone("signed-out-360px").await?;
    browser.collect_console("signed out").await?;

    // Sign up: signed in at once.
    browser.type_into("signup-username", username).await?;
    browser.type_into("signup-password", &password).await?;
    browser
        .submit_account_form(
            "signup-submit",
            "signup-status",
            "signed in as the new user",
            "var e = document.getElementById('signed-in-as'); \
             return !!e && e.offsetParent !== null && e.textContent === arguments[0];",
            vec![json!(username)],
        )
        .await?;
    assert!(
        browser.displayed("post-form").await?,
        "post form once signed in"
    );
    assert!(
        !browser.displayed("signin-form").await?,
        "no sign-in form once signed in"
    );
    browser.screenshot("signed-up").await?;
    browser.collect_console("sign up").await?;

    // Post: the post appears at the top of both lists, with a Delete button.
    let title = format!("Hello from {username}");
    let body = "Written by the browser test.\nIt deletes this post again.";
    browser.type_into("title", &title).await?;
    browser.type_into("body", body).await?;
    browser.click("#submit").await?;
    browser
        .wait_until(
            "the new post is listed in your posts",
            "var li = document.querySelector('#my-posts li'); \
             return !!li && li.querySelector('.post-title').textContent === arguments[0];",
            vec![json!(title)],
        )
        .await?;
    let id = browser
        .js(
            "return document.querySelector('#my-posts li').dataset.id;",
            vec![],
        )
        .await?
        .as_str()
        .ok_or("the post's <li> has a data-id")?
        .to_owned();
    let (status, post) = api.get_json(&format!("/api/posts/{id}")).await?;
    assert_eq!(status, 200, "post {id} is stored: {post}");
    assert_eq!(post["author"], json!(username));
    assert_eq!(post["title"], json!(title));
    assert_eq!(post["body"], json!(body), "line breaks kept");
    browser.screenshot("posted").await?;
    browser.collect_console("post").await?;

    // Reload: still signed in (the session cookie), the post in "your posts" and in the latest.
    browser.client.refresh().await?;
    browser
        .wait_until(
            "still signed in after a reload, the post in both lists with a Delete button",
            "var e = document.getElementById('signed-in-as'); \
             var sel = 'li[data-id=\"' + arguments[1] + '\"] button.delete'; \
             return !!e && e.offsetParent !== null && e.textContent === arguments[0] && \
               !!document.querySelector('#my-posts ' + sel) && !!document.querySelector('#posts ' + sel);",
            vec![json!(username), json!(id)],
        )
        .await?;
    let others_deletable = browser
        .js(
            "var me = arguments[0]; \
             return Array.prototype.filter.call(document.querySelectorAll('#posts li, #my-posts li'), \
               function (li) { return (li.dataset.author !== me) === !!li.querySelector('button.delete'); }).length;",
            vec![json!(username)],
        )
        .await?;
    assert_eq!(
        others_deletable,
        json!(0),
        "a Delete button on exactly the user's own posts"
    );
    browser.screenshot("reloaded").await?;
    browser.fits_a_phone("signed-in-360px").await?;
    browser.collect_console("reload").await?;

    // Delete it from "your posts": gone from both lists, and from the API.
    browser
        .click(&format!("#my-posts li[data-id=\"{id}\"] button.delete"))
        .await?;
    browser
        .wait_until(
            "the deleted post is gone from both lists",
            "return !document.querySelector('li[data-id=\"' + arguments[0] + '\"]');",
            vec![json!(id)],
        )
        .await?;
    let (status, _) = api.get_json(&format!("/api/posts/{id}")).await?;
    assert_eq!(status, 404, "post {id} is deleted");
    browser.screenshot("deleted").await?;
    browser.collect_console("delete").await?;

    // Sign out: the sign-in form again, the post form gone; a reload keeps it so.
    browser.click("#signout").await?;
    browser
        .wait_until(
            "signed out (sign-in form shown)",
            "var f = document.getElementById('signin-form'); return !!f && f.offsetParent !== null;",
            vec![],
        )
        .await?;
    assert!(
        !browser.displayed("post-form").await?,
        "no post form signed out"
    );
    assert!(
        !browser.displayed("my-posts").await?,
        "no 'your posts' signed out"
    );
    let shown_name = browser
        .js(
            "return document.getElementById('signed-in-as').textContent;",
            vec![],
        )
        .await?;
    assert_eq!(shown_name, json!(""), "no name shown signed out");
    browser.screenshot("signed-out-again").await?;
    browser.client.refresh().await?;
    browser
        .wait_until(
            "still signed out after a reload",
            "var f = document.getElementById('signin-form'); \
             return !!f && f.offsetParent !== null && document.getElementById('post-form').offsetParent === null;",
            vec![],
        )
        .await?;
    browser.collect_console("sign out").await?;

    // Sign in: a wrong password is refused next to the field; the right one signs in.
    browser.expected_failures.push(("/api/session", 401));
    browser.type_into("signin-username", username).await?;
    browser
        .type_into("signin-password", "not the password")
        .await?;
    browser
        .submit_account_form(
            "signin-submit",
            "signin-status",
            "a wrong password is refused",
            "var e = document.getElementById('signin-password-error'); \
             return !!e && e.textContent === 'Wrong username or password.' && \
               document.getElementById('signin-password').getAttribute('aria-invalid') === 'true';",
            vec![],
        )
        .await?;
    browser.screenshot("wrong-password").await?;
    browser.type_into("signin-password", &password).await?;
    browser
        .submit_account_form(
            "signin-submit",
            "signin-status",
            "signed in with the right password",
            "var e = document.getElementById('signed-in-as'); \
             return !!e && e.offsetParent !== null && e.textContent === arguments[0];",
            vec![json!(username)],
        )
        .await?;
    browser.screenshot("signed-in").await?;
    browser.collect_console("sign in").await?;

    // The session ends behind the page's back (here: its cookie is gone): the next write is
    // answered 401, and the page says so and shows the sign-in form, keeping the unsent post.
    browser.expected_failures.push(("/api/posts", 401));
    browser.client.delete_cookie("foobar_session").await?;
    browser.type_into("title", "Never sent").await?;
    browser
        .type_into("body", "The session ended first.")
        .await?;
    browser.click("#submit").await?;
    browser
        .wait_until(
            "a write after the session ended shows the sign-in form and says why",
            "var f = document.getElementById('signin-form'); \
             return !!f && f.offsetParent !== null && \
               document.getElementById('post-form').offsetParent === null && \
               /session has ended/.test(document.getElementById('account-status').textContent) && \
               document.getElementById('title').value === 'Never sent';",
            vec![],
        )
        .await?;
    browser.screenshot("session-ended").await?;
    browser.collect_console("session ended").await?;

    // A taken username: the answer (409) is shown next to the username field.
    browser.expected_failures.push(("/api/users", 409));
    browser.type_into("signup-username", username).await?;
    browser
        .type_into("signup-password", &format!("{password} again"))
        .await?;
    browser
        .submit_account_form(
            "signup-submit",
            "signup-status",
            "a taken username is refused next to the field",
            "var e = document.getElementById('signup-username-error'); \
             return !!e && e.textContent !== '' && e.offsetParent !== null && \
               document.getElementById('signup-username').getAttribute('aria-invalid') === 'true';",
            vec![],
        )
        .await?;
    browser.screenshot("username-taken").await?;
    browser.collect_console("username taken").await?;

    let violations = browser.csp_violations().await?;
    assert!(violations.is_empty(), "CSP violations: {violations:?}");
    let _ = std::io::stdout().flush();
    Ok(())
}
