//! Shared helpers for the integration tests: start the real `mudhost` binary (portal + server) on
//! a free port with a temporary game folder, and drive it with real websocket clients. Helpers
//! wait for events (a frame, a process exit), never for fixed sleeps; every wait has a timeout
//! so a broken host fails the test instead of hanging it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// The `mudhost` binary: `MUDHOST_BIN` if set (the load generator points it at a release
/// build), else the one cargo built for these tests.
pub fn mudhost_bin() -> PathBuf {
    std::env::var_os("MUDHOST_BIN")
        .map(PathBuf::from)
        .or_else(|| option_env!("CARGO_BIN_EXE_mudhost").map(PathBuf::from))
        .expect("set MUDHOST_BIN to the mudhost binary")
}

/// Where the guest modules were built (`cargo xtask test` sets MUDHOST_GUEST_DIR).
pub fn guest_dir() -> PathBuf {
    std::env::var_os("MUDHOST_GUEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm/modules"))
}

/// Path of a built guest module by module name (e.g. "character", "wrong_world").
pub fn guest(name: &str) -> PathBuf {
    let p = guest_dir().join(format!("{name}.wasm"));
    assert!(p.exists(), "{} is missing: run the tests with `cargo xtask test`", p.display());
    p
}

/// The example game's modules.
pub const GAME: &[&str] = &["unloggedin", "account", "character"];

/// A running host in a temporary game folder.
pub struct Host {
    pub dir: tempfile::TempDir,
    pub url: String,
    /// The telnet listener's address (tests set `telnet_addr` to port 0; None if turned off).
    pub telnet: Option<std::net::SocketAddr>,
    /// The web client's address as the portal printed it (`http://host:port/`).
    pub page_url: String,
    portal: Option<Child>,
    /// Extra environment for the portal (and so its server), e.g. `MUDHOST_FAILPOINT`.
    pub env: Vec<(String, String)>,
}

impl Host {
    /// Start a host with these modules and extra config lines (TOML, merged over test defaults).
    pub fn start(modules: &[&str], extra_config: &str) -> Host {
        Host::start_with_env(modules, extra_config, &[])
    }

    /// [`Host::start`] with extra environment variables for the host processes.
    pub fn start_with_env(modules: &[&str], extra_config: &str, env: &[(&str, &str)]) -> Host {
        Host::start_prepared(modules, extra_config, env, |_| {})
    }

    /// As [`Host::start_with_env`], but `prepare` may change the game folder before the host
    /// starts.
    pub fn start_prepared(
        modules: &[&str],
        extra_config: &str,
        env: &[(&str, &str)],
        prepare: impl FnOnce(&Path),
    ) -> Host {
        let dir = tempfile::Builder::new().prefix("mh").tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("modules")).unwrap();
        for m in modules {
            std::fs::copy(guest(m), dir.path().join("modules").join(format!("{m}.wasm"))).unwrap();
        }
        let mut cfg: toml::Table = toml::from_str(
            r#"
            ws_addr = "127.0.0.1:0"
            telnet_addr = "127.0.0.1:0"
            modules_dir = "modules"
            data_dir = "data"
            argon2_memory_kib = 64
            argon2_iterations = 1
            restart_backoff_ms = 50
            "#,
        )
        .unwrap();
        let extra: toml::Table = toml::from_str(extra_config).expect("extra config is TOML");
        cfg.extend(extra);
        std::fs::write(dir.path().join("mudhost.toml"), cfg.to_string()).unwrap();
        prepare(dir.path());
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut host = Host {
            dir,
            url: String::new(),
            telnet: None,
            page_url: String::new(),
            portal: None,
            env,
        };
        host.launch();
        host
    }

    /// Start the portal again on the same folder (after [`Host::stop`]).
    pub fn launch(&mut self) {
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.log_path()).unwrap();
        let mut child = Command::new(mudhost_bin())
            .arg("start")
            .arg("--config")
            .arg(self.config_path())
            .env("RUST_LOG", std::env::var("MUDHOST_TEST_LOG").unwrap_or_else(|_| "info".into()))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start mudhost");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // The telnet line (if any) comes first, then the websocket one, then the page's.
            let (mut telnet, mut ws) = (None, None);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("mudhost portal listening on telnet://") {
                    telnet = addr.parse().ok();
                }
                if let Some(addr) = line.strip_prefix("mudhost portal listening on ws://") {
                    ws = Some(addr.to_string());
                } else if let Some(page) = line.strip_prefix("web client: ") {
                    // The last of the three lines.
                    if let Some(addr) = ws.take() {
                        let _ = tx.send((addr, telnet.take(), page.to_string()));
                    }
                }
            }
        });
        let (addr, telnet, page) = rx
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("portal did not start; log:\n{}", self.log()));
        self.url = format!("ws://{addr}/");
        self.telnet = telnet;
        self.page_url = page;
        self.portal = Some(child);
    }

    /// The game's config file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("mudhost.toml")
    }

    /// The modules folder.
    pub fn modules_dir(&self) -> PathBuf {
        self.dir.path().join("modules")
    }

    /// The combined portal + server log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("host.log")
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Run `mudhost <args> --config <this game>` and return its stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(mudhost_bin())
            .args(args)
            .arg("--config")
            .arg(self.config_path())
            .output()
            .expect("run mudhost cli");
        assert!(
            out.status.success(),
            "mudhost {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The server process id, from `mudhost status` (waits until the server is up).
    pub fn server_pid(&self) -> u32 {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let status = self.cli(&["status"]);
            if let Some(rest) = status.split("server up (pid ").nth(1) {
                return rest.split(')').next().unwrap().parse().unwrap();
            }
            assert!(std::time::Instant::now() < deadline, "server never came up: {status}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Ask the portal to stop (SIGTERM) and wait for it to exit; returns its exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.portal.take().expect("portal running");
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        wait_exit(&mut child)
    }

    /// SIGKILL the portal (its server must die with it) and reap it.
    pub fn kill_portal(&mut self) {
        let mut child = self.portal.take().expect("portal running");
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Wait for the portal to exit by itself (after `mudhost stop`).
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let mut child = self.portal.take().expect("portal running");
        wait_exit(&mut child)
    }

    /// A connected client that has seen its connection screen.
    pub async fn client(&self) -> Client {
        let mut c = Client::connect(&self.url).await;
        c.expect_text("connect").await;
        c
    }

    /// A client logged in (creating the account) and puppeting its character.
    pub async fn player(&self, name: &str) -> Client {
        Client::player(&self.url, name).await
    }

    /// Create an account from `ip` (the first one is the superuser); the client is dropped.
    pub async fn create_from(&self, name: &str, ip: &str) {
        let mut c = Client::connect_from(&self.url, ip).await;
        c.expect_text("connect").await;
        c.send_text(&format!("create {name} password123")).await;
        c.expect_text("was created").await;
    }

    /// A new session of an existing account from `ip`, once the host says it is logged in.
    pub async fn login_from(&self, name: &str, ip: &str) -> Client {
        let mut c = Client::connect_from(&self.url, ip).await;
        c.expect_text("connect").await;
        c.send_text(&format!("connect {name} password123")).await;
        c.expect_oob("logged_in").await;
        c
    }

    /// Create an account from `ip`, log in from there and wait until its character is puppeted
    /// (new characters start in Limbo).
    pub async fn player_from(&self, name: &str, ip: &str) -> Client {
        self.create_from(name, ip).await;
        let mut c = self.login_from(name, ip).await;
        c.expect_text(&format!("You become {name}.")).await;
        c.expect_text("Limbo").await;
        c
    }
}

impl Client {
    /// Connect (from an address of its own), create the account, log in, and wait until the
    /// character is puppeted.
    pub async fn player(url: &str, name: &str) -> Client {
        let c = Client::connect(url).await;
        c.become_player(name).await
    }

    /// On a fresh connection: create the account, log in, and wait until puppeted.
    pub async fn become_player(self, name: &str) -> Client {
        let mut c = self;
        c.expect_text("connect").await;
        c.send_text(&format!("create {name} password123")).await;
        c.expect_text("was created").await;
        c.send_text(&format!("connect {name} password123")).await;
        c.expect_oob("logged_in").await;
        c.expect_text(&format!("You become {name}")).await;
        // New characters start in Limbo; the host shows the room after puppeting.
        c.expect_text("Limbo").await;
        c
    }
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        assert!(std::time::Instant::now() < deadline, "process did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(mut c) = self.portal.take() {
            // SIGKILL the portal; the server dies with it (PDEATHSIG).
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!("---- host log ----\n{}", self.log());
        }
    }
}

/// A websocket client speaking the v1 webclient format.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Every frame received so far, decoded.
    pub seen: Vec<Value>,
}

/// Text of an outbound `text` frame with the HTML markup removed.
pub fn plain(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    let html = html.replace("<br>", "\n");
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// A loopback address no other client of this process has used (127.1.x.y): the host's
/// per-address limits (connections, login and creation throttles) then see each test client as
/// a player of its own, as real players on their own machines are.
pub fn fresh_loopback() -> IpAddr {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    IpAddr::V4(Ipv4Addr::new(127, 1, ((n / 250) % 256) as u8, (n % 250 + 1) as u8))
}

/// How a test client opens its connection.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Source address (a 127.x.y.z address; default: a fresh one).
    pub from: Option<IpAddr>,
    /// Socket receive buffer in bytes (small: a client that reads slowly fills up fast).
    pub recv_buffer: Option<u32>,
    /// An `X-Forwarded-For` header, as a reverse proxy would send it.
    pub forwarded_for: Option<String>,
}

/// A client source address: an `IpAddr` or its text.
pub trait SourceAddr {
    /// The address.
    fn ip(self) -> IpAddr;
}

impl SourceAddr for IpAddr {
    fn ip(self) -> IpAddr {
        self
    }
}

impl SourceAddr for &str {
    fn ip(self) -> IpAddr {
        self.parse().expect("an IP address")
    }
}

impl Client {
    /// Connect from a loopback address of its own (no subprotocol header: v1 by default).
    pub async fn connect(url: &str) -> Client {
        Client::connect_with(url, ConnectOptions::default()).await
    }

    /// Connect from a chosen loopback address (127.x.y.z), so per-address throttles count
    /// each test client apart. `url` may carry a query string (`?csessid&cuid&browser`).
    pub async fn connect_from(url: &str, from: impl SourceAddr) -> Client {
        Client::connect_with(url, ConnectOptions { from: Some(from.ip()), ..Default::default() })
            .await
    }

    /// Connect with options; panics if the websocket handshake fails.
    pub async fn connect_with(url: &str, opts: ConnectOptions) -> Client {
        let addr: SocketAddr = url
            .trim_start_matches("ws://")
            .split(['/', '?'])
            .next()
            .and_then(|hostport| hostport.parse().ok())
            .expect("test urls are ws://IP:PORT/[?query]");
        let from = opts.from.unwrap_or_else(fresh_loopback);
        let connect = async {
            let sock = TcpSocket::new_v4()?;
            sock.bind(SocketAddr::new(from, 0))?;
            if let Some(n) = opts.recv_buffer {
                sock.set_recv_buffer_size(n)?;
            }
            sock.connect(addr).await
        };
        let stream = tokio::time::timeout(WAIT, connect)
            .await
            .expect("connect timed out")
            .expect("tcp connect");
        let mut request = url.into_client_request().expect("a valid url");
        if let Some(xff) = &opts.forwarded_for {
            request
                .headers_mut()
                .insert("x-forwarded-for", xff.parse().expect("a valid header value"));
        }
        let (ws, _) = tokio::time::timeout(
            WAIT,
            tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)),
        )
        .await
        .expect("websocket handshake timed out")
        .expect("websocket connect");
        Client { ws, seen: vec![] }
    }

    /// Read until the connection closes; returns the close frame's reason ("" without one).
    pub async fn close_reason(&mut self) -> String {
        loop {
            let msg =
                tokio::time::timeout(WAIT, self.ws.next()).await.expect("no close within the wait");
            match msg {
                Some(Ok(Message::Close(frame))) => {
                    return frame.map(|f| f.reason.to_string()).unwrap_or_default()
                }
                Some(Ok(Message::Text(t))) => {
                    if let Ok(v) = serde_json::from_str::<Value>(t.as_str()) {
                        self.seen.push(v);
                    }
                }
                Some(Ok(_)) => {}
                None | Some(Err(_)) => return String::new(),
            }
        }
    }

    /// Send a command line.
    pub async fn send_text(&mut self, line: &str) {
        self.send_json(json!(["text", [line], {}])).await;
    }

    /// Send any JSON value as a text frame.
    pub async fn send_json(&mut self, v: Value) {
        self.ws.send(Message::text(v.to_string())).await.expect("send");
    }

    /// Send a raw websocket message.
    pub async fn send_raw(&mut self, m: Message) {
        self.ws.send(m).await.expect("send raw");
    }

    /// The next decoded frame; None when the connection closed.
    pub async fn next(&mut self) -> Option<Value> {
        // One deadline for the whole wait: the portal's pings must not keep restarting it.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("no frame within the wait");
            match msg {
                Some(Ok(Message::Text(t))) => {
                    let v: Value =
                        serde_json::from_str(t.as_str()).expect("server frames are JSON");
                    self.seen.push(v.clone());
                    return Some(v);
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The next `text` frame's plain text; None when the connection closed.
    pub async fn next_text(&mut self) -> Option<String> {
        loop {
            let v = self.next().await?;
            if v[0] == "text" {
                return Some(plain(v[1][0].as_str().unwrap_or("")));
            }
        }
    }

    /// Read until a text frame containing `needle`; returns that text.
    pub async fn expect_text(&mut self, needle: &str) -> String {
        let mut got = vec![];
        loop {
            match self.next_text().await {
                Some(t) if t.contains(needle) => return t,
                Some(t) => got.push(t),
                None => panic!("connection closed while waiting for {needle:?}; got {got:?}"),
            }
        }
    }

    /// Read until an out-of-band frame named `cmd`; returns it.
    pub async fn expect_oob(&mut self, cmd: &str) -> Value {
        loop {
            match self.next().await {
                Some(v) if v[0] == cmd => return v,
                Some(_) => {}
                None => panic!("connection closed while waiting for {cmd:?}"),
            }
        }
    }

    /// Read until the server closes the connection; returns the texts seen before.
    pub async fn expect_closed(&mut self) -> Vec<String> {
        let mut texts = vec![];
        while let Some(t) = self.next_text().await {
            texts.push(t);
        }
        texts
    }

    /// Read until the server closes the connection; returns the texts seen before and the
    /// close frame's reason (empty if the frame had none).
    pub async fn expect_close_reason(&mut self) -> (Vec<String>, String) {
        let mut texts = vec![];
        loop {
            let msg =
                tokio::time::timeout(WAIT, self.ws.next()).await.expect("no frame within the wait");
            match msg {
                Some(Ok(Message::Text(t))) => {
                    let v: Value =
                        serde_json::from_str(t.as_str()).expect("server frames are JSON");
                    self.seen.push(v.clone());
                    if v[0] == "text" {
                        texts.push(plain(v[1][0].as_str().unwrap_or("")));
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    return (texts, frame.map(|f| f.reason.to_string()).unwrap_or_default());
                }
                None | Some(Err(_)) => return (texts, String::new()),
                Some(Ok(_)) => {}
            }
        }
    }

    /// Send a command and return the first text frame answering it.
    pub async fn ask(&mut self, line: &str) -> String {
        self.send_text(line).await;
        self.next_text().await.expect("an answer")
    }
}
