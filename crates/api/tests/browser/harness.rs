//! What every browser test stands on: the real `api` binary on a free port
//! over a fresh SQLite file, staff accounts made with its `create-user`
//! command, a `chromedriver` of our own, and headless Chromium sessions
//! driven through `fantoccini`.
//!
//! Everything started here is stopped by a `Drop`, so a failing test
//! leaves nothing behind: a [`Browser`] deletes its WebDriver session
//! (which is what ends its Chromium), the [`Driver`] then stops
//! chromedriver and anything left in its process group, the [`Server`] is
//! killed (testkit's [`ServerProcess`]) and its directory removed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, header};
use hyper_util::client::legacy::Client as LegacyClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use testkit::{Log, Ready, ServerProcess, SmtpSink, free_port};

const BINARY: &str = env!("CARGO_BIN_EXE_api");
const SECRET: &str = "browser-tests-secret-of-at-least-32-bytes";
/// Every account's PIN.
pub const PIN: &str = "2468";
/// The address a server taking mail takes it at.
pub const SUPPORT_ADDRESS: &str = "support@example.com";
/// What the tests' mail server proves itself with.
const INBOUND_TOKEN: &str = "browser-tests-inbound-token-32-bytes-long";
/// How long a page may take to show what a test waits for.
const WAIT: Duration = Duration::from_secs(20);

/// The tallest full-page screenshot.
const MAX_SHOT_HEIGHT: u32 = 6000;

/// A window size, in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
    /// The prefix of screenshot file names at this size.
    pub label: &'static str,
}

pub const DESKTOP: Size = Size {
    width: 1280,
    height: 900,
    label: "desktop",
};
pub const PHONE: Size = Size {
    width: 375,
    height: 800,
    label: "phone",
};

/// One request to `127.0.0.1:port` through hyper-util's client, on a
/// fresh connection that is not kept afterwards. `None` when nothing
/// listens (yet), or no whole answer comes within [`WAIT`].
async fn exchange(
    port: u16,
    method: Method,
    path: &str,
    headers: &[(header::HeaderName, &str)],
    body: String,
) -> Option<HttpAnswer> {
    let client: LegacyClient<HttpConnector, Full<Bytes>> =
        LegacyClient::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http();
    let mut request = Request::builder()
        .method(method)
        .uri(format!("http://127.0.0.1:{port}{path}"));
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let request = request.body(Full::from(body)).ok()?;
    let answer = async {
        let response = client.request(request).await.ok()?;
        let mut head = format!("{:?} {}", response.version(), response.status());
        for (name, value) in response.headers() {
            head.push_str(&format!(
                "\r\n{name}: {}",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.ok()?.to_bytes();
        Some(HttpAnswer {
            status,
            head: head.to_ascii_lowercase(),
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    };
    tokio::time::timeout(WAIT, answer).await.ok().flatten()
}

/// GET `path`, with a `Cookie` header if given; `None` when nothing
/// listens yet.
pub async fn http_get(port: u16, path: &str, cookie: Option<&str>) -> Option<HttpAnswer> {
    let cookie = cookie.map(|cookie| (header::COOKIE, cookie));
    exchange(port, Method::GET, path, cookie.as_slice(), String::new()).await
}

/// A JSON request to the API, for a test's background data.
pub async fn http_json(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> HttpAnswer {
    let authorization = token.map(|token| format!("Bearer {token}"));
    let mut headers = vec![(header::CONTENT_TYPE, "application/json")];
    if let Some(authorization) = &authorization {
        headers.push((header::AUTHORIZATION, authorization));
    }
    let verb = Method::from_bytes(method.as_bytes())
        .unwrap_or_else(|error| panic!("{method} as a method: {error}"));
    exchange(port, verb, path, &headers, body.to_string())
        .await
        .unwrap_or_else(|| panic!("no answer to {method} {path}"))
}

#[derive(Debug, Clone)]
pub struct HttpAnswer {
    pub status: u16,
    /// The status line and headers, lower-cased.
    pub head: String,
    pub body: String,
}

/// The `api` server, started as an operator starts it.
#[derive(Debug)]
pub struct Server {
    // Declared first, so the process is stopped (and its log shown, if the
    // test failed) before the directory goes.
    process: ServerProcess,
    pub port: u16,
    dir: tempfile::TempDir,
}

/// The binary's environment in the tests: nothing of the caller's (a
/// `.env` or `DATABASE_URL` of the developer's must not leak in), no
/// request budgets to trip over.
const ENV: [(&str, &str); 6] = [
    ("DATABASE_URL", "sqlite://tracker.db"),
    ("JWT_SECRET", SECRET),
    ("HOST", "127.0.0.1"),
    ("ADDRESS_RATE_LIMIT", "0"),
    ("ACCOUNT_WRITE_LIMIT", "0"),
    ("RUST_LOG", "info"),
];

impl Server {
    /// Starts the server on a free port over a new SQLite file and waits
    /// until `/health` answers 200. Its log goes to `server.log` in its
    /// directory and is printed if the test fails.
    pub async fn start() -> Server {
        Self::start_with(&[], None).await
    }

    /// As [`Server::start`], sending mail to `sink` (with `PUBLIC_URL` its
    /// own address, so the links in mail open this server).
    pub async fn start_sending_to(sink: &SmtpSink) -> Server {
        let port = free_port().expect("a free port");
        let public_url = format!("http://127.0.0.1:{port}");
        let mail = [
            ("SMTP_URL", sink.url()),
            ("MAIL_FROM", "Support <support@example.com>".to_owned()),
            ("PUBLIC_URL", public_url),
        ];
        Self::start_with(&mail, Some(port)).await
    }

    /// As [`Server::start`], taking inbound mail at [`SUPPORT_ADDRESS`]
    /// over HTTP ([`Server::deliver_mail`]).
    pub async fn start_taking_mail() -> Server {
        let inbound = [
            ("INBOUND_ADDRESS", SUPPORT_ADDRESS.to_owned()),
            ("INBOUND_TOKEN", INBOUND_TOKEN.to_owned()),
        ];
        Self::start_with(&inbound, None).await
    }

    async fn start_with(extra: &[(&str, String)], port: Option<u16>) -> Server {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut launch = ServerProcess::build(BINARY)
            .current_dir(dir.path())
            .env_clear()
            .envs(ENV)
            .envs(extra.iter().map(|(name, value)| (*name, value.as_str())));
        if let Some(port) = port {
            launch = launch.port(port);
        }
        let launch = launch
            .log(Log::File(dir.path().join("server.log")))
            .ready(Ready::Answers200("/health".to_owned()))
            .ready_within(Duration::from_secs(60));
        let process = tokio::task::spawn_blocking(move || launch.start())
            .await
            .expect("the server's start")
            .unwrap_or_else(|error| panic!("the api binary did not start: {error}"));
        Server {
            port: process.port(),
            process,
            dir,
        }
    }

    /// The binary with the tests' environment, run in `dir`, for its
    /// commands.
    fn command(dir: &Path) -> Command {
        let mut command = Command::new(BINARY);
        command.current_dir(dir).env_clear().envs(ENV);
        command
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        self.process.url(path)
    }

    /// Creates an account with `api create-user` (the PIN on standard
    /// input, as an operator types it); its id.
    pub fn create_user(&self, username: &str, role: &str) -> u64 {
        let mut child = Self::command(self.dir.path())
            .args(["create-user", "--username", username, "--role", role])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start api create-user");
        child
            .stdin
            .take()
            .expect("create-user's stdin")
            .write_all(format!("{PIN}\n").as_bytes())
            .expect("the PIN written");
        let output = child.wait_with_output().expect("create-user ran");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "create-user {username} {role}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // "created ROLE username (id N)"
        stdout
            .rsplit_once("(id ")
            .and_then(|(_, rest)| rest.trim_end().strip_suffix(')'))
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("no id in create-user's output: {stdout:?}"))
    }

    /// Through the JSON API: signs up a customer; its bearer token.
    pub async fn api_customer(&self, username: &str) -> String {
        let account = json!({"username": username, "pin": PIN});
        let created = http_json(self.port, "POST", "/api/v1/users", None, &account).await;
        assert_eq!(created.status, 201, "{}", created.body);
        self.api_token(username).await
    }

    /// Through the JSON API: `username`'s bearer token.
    pub async fn api_token(&self, username: &str) -> String {
        let account = json!({"username": username, "pin": PIN});
        let login = http_json(self.port, "POST", "/api/v1/login", None, &account).await;
        assert_eq!(login.status, 200, "{}", login.body);
        let body: Value = serde_json::from_str(&login.body).expect("a JSON answer");
        body["token"].as_str().expect("a token").to_owned()
    }

    /// Hands a raw message over as a mail server does (the server must
    /// take mail: [`Server::start_taking_mail`]); the outcome's `data`.
    pub async fn deliver_mail(&self, raw: &str) -> Value {
        let authorization = format!("Bearer {INBOUND_TOKEN}");
        let headers = [
            (header::CONTENT_TYPE, "message/rfc822"),
            (header::AUTHORIZATION, authorization.as_str()),
        ];
        let path = "/api/v1/inbound/email";
        let answer = exchange(self.port, Method::POST, path, &headers, raw.to_owned())
            .await
            .unwrap_or_else(|| panic!("no answer to POST {path}"));
        assert_eq!(answer.status, 200, "POST {path}: {}", answer.body);
        let body: Value = serde_json::from_str(&answer.body).expect("a JSON answer");
        body["data"].clone()
    }

    /// Through the JSON API: a request as `token`, which must answer
    /// `status`; the answer's JSON.
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: &Value,
        status: u16,
    ) -> Value {
        let answer = http_json(self.port, method, path, Some(token), body).await;
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.body);
        serde_json::from_str(&answer.body).expect("a JSON answer")
    }
}

/// Where chromedriver is: `CHROMEDRIVER`, or `chromedriver` on `PATH`.
fn find_chromedriver() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMEDRIVER").filter(|path| !path.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromedriver"))
        .find(|candidate| candidate.is_file())
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// One chromedriver, in a process group of its own so that whatever it
/// started can be stopped with it.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// Starts chromedriver on a free port and waits until it is ready.
    /// `None` (after a loud line) when it is not installed and `CI` is not
    /// set; under CI a missing chromedriver fails the test.
    pub async fn start(test: &str) -> Option<Driver> {
        let Some(binary) = find_chromedriver() else {
            assert!(
                !under_ci(),
                "CI is set but chromedriver is not installed: the browser tests must run \
                 (`apt-get install chromium chromium-driver`, as .ci/run does)"
            );
            // Straight to the process's stderr: the test harness would
            // swallow an eprintln! of a passing test.
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!!!!!! SKIPPED browser test `{test}`: chromedriver is not installed \
                 (apt-get install chromium chromium-driver); under CI=true this fails !!!!!!!!\n"
            );
            return None;
        };
        let port = free_port().expect("a free port on 127.0.0.1");
        let mut command = Command::new(&binary);
        command
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("start {}: {error}", binary.display()));
        let mut driver = Driver { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if http_get(port, "/status", None)
                .await
                .is_some_and(|answer| answer.body.contains("\"ready\":true"))
            {
                return Some(driver);
            }
            if let Some(status) = driver.child.try_wait().expect("chromedriver's status") {
                panic!("chromedriver exited before it was ready: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver was not ready within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A new headless Chromium with a window of `size`, its own profile,
    /// pointed at `server`.
    pub async fn browser(&self, server: &Server, size: Size) -> Browser {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-dev-shm-usage",
                    "--disable-gpu",
                    "--hide-scrollbars",
                    "--force-device-scale-factor=1",
                    format!("--window-size={},{}", size.width, size.height),
                ],
            }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session from chromedriver");
        let session = client
            .session_id()
            .await
            .expect("the session id")
            .expect("a session was created");
        let browser = Browser {
            client,
            session,
            driver_port: self.port,
            base: server.url(""),
            server_port: server.port,
            closed: false,
        };
        browser.resize(size).await;
        browser
    }

    fn signal_group(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([signal, "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The sessions are deleted by then (each Browser's Drop); this stops
        // chromedriver and any Chromium a lost session left in its group.
        self.signal_group("-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.signal_group("-KILL");
        let _ = self.child.wait();
    }
}

/// One Chromium session on the server under test.
#[derive(Debug)]
pub struct Browser {
    pub client: Client,
    session: String,
    driver_port: u16,
    base: String,
    server_port: u16,
    closed: bool,
}

impl Browser {
    /// Ends the session (and so its Chromium).
    pub async fn close(mut self) {
        self.closed = true;
        self.client
            .clone()
            .close()
            .await
            .expect("the session deleted");
    }

    /// Sets the window's size and waits (a little) until the page's
    /// viewport has taken the new width: it can lag behind the window.
    pub async fn resize(&self, size: Size) {
        self.client
            .set_window_size(size.width, size.height)
            .await
            .expect("the window resized");
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            let inner = self.js("return window.innerWidth").await.as_u64();
            if inner.is_some_and(|inner| inner.abs_diff(u64::from(size.width)) <= 20) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Opens `path` on the server.
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|error| panic!("open {path}: {error}"));
    }

    pub async fn refresh(&self) {
        self.client.refresh().await.expect("the page reloaded");
    }

    /// The current URL's path.
    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("the current URL")
            .path()
            .to_owned()
    }

    /// Waits until the path satisfies `wanted` (a form's answer may still
    /// be loading); panics with the page's error message, if it shows one.
    pub async fn wait_for_path(&self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let path = self.path().await;
            if wanted(&path) {
                return path;
            }
            if Instant::now() > deadline {
                let error = self.maybe_text("#form-error, .error").await;
                panic!("still on {path} instead of {what}; the page says {error:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(error) => {
                let path = self.path().await;
                panic!("no `{css}` on {path} after {WAIT:?}: {error}")
            }
        }
    }

    /// Every element matching `css` now (no waiting).
    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("find `{css}`: {error}"))
    }

    /// The text of the first `css`, waiting for it.
    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .unwrap_or_else(|error| panic!("the text of `{css}`: {error}"))
    }

    /// The text of the first `css` if there is one now.
    pub async fn maybe_text(&self, css: &str) -> Option<String> {
        let element = self.all(css).await.into_iter().next()?;
        element.text().await.ok()
    }

    /// Waits until the text of `css` contains `wanted`; that text.
    pub async fn wait_for_text(&self, css: &str, wanted: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.maybe_text(css).await.unwrap_or_default();
            if text.contains(wanted) {
                return text;
            }
            if Instant::now() > deadline {
                let path = self.path().await;
                let error = self.maybe_text("#form-error").await;
                panic!(
                    "`{css}` on {path} never contained {wanted:?}: it says {text:?}; \
                     the page's error: {error:?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types `text` into the field `css` (emptied first).
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field
            .clear()
            .await
            .unwrap_or_else(|error| panic!("clear `{css}`: {error}"));
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|error| panic!("type into `{css}`: {error}"));
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|error| panic!("click `{css}`: {error}"));
    }

    /// Clicks the submit button of the form `form` (a CSS selector).
    pub async fn submit(&self, form: &str) {
        self.click(&format!("{form} button[type=submit]")).await;
    }

    /// Runs `script` through WebDriver (not a page script: the pages' CSP
    /// forbids those); its result.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|error| panic!("run {script:?}: {error}"))
    }

    /// The page as the browser holds it now (the DOM, serialised).
    pub async fn source(&self) -> String {
        self.client.source().await.expect("the page source")
    }

    /// Signs up as a customer through /signup; lands signed in.
    pub async fn sign_up(&self, username: &str) {
        self.goto("/signup").await;
        self.fill("form#signup #username", username).await;
        self.fill("form#signup #pin", PIN).await;
        self.submit("form#signup").await;
        self.wait_for_path("a page after signing up", |path| path != "/signup")
            .await;
        self.find("button#sign-out").await;
    }

    /// Signs in through /login; lands signed in.
    pub async fn sign_in(&self, username: &str) {
        self.goto("/login").await;
        self.fill("form#login #username", username).await;
        self.fill("form#login #pin", PIN).await;
        self.submit("form#login").await;
        self.wait_for_path("a page after signing in", |path| path != "/login")
            .await;
        self.find("button#sign-out").await;
    }

    /// Signs out with the header's button; lands on /login.
    pub async fn sign_out(&self) {
        self.click("button#sign-out").await;
        self.wait_for_path("/login after signing out", |path| path == "/login")
            .await;
    }

    /// The session cookie's `name=value`, for a request outside the browser.
    pub async fn session_cookie(&self) -> String {
        let cookie = self
            .client
            .get_named_cookie("tracker_session")
            .await
            .expect("a tracker_session cookie");
        format!("{}={}", cookie.name(), cookie.value())
    }

    /// GET `path` with this browser's session, outside the browser.
    pub async fn fetch(&self, path: &str) -> HttpAnswer {
        let cookie = self.session_cookie().await;
        http_get(self.server_port, path, Some(&cookie))
            .await
            .unwrap_or_else(|| panic!("no answer to GET {path}"))
    }

    /// Whether the page scrolls sideways: its width against the window's,
    /// and what sticks out when it does.
    pub async fn sideways_overflow(&self) -> Option<String> {
        let measured = self
            .js(
                "const root = document.documentElement; \
                 const wide = [...document.body.querySelectorAll('*')] \
                   .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5) \
                   .slice(0, 8) \
                   .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + \
                        (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '') + \
                        ' right=' + Math.round(e.getBoundingClientRect().right)); \
                 return [root.scrollWidth, window.innerWidth, wide];",
            )
            .await;
        let scroll = measured[0].as_f64().expect("scrollWidth");
        let inner = measured[1].as_f64().expect("innerWidth");
        (scroll > inner).then(|| {
            format!(
                "scrollWidth {scroll} > innerWidth {inner}; sticking out: {}",
                measured[2]
            )
        })
    }

    /// Saves a PNG of the whole page as `{size.label}-{name}.png` in
    /// `SCREENSHOTS_DIR`, when it is set; the window is made as tall as the
    /// page for the shot, then put back to `size`.
    pub async fn screenshot(&self, size: Size, name: &str) {
        let Some(dir) = std::env::var_os("SCREENSHOTS_DIR").filter(|dir| !dir.is_empty()) else {
            return;
        };
        // The window's height counts more than the viewport's: grow it
        // until the viewport holds the whole page.
        let mut height = size.height;
        for _ in 0..3 {
            let measured = self
                .js("return [Math.ceil(document.documentElement.scrollHeight), window.innerHeight]")
                .await;
            let page = measured[0].as_u64().expect("the page's height");
            let viewport = measured[1].as_u64().expect("the viewport's height");
            if viewport >= page || height >= MAX_SHOT_HEIGHT {
                break;
            }
            let grown = u64::from(height) + (page - viewport);
            height = u32::try_from(grown).map_or(MAX_SHOT_HEIGHT, |h| h.min(MAX_SHOT_HEIGHT));
            self.resize(Size { height, ..size }).await;
        }
        let png = self.client.screenshot().await.expect("a screenshot");
        self.resize(size).await;
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("the screenshots directory");
        let file = dir.join(format!("{}-{name}.png", size.label));
        std::fs::write(&file, png).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        eprintln!("screenshot: {}", file.display());
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        // Not closed: the test failed on the way. Delete the session, which
        // ends its Chromium, on a thread with a runtime of its own: this
        // runs inside the test's runtime (which cannot block on itself),
        // maybe while it goes down with the panic.
        let (port, path) = (self.driver_port, format!("/session/{}", self.session));
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to delete the session on");
            runtime.block_on(exchange(port, Method::DELETE, &path, &[], String::new()))
        })
        .join();
    }
}

/// The ticket id in a path `/tickets/{id}`.
pub fn ticket_id(path: &str) -> Option<u64> {
    path.strip_prefix("/tickets/")?.parse().ok()
}
