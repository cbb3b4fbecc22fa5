//! Telnet, driven by a test MUD client over real TCP: every option the portal offers, NAWS and
//! TTYPE/MTTS in the session's flags (read back with the `trouble` module's `sessdata`), the
//! password prompt with echo off, GMCP both ways, MSSP, MCCP2, EOR/GA prompts, line handling,
//! bounded memory against a hostile client, and a server reload that keeps telnet players
//! connected with their input replayed.

use crate::support;

use std::net::SocketAddr;
use std::time::Instant;

use flate2::{Decompress, FlushDecompress};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use support::{Host, WAIT};

const IAC: u8 = 255;
const DONT: u8 = 254;
const DO: u8 = 253;
const WONT: u8 = 252;
const WILL: u8 = 251;
const SB: u8 = 250;
const GA: u8 = 249;
const SE: u8 = 240;
const EOR_CMD: u8 = 239;
const ECHO: u8 = 1;
const SGA: u8 = 3;
const TTYPE: u8 = 24;
const EOR: u8 = 25;
const NAWS: u8 = 31;
const CHARSET: u8 = 42;
const MSSP: u8 = 70;
const MCCP2: u8 = 86;
const GMCP: u8 = 201;

const MODULES: &[&str] = &["unloggedin", "account", "character", "trouble"];
// Test clients send back to back; the command rate is a limit of its own (tests/limits.rs).
// Nothing here tests the guest deadline (tests/hostile.rs does): a generous one keeps a loaded
// CI machine from failing a `look` and with it a telnet test.
const CONFIG: &str =
    "cmdset_character = [\"character\", \"trouble\"]\ncommand_rate = 0\nguest_deadline_ms = 2000\ncommand_rate_per_ip = 0\ninbound_frames_per_sec = 0\ninbound_frames_per_sec_per_ip = 0";

/// What one test client says about itself.
#[derive(Clone)]
struct Caps {
    /// TTYPE answers in order (name, terminal, MTTS); empty = WONT TTYPE.
    ttype: Vec<&'static str>,
    naws: Option<(u16, u16)>,
    gmcp: bool,
    mccp: bool,
    eor: bool,
    sga: bool,
    /// Answer every other offer (MSSP, CHARSET) with DO.
    rest: bool,
}

impl Caps {
    fn full() -> Caps {
        Caps {
            ttype: vec!["Mudlet 4.17", "xterm-256color", "MTTS 2381"],
            naws: Some((120, 40)),
            gmcp: true,
            mccp: false,
            eor: true,
            sga: true,
            rest: true,
        }
    }

    fn plain() -> Caps {
        Caps {
            ttype: vec![],
            naws: None,
            gmcp: false,
            mccp: false,
            eor: false,
            sga: false,
            rest: false,
        }
    }
}

/// One thing the server sent, after MCCP2 decompression.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Data(u8),
    Cmd(u8, u8),
    Iac(u8),
    Sub(u8, Vec<u8>),
}

/// A telnet test client: answers negotiations per its `Caps`, inflates MCCP2, and keeps every
/// item received, in order.
struct Telnet {
    stream: TcpStream,
    caps: Caps,
    items: Vec<Item>,
    /// Items before this index were already consumed by an `expect_item` / `expect_gmcp`.
    cursor: usize,
    /// Every data byte received (decompressed), and how far `expect_text` has read its text.
    data: Vec<u8>,
    text_cursor: usize,
    /// Raw bytes received (before decompression), for checking that compression happened.
    raw: Vec<u8>,
    inflate: Option<Decompress>,
    ttype_next: usize,
    /// Scanner state over the (decompressed) stream.
    state: Scan,
}

#[derive(Debug, Clone)]
enum Scan {
    Data,
    Iac,
    Cmd(u8),
    Sub(Vec<u8>),
    SubIac(Vec<u8>),
}

impl Telnet {
    async fn connect(addr: SocketAddr, from: &str, caps: Caps) -> Telnet {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{from}:0").parse().unwrap()).expect("bind a loopback source address");
        let stream = tokio::time::timeout(WAIT, socket.connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect");
        Telnet {
            stream,
            caps,
            items: vec![],
            cursor: 0,
            data: vec![],
            text_cursor: 0,
            raw: vec![],
            inflate: None,
            ttype_next: 0,
            state: Scan::Data,
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("send");
    }

    async fn line(&mut self, line: &str) {
        self.send(format!("{line}\r\n").as_bytes()).await;
    }

    async fn gmcp(&mut self, payload: &str) {
        let mut b = vec![IAC, SB, GMCP];
        b.extend(payload.as_bytes());
        b.extend([IAC, SE]);
        self.send(&b).await;
    }

    /// Read once (waiting up to `WAIT`); false when the server closed the connection.
    async fn read_some(&mut self) -> bool {
        let mut buf = vec![0u8; 65536];
        let Ok(n) = tokio::time::timeout(WAIT, self.stream.read(&mut buf)).await else {
            let text = self.text();
            panic!(
                "nothing received within the wait; text after the cursor: {:?}",
                text.get(self.text_cursor..).unwrap_or("")
            );
        };
        let n = match n {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        self.raw.extend(&buf[..n]);
        let mut rest: &[u8] = &buf[..n];
        while !rest.is_empty() {
            if let Some(z) = self.inflate.as_mut() {
                let mut out = Vec::with_capacity(rest.len() * 8 + 1024);
                loop {
                    let before = z.total_in();
                    z.decompress_vec(rest, &mut out, FlushDecompress::Sync)
                        .expect("valid zlib stream");
                    rest = &rest[(z.total_in() - before) as usize..];
                    if rest.is_empty() {
                        break;
                    }
                    out.reserve(out.len() + 65536);
                }
                let mut pending = vec![];
                for b in out {
                    self.scan(b, &mut pending);
                }
                self.answer(pending).await;
                break;
            }
            let mut pending = vec![];
            let mut used = 0;
            for &b in rest {
                used += 1;
                if self.scan(b, &mut pending) {
                    self.inflate = Some(Decompress::new(true));
                    break;
                }
            }
            rest = &rest[used..];
            self.answer(pending).await;
        }
        true
    }

    /// Scan one byte; true when an MCCP2 start marker just ended (compressed data follows).
    fn scan(&mut self, b: u8, pending: &mut Vec<Item>) -> bool {
        let state = std::mem::replace(&mut self.state, Scan::Data);
        let (next, item) = match (state, b) {
            (Scan::Data, IAC) => (Scan::Iac, None),
            (Scan::Data, b) => (Scan::Data, Some(Item::Data(b))),
            (Scan::Iac, IAC) => (Scan::Data, Some(Item::Data(IAC))),
            (Scan::Iac, SB) => (Scan::Sub(vec![]), None),
            (Scan::Iac, c @ (WILL | WONT | DO | DONT)) => (Scan::Cmd(c), None),
            (Scan::Iac, c) => (Scan::Data, Some(Item::Iac(c))),
            (Scan::Cmd(c), o) => (Scan::Data, Some(Item::Cmd(c, o))),
            (Scan::Sub(v), IAC) => (Scan::SubIac(v), None),
            (Scan::Sub(mut v), b) => {
                v.push(b);
                (Scan::Sub(v), None)
            }
            (Scan::SubIac(v), SE) => {
                let opt = v.first().copied().unwrap_or(0);
                (Scan::Data, Some(Item::Sub(opt, v[1.min(v.len())..].to_vec())))
            }
            (Scan::SubIac(mut v), b) => {
                v.push(b);
                (Scan::Sub(v), None)
            }
        };
        self.state = next;
        if let Some(Item::Data(b)) = item {
            self.data.push(b);
        }
        if let Some(item) = item {
            let mccp_start = item == Item::Sub(MCCP2, vec![]);
            self.items.push(item.clone());
            pending.push(item);
            return mccp_start;
        }
        false
    }

    /// Answer negotiations as the client's caps say.
    async fn answer(&mut self, items: Vec<Item>) {
        let mut out = vec![];
        for item in items {
            match item {
                Item::Cmd(WILL, opt) => {
                    let yes = match opt {
                        SGA => self.caps.sga,
                        EOR => self.caps.eor,
                        GMCP => self.caps.gmcp,
                        MCCP2 => self.caps.mccp,
                        MSSP | CHARSET => self.caps.rest,
                        ECHO => true,
                        _ => false,
                    };
                    out.extend([IAC, if yes { DO } else { DONT }, opt]);
                }
                Item::Cmd(WONT, opt) => out.extend([IAC, DONT, opt]),
                Item::Cmd(DO, NAWS) => match self.caps.naws {
                    Some((w, h)) => {
                        out.extend([IAC, WILL, NAWS]);
                        out.extend(naws(w, h));
                    }
                    None => out.extend([IAC, WONT, NAWS]),
                },
                Item::Cmd(DO, TTYPE) => {
                    out.extend([IAC, if self.caps.ttype.is_empty() { WONT } else { WILL }, TTYPE])
                }
                Item::Cmd(DO, opt) => out.extend([IAC, WONT, opt]),
                Item::Sub(TTYPE, v) if v == [1] => {
                    let i = self.ttype_next.min(self.caps.ttype.len().saturating_sub(1));
                    self.ttype_next += 1;
                    out.extend([IAC, SB, TTYPE, 0]);
                    out.extend(self.caps.ttype[i].as_bytes());
                    out.extend([IAC, SE]);
                }
                Item::Sub(CHARSET, v) if v.first() == Some(&1) => {
                    out.extend([IAC, SB, CHARSET, 2]);
                    out.extend(b"UTF-8");
                    out.extend([IAC, SE]);
                }
                _ => {}
            }
        }
        if !out.is_empty() {
            self.send(&out).await;
        }
    }

    /// All text received, ANSI escapes removed.
    fn text(&self) -> String {
        strip_ansi(&String::from_utf8_lossy(&self.data))
    }

    /// Read until the text after the text cursor contains `needle`; returns the text from the
    /// cursor through the needle, and moves the cursor past the needle.
    async fn expect_text(&mut self, needle: &str) -> String {
        loop {
            let text = self.text();
            let rest = text.get(self.text_cursor..).unwrap_or("");
            if let Some(p) = rest.find(needle) {
                let seen = rest[..p + needle.len()].to_string();
                self.text_cursor += p + needle.len();
                return seen;
            }
            assert!(
                self.read_some().await,
                "connection closed while waiting for {needle:?}; got {rest:?}"
            );
        }
    }

    /// As `expect_text`, and then the rest of the line holding the needle (cursor after it).
    async fn expect_line(&mut self, needle: &str) -> String {
        let mut seen = self.expect_text(needle).await;
        seen.push_str(&self.expect_text("\n").await);
        seen
    }

    /// Read until every needle has appeared after the text cursor, in any order.
    async fn expect_all(&mut self, needles: &[&str]) {
        let start = self.text_cursor;
        loop {
            let text = self.text();
            let rest = text.get(start..).unwrap_or("");
            if needles.iter().all(|n| rest.contains(n)) {
                self.text_cursor =
                    start + needles.iter().map(|n| rest.find(n).unwrap() + n.len()).max().unwrap();
                return;
            }
            assert!(
                self.read_some().await,
                "connection closed while waiting for {needles:?}; got {rest:?}"
            );
        }
    }

    /// Read until an item matching `want` arrives after the cursor; returns its index.
    async fn expect_item(&mut self, what: &str, want: impl Fn(&Item) -> bool) -> usize {
        loop {
            if let Some(i) = self.items[self.cursor..].iter().position(&want) {
                return self.cursor + i;
            }
            assert!(self.read_some().await, "connection closed while waiting for {what}");
        }
    }

    /// Read until a GMCP message whose package is `package`; returns its data as JSON (or Null).
    async fn expect_gmcp(&mut self, package: &str) -> Value {
        let i = self
            .expect_item(
                package,
                |i| matches!(i, Item::Sub(GMCP, d) if d.starts_with(package.as_bytes())),
            )
            .await;
        let Item::Sub(_, d) = self.items[i].clone() else { unreachable!() };
        self.cursor = i + 1;
        let text = String::from_utf8(d).unwrap();
        let data = text[package.len()..].trim();
        if data.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(data).expect("GMCP data is JSON")
        }
    }

    /// `sessdata` (trouble module): this session's host-side data.
    async fn sessdata(&mut self) -> Value {
        self.line("sessdata").await;
        let text = self.expect_line("sessdata {").await;
        let json = &text[text.find("sessdata {").unwrap() + "sessdata ".len()..];
        let end = json.rfind('}').unwrap();
        serde_json::from_str(&json[..=end]).expect("sessdata is JSON")
    }

    /// Create an account and log in with one line each; wait until puppeted.
    async fn play(&mut self, name: &str) {
        self.expect_text("connect <username>").await;
        self.line(&format!("create {name} secret123")).await;
        self.expect_text("was created").await;
        self.line(&format!("connect {name} secret123")).await;
        self.expect_text(&format!("You become {name}")).await;
        self.expect_text("Limbo").await;
    }
}

fn naws(w: u16, h: u16) -> Vec<u8> {
    let mut out = vec![IAC, SB, NAWS];
    for b in [w.to_be_bytes(), h.to_be_bytes()].concat() {
        out.push(b);
        if b == IAC {
            out.push(IAC);
        }
    }
    out.extend([IAC, SE]);
    out
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn flag(data: &Value, name: &str) -> Value {
    data["protocol_flags"][name].clone()
}

#[tokio::test]
async fn the_portal_offers_every_option_and_naws_and_ttype_reach_the_session_flags() {
    let host = Host::start(MODULES, CONFIG);
    let mut c =
        Telnet::connect(host.telnet.expect("telnet is on"), "127.0.10.1", Caps::full()).await;
    c.play("Tessa").await;
    for (cmd, opt) in [
        (WILL, SGA),
        (WILL, EOR),
        (WILL, GMCP),
        (WILL, MCCP2),
        (WILL, MSSP),
        (WILL, CHARSET),
        (DO, NAWS),
        (DO, TTYPE),
    ] {
        assert!(c.items.contains(&Item::Cmd(cmd, opt)), "the portal did not send {cmd} {opt}");
    }
    let mut request = vec![1];
    request.extend(b";UTF-8");
    assert!(c.items.contains(&Item::Sub(CHARSET, request)), "no CHARSET request");
    // The portal never answers its own requests' answers a second time (no negotiation loop).
    let wills = c.items.iter().filter(|i| **i == Item::Cmd(WILL, SGA)).count();
    assert_eq!(wills, 1);

    let data = c.sessdata().await;
    assert_eq!(data["protocol_key"], "telnet");
    assert_eq!(flag(&data, "SCREENWIDTH"), serde_json::json!({"0": 120}));
    assert_eq!(flag(&data, "SCREENHEIGHT"), serde_json::json!({"0": 40}));
    assert_eq!(flag(&data, "CLIENTNAME"), "MUDLET 4.17");
    assert_eq!(flag(&data, "TERM"), "xterm-256color");
    // MTTS 2381 = SSL 2048 + TRUECOLOR 256 + SCREENREADER 64 + XTERM256 8 + UTF-8 4 + ANSI 1.
    for f in [
        "TTYPE",
        "ANSI",
        "XTERM256",
        "TRUECOLOR",
        "UTF-8",
        "SCREENREADER",
        "SSL",
        "OOB",
        "NOGOAHEAD",
    ] {
        assert_eq!(flag(&data, f), true, "flag {f}");
    }
    assert_eq!(flag(&data, "ENCODING"), "utf-8");

    // A window resize after login reaches the session's flags too.
    c.send(&naws(100, 30)).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let data = c.sessdata().await;
        if flag(&data, "SCREENWIDTH") == serde_json::json!({"0": 100}) {
            assert_eq!(flag(&data, "SCREENHEIGHT"), serde_json::json!({"0": 30}));
            break;
        }
        assert!(Instant::now() < deadline, "the resize never reached the session: {data}");
    }
}

#[tokio::test]
async fn a_client_without_xterm256_gets_16_colours_and_one_without_ttype_keeps_the_defaults() {
    let host = Host::start(MODULES, CONFIG);
    let caps = Caps { ttype: vec!["TINTIN++", "ANSI", "ANSI"], ..Caps::full() };
    let mut c = Telnet::connect(host.telnet.unwrap(), "127.0.11.1", caps).await;
    c.play("Sixteen").await;
    let data = c.sessdata().await;
    assert_eq!(flag(&data, "XTERM256"), false);
    assert_eq!(flag(&data, "ANSI"), true);
    c.line("echoback |500red").await;
    let from = c.data.len();
    c.expect_text("echoback v1: red").await;
    let raw = String::from_utf8_lossy(&c.data[from..]).into_owned();
    assert!(raw.contains("\x1b[0;91mred"), "16-colour red expected: {raw:?}");
    assert!(!raw.contains("38;5"), "no xterm colour codes: {raw:?}");

    // No TTYPE, no NAWS: the session starts anyway (after the handshake wait) with defaults.
    let mut p = Telnet::connect(host.telnet.unwrap(), "127.0.11.2", Caps::plain()).await;
    p.play("Plain").await;
    let data = p.sessdata().await;
    assert_eq!(flag(&data, "TTYPE"), false);
    assert_eq!(flag(&data, "SCREENWIDTH"), serde_json::json!({"0": 78}));
}

#[tokio::test]
async fn a_password_asked_for_is_not_echoed_and_the_prompt_ends_with_eor_or_ga() {
    let host = Host::start(MODULES, CONFIG);
    let mut c = Telnet::connect(host.telnet.unwrap(), "127.0.12.1", Caps::full()).await;
    c.expect_text("connect <username>").await;
    c.line("create Pia hunter2secret").await;
    c.expect_text("was created").await;
    c.line("connect Pia").await;
    let will_echo = c.expect_item("IAC WILL ECHO", |i| *i == Item::Cmd(WILL, ECHO)).await;
    c.expect_text("Password:").await;
    let prompt_end = c
        .items
        .iter()
        .position(|i| *i == Item::Iac(EOR_CMD))
        .expect("the prompt ends with IAC EOR");
    let password_at = c.data.len();
    assert!(will_echo < prompt_end);
    c.line("hunter2secret").await;
    c.expect_item("IAC WONT ECHO", |i| *i == Item::Cmd(WONT, ECHO)).await;
    c.expect_text("You become Pia").await;
    assert!(
        !String::from_utf8_lossy(&c.data[password_at..]).contains("hunter2secret"),
        "the password came back"
    );

    // Without EOR and SGA the prompt ends with GA; an empty line aborts the prompt.
    let caps = Caps { eor: false, sga: false, ..Caps::full() };
    let mut g = Telnet::connect(host.telnet.unwrap(), "127.0.12.2", caps).await;
    g.expect_text("connect <username>").await;
    g.line("connect Pia").await;
    g.expect_text("Password:").await;
    g.expect_item("IAC GA", |i| *i == Item::Iac(GA)).await;
    g.line("").await;
    g.expect_text("Login aborted.").await;
    g.expect_item("IAC WONT ECHO", |i| *i == Item::Cmd(WONT, ECHO)).await;
    g.line("look").await;
    g.expect_text("connect <username>").await;
}

#[tokio::test]
async fn gmcp_goes_both_ways() {
    let host = Host::start(MODULES, CONFIG);
    let mut c = Telnet::connect(host.telnet.unwrap(), "127.0.13.1", Caps::full()).await;
    c.play("Gemma").await;
    // The login itself is announced over GMCP.
    assert!(c.items.iter().any(|i| matches!(i, Item::Sub(GMCP, d) if d.starts_with(b"Logged.In"))));
    // Client → server: Core.Hello sets flags (client_options), Core.Supports.Set asks for them.
    c.gmcp(r#"Core.Hello {"client": "TestClient", "version": "1.0"}"#).await;
    c.gmcp(r#"Core.Supports.Set ["Char 1"]"#).await;
    let flags = c.expect_gmcp("Core.Supports.Get").await;
    assert_eq!(flags["SCREENWIDTH"], serde_json::json!({"0": 120}), "{flags}");
    let data = c.sessdata().await;
    assert_eq!(flag(&data, "CLIENTNAME"), "TestClient 1.0");
    // Server → client: a guest's send-oob arrives as `Package.Name json`.
    c.line(r#"oob char_vitals {"hp": 10, "maxhp": 12}"#).await;
    let vitals = c.expect_gmcp("Char.Vitals").await;
    assert_eq!(vitals, serde_json::json!({"hp": 10, "maxhp": 12}));
    c.line(r#"oob room_name "Limbo""#).await;
    assert_eq!(c.expect_gmcp("Room.Name").await, "Limbo");
    // A client without GMCP gets no out-of-band bytes at all.
    let caps = Caps { gmcp: false, ..Caps::full() };
    let mut n = Telnet::connect(host.telnet.unwrap(), "127.0.13.2", caps).await;
    n.play("Nogmcp").await;
    n.line(r#"oob char_vitals {"hp": 1}"#).await;
    n.line("ok").await;
    n.expect_text("trouble ok").await;
    assert!(!n.items.iter().any(|i| matches!(i, Item::Sub(GMCP, _))));
}

#[tokio::test]
async fn mccp2_output_decompresses_to_the_same_text_and_mssp_reports_the_server() {
    let host = Host::start(MODULES, CONFIG);
    let mut z =
        Telnet::connect(host.telnet.unwrap(), "127.0.14.1", Caps { mccp: true, ..Caps::full() })
            .await;
    let mut p = Telnet::connect(host.telnet.unwrap(), "127.0.14.2", Caps::full()).await;
    let zt = z.expect_text("connect <username>").await;
    let pt = p.expect_text("connect <username>").await;
    assert!(z.inflate.is_some(), "MCCP2 was not started");
    for c in [&mut z, &mut p] {
        c.line("look").await;
    }
    let zt2 = z.expect_text("connect <username>").await;
    let pt2 = p.expect_text("connect <username>").await;
    assert_eq!(zt2, pt2, "compressed and plain clients see the same text");
    assert!(zt.contains("Welcome") && pt.contains("Welcome"));
    // The connection screen really went compressed: its text is not in the raw bytes.
    assert!(!String::from_utf8_lossy(&z.raw).contains("connect <username>"));
    assert!(String::from_utf8_lossy(&p.raw).contains("connect <username>"));
    let data = {
        z.play_after_screen("Zed").await;
        z.sessdata().await
    };
    assert_eq!(flag(&data, "MCCP"), true);

    // MSSP: asked for by the `full` client at connect; one player (Zed) is logged in now.
    let mut m = Telnet::connect(host.telnet.unwrap(), "127.0.14.3", Caps::full()).await;
    let i = m.expect_item("MSSP", |i| matches!(i, Item::Sub(MSSP, _))).await;
    let Item::Sub(_, d) = m.items[i].clone() else { unreachable!() };
    let vars = mssp_vars(&d);
    assert_eq!(vars["NAME"], "mudhost");
    assert_eq!(vars["PLAYERS"], "1");
    let uptime: u64 = vars["UPTIME"].parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(uptime <= now && now - uptime < 3600, "UPTIME is the start time: {uptime}");
}

impl Telnet {
    /// As `play`, for a client that has already seen the connection screen.
    async fn play_after_screen(&mut self, name: &str) {
        self.line(&format!("create {name} secret123")).await;
        self.expect_text("was created").await;
        self.line(&format!("connect {name} secret123")).await;
        self.expect_text(&format!("You become {name}")).await;
    }
}

fn mssp_vars(d: &[u8]) -> std::collections::HashMap<String, String> {
    let mut vars = std::collections::HashMap::new();
    for part in d.split(|b| *b == 1).filter(|p| !p.is_empty()) {
        let mut kv = part.splitn(2, |b| *b == 2);
        let k = String::from_utf8_lossy(kv.next().unwrap()).into_owned();
        let v = String::from_utf8_lossy(kv.next().unwrap_or_default()).into_owned();
        vars.insert(k, v);
    }
    vars
}

#[tokio::test]
async fn line_endings_backspace_long_lines_and_odd_bytes_never_disconnect() {
    let host = Host::start(MODULES, CONFIG);
    let mut c = Telnet::connect(host.telnet.unwrap(), "127.0.15.1", Caps::full()).await;
    c.play("Lina").await;
    for (input, expect) in [
        (&b"echoback one\n"[..], "echoback v1: one"),
        (b"echoback two\r", "echoback v1: two"),
        (b"echoback three\n\r", "echoback v1: three"),
        (b"echoback fourX\x08\r\0", "echoback v1: four\r"),
        // Invalid UTF-8 (0xFF is IAC in telnet, so the bad bytes are others).
        (b"echoback caf\xc3\xa9 \xc3( \xfe\r\n", "echoback v1: caf\u{e9} \u{FFFD}( \u{FFFD}"),
        (b"\x01\x02\x1bechoback five\r\n", "echoback v1: five"),
    ] {
        c.send(input).await;
        c.expect_text(expect).await;
    }
    // Unknown telnet commands and options are answered or ignored, never fatal.
    c.send(&[IAC, WILL, 99, IAC, DO, 98, IAC, 241, IAC, SB, 77, 1, 2, IAC, SE]).await;
    let long = "x".repeat(6001);
    c.line(&format!("echoback {long}")).await;
    c.expect_text("You entered a string that was too long.").await;
    c.line("echoback still here").await;
    c.expect_text("echoback v1: still here").await;
}

/// Resident memory of a process in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_hostile_client_cannot_grow_the_portals_memory() {
    // 32 MiB arrive as fast as the portal reads them: the inbound byte budget (which would
    // disconnect this client long before, tests/capacity.rs) is lifted to test the buffers.
    let config = format!("{CONFIG}\ninbound_bytes_per_sec = 0\ninbound_bytes_per_sec_per_ip = 0");
    let host = Host::start(MODULES, &config);
    let status = host.cli(&["status"]);
    let portal: u32 =
        status.split("portal pid ").nth(1).unwrap().split(';').next().unwrap().parse().unwrap();
    let mut c = Telnet::connect(host.telnet.unwrap(), "127.0.16.1", Caps::full()).await;
    c.play("Hostile").await;
    let before = rss_kib(portal);
    let chunk = vec![b'x'; 64 * 1024];
    // 16 MiB without a line end, then 16 MiB inside a subnegotiation that never ends.
    for _ in 0..256 {
        c.send(&chunk).await;
    }
    c.send(b"\r\n").await;
    c.expect_text("You entered a string that was too long.").await;
    c.send(&[IAC, SB, GMCP]).await;
    for _ in 0..256 {
        c.send(&chunk).await;
    }
    c.send(&[IAC, SE]).await;
    // Still served: the discarded subnegotiation left only plain bytes behind.
    c.line("").await;
    c.line("echoback alive").await;
    c.expect_text("echoback v1: alive").await;
    let after = rss_kib(portal);
    eprintln!("portal RSS before {before} KiB, after 32 MiB of hostile input {after} KiB");
    assert!(after < before + 8 * 1024, "portal grew from {before} to {after} KiB");
}

#[tokio::test]
async fn a_server_reload_keeps_telnet_players_connected_with_their_input_replayed() {
    let host = Host::start(MODULES, CONFIG);
    let mut c = Telnet::connect(host.telnet.unwrap(), "127.0.17.1", Caps::full()).await;
    c.play("Rhea").await;
    let before = c.sessdata().await["sessid"].clone();
    host.cli(&["reload"]);
    c.expect_text("Server restart initiated").await;
    // Typed while the server is away: queued in the portal and run by the new server.
    c.line("say during the reload").await;
    c.line("echoback after the reload").await;
    c.expect_all(&[
        "Server restarted",
        "You say, \"during the reload\"",
        "echoback v1: after the reload",
    ])
    .await;
    let data = c.sessdata().await;
    assert_eq!(data["sessid"], before);
    assert_eq!(flag(&data, "CLIENTNAME"), "MUDLET 4.17", "flags survive the reload");
    assert!(!data["puid"].is_null(), "still puppeting");
}
