//! The websocket subprotocols: `json.mudstandards.org` and `terminal.mudstandards.org` negotiated
//! and played through (login, OOB, colour), and a client offering only a protocol we do not
//! speak getting Evennia's v1 JSON with nothing echoed.

use crate::support;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use support::{Host, GAME, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// A TCP connection to the host from a chosen loopback address (the creation throttle counts
/// per address).
async fn tcp_from(host: &Host, ip: &str) -> TcpStream {
    let addr: std::net::SocketAddr =
        host.url.trim_start_matches("ws://").trim_end_matches('/').parse().unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{ip}:0").parse().unwrap()).unwrap();
    tokio::time::timeout(WAIT, socket.connect(addr))
        .await
        .expect("connect timed out")
        .expect("tcp connect")
}

/// A websocket client that offered `protocol`; returns it and the protocol the server chose.
async fn connect_offering(
    host: &Host,
    ip: &str,
    protocol: &str,
) -> (WebSocketStream<TcpStream>, Option<String>) {
    let mut req = host.url.as_str().into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_str(protocol).unwrap());
    let stream = tcp_from(host, ip).await;
    let (ws, resp) = tokio::time::timeout(WAIT, tokio_tungstenite::client_async(req, stream))
        .await
        .expect("handshake timed out")
        .expect("websocket handshake");
    let chosen =
        resp.headers().get("sec-websocket-protocol").map(|v| v.to_str().unwrap().to_owned());
    (ws, chosen)
}

/// The next data frame.
async fn next_frame(ws: &mut WebSocketStream<TcpStream>) -> Message {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await.expect("no frame within the wait")
        {
            Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => return m,
            Some(Ok(_)) => continue,
            other => panic!("connection ended: {other:?}"),
        }
    }
}

/// Read frames until a binary (ANSI text) frame contains `needle`; returns its text, and every
/// text frame seen on the way.
async fn expect_ansi(ws: &mut WebSocketStream<TcpStream>, needle: &str) -> (String, Vec<String>) {
    let (mut texts, mut seen) = (vec![], vec![]);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no {needle:?} within {WAIT:?}; got {seen:?} and {texts:?}"
        );
        match next_frame(ws).await {
            Message::Binary(b) => {
                let s = String::from_utf8(b.to_vec()).expect("ANSI text is UTF-8");
                if strip_ansi(&s).contains(needle) {
                    return (s, texts);
                }
                seen.push(s);
            }
            Message::Text(t) => texts.push(t.to_string()),
            _ => unreachable!(),
        }
    }
}

/// Text without its ANSI SGR sequences (`ESC [ ... m`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Read until a JSON envelope with this proto and id arrives; returns it.
async fn expect_envelope(ws: &mut WebSocketStream<TcpStream>, proto: &str, id: &str) -> Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        assert!(std::time::Instant::now() < deadline, "no {proto} {id} envelope within {WAIT:?}");
        if let Message::Text(t) = next_frame(ws).await {
            let v: Value =
                serde_json::from_str(t.as_str()).expect("text frames are JSON envelopes");
            if v["proto"] == proto && v["id"] == id {
                return v;
            }
        }
    }
}

#[tokio::test]
async fn json_mudstandards_is_negotiated_and_plays_with_ansi_text_and_gmcp_envelopes() {
    let host = Host::start(GAME, "");
    let (mut ws, chosen) =
        connect_offering(&host, "127.21.0.1", "v1.evennia.com, json.mudstandards.org").await;
    assert_eq!(chosen.as_deref(), Some("json.mudstandards.org"), "json is preferred over v1");

    let (screen, _) = expect_ansi(&mut ws, "connect <username> <password>").await;
    assert!(screen.ends_with("\r\n"), "text frames end with a line break: {screen:?}");

    // Text input both ways the proposal allows: an envelope, and a binary frame.
    let create = json!({"proto": "text", "id": "", "data": "create Jason password123"});
    ws.send(Message::text(create.to_string())).await.unwrap();
    expect_ansi(&mut ws, "A new account 'Jason' was created").await;
    ws.send(Message::binary(b"connect Jason password123".to_vec())).await.unwrap();
    let logged_in = expect_envelope(&mut ws, "gmcp", "Logged.In").await;
    assert_eq!(logged_in["data"], "", "logged_in carries nothing: {logged_in}");
    expect_ansi(&mut ws, "You become Jason").await;

    // Colour arrives as ANSI escapes, never as HTML.
    ws.send(Message::binary(b"look".to_vec())).await.unwrap();
    let (room, _) = expect_ansi(&mut ws, "Limbo").await;
    assert!(room.contains("\x1b["), "look is coloured with ANSI: {room:?}");
    assert!(!room.contains("<span"), "no HTML in a mudstandards text frame: {room:?}");

    // GMCP in: Core.Supports.Get is Evennia's client_options; the answer is GMCP out.
    let ask = json!({"proto": "gmcp", "id": "Core.Supports.Get", "data": ""});
    ws.send(Message::text(ask.to_string())).await.unwrap();
    let flags = expect_envelope(&mut ws, "gmcp", "Core.Supports.Get").await;
    let data: Value =
        serde_json::from_str(flags["data"].as_str().unwrap()).expect("GMCP data is JSON");
    assert_eq!(data["ANSI"], true, "the client's flags come back: {data}");

    // Any other proto names an input function, with data as its JSON arguments.
    let echo = json!({"proto": "custom", "id": "echo", "data": "[\"hi\"]"});
    ws.send(Message::text(echo.to_string())).await.unwrap();
    let (answer, _) = expect_ansi(&mut ws, "Echo returns").await;
    assert!(answer.contains("'hi'"), "{answer:?}");

    // A malformed envelope is answered, not fatal.
    ws.send(Message::text("[\"text\",[\"look\"],{}]")).await.unwrap();
    expect_ansi(&mut ws, "input dropped").await;
    ws.send(Message::binary(b"look".to_vec())).await.unwrap();
    expect_ansi(&mut ws, "Limbo").await;
}

#[tokio::test]
async fn terminal_mudstandards_is_negotiated_and_plays_in_binary_ansi_frames_only() {
    let host = Host::start(GAME, "");
    let (mut ws, chosen) = connect_offering(&host, "127.21.0.2", "terminal.mudstandards.org").await;
    assert_eq!(chosen.as_deref(), Some("terminal.mudstandards.org"));

    expect_ansi(&mut ws, "connect <username> <password>").await;
    // Text frames are accepted as input too; surrounding blanks are trimmed, blank lines ignored.
    ws.send(Message::binary(b"   \r\n".to_vec())).await.unwrap();
    ws.send(Message::text("  create Terry password123\r\n")).await.unwrap();
    expect_ansi(&mut ws, "A new account 'Terry' was created").await;
    ws.send(Message::binary(b"connect Terry password123\r\n".to_vec())).await.unwrap();
    let (_, texts) = expect_ansi(&mut ws, "You become Terry").await;
    assert!(texts.is_empty(), "no OOB (logged_in) reaches a terminal client: {texts:?}");

    ws.send(Message::binary(b"say in colour".to_vec())).await.unwrap();
    let (_, texts) = expect_ansi(&mut ws, "in colour").await;
    assert!(texts.is_empty(), "{texts:?}");
    ws.send(Message::binary(b"look".to_vec())).await.unwrap();
    let (room, texts) = expect_ansi(&mut ws, "Limbo").await;
    assert!(texts.is_empty(), "{texts:?}");
    assert!(room.contains("\x1b[") && room.ends_with("\r\n"), "{room:?}");
}

#[tokio::test]
async fn a_client_offering_only_unknown_subprotocols_is_refused_with_what_is_spoken() {
    let host = Host::start(GAME, "");
    // By hand: the answer is an HTTP refusal, not a websocket.
    let mut tcp = tcp_from(&host, "127.21.0.3").await;
    let addr = host.url.trim_start_matches("ws://").trim_end_matches('/');
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: chat.example.org, wamp.2.json\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut answer))
        .await
        .expect("answer and close in time")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).to_string();
    assert!(answer.to_lowercase().starts_with("http/1.1 400"), "{answer}");
    assert!(!answer.to_lowercase().contains("sec-websocket-accept"), "no upgrade: {answer}");
    for spoken in ["json.mudstandards.org", "terminal.mudstandards.org", "v1.evennia.com"] {
        assert!(answer.contains(spoken), "{spoken} missing from the refusal: {answer}");
    }
    // Offering one we speak among unknown ones is fine: that one is chosen and echoed.
    let (mut ws, chosen) =
        connect_offering(&host, "127.21.0.4", "chat.example.org, v1.evennia.com").await;
    assert_eq!(chosen.as_deref(), Some("v1.evennia.com"));
    let Message::Text(t) = next_frame(&mut ws).await else { panic!("v1 sends text frames") };
    assert!(t.as_str().contains("connect"), "{t}");
}
