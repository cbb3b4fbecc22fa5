//! Anonymous clients cannot hurt the game: throttles, connection and command caps, byte budgets
//! each seen from the players' side.

use crate::support;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use support::{Client, ConnectOptions, Host, GAME, WAIT};

const MODULES: &[&str] = &["unloggedin", "account", "character", "trouble"];
const WITH_TROUBLE: &str = r#"cmdset_character = ["character", "trouble"]"#;

const LOGIN_THROTTLE: &str = "Too many login failures; please try again in a few minutes.";
const CREATION_THROTTLE: &str =
    "You are creating too many accounts. Please log into an existing account.";
const COMMAND_RATE: &str = "You entered commands too fast. Wait a moment and try again.";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A connection from `from` that has seen its connection screen.
async fn client_from(host: &Host, from: &str) -> Client {
    let mut c = Client::connect_from(&host.url, ip(from)).await;
    c.expect_text("connect").await;
    c
}

/// Send a command and return the first text that answers a login or creation attempt.
async fn attempt(c: &mut Client, line: &str) -> String {
    c.send_text(line).await;
    loop {
        let t = c.next_text().await.expect("an answer");
        if t.contains("incorrect")
            || t.contains("Too many")
            || t.contains("creating too many")
            || t.contains("was created")
            || t.contains("You become")
            || t.contains("busy")
        {
            return t;
        }
    }
}

/// "portal pid N; server up (pid M); sessions S; ..." → (N, S).
fn portal_status(host: &Host) -> (u32, usize) {
    let status = host.cli(&["status"]);
    let field = |name: &str| -> usize {
        status
            .split(name)
            .nth(1)
            .and_then(|r| r.split(';').next())
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    };
    (field("portal pid ") as u32, field("sessions "))
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib / 1024.0
}

async fn wait_new_server(host: &Host, old: u32) {
    let deadline = Instant::now() + WAIT;
    loop {
        let status = host.cli(&["status"]);
        if let Some(rest) = status.split("server up (pid ").nth(1) {
            if rest.split(')').next().unwrap().parse::<u32>().unwrap() != old {
                return;
            }
        }
        assert!(Instant::now() < deadline, "no new server: {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_sixth_wrong_password_from_one_address_gets_the_throttle_text_even_with_the_right_password(
) {
    let host = Host::start(GAME, "");
    let mut c = client_from(&host, "127.3.0.1").await;
    assert!(attempt(&mut c, "create Vic password123").await.contains("was created"));
    for _ in 0..5 {
        assert_eq!(
            attempt(&mut c, "connect Vic wrongpass").await,
            "Username and/or password is incorrect."
        );
    }
    assert_eq!(attempt(&mut c, "connect Vic password123").await, LOGIN_THROTTLE);
    // A new connection from the same address is held back too; another address is not.
    let mut again = client_from(&host, "127.3.0.1").await;
    assert_eq!(attempt(&mut again, "connect Vic password123").await, LOGIN_THROTTLE);
    let mut other = client_from(&host, "127.3.0.2").await;
    assert!(attempt(&mut other, "connect Vic password123").await.contains("You become Vic"));
}

#[tokio::test]
async fn concurrent_guesses_check_at_most_the_limit_and_the_throttle_survives_a_server_reload() {
    // Forty guesses open forty connections at once: the connection rate is not what is tested.
    let host = Host::start(GAME, "connection_rate_per_ip = 0");
    let mut owner = client_from(&host, "127.3.1.1").await;
    assert!(attempt(&mut owner, "create Wren password123").await.contains("was created"));

    let mut guessers = vec![];
    for _ in 0..40 {
        guessers.push(client_from(&host, "127.3.1.2").await);
    }
    // Every guess is on the wire before the first answer is read.
    for g in guessers.iter_mut() {
        g.send_text("connect Wren wrongpass").await;
    }
    let mut answers = vec![];
    for mut g in guessers {
        answers.push(tokio::spawn(async move {
            loop {
                let t = g.next_text().await.expect("an answer");
                if t.contains("incorrect") || t.contains("Too many") {
                    return t;
                }
            }
        }));
    }
    let mut checked = 0;
    let mut throttled = 0;
    for a in answers {
        match a.await.unwrap().as_str() {
            "Username and/or password is incorrect." => checked += 1,
            LOGIN_THROTTLE => throttled += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((checked, throttled), (5, 35), "at most the limit of concurrent guesses is checked");

    let old = host.server_pid();
    host.cli(&["reload"]);
    wait_new_server(&host, old).await;
    let mut after = client_from(&host, "127.3.1.2").await;
    assert_eq!(
        attempt(&mut after, "connect Wren password123").await,
        LOGIN_THROTTLE,
        "kept across the reload"
    );
}

#[tokio::test]
async fn creating_accounts_is_throttled_per_address_with_evennias_text() {
    let host = Host::start(GAME, "");
    for (i, want) in
        ["was created", "was created", CREATION_THROTTLE, CREATION_THROTTLE].iter().enumerate()
    {
        let mut c = client_from(&host, "127.3.2.1").await;
        let got = attempt(&mut c, &format!("create Maker{i} password123")).await;
        assert!(got.contains(want), "account {} from one address: {got:?}", i + 1);
    }
    let mut elsewhere = client_from(&host, "127.3.2.2").await;
    assert!(attempt(&mut elsewhere, "create Maker9 password123").await.contains("was created"));
}

#[tokio::test]
async fn connections_beyond_the_per_address_cap_are_refused_with_a_message_while_another_address_connects(
) {
    let host = Host::start(GAME, "max_connections_per_ip = 3\nconnection_rate_per_ip = 0");
    let mut held = vec![];
    for _ in 0..3 {
        held.push(client_from(&host, "127.0.0.1").await);
    }
    let mut refused = Client::connect_from(&host.url, ip("127.0.0.1")).await;
    let text = refused.next_text().await.expect("a refusal text");
    assert!(text.starts_with("Too many connections from your address"), "{text}");
    assert!(refused.close_reason().await.starts_with("Too many connections"));

    let _second_address = client_from(&host, "127.0.0.2").await;
    // A slot freed is a slot again.
    let mut gone = held.pop().unwrap();
    gone.send_text("quit").await;
    gone.expect_closed().await;
    let deadline = Instant::now() + WAIT;
    loop {
        let mut c = Client::connect_from(&host.url, ip("127.0.0.1")).await;
        if c.next_text().await.is_some_and(|t| t.contains("connect")) {
            break;
        }
        assert!(Instant::now() < deadline, "the freed slot never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A raw TCP connection to the websocket port from `from` that sends nothing.
async fn silent_from(host: &Host, from: &str) -> tokio::net::TcpStream {
    let addr: std::net::SocketAddr =
        host.url.trim_start_matches("ws://").trim_end_matches('/').parse().unwrap();
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(std::net::SocketAddr::new(ip(from), 0)).unwrap();
    tokio::time::timeout(WAIT, sock.connect(addr))
        .await
        .expect("connect in time")
        .expect("tcp connect")
}

/// Whether the portal closes this connection (EOF or reset) within the wait.
async fn closed_by_portal(mut tcp: tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 64];
    matches!(tokio::time::timeout(WAIT, tcp.read(&mut buf)).await, Ok(Ok(0) | Err(_)))
}

#[tokio::test]
async fn connections_still_in_their_handshake_are_capped_per_address_and_in_total() {
    // A long handshake deadline: without the caps, silent connections would hold their sockets
    // for a minute each.
    let host = Host::start(
        GAME,
        "max_handshakes_per_ip = 3\nmax_handshakes = 5\nhandshake_timeout_ms = 60000\n",
    );
    let mut silent = vec![];
    for _ in 0..3 {
        silent.push(silent_from(&host, "127.30.0.1").await);
    }
    // The fourth from that address is closed at once (well before the deadline) ...
    let started = Instant::now();
    assert!(
        closed_by_portal(silent_from(&host, "127.30.0.1").await).await,
        "the fourth stays open"
    );
    assert!(started.elapsed() < Duration::from_secs(30), "closed by the cap, not the deadline");
    // ... while another address plays.
    let _player = client_from(&host, "127.30.0.2").await;
    // Two silent ones from a third address reach the total: a newcomer from a fourth address
    // takes the place of the oldest handshake of the address holding most (the first one).
    silent.push(silent_from(&host, "127.30.0.3").await);
    silent.push(silent_from(&host, "127.30.0.3").await);
    let mut newcomer = vec![silent_from(&host, "127.30.0.4").await];
    assert!(closed_by_portal(silent.remove(0)).await, "the oldest of the heaviest address");
    // Now the fourth address holds one, the others two each: a second one from it would hold
    // as many as they do, so it is closed at once instead of taking a place.
    newcomer.push(silent_from(&host, "127.30.0.4").await);
    assert!(closed_by_portal(newcomer.pop().unwrap()).await, "no address evicts an equal one");
    // A silent connection that gives up frees its place (as soon as the portal has seen it go:
    // until then an attempt may still be closed at once, so attempts repeat within the wait).
    drop(silent.pop());
    let deadline = Instant::now() + WAIT;
    loop {
        let tcp = silent_from(&host, "127.30.0.4").await;
        if let Ok((mut ws, _)) = tokio_tungstenite::client_async(host.url.as_str(), tcp).await {
            use futures_util::StreamExt;
            let first = tokio::time::timeout(WAIT, ws.next()).await.expect("a first frame in time");
            let text = first.expect("a frame").expect("a text frame").into_text().unwrap();
            assert!(text.contains("connect"), "{text}");
            break;
        }
        assert!(Instant::now() < deadline, "the freed place was never given back");
    }
}

#[tokio::test]
async fn connections_faster_than_the_rate_are_queued_with_evennias_text() {
    let host = Host::start(GAME, "connection_rate_per_ip = 1\nconnection_burst_per_ip = 1");
    let mut first = Client::connect_from(&host.url, ip("127.3.3.1")).await;
    let mut second = Client::connect_from(&host.url, ip("127.3.3.1")).await;
    assert!(first.next_text().await.unwrap().contains("connect"));
    let queued = second.next_text().await.unwrap();
    assert!(
        queued.starts_with("mudhost DoS protection is active.You are queued to connect in ")
            && queued.ends_with(" seconds ..."),
        "{queued}"
    );
    // Queued, not refused: the connection screen follows.
    second.expect_text("connect").await;
}

#[tokio::test]
async fn a_command_flood_is_throttled_with_evennias_text_while_another_client_is_answered_promptly()
{
    let host = Host::start(MODULES, WITH_TROUBLE);
    let mut bystander = host.player("Bea").await;
    let mut flooder = host.client().await;
    for _ in 0..400 {
        flooder.send_text("look").await;
    }
    let mut worst = Duration::ZERO;
    for i in 0..5 {
        let t0 = Instant::now();
        bystander.send_text(&format!("echoback {i}")).await;
        bystander.expect_text(&format!("echoback v1: {i}")).await;
        worst = worst.max(t0.elapsed());
    }
    assert!(worst < Duration::from_secs(5), "the bystander waited {worst:?}");
    flooder.expect_text(COMMAND_RATE).await;
}

#[tokio::test]
async fn a_client_that_never_reads_is_disconnected_and_portal_memory_stays_bounded() {
    // The talker speaks faster than the command rate and the inbound byte budget allow, and the
    // sleeper takes all of it (no budget for output others cause): those limits are not the ones
    // tested.
    let host = Host::start(
        GAME,
        "outbox_bytes = 262144\ncommand_rate = 0\nothers_output_bytes_per_sec = 0\ninbound_bytes_per_sec = 0\n\
         inbound_bytes_per_sec_per_ip = 0\ninbound_frames_per_sec = 0\ninbound_frames_per_sec_per_ip = 0\n\
         command_rate_per_ip = 0",
    );
    let sleeper = Client::connect_with(
        &host.url,
        ConnectOptions { recv_buffer: Some(4096), ..Default::default() },
    )
    .await
    .become_player("Sleepy")
    .await;
    let mut talker = host.player("Talky").await;
    let (portal, sessions) = portal_status(&host);
    assert_eq!(sessions, 2);
    let before = rss_mib(portal);
    let speech = "z".repeat(4000);
    let mut dropped = false;
    // Up to 40 MB of speech; the sleeper must be dropped long before.
    for round in 0..500 {
        for _ in 0..20 {
            talker.send_text(&format!("say {speech}")).await;
            talker.expect_text("You say").await;
        }
        if portal_status(&host).1 == 1 {
            dropped = true;
            eprintln!("sleeper dropped after {} KB of speech", (round + 1) * 20 * 4);
            break;
        }
    }
    assert!(dropped, "a client that never reads was never disconnected");
    let growth = rss_mib(portal) - before;
    eprintln!("portal RSS growth {growth:.1} MiB");
    // Budget: the 256 KiB outbox, socket buffers, and allocator slack.
    assert!(growth < 32.0, "portal RSS grew {growth:.1} MiB");
    // The connection is closed once the portal gives up writing to it.
    let mut sleeper = sleeper;
    let _ = sleeper.close_reason().await;
    talker.send_text("look").await;
    talker.expect_text("Limbo").await;
}

#[tokio::test]
async fn input_queued_during_a_gap_is_bounded_in_bytes_and_the_client_is_told_why_it_is_dropped() {
    let host = Host::start(
        MODULES,
        &format!(
            "{WITH_TROUBLE}\nrestart_backoff_ms = 3000\nqueued_input_bytes_per_session = 65536"
        ),
    );
    let mut hog = host.player("Hog").await;
    let mut calm = host.player("Calm").await;
    let (portal, _) = portal_status(&host);
    let before = rss_mib(portal);
    let old = host.server_pid();
    unsafe { libc::kill(old as i32, libc::SIGKILL) };
    // Wait until the portal has noticed, so the inputs below queue in the portal.
    let deadline = Instant::now() + WAIT;
    while host.cli(&["status"]).contains("server up") {
        assert!(Instant::now() < deadline, "the portal never noticed the dead server");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let big = "q".repeat(5000);
    for _ in 0..30 {
        // The portal drops the hog part way through: a send may fail after that.
        let frame = serde_json::json!(["text", [format!("echoback {big}")], {}]).to_string();
        if futures_util::SinkExt::send(
            &mut hog.ws,
            tokio_tungstenite::tungstenite::Message::text(frame),
        )
        .await
        .is_err()
        {
            break;
        }
    }
    let reason = hog.close_reason().await;
    assert!(reason.contains("byte budget"), "close reason {reason:?}");
    assert!(rss_mib(portal) - before < 32.0);
    calm.send_text("echoback still here").await;
    wait_new_server(&host, old).await;
    calm.expect_text("echoback v1: still here").await;
}

#[tokio::test]
async fn two_hundred_simultaneous_logins_all_succeed() {
    let host = Host::start(GAME, "");
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let url = host.url.clone();
            tokio::spawn(async move { Client::player(&url, &format!("Crowd{i}")).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        t.await.expect("every login succeeds");
        ok += 1;
    }
    assert_eq!(ok, 200);
}

#[tokio::test]
async fn a_full_hashing_queue_answers_busy_at_once_and_a_retry_succeeds() {
    // One slow hashing thread and room for one waiting job: a burst of creations overflows it.
    let host = Host::start(
        GAME,
        "hash_threads = 1\nhash_queue = 1\nargon2_memory_kib = 32768\nargon2_iterations = 3",
    );
    let mut clients = vec![];
    for _ in 0..8 {
        clients.push(host.client().await);
    }
    for (i, c) in clients.iter_mut().enumerate() {
        c.send_text(&format!("create Busy{i} password123")).await;
    }
    let mut busy = vec![];
    let mut created = 0;
    for (i, c) in clients.iter_mut().enumerate() {
        let answer = loop {
            let t = c.next_text().await.expect("an answer");
            if t.contains("busy") || t.contains("was created") {
                break t;
            }
        };
        if answer.contains("was created") {
            created += 1;
        } else {
            assert_eq!(
                answer,
                "The server is busy checking other logins. Please try again in a moment."
            );
            busy.push(i);
        }
    }
    assert!(created >= 1 && !busy.is_empty(), "created {created}, busy {busy:?}");
    // Nothing was checked for the refused ones, so nothing counts against them: a retry works.
    let i = busy[0];
    assert!(attempt(&mut clients[i], &format!("create Busy{i} password123"))
        .await
        .contains("was created"));
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_limits_see_the_forwarded_address() {
    let host = Host::start(
        GAME,
        "trusted_proxies = [\"127.0.0.1\"]\nmax_connections_per_ip = 1\nconnection_rate_per_ip = 0",
    );
    let via_proxy = |xff: &str| ConnectOptions {
        from: Some(ip("127.0.0.1")),
        forwarded_for: Some(xff.to_string()),
        ..Default::default()
    };
    // Two players behind the same proxy are two addresses ...
    let mut a = Client::connect_with(&host.url, via_proxy("198.51.100.1")).await;
    let mut b = Client::connect_with(&host.url, via_proxy("198.51.100.2")).await;
    a.expect_text("connect").await;
    b.expect_text("connect").await;
    // ... and one of them cannot pass for another by writing the header itself.
    let mut again = Client::connect_with(&host.url, via_proxy("203.0.113.9, 198.51.100.1")).await;
    assert!(again.next_text().await.unwrap().starts_with("Too many connections from your address"));
    // A client that is not the proxy is judged by its own address, whatever it claims.
    let direct = ConnectOptions {
        from: Some(ip("127.0.0.5")),
        forwarded_for: Some("198.51.100.9".into()),
        ..Default::default()
    };
    let mut d1 = Client::connect_with(&host.url, direct.clone()).await;
    d1.expect_text("connect").await;
    let mut d2 = Client::connect_with(&host.url, direct).await;
    assert!(d2.next_text().await.unwrap().starts_with("Too many connections from your address"));
}

#[tokio::test]
async fn unrecognised_input_is_logged_clipped_and_at_most_once_per_interval() {
    // 2.6 MB arrive in one burst: the portal holds them until the server acknowledges, which may
    // take longer than the burst on a busy machine, so the per-session input byte budget (1 MiB
    // by default, tested on its own above) is raised here, and the inbound byte budget (tested
    // in capacity.rs) lifted.
    let host = Host::start(
        GAME,
        "queued_input_bytes_per_session = 16777216\ninbound_bytes_per_sec = 0\ninbound_bytes_per_sec_per_ip = 0\n",
    );
    let mut c = host.client().await;
    let before = host.log().len();
    let junk: Vec<String> = (0..4000).map(|i| format!("x{i:08}")).collect();
    for _ in 0..50 {
        c.send_json(serde_json::json!(["no_such_inputfunc", junk, {}])).await;
    }
    // Inputs are handled in order: once this is answered, all fifty were handled.
    c.send_text("look").await;
    c.expect_text("connect").await;
    let grown = host.log().len() - before;
    // 50 × 52 KB were sent; one clipped line (and no summary yet) is logged.
    assert!(grown < 4_000, "the log grew {grown} bytes");
    assert_eq!(host.log().matches("Input command not recognized").count(), 1);
}
