//! The bundled web client: served over plain HTTP on the websocket port (with the request head
//! bounded in bytes and time), and played in headless Chromium driven through WebDriver
//! (Debian's `chromium` and `chromium-driver`; `cargo xtask test` installs them when missing):
//! open the page, create an account with the password masked, `look` in colour, recall history,
//! and reconnect after the portal restarts. Screenshots go to `target/test-artifacts/`.

use crate::support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use fantoccini::{Client as Browser, ClientBuilder, Locator};
use futures_util::FutureExt;
use serde_json::{json, Value};
use support::{Client, Host, GAME, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A free loopback port (the page must find the portal at the same port after a restart).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `GET path` over a fresh connection; the whole response as text.
async fn http_get(host: &Host, path: &str) -> String {
    let addr = host.url.trim_start_matches("ws://").trim_end_matches('/');
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut out)).await.expect("response in time").unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_on_the_websocket_port_and_the_address_is_printed() {
    let host = Host::start(GAME, "server_name = \"Test <MUD>\"");
    let port = host.url.trim_end_matches('/').rsplit(':').next().unwrap().to_owned();
    assert_eq!(
        host.page_url,
        format!("http://127.0.0.1:{port}/"),
        "the portal prints the page's address"
    );

    let page = http_get(&host, "/").await;
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("Content-Type: text/html; charset=utf-8"), "{page}");
    assert!(page.contains("<title>Test &lt;MUD&gt;</title>"), "the server name, escaped: {page}");
    assert!(page.contains("aria-live"), "{page}");
    for (path, kind) in [
        ("/webclient.js", "text/javascript"),
        ("/webclient.css", "text/css"),
        ("/colors.css", "text/css"),
    ] {
        let resp = http_get(&host, path).await;
        assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{path}: {resp}");
        assert!(resp.contains(&format!("Content-Type: {kind}")), "{path}: {resp}");
    }
    // Nothing comes from elsewhere: every script and style is one of ours.
    for tag in page.split('<').filter(|t| t.starts_with("script") || t.starts_with("link")) {
        assert!(!tag.contains("http"), "no external asset: <{tag}");
    }
    assert!(http_get(&host, "/nothing-here").await.starts_with("HTTP/1.1 404"));

    // The same port still takes websocket players.
    let mut c = Client::connect(&host.url).await;
    c.expect_text("connect <username> <password>").await;
}

#[tokio::test]
async fn a_slow_or_oversized_request_head_is_cut_off_and_others_are_served_meanwhile() {
    let host = Host::start(GAME, "handshake_timeout_ms = 1500\nhttp_head_bytes = 4096");
    let addr = host.url.trim_start_matches("ws://").trim_end_matches('/').to_owned();

    // Twenty clients trickle a header byte every 100 ms, for longer than the deadline allows;
    // each from an address of its own (from one address, those over `max_handshakes_per_ip`
    // would be closed at once, which `limits.rs` tests).
    let mut trickles = vec![];
    for i in 0..20u8 {
        let addr: std::net::SocketAddr = addr.parse().unwrap();
        trickles.push(tokio::spawn(async move {
            let sock = tokio::net::TcpSocket::new_v4().unwrap();
            sock.bind(std::net::SocketAddr::from(([127, 31, 0, i + 1], 0))).unwrap();
            let mut tcp = sock.connect(addr).await.unwrap();
            tcp.write_all(b"GET / HTTP/1.1\r\nX-Slow: ").await.unwrap();
            let started = Instant::now();
            let mut buf = [0u8; 64];
            loop {
                tokio::select! {
                    r = tcp.read(&mut buf) => {
                        // Closed by the host, with nothing served.
                        assert!(matches!(r, Ok(0) | Err(_)), "a half-sent request got an answer");
                        return started.elapsed();
                    }
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {
                        if tcp.write_all(b"a").await.is_err() {
                            return started.elapsed();
                        }
                        assert!(started.elapsed() < WAIT, "the host kept a trickling client past {WAIT:?}");
                    }
                }
            }
        }));
    }
    // Meanwhile a player connects and plays, and the page is served.
    let mut c = Client::connect(&host.url).await;
    c.expect_text("connect <username> <password>").await;
    assert!(http_get(&host, "/").await.starts_with("HTTP/1.1 200 OK"));
    for t in trickles {
        let held = t.await.unwrap();
        assert!(held >= Duration::from_millis(1000), "cut off before the deadline ({held:?})");
    }

    // A head over the byte limit is refused at once with 431.
    let mut tcp = TcpStream::connect(&addr).await.unwrap();
    let mut big = b"GET / HTTP/1.1\r\n".to_vec();
    while big.len() < 6000 {
        big.extend_from_slice(b"X-Filler: 0123456789012345678901234567890123456789\r\n");
    }
    let _ = tcp.write_all(&big).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(WAIT, tcp.read_to_end(&mut out)).await.expect("an answer in time");
    let out = String::from_utf8_lossy(&out);
    assert!(out.starts_with("HTTP/1.1 431"), "{out}");
}

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Driver {
    fn start() -> Driver {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is missing: install Debian's chromium and chromium-driver (`cargo xtask deps`)");
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, port, profile: tempfile::tempdir().unwrap() }
    }

    async fn browser(&self) -> Browser {
        let mut caps = serde_json::Map::new();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1000,800",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--user-data-dir={}", self.profile.path().display())])
        .collect::<Vec<_>>();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "args": args, "binary": "/usr/bin/chromium" }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        tokio::time::timeout(
            Duration::from_secs(60),
            ClientBuilder::new(connector)
                .capabilities(caps)
                .connect(&format!("http://127.0.0.1:{}", self.port)),
        )
        .await
        .expect("chromium did not start in time")
        .expect("a chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Evaluate `js` (a function body) in the page.
async fn js(b: &Browser, script: &str) -> Value {
    b.execute(script, vec![]).await.unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

/// Poll `script` (returning a boolean) until it is true.
async fn wait_until(b: &Browser, what: &str, script: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        if js(b, script).await == json!(true) {
            return;
        }
        if Instant::now() > deadline {
            let output = js(b, "return document.getElementById('output').innerText").await;
            let state = js(b, "return document.getElementById('connection').textContent").await;
            panic!(
                "timed out waiting for {what}; state {state}; output:\n{}",
                output.as_str().unwrap_or("")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Wait until the output shows `text` at least `times` times.
async fn wait_output(b: &Browser, text: &str, times: usize) {
    let script = format!(
        "return document.getElementById('output').innerText.split({}).length - 1 >= {times}",
        serde_json::to_string(text).unwrap()
    );
    wait_until(b, &format!("{text:?} x{times} in the output"), &script, WAIT).await;
}

async fn type_line(b: &Browser, line: &str) {
    let input = b.find(Locator::Id("input")).await.unwrap();
    input.send_keys(line).await.unwrap();
    input.send_keys(&String::from(char::from(Key::Enter))).await.unwrap();
}

async fn input_value(b: &Browser) -> String {
    js(b, "return document.getElementById('input').value").await.as_str().unwrap().to_owned()
}

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(b: &Browser, name: &str) {
    let png = b.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(artifacts().join(name), png).unwrap();
}

#[tokio::test]
async fn chromium_opens_the_page_creates_an_account_plays_in_colour_recalls_history_and_reconnects_after_a_restart(
) {
    let port = free_port();
    let mut host = Host::start(
        GAME,
        &format!("ws_addr = \"127.0.0.1:{port}\"\nserver_name = \"Web Test MUD\""),
    );
    let driver = Driver::start();
    let b = driver.browser().await;
    let result = std::panic::AssertUnwindSafe(play(&b, &mut host)).catch_unwind().await;
    // Save what the page looked like, whatever happened, then close the browser.
    if let Ok(png) = b.screenshot().await {
        let _ = std::fs::write(artifacts().join("webclient-last.png"), png);
    }
    let _ = b.close().await;
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

async fn play(b: &Browser, host: &mut Host) {
    b.goto(&host.page_url).await.unwrap();
    assert_eq!(b.title().await.unwrap(), "Web Test MUD");
    wait_output(b, "connect <username> <password>", 1).await;
    wait_until(
        b,
        "connected state",
        "return document.getElementById('connection').dataset.state === 'connected'",
        WAIT,
    )
    .await;
    let status = js(b, "return document.getElementById('status').innerText").await;
    assert!(status.as_str().unwrap().contains("Web Test MUD"), "status line: {status}");
    assert_eq!(
        js(b, "return document.getElementById('output').getAttribute('aria-live')").await,
        json!("polite")
    );
    assert_eq!(
        js(b, "return document.activeElement.id").await,
        json!("input"),
        "focus starts on the input"
    );

    // The password of a login command is read masked.
    let input = b.find(Locator::Id("input")).await.unwrap();
    input.send_keys("create Webby sekrit123").await.unwrap();
    assert_eq!(js(b, "return document.getElementById('input').type").await, json!("password"));
    assert_eq!(input_value(b).await, "sekrit123");
    assert_eq!(
        js(b, "return document.getElementById('pwprefix').textContent").await,
        json!("create Webby ")
    );
    input.send_keys(&String::from(char::from(Key::Enter))).await.unwrap();
    wait_output(b, "A new account 'Webby' was created", 1).await;
    assert_eq!(js(b, "return document.getElementById('input').type").await, json!("text"));

    type_line(b, "connect Webby sekrit123").await;
    wait_output(b, "You become Webby", 1).await;
    wait_until(
        b,
        "logged_in in the status",
        "return document.getElementById('connection').textContent.includes('logged in')",
        WAIT,
    )
    .await;
    let shown = js(b, "return document.body.innerText").await;
    assert!(!shown.as_str().unwrap().contains("sekrit123"), "the password never shows: {shown}");

    // Colour: look's output carries the palette classes, and they paint.
    // Each showing of the room ends with its exits: once after puppeting, once for `look`.
    type_line(b, "look").await;
    wait_output(b, "Exits:", 2).await;
    let colours = js(
        b,
        "return [...document.querySelectorAll('#output span[class*=\"color-\"]')]\
         .map(e => getComputedStyle(e).color)",
    )
    .await;
    let colours: Vec<String> = serde_json::from_value(colours).unwrap();
    let plain = js(b, "return getComputedStyle(document.getElementById('output')).color").await;
    assert!(
        colours.iter().any(|c| json!(c) != plain),
        "coloured spans are drawn in colour: {colours:?} vs {plain}"
    );
    screenshot(b, "webclient-look.png").await;

    // History: Up walks back (the password was never kept), Down returns to the empty line.
    let input = b.find(Locator::Id("input")).await.unwrap();
    let up = String::from(char::from(Key::Up));
    let down = String::from(char::from(Key::Down));
    input.send_keys(&up).await.unwrap();
    assert_eq!(input_value(b).await, "look");
    input.send_keys(&up).await.unwrap();
    assert_eq!(input_value(b).await, "connect Webby");
    input.send_keys(&up).await.unwrap();
    assert_eq!(input_value(b).await, "create Webby");
    input.send_keys(&down).await.unwrap();
    input.send_keys(&down).await.unwrap();
    assert_eq!(input_value(b).await, "look");
    input.send_keys(&down).await.unwrap();
    assert_eq!(input_value(b).await, "");
    // A recalled line is sent like a typed one.
    input.send_keys(&up).await.unwrap();
    input.send_keys(&String::from(char::from(Key::Enter))).await.unwrap();
    wait_output(b, "Exits:", 3).await;

    // Clicking the output keeps the keyboard on the input.
    b.find(Locator::Id("output")).await.unwrap().click().await.unwrap();
    assert_eq!(js(b, "return document.activeElement.id").await, json!("input"));

    // The portal restarts on the same port: the page notices, retries, and gets a new screen.
    assert!(host.stop().success());
    wait_until(
        b,
        "the reconnecting state",
        "return document.getElementById('connection').dataset.state !== 'connected'",
        WAIT,
    )
    .await;
    wait_output(b, "The connection was closed or lost.", 1).await;
    host.launch();
    wait_output(b, "connect <username> <password>", 2).await;
    wait_until(
        b,
        "connected again",
        "return document.getElementById('connection').dataset.state === 'connected'",
        WAIT,
    )
    .await;
    type_line(b, "connect Webby sekrit123").await;
    wait_output(b, "You become Webby", 2).await;
    type_line(b, "say back again").await;
    wait_output(b, "back again", 2).await;
    screenshot(b, "webclient-reconnected.png").await;

    // Phone-sized: nothing overflows sideways and the input line is on screen.
    b.set_window_size(390, 844).await.unwrap();
    wait_until(
        b,
        "a phone-sized layout",
        "const r = document.getElementById('input').getBoundingClientRect();\
         const s = document.getElementById('status').getBoundingClientRect();\
         const o = document.getElementById('output');\
         return document.documentElement.scrollWidth <= window.innerWidth && r.bottom <= window.innerHeight\
           && r.width > 150 && s.top >= 0 && window.scrollY === 0\
           && o.scrollHeight - o.scrollTop - o.clientHeight < 40",
        WAIT,
    )
    .await;
    screenshot(b, "webclient-phone.png").await;
}
