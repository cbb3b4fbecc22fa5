//! What one player can do to the others through output: no terminal escape or control
//! character from a player reaches another player's terminal (telnet, terminal websocket),
//! player markup cannot make links (and the game's own URL links are http/https only),
//! character and account names cannot carry markup or control characters, and a player
//! flooding colour codes cannot get a web player beside them disconnected as a slow client.

use crate::support;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use support::{Client, ConnectOptions, Host, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const MODULES: &[&str] = &["unloggedin", "account", "character", "trouble"];
const CONFIG: &str = "cmdset_character = [\"character\", \"trouble\"]\n\
                      cmdset_account = [\"account\", \"trouble\"]\n\
                      max_nr_characters = 5\ncommand_rate = 0\nguest_deadline_ms = 2000";

/// A telnet client that answers no negotiation and keeps every data byte (IAC sequences
/// removed), as a plain terminal would see them.
struct RawTelnet {
    stream: TcpStream,
    data: Vec<u8>,
    /// How far `expect` has read.
    cursor: usize,
    /// Bytes of an IAC sequence split across reads.
    pending: Vec<u8>,
}

impl RawTelnet {
    async fn connect(addr: SocketAddr) -> RawTelnet {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(support::fresh_loopback(), 0)).unwrap();
        let stream = tokio::time::timeout(WAIT, socket.connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect");
        RawTelnet { stream, data: vec![], cursor: 0, pending: vec![] }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("send");
        self.stream.write_all(b"\r\n").await.expect("send");
    }

    /// Read until the data after the cursor contains `needle`; returns that data (up to and
    /// including the needle) and moves the cursor past it.
    async fn expect(&mut self, needle: &[u8]) -> Vec<u8> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(p) =
                self.data[self.cursor..].windows(needle.len()).position(|w| w == needle)
            {
                let end = self.cursor + p + needle.len();
                let got = self.data[self.cursor..end].to_vec();
                self.cursor = end;
                return got;
            }
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout_at(deadline, self.stream.read(&mut buf))
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "no {:?} within the wait; got {:?}",
                        String::from_utf8_lossy(needle),
                        String::from_utf8_lossy(&self.data[self.cursor..])
                    )
                })
                .expect("read");
            assert!(n > 0, "connection closed waiting for {:?}", String::from_utf8_lossy(needle));
            self.pending.extend_from_slice(&buf[..n]);
            self.scan();
        }
    }

    /// Move data bytes from `pending` to `data`, dropping complete IAC sequences.
    fn scan(&mut self) {
        const IAC: u8 = 255;
        let p = std::mem::take(&mut self.pending);
        let mut i = 0;
        while i < p.len() {
            if p[i] != IAC {
                self.data.push(p[i]);
                i += 1;
                continue;
            }
            let Some(&cmd) = p.get(i + 1) else { break };
            match cmd {
                IAC => {
                    self.data.push(IAC);
                    i += 2;
                }
                // SB ... IAC SE
                250 => match p[i + 2..].windows(2).position(|w| w == [IAC, 240]) {
                    Some(e) => i += 2 + e + 2,
                    None => break,
                },
                251..=254 if i + 2 < p.len() => i += 3,
                251..=254 => break,
                _ => i += 2,
            }
        }
        self.pending = p[i..].to_vec();
    }
}

/// A websocket client of `terminal.mudstandards.org` (binary ANSI frames).
async fn terminal_client(host: &Host) -> WebSocketStream<TcpStream> {
    let mut req = host.url.as_str().into_client_request().unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("terminal.mudstandards.org"));
    let addr: SocketAddr =
        host.url.trim_start_matches("ws://").trim_end_matches('/').parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(support::fresh_loopback(), 0)).unwrap();
    let stream = tokio::time::timeout(WAIT, socket.connect(addr)).await.unwrap().unwrap();
    let (ws, resp) = tokio::time::timeout(WAIT, tokio_tungstenite::client_async(req, stream))
        .await
        .expect("handshake timed out")
        .expect("handshake");
    assert_eq!(resp.headers()["sec-websocket-protocol"], "terminal.mudstandards.org");
    ws
}

/// Read binary (ANSI) frames until their bytes contain `needle`; returns every byte read.
async fn terminal_expect(ws: &mut WebSocketStream<TcpStream>, needle: &[u8]) -> Vec<u8> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut all = vec![];
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await.expect("no frame within the wait")
        {
            Some(Ok(Message::Binary(b))) => {
                all.extend_from_slice(&b);
                if all.windows(needle.len()).any(|w| w == needle) {
                    return all;
                }
            }
            Some(Ok(_)) => {}
            other => panic!("connection ended: {other:?}"),
        }
    }
}

/// Panics unless every escape in `bytes` is an SGR colour sequence (`ESC [ digits ; m`) and no
/// other control character (C0 but CR LF and tab, DEL, C1) is present, nor a CR that is not
/// part of a line break.
fn assert_only_sgr_escapes(bytes: &[u8], context: &str) {
    let text = String::from_utf8_lossy(bytes);
    let mut rest = text.as_ref();
    while let Some(p) = rest.find('\x1b') {
        let seq = &rest[p + 1..];
        let end = seq.find('m').unwrap_or(seq.len());
        assert!(
            seq.starts_with('[') && seq[1..end].bytes().all(|b| b.is_ascii_digit() || b == b';'),
            "{context}: an escape that is not a colour code: {:?}",
            &rest[p..(p + 12).min(rest.len())]
        );
        rest = &seq[end..];
    }
    for (i, c) in text.char_indices() {
        let bad = matches!(c, '\0'..='\x08' | '\x0b'..='\x0c' | '\x0e'..='\x1a' | '\x1c'..='\x1f' | '\x7f'..='\u{9f}')
            || (c == '\r' && !text[i + 1..].starts_with('\n'));
        assert!(!bad, "{context}: control character {c:?} in {text:?}");
    }
}

/// The escape sequences of the issue: retitle, clipboard write, a line overwritten with a fake
/// system prompt, a cleared screen, and the 8-bit C1 CSI and OSC.
const EVIL: &str = "\x1b]0;PWNED\x07 \x1b]52;c;aGVsbG8=\x07 \r\x1b[2K\x1b[31m[SYSTEM] re-enter your password \x1b[2J \u{9b}2J \u{9d}0;PWNED\u{9c} \x07\x7f|rRED|n END";

#[tokio::test]
async fn a_players_escape_sequences_never_reach_another_players_terminal() {
    let host = Host::start(MODULES, CONFIG);
    let mut mallory = host.player("Mallory").await;

    let mut tel = RawTelnet::connect(host.telnet.expect("telnet listener")).await;
    tel.expect(b"connect").await;
    tel.send(b"create Tilly secret123").await;
    tel.expect(b"was created").await;
    tel.send(b"connect Tilly secret123").await;
    tel.expect(b"Limbo").await;

    let mut term = terminal_client(&host).await;
    terminal_expect(&mut term, b"connect").await;
    term.send(Message::binary(b"create Terry secret123".to_vec())).await.unwrap();
    terminal_expect(&mut term, b"was created").await;
    term.send(Message::binary(b"connect Terry secret123".to_vec())).await.unwrap();
    terminal_expect(&mut term, b"Limbo").await;

    // From a websocket (v1) player to a telnet and a terminal player.
    mallory.send_text(&format!("say {EVIL}")).await;
    tel.expect(b"Mallory says").await;
    let heard = tel.expect(b"END").await;
    assert_only_sgr_escapes(&heard, "telnet");
    let heard_text = String::from_utf8_lossy(&heard).into_owned();
    // The host's own colour code still renders (bright red; no TTYPE: xterm colours assumed).
    assert!(heard_text.contains("\x1b[0;91mRED"), "{heard_text:?}");
    assert!(heard_text.contains("[SYSTEM] re-enter your password"), "{heard_text:?}");
    let heard = terminal_expect(&mut term, b"END").await;
    assert_only_sgr_escapes(&heard, "terminal websocket");
    assert!(String::from_utf8_lossy(&heard).contains("\x1b[0;91mRED"));

    // From telnet (raw bytes: 8-bit C1 as UTF-8, ESC, BEL) to the terminal player.
    let mut line = b"say ".to_vec();
    line.extend("\u{9b}2J\u{9d}0;TITLE\u{9c}\x1b]0;X\x07 from telnet END2".as_bytes());
    tel.send(&line).await;
    let heard = terminal_expect(&mut term, b"END2").await;
    assert_only_sgr_escapes(&heard, "terminal websocket, from telnet");
    assert!(String::from_utf8_lossy(&heard).contains("from telnet"));

    // And from the terminal player back to telnet.
    term.send(Message::binary(format!("say {EVIL}2").into_bytes())).await.unwrap();
    let heard = tel.expect(b"END2").await;
    assert_only_sgr_escapes(&heard, "telnet, from a terminal websocket");
}

/// The HTML of the next `text` frame whose plain text contains `needle`.
async fn expect_html(c: &mut Client, needle: &str) -> String {
    loop {
        let v = c.next().await.expect("connection open");
        if v[0] == "text" {
            let html = v[1][0].as_str().unwrap_or("").to_owned();
            if support::plain(&html).contains(needle) {
                return html;
            }
        }
    }
}

#[tokio::test]
async fn a_players_link_markup_reaches_others_as_text_and_the_game_links_only_http() {
    let host = Host::start(MODULES, CONFIG);
    let mut mallory = host.player("Mallory").await;
    let mut victim = host.player("Victor").await;

    mallory
        .send_text("say |lcquit|ltread the rules|le and |lujavascript:alert(1)|ltclick|le")
        .await;
    let html = expect_html(&mut victim, "Mallory says").await;
    assert!(!html.contains("<a"), "a player's markup made a link: {html}");
    // It reads as typed, literally.
    assert_eq!(
        support::plain(&html),
        "Mallory says, \"|lcquit|ltread the rules|le and |lujavascript:alert(1)|ltclick|le\""
    );
    let own = expect_html(&mut mallory, "You say").await;
    assert!(!own.contains("<a"), "{own}");

    // A link split over a trailing bar and the next input does not form either.
    mallory.send_text("say |").await;
    let html = expect_html(&mut victim, "Mallory says").await;
    assert_eq!(support::plain(&html), "Mallory says, \"|\"");

    // The game's own links: the command link, and of the URL links only the https one.
    victim.send_text("links").await;
    let html = expect_html(&mut victim, "links:").await;
    assert_eq!(html.matches("<a ").count(), 2, "{html}");
    assert!(html.contains("[&quot;look&quot;]"), "{html}");
    assert!(
        html.contains("<a id=\"mxplink\" href=\"https://evennia.com\" target=\"_blank\">docs</a>"),
        "{html}"
    );
    assert!(!html.contains("href=\"javascript:") && !html.contains("href=\"data:"), "{html}");
    assert_eq!(support::plain(&html), "links: Look around js data docs");
}

#[tokio::test]
async fn character_and_account_names_with_markup_newlines_or_escapes_are_refused() {
    let host = Host::start(MODULES, CONFIG);
    let mut ann = host.player("Ann").await;
    let refusal = "Character names must be 1-30 characters long, starting with a letter or digit and using only letters, digits, single spaces and ' - . _";
    for name in [
        "Evil|rGandalf",
        "|lcquit|ltGandalf|le",
        "Gandalf\n[Admin] Gandalf says, \"give me your password\"",
        "Bad\x1b[31mName",
        "Zed\u{202e}",
        "x".repeat(31).as_str(),
    ] {
        ann.send_text(&format!("charcreate {name}")).await;
        let answer = ann.next_text().await.expect("an answer");
        assert_eq!(answer, refusal, "for {name:?}");
    }
    // Renaming a character is held to the same rules.
    ann.send_text("rename Evil|rAnn").await;
    assert_eq!(ann.next_text().await.expect("an answer"), refusal);
    ann.send_text("rename Annie").await;
    ann.expect_text("renamed to Annie").await;
    // A control character never reaches the game at all (the portal removes it on input).
    ann.send_text("charcreate Bel\u{9b}\x07la").await;
    ann.expect_text("Created new character Bella.").await;
    // Names within the rules still work.
    ann.send_text("charcreate Old Tom").await;
    ann.expect_text("Created new character Old Tom.").await;
    ann.send_text("charcreate O'Brien-Smith").await;
    ann.expect_text("Created new character O'Brien-Smith.").await;

    let account_refusal =
        "Account names must be 2-30 characters long, using only letters, digits and . _ -";
    let mut c = host.client().await;
    for name in ["Evil|rGuy", "Bad\x1b[2JGuy", "|lcquit|ltx|le", "\u{9d}0;Guy"] {
        c.send_text(&format!("create {name} secret123")).await;
        assert_eq!(c.next_text().await.expect("an answer"), account_refusal, "for {name:?}");
    }
}

#[tokio::test]
async fn a_web_player_reading_slowly_stays_connected_beside_a_colour_code_flooder() {
    let host = Host::start(support::GAME, "");
    // A small receive buffer: what the reader does not take stays in the portal.
    let opts = ConnectOptions { recv_buffer: Some(16 * 1024), ..Default::default() };
    let victim = Client::connect_with(&host.url, opts).await.become_player("Vic").await;
    // The flooder plays over telnet: its own echo (ANSI, a quarter of the HTML) is cheap for a
    // test client to read as fast as it comes, so the flooder itself keeps up.
    let mut flooder = RawTelnet::connect(host.telnet.expect("telnet listener")).await;
    flooder.expect(b"connect").await;
    flooder.send(b"create Flo secret123").await;
    flooder.expect(b"was created").await;
    flooder.send(b"connect Flo secret123").await;
    flooder.expect(b"Limbo").await;

    // 5,990 characters of alternating colour codes: about 68 KB of HTML per message.
    let flood = format!("say {}", "|rx|gx".repeat(998));
    assert!(flood.len() < 6000);
    let (mut flood_rx, mut flood_tx) = flooder.stream.into_split();
    let drain = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = flood_rx.read(&mut buf).await {
            let _ = n;
        }
    });

    // The victim reads at about 200 KB/s until it hears its own `say` after the flood.
    let (mut victim_tx, mut victim_rx) = victim.ws.split();
    let reader = tokio::spawn(async move {
        const RATE: f64 = 200.0 * 1024.0;
        let start = tokio::time::Instant::now();
        let (mut bytes, mut told) = (0usize, false);
        loop {
            let frame = tokio::time::timeout(WAIT, victim_rx.next())
                .await
                .expect("the victim heard nothing within the wait");
            match frame {
                Some(Ok(Message::Text(t))) => {
                    bytes += t.len();
                    let v: Value = serde_json::from_str(t.as_str()).unwrap();
                    let text = support::plain(v[1][0].as_str().unwrap_or(""));
                    told |= text.contains("Some output was dropped");
                    if text.contains("You say, \"still here\"") {
                        return (bytes, told, None);
                    }
                    // A reader of RATE bytes per second: ahead of that, it waits.
                    let due = start + Duration::from_secs_f64(bytes as f64 / RATE);
                    tokio::time::sleep_until(due).await;
                }
                Some(Ok(Message::Close(f))) => return (bytes, told, Some(format!("{f:?}"))),
                Some(Ok(_)) => {}
                other => return (bytes, told, Some(format!("{other:?}"))),
            }
        }
    });

    // 480 messages (about 32 MB of HTML to the victim), at most at the command rate (80 a
    // second): six seconds, or longer on a busy machine.
    let started = tokio::time::Instant::now();
    for sent in 1..=480u64 {
        let line = format!("{flood}\r\n");
        flood_tx.write_all(line.as_bytes()).await.expect("the flooder is still connected");
        tokio::time::sleep_until(started + Duration::from_millis(sent * 1000 / 80)).await;
    }
    victim_tx
        .send(Message::text(json!(["text", ["say still here"], {}]).to_string()))
        .await
        .expect("the victim is still connected");
    let (bytes, told, closed) = reader.await.unwrap();
    assert_eq!(closed, None, "the victim was disconnected after reading {bytes} bytes");
    assert!(told, "the victim was not told that output was dropped");
    drain.abort();
}
