//! One player or one address cannot hurt the others (issue 20, capacity and inbound): idle
//! strangers cannot hold the game's connections or handshake slots, every byte and frame in
//! costs budget, one address's many sessions get one address's turns, and the smaller edges
//! (Origin, HTTP errors, log floods, per-account login throttle, CSP). Each seen from the
//! clients' side: texts, closes, refusals.

use crate::support;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use support::{fresh_loopback, Client, Host, GAME, WAIT};

const MODULES: &[&str] = &["unloggedin", "account", "character", "trouble"];
const LOGIN_TIMEOUT: &str = "login timeout exceeded";
const INPUT_FLOOD: &str = "input flood";
const SERVER_FULL: &str = "The server is full. Please try again later.";
const LOGIN_THROTTLE: &str = "Too many login failures; please try again in a few minutes.";

const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;
const NAWS: u8 = 31;
const DO: u8 = 253;
const DONT: u8 = 254;
const MSSP: u8 = 70;

/// A TCP connection to `addr` from the loopback address `from`.
async fn tcp_from(addr: SocketAddr, from: IpAddr) -> TcpStream {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::new(from, 0)).expect("bind a loopback source address");
    tokio::time::timeout(WAIT, sock.connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect")
}

/// The websocket port's address.
fn ws_addr(host: &Host) -> SocketAddr {
    host.url.trim_start_matches("ws://").trim_end_matches('/').parse().unwrap()
}

/// Read until the peer closes (or `within` passes: then None); returns everything read.
async fn read_to_end(s: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut all = vec![];
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(all),
            Ok(Ok(n)) => all.extend_from_slice(&buf[..n]),
        }
    }
}

/// Read until `needle` appears in what `s` sent (telnet negotiation bytes and all).
async fn read_until(s: &mut TcpStream, seen: &mut Vec<u8>, needle: &str) {
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(seen).contains(needle) {
        let n = tokio::time::timeout(WAIT, s.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} within the wait"))
            .expect("read");
        assert!(n > 0, "closed while waiting for {needle:?}: {:?}", String::from_utf8_lossy(seen));
        seen.extend_from_slice(&buf[..n]);
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

/// Whether `mudhost status` says the server is up.
fn server_is_up(host: &Host) -> bool {
    host.cli(&["status"]).contains("server up")
}

/// SIGKILL the server and wait until the portal has noticed (its restart is `restart_backoff_ms`
/// away: input sent meanwhile queues in the portal).
async fn kill_server(host: &Host) {
    let pid = host.server_pid();
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let deadline = Instant::now() + WAIT;
    while server_is_up(host) {
        assert!(Instant::now() < deadline, "the portal never noticed the server died");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// --- 5. capacity cannot be held by idle strangers ----------------------------------------------

#[tokio::test]
async fn sixty_silent_telnet_connections_free_up_within_the_login_timeout_and_an_honest_client_then_gets_in(
) {
    let host = Host::start(
        GAME,
        "max_connections = 60\nlogin_timeout_secs = 3\nconnection_rate_per_ip = 0\ntelnet_handshake_ms = 100",
    );
    let telnet = host.telnet.expect("telnet on");
    let from = fresh_loopback();
    let mut silent = vec![];
    for _ in 0..60 {
        let mut s = tcp_from(telnet, from).await;
        // Admitted: the opening negotiation arrives (a refused one gets the "full" text).
        let mut first = [0u8; 64];
        let n = tokio::time::timeout(WAIT, s.read(&mut first)).await.expect("opening").unwrap();
        assert!(n > 0 && first[0] == IAC, "{:?}", String::from_utf8_lossy(&first[..n]));
        silent.push(s);
    }
    // The game is full of strangers.
    let honest_from = fresh_loopback();
    let mut refused = Client::connect_from(&host.url, honest_from).await;
    let (texts, reason) = refused.expect_close_reason().await;
    assert!(reason == SERVER_FULL || texts.iter().any(|t| t == SERVER_FULL), "{texts:?} {reason}");
    // Within the login timeout every silent connection is told and closed.
    let started = Instant::now();
    for s in silent.iter_mut() {
        let got = read_to_end(s, WAIT).await.expect("closed within the wait");
        assert!(String::from_utf8_lossy(&got).contains(LOGIN_TIMEOUT), "{got:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    // And the honest client gets in.
    let mut honest = Client::connect_from(&host.url, honest_from).await;
    honest.expect_text("connect").await;
}

#[tokio::test]
async fn a_websocket_that_never_logs_in_is_closed_with_the_login_timeout_message_and_a_player_is_not(
) {
    let host = Host::start(GAME, "login_timeout_secs = 4");
    let mut player = host.player("Wren").await;
    let mut stranger = host.client().await;
    let (_, reason) = stranger.expect_close_reason().await;
    assert_eq!(reason, LOGIN_TIMEOUT);
    assert!(player.ask("look").await.contains("Limbo"), "the player stays");
}

#[tokio::test]
async fn connections_not_logged_in_have_their_own_share_of_capacity() {
    let host = Host::start(
        GAME,
        "max_connections = 10\nmax_unauthenticated_connections = 2\nconnection_rate_per_ip = 0",
    );
    let mut player = host.player("Ash").await;
    let _a = host.client().await;
    // With one player logged in, two strangers fill the strangers' share...
    let _b = host.client().await;
    let mut third = Client::connect(&host.url).await;
    let (texts, reason) = third.expect_close_reason().await;
    assert!(reason == SERVER_FULL || texts.iter().any(|t| t == SERVER_FULL), "{texts:?} {reason}");
    // ...but not the game: the player still plays.
    assert!(player.ask("look").await.contains("Limbo"));
}

#[tokio::test]
async fn a_full_handshake_table_makes_room_for_a_newcomer_from_another_address() {
    let host = Host::start(
        GAME,
        "max_handshakes = 8\nmax_handshakes_per_ip = 4\nhandshake_timeout_ms = 25000",
    );
    let addr = ws_addr(&host);
    let (a, b) = (fresh_loopback(), fresh_loopback());
    let mut silent = vec![];
    for from in [a, b] {
        for _ in 0..4 {
            silent.push(tcp_from(addr, from).await);
        }
        // One more from the same address is closed at once: the four are all in the table.
        let mut extra = tcp_from(addr, from).await;
        assert!(read_to_end(&mut extra, WAIT).await.is_some());
    }
    // Every handshake place is held by a silent connection; a newcomer still gets in...
    let mut honest = Client::connect(&host.url).await;
    honest.expect_text("connect").await;
    // ...in the place of one of them, closed for it.
    let mut closed = 0;
    for s in silent.iter_mut() {
        if read_to_end(s, Duration::from_millis(200)).await.is_some() {
            closed += 1;
        }
    }
    assert_eq!(closed, 1);
}

#[tokio::test]
async fn per_address_limits_count_a_whole_24_as_one_address_when_configured() {
    let host = Host::start(
        GAME,
        "ipv4_prefix_len = 24\nmax_connections_per_ip = 2\nconnection_rate_per_ip = 0",
    );
    let _a = Client::connect_from(&host.url, "127.9.7.1").await;
    let _b = Client::connect_from(&host.url, "127.9.7.2").await;
    let mut c = Client::connect_from(&host.url, "127.9.7.3").await;
    let (texts, reason) = c.expect_close_reason().await;
    assert!(reason.contains("Too many connections from your address"), "{texts:?} {reason}");
    let mut other = Client::connect_from(&host.url, "127.9.8.1").await;
    other.expect_text("connect").await;
}

// --- 6. every byte in costs budget -------------------------------------------------------------

#[tokio::test]
async fn a_client_flooding_pings_or_naws_changes_is_disconnected_with_a_reason_while_an_honest_client_still_gets_answers(
) {
    let host = Host::start(
        GAME,
        "inbound_frames_per_sec = 50\ninbound_flood_secs = 2\ncommand_rate = 0\nlogin_timeout_secs = 0",
    );
    let mut honest = host.player("Hon").await;

    // A websocket client sending pings as fast as it can.
    let pinger = Client::connect(&host.url).await;
    let (mut sink, mut stream) = pinger.ws.split();
    let pings = tokio::spawn(async move {
        while sink.send(Message::Ping(vec![1u8; 8].into())).await.is_ok() {}
    });
    let ping_close = tokio::spawn(async move {
        loop {
            match stream.next().await {
                Some(Ok(Message::Close(f))) => return f.map(|f| f.reason.to_string()),
                Some(Ok(_)) => {}
                _ => return None,
            }
        }
    });
    // A telnet client resizing its window as fast as it can.
    let mut naws_conn = tcp_from(host.telnet.unwrap(), fresh_loopback()).await;
    let (mut rd, mut wr) = naws_conn.split();
    let resize = async {
        for w in (0..u16::MAX).cycle() {
            if wr.write_all(&naws(80 + w % 100, 40)).await.is_err() {
                break;
            }
        }
    };
    let told = async {
        let mut seen = vec![];
        let mut buf = [0u8; 4096];
        while let Ok(n) = rd.read(&mut buf).await {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&seen).into_owned()
    };
    // The writer stops when the portal closes; what it was told is read to the end.
    let naws_flood = async { tokio::join!(resize, told).1 };

    // Meanwhile the honest player's commands answer.
    let answers = async {
        let mut n = 0;
        loop {
            assert!(honest.ask("look").await.contains("Limbo"));
            n += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            if n >= 10 && ping_close.is_finished() {
                return n;
            }
        }
    };
    let (naws_text, answered) =
        tokio::time::timeout(WAIT, async { tokio::join!(naws_flood, answers) })
            .await
            .expect("both flooders disconnected within the wait");
    assert!(naws_text.contains(INPUT_FLOOD), "telnet flooder was told: {naws_text:?}");
    assert!(answered >= 10);
    let reason = ping_close.await.unwrap().expect("a close frame");
    assert!(reason.contains(INPUT_FLOOD), "{reason}");
    pings.abort();
}

#[tokio::test]
async fn many_naws_changes_reach_the_server_as_few_flag_inputs_with_the_latest_value() {
    // The input queue holds 20: were each resize an input, 100 of them would fill it while the
    // server is away and the player's command would be refused.
    let host = Host::start(
        MODULES,
        "cmdset_character = [\"character\", \"trouble\"]\nqueued_inputs_per_session = 20\n\
         restart_backoff_ms = 2000\ninbound_frames_per_sec = 5000\ncommand_rate = 0",
    );
    let mut t = tcp_from(host.telnet.unwrap(), fresh_loopback()).await;
    let mut seen = vec![];
    read_until(&mut t, &mut seen, "connect <username>").await;
    t.write_all(b"create Nia secret123\r\n").await.unwrap();
    read_until(&mut t, &mut seen, "was created").await;
    t.write_all(b"connect Nia secret123\r\n").await.unwrap();
    read_until(&mut t, &mut seen, "Limbo").await;
    seen.clear();
    kill_server(&host).await;
    // Each resize in a read of its own (as a client resizing in a loop sends them): each is
    // followed by an MSSP request, whose answer shows the portal has read it.
    for (k, w) in (100..200u16).enumerate() {
        let mut bytes = naws(w, 50);
        // (Turned off first: a repeated DO for an option already on is not answered.)
        bytes.extend([IAC, DONT, MSSP, IAC, DO, MSSP]);
        t.write_all(&bytes).await.unwrap();
        let mut buf = [0u8; 4096];
        while String::from_utf8_lossy(&seen).matches("UPTIME").count() <= k {
            let n = tokio::time::timeout(WAIT, t.read(&mut buf)).await.expect("MSSP").unwrap();
            assert!(n > 0, "closed");
            seen.extend_from_slice(&buf[..n]);
        }
    }
    t.write_all(b"sessdata\r\n").await.unwrap();
    seen.clear();
    read_until(&mut t, &mut seen, "\"SCREENWIDTH\"").await;
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(!text.contains("not queued"), "{text}");
    assert!(text.contains("\"SCREENWIDTH\":{\"0\":199}"), "the latest width: {text}");
}

// --- 7. per-address allowance ------------------------------------------------------------------

#[tokio::test]
async fn an_address_with_many_flooding_sessions_gets_one_turn_per_round_like_a_player_from_another_address(
) {
    let host = Host::start(
        GAME,
        "creation_throttle_limit = 0\nconnection_rate_per_ip = 0\ncommand_rate = 0\n\
         command_rate_per_ip = 0\nrestart_backoff_ms = 2000\nguest_deadline_ms = 2000",
    );
    const FLOODERS: usize = 10;
    let mut flooders = vec![];
    for i in 0..FLOODERS {
        flooders.push(host.player_from(&format!("Flood{i}"), "127.9.9.1").await);
    }
    let mut honest = host.player_from("Honest", "127.9.9.2").await;
    // Everything queues in the portal while the server is away, then reaches the new server at
    // once: the order of service is the scheduler's alone.
    kill_server(&host).await;
    for f in flooders.iter_mut() {
        for k in 0..3 {
            f.send_text(&format!("say flood {k}")).await;
        }
    }
    honest.send_text("say honest").await;
    let mut floods_before = 0;
    loop {
        let t = honest.next_text().await.expect("the room's says");
        if t.contains("You say, \"honest\"") {
            break;
        }
        if t.contains("says, \"flood") {
            floods_before += 1;
        }
    }
    // Per-session turns would serve every flooder once first (10); per-address turns serve
    // the flooding address once, then the honest player.
    assert!(floods_before <= 3, "{floods_before} flood says ran before the honest player's");
}

#[tokio::test]
async fn one_address_over_its_command_rate_is_told_while_another_address_is_not() {
    let host =
        Host::start(GAME, "command_rate = 0\ncommand_rate_per_ip = 20\nconnection_rate_per_ip = 0");
    let from = fresh_loopback();
    let mut a = Client::connect_from(&host.url, from).await;
    let mut b = Client::connect_from(&host.url, from).await;
    a.expect_text("connect").await;
    b.expect_text("connect").await;
    for _ in 0..15 {
        a.send_text("look").await;
        b.send_text("look").await;
    }
    let told = |c: &Client| {
        c.seen
            .iter()
            .any(|v| v[1][0].as_str().is_some_and(|t| t.contains("You entered commands too fast")))
    };
    // The address sent 30 in well under a second: one of its sessions is told.
    let deadline = Instant::now() + WAIT;
    while !told(&a) && !told(&b) {
        assert!(Instant::now() < deadline, "no rate warning");
        tokio::select! {
            _ = a.next() => {}
            _ = b.next() => {}
        }
    }
    let mut other = host.client().await;
    assert!(!other.ask("look").await.contains("too fast"));
}

// --- 8. smaller ---------------------------------------------------------------------------------

/// A websocket handshake with an `Origin` header (None: without); Ok(()) if accepted, else the
/// HTTP status.
async fn handshake_with_origin(host: &Host, origin: Option<&str>) -> Result<(), u16> {
    let stream = tcp_from(ws_addr(host), fresh_loopback()).await;
    let mut req = host.url.as_str().into_client_request().unwrap();
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio::time::timeout(WAIT, tokio_tungstenite::client_async(req, stream)).await.unwrap() {
        Ok(_) => Ok(()),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn a_browser_handshake_from_another_origin_is_refused_and_the_pages_own_and_listed_ones_are_not(
) {
    let host = Host::start(GAME, "allowed_origins = [\"https://play.example.com\"]");
    let own = format!("http://{}", ws_addr(&host));
    assert_eq!(handshake_with_origin(&host, Some("https://evil.example")).await, Err(403));
    assert_eq!(handshake_with_origin(&host, Some("null")).await, Err(403));
    assert_eq!(handshake_with_origin(&host, Some(&own)).await, Ok(()));
    assert_eq!(handshake_with_origin(&host, Some("https://play.example.com")).await, Ok(()));
    assert_eq!(handshake_with_origin(&host, None).await, Ok(()), "not a browser");
}

#[tokio::test]
async fn refused_connections_and_full_input_queues_log_one_line_per_interval_not_one_each() {
    let host = Host::start(
        GAME,
        "max_connections_per_ip = 1\nconnection_rate_per_ip = 0\nqueued_inputs_per_session = 5\n\
         restart_backoff_ms = 3000\nlog_summary_secs = 60",
    );
    let from = fresh_loopback();
    let mut kept = Client::connect_from(&host.url, from).await;
    kept.expect_text("connect").await;
    for _ in 0..40 {
        let mut s = tcp_from(host.telnet.unwrap(), from).await;
        let got = read_to_end(&mut s, WAIT).await.unwrap();
        assert!(String::from_utf8_lossy(&got).contains("Too many connections"));
    }
    kill_server(&host).await;
    for _ in 0..40 {
        kept.send_text("look").await;
    }
    kept.expect_text("Your input was not queued").await;
    // Every refusal was told to its client; the log has a line for the first of each kind.
    let log = host.log();
    assert_eq!(log.matches("connection refused").count(), 1, "{log}");
    assert_eq!(log.matches("input queue full").count(), 1, "{log}");
}

/// Send `request` raw on the websocket port and read the whole answer (the portal closes).
async fn raw_http(host: &Host, request: &[u8], within: Duration) -> Option<String> {
    let mut s = tcp_from(ws_addr(host), fresh_loopback()).await;
    s.write_all(request).await.unwrap();
    read_to_end(&mut s, within).await.map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// The Content-Length an answer announces and the length of the body it sent.
fn announced_and_sent(answer: &str) -> (usize, usize) {
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    let announced = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("Content-Length");
    (announced, body.len())
}

#[tokio::test]
async fn http_error_answers_send_the_body_they_announce() {
    let host = Host::start(GAME, "http_head_bytes = 1024");
    let mut big = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    big.extend(b"X-Junk: ".iter().chain([b'a'; 2000].iter()));
    big.extend(b"\r\n\r\n");
    let too_large = raw_http(&host, &big, WAIT).await.expect("an answer");
    assert!(too_large.starts_with("HTTP/1.1 431 "), "{too_large}");
    let (announced, sent) = announced_and_sent(&too_large);
    assert!(announced > 0 && announced == sent, "{too_large:?}");
    let bad = raw_http(&host, b"\x16\x03\x01garbage\r\n\r\n", WAIT).await.expect("an answer");
    assert!(bad.starts_with("HTTP/1.1 400 "), "{bad}");
    let (announced, sent) = announced_and_sent(&bad);
    assert!(announced > 0 && announced == sent, "{bad:?}");
}

#[tokio::test]
async fn a_request_head_ending_in_bare_lfs_is_answered_at_once() {
    let host = Host::start(GAME, "handshake_timeout_ms = 25000");
    let page = raw_http(&host, b"GET / HTTP/1.1\nHost: x\n\n", Duration::from_secs(10))
        .await
        .expect("answered well before the handshake deadline");
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
}

#[tokio::test]
async fn failed_logins_to_one_account_from_many_addresses_hold_that_account_back() {
    let host = Host::start(GAME, "login_throttle_account_limit = 3");
    host.create_from("Vale", "127.9.10.1").await;
    host.create_from("Other", "127.9.10.9").await;
    for i in 2..5 {
        let mut c = Client::connect_from(&host.url, format!("127.9.10.{i}").as_str()).await;
        c.expect_text("connect").await;
        c.send_text("connect Vale wrongpass").await;
        c.expect_text("incorrect").await;
    }
    // From a fresh address, even the right password is held back for this account...
    let mut c = Client::connect_from(&host.url, "127.9.10.5").await;
    c.expect_text("connect").await;
    c.send_text("connect Vale password123").await;
    c.expect_text(LOGIN_THROTTLE).await;
    // ...but the address itself is not.
    c.send_text("connect Other password123").await;
    c.expect_oob("logged_in").await;
}

#[tokio::test]
async fn the_pages_csp_lets_it_open_websockets_only_to_its_own_host() {
    let host = Host::start(GAME, "");
    let addr = ws_addr(&host);
    let page = raw_http(&host, format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes(), WAIT)
        .await
        .unwrap();
    let csp = page
        .lines()
        .find_map(|l| l.strip_prefix("Content-Security-Policy: "))
        .expect("a CSP")
        .to_string();
    let connect = csp.split(';').map(str::trim).find(|d| d.starts_with("connect-src")).unwrap();
    assert_eq!(connect, format!("connect-src 'self' ws://{addr} wss://{addr}"));
    // A Host header that could smuggle sources in gets 'self' alone.
    let page =
        raw_http(&host, b"GET / HTTP/1.1\r\nHost: a.example ws: *\r\n\r\n", WAIT).await.unwrap();
    assert!(page.contains("connect-src 'self';"), "{page}");
}
