//! Plain HTTP on the websocket port: read one request head, bounded in bytes and time (a client
//! that trickles bytes or sends an endless head is closed, never held), then either hand an
//! upgrade request to the websocket handshake together with the bytes already read, or answer a
//! `GET` with one of the bundled web client's files (embedded in the binary) and close.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::config::Config;

/// A connection whose request head has been read, replayed to the websocket handshake: the
/// buffered bytes first, then the rest of the socket. The buffer is freed once replayed, so an
/// open connection does not keep its request head for its whole life.
pub(crate) struct Replayed {
    /// Bytes read before the handshake and not yet replayed.
    head: Option<Box<[u8]>>,
    /// How much of `head` has been replayed.
    pos: usize,
    stream: TcpStream,
    /// Once the handshake is done: every byte read and every websocket frame header in it,
    /// counted as it is read (pings, continuation fragments and all).
    meter: Option<Box<(FrameScan, std::sync::Arc<Meter>)>>,
}

/// What a connection has read since the session loop last looked: bytes and websocket frames.
#[derive(Debug, Default)]
pub struct Meter {
    bytes: std::sync::atomic::AtomicU64,
    frames: std::sync::atomic::AtomicU64,
}

impl Meter {
    /// (bytes, frames) read since the last call.
    pub fn take(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.bytes.swap(0, Relaxed), self.frames.swap(0, Relaxed))
    }
}

/// Finds websocket frame headers in the bytes a client sends (RFC 6455 §5.2), skipping
/// payloads, so every frame is counted where tungstenite would only show whole messages.
#[derive(Debug, Default)]
pub struct FrameScan {
    header: [u8; 14],
    have: usize,
    payload_left: u64,
}

impl FrameScan {
    /// Scan `data`; returns the number of frame headers completed in it.
    pub fn feed(&mut self, mut data: &[u8]) -> u64 {
        let mut frames = 0;
        while !data.is_empty() {
            if self.payload_left > 0 {
                let skip = self.payload_left.min(data.len() as u64);
                self.payload_left -= skip;
                data = &data[skip as usize..];
                continue;
            }
            self.header[self.have] = data[0];
            self.have += 1;
            data = &data[1..];
            if self.have < 2 {
                continue;
            }
            let len7 = self.header[1] & 0x7f;
            let ext = match len7 {
                126 => 2,
                127 => 8,
                _ => 0,
            };
            let mask = if self.header[1] & 0x80 != 0 { 4 } else { 0 };
            if self.have < 2 + ext + mask {
                continue;
            }
            self.payload_left = match ext {
                0 => u64::from(len7),
                n => self.header[2..2 + n].iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b)),
            };
            self.have = 0;
            frames += 1;
        }
        frames
    }
}

impl Replayed {
    /// Start counting what is read (after the handshake): the returned meter is shared with
    /// the session loop, which charges it to the connection's inbound budget.
    pub fn meter(&mut self) -> std::sync::Arc<Meter> {
        let meter = std::sync::Arc::new(Meter::default());
        self.meter = Some(Box::new((FrameScan::default(), meter.clone())));
        meter
    }
}

impl AsyncRead for Replayed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if let Some(head) = &this.head {
            let n = (head.len() - this.pos).min(buf.remaining());
            buf.put_slice(&head[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == head.len() {
                this.head = None;
            }
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if let Some(m) = this.meter.as_mut() {
            let new = &buf.filled()[before..];
            if !new.is_empty() {
                use std::sync::atomic::Ordering::Relaxed;
                let frames = m.0.feed(new);
                m.1.bytes.fetch_add(new.len() as u64, Relaxed);
                m.1.frames.fetch_add(frames, Relaxed);
            }
        }
        polled
    }
}

impl AsyncWrite for Replayed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Most headers a request may carry (browsers send about 20).
const MAX_HEADERS: usize = 64;

/// What became of a new connection.
pub(crate) enum Routed {
    /// A websocket upgrade: do the handshake on this stream.
    Upgrade(Replayed),
    /// Answered (a page, an error) or dropped (timeout, bad bytes, gone); nothing more to do.
    Done,
}

/// Why a request head could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
enum HeadError {
    #[error("the client closed the connection")]
    Closed,
    #[error("the request head is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the request head did not arrive in time")]
    TimedOut,
    #[error("reading the request failed: {0}")]
    Io(String),
}

/// Read a request head (through the blank line) of at most `max` bytes, by `deadline`. Returns
/// every byte read, which may run past the head.
async fn read_head<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
    deadline: Instant,
) -> Result<Vec<u8>, HeadError> {
    let mut buf = Vec::with_capacity(1024.min(max));
    let mut chunk = [0u8; 1024];
    loop {
        let n = match tokio::time::timeout_at(deadline, reader.read(&mut chunk)).await {
            Err(_) => return Err(HeadError::TimedOut),
            Ok(Err(e)) => return Err(HeadError::Io(e.to_string())),
            Ok(Ok(0)) => return Err(HeadError::Closed),
            Ok(Ok(n)) => n,
        };
        // Only the new bytes (and the three before them) can complete the blank line.
        let from = buf.len().saturating_sub(3);
        // (A bare-LF blank line is found from there too: it needs at most three bytes.)
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find_blank_line(&buf[from..]) {
            if from + end > max {
                return Err(HeadError::TooLarge(max));
            }
            return Ok(buf);
        }
        if buf.len() > max {
            return Err(HeadError::TooLarge(max));
        }
    }
}

/// Offset just past the first blank line: `\r\n\r\n`, or a head that ends its lines in bare
/// LFs (`\n\n`, `\n\r\n`), which HTTP parsers accept too (RFC 9112 §2.2).
fn find_blank_line(bytes: &[u8]) -> Option<usize> {
    let lf = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i);
    let mut prev: Option<usize> = None;
    for i in lf {
        if let Some(p) = prev {
            // Only a CR (or nothing) between two LFs: an empty line.
            if i == p + 1 || (i == p + 2 && bytes[p + 1] == b'\r') {
                return Some(i + 1);
            }
        }
        prev = Some(i);
    }
    None
}

/// The parts of a request that routing needs.
#[derive(Debug, PartialEq, Eq)]
struct Head {
    method: String,
    path: String,
    upgrade: bool,
    /// The `Host` header, when it is a plain host[:port] (the page's own origin).
    host: Option<String>,
}

/// Parse a complete request head; `None` if it is not HTTP/1.x.
fn parse_head(bytes: &[u8]) -> Option<Head> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return None,
    }
    let upgrade = req.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("upgrade")
            && std::str::from_utf8(h.value)
                .is_ok_and(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("websocket")))
    });
    let host = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host"))
        .and_then(|h| std::str::from_utf8(h.value).ok())
        .map(str::trim)
        .filter(|h| is_plain_host(h))
        .map(str::to_owned);
    Some(Head { method: req.method?.to_owned(), path: req.path?.to_owned(), upgrade, host })
}

/// A `host[:port]` made only of the characters a host name, an IPv4 or a bracketed IPv6 address
/// and a port use: safe to put into a header, and nothing a CSP source list would misread.
pub(crate) fn is_plain_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// Read the head of a new connection and route it. Everything (head and any answer) must be
/// done by `deadline`.
pub(crate) async fn route(mut stream: TcpStream, cfg: &Config, deadline: Instant) -> Routed {
    let peer = stream.peer_addr().ok();
    let bytes = match read_head(&mut stream, cfg.http_head_bytes, deadline).await {
        Ok(b) => b,
        Err(e) => {
            tracing::debug!(?peer, cause = %e, "no request head");
            if let HeadError::TooLarge(_) = e {
                let resp = response(
                    431,
                    "Request Header Fields Too Large",
                    "text/plain",
                    b"request head too large\n",
                    true,
                );
                let _ = tokio::time::timeout_at(deadline, stream.write_all(&resp)).await;
            }
            return Routed::Done;
        }
    };
    let Some(head) = parse_head(&bytes) else {
        let resp = response(400, "Bad Request", "text/plain", b"not an HTTP request\n", true);
        let _ = tokio::time::timeout_at(deadline, stream.write_all(&resp)).await;
        return Routed::Done;
    };
    if head.upgrade {
        return Routed::Upgrade(Replayed {
            head: (!bytes.is_empty()).then(|| bytes.into_boxed_slice()),
            pos: 0,
            stream,
            meter: None,
        });
    }
    let resp = answer(&head, &cfg.server_name);
    // The path is the client's text: clipped, like every quote of untrusted input.
    let path = crate::logline::clip(&head.path, 200);
    tracing::debug!(?peer, method = %crate::logline::clip(&head.method, 20), %path, "web client request");
    if tokio::time::timeout_at(deadline, async {
        stream.write_all(&resp).await?;
        stream.shutdown().await
    })
    .await
    .is_err()
    {
        tracing::debug!(?peer, "web client response not sent in time");
    }
    Routed::Done
}

/// The bundled web client's files.
mod assets {
    pub const INDEX_HTML: &str = include_str!("../../webclient/index.html");
    pub const CLIENT_JS: &str = include_str!("../../webclient/webclient.js");
    pub const CLIENT_CSS: &str = include_str!("../../webclient/webclient.css");
}

/// The whole HTTP response for a plain (non-upgrade) request.
fn answer(head: &Head, server_name: &str) -> Vec<u8> {
    let with_body = head.method != "HEAD";
    let response = |code, reason, content_type, body: &[u8], with_body| {
        response_for(head.host.as_deref(), code, reason, content_type, body, with_body)
    };
    if head.method != "GET" && head.method != "HEAD" {
        let mut r = response(405, "Method Not Allowed", "text/plain", b"only GET and HEAD\n", true);
        // Allow goes among the headers, before the blank line.
        let at = find_blank_line(&r).expect("a response has a blank line") - 2;
        r.splice(at..at, b"Allow: GET, HEAD\r\n".iter().copied());
        return r;
    }
    let path = head.path.split(['?', '#']).next().unwrap_or("/");
    match path {
        "/" | "/index.html" | "/webclient" | "/webclient/" => {
            let page = assets::INDEX_HTML.replace("{{SERVER_NAME}}", &escape_html(server_name));
            response(200, "OK", "text/html; charset=utf-8", page.as_bytes(), with_body)
        }
        "/webclient.js" => response(
            200,
            "OK",
            "text/javascript; charset=utf-8",
            assets::CLIENT_JS.as_bytes(),
            with_body,
        ),
        "/webclient.css" => {
            response(200, "OK", "text/css; charset=utf-8", assets::CLIENT_CSS.as_bytes(), with_body)
        }
        "/colors.css" => {
            response(200, "OK", "text/css; charset=utf-8", palette_css().as_bytes(), with_body)
        }
        _ => response(404, "Not Found", "text/plain", b"not found\n", with_body),
    }
}

/// What the page may do: only its own scripts and styles, a websocket back to this host (the
/// one the page was asked from: `host`), links out. The MXP links the portal renders carry an
/// inline `onclick`; the client script handles their clicks instead, so no inline script is ever
/// allowed.
fn csp(host: Option<&str>) -> String {
    let connect = match host.filter(|h| is_plain_host(h)) {
        Some(h) => format!("'self' ws://{h} wss://{h}"),
        None => "'self'".to_string(),
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src {connect}; \
         img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// An HTTP/1.1 response that closes the connection (no `Host` known: the CSP allows only
/// `'self'`).
fn response(code: u16, reason: &str, content_type: &str, body: &[u8], with_body: bool) -> Vec<u8> {
    response_for(None, code, reason, content_type, body, with_body)
}

/// An HTTP/1.1 response that closes the connection, for a request to `host`.
fn response_for(
    host: Option<&str>,
    code: u16,
    reason: &str,
    content_type: &str,
    body: &[u8],
    with_body: bool,
) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n\
         Content-Security-Policy: {}\r\nConnection: close\r\n\r\n",
        body.len(),
        csp(host)
    )
    .into_bytes();
    if with_body {
        out.extend_from_slice(body);
    }
    out
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// The xterm-256 palette as the `color-NNN` / `bgcolor-NNN` classes the HTML renderer uses
/// (`portal/markup.rs`), built once.
fn palette_css() -> &'static str {
    static CSS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CSS.get_or_init(|| {
        let mut css = String::from("/* xterm-256 palette for the color-NNN / bgcolor-NNN classes */\n");
        for n in 0..=255u8 {
            let (r, g, b) = xterm_rgb(n);
            css.push_str(&format!(
                ".color-{n:03}{{color:#{r:02x}{g:02x}{b:02x}}}.bgcolor-{n:03}{{background-color:#{r:02x}{g:02x}{b:02x}}}\n"
            ));
        }
        css
    })
}

/// The RGB value of an xterm-256 colour index.
fn xterm_rgb(n: u8) -> (u8, u8, u8) {
    // The 16 system colours as xterm shows them, tuned a little so dark blue stays readable on
    // the client's black background.
    const BASE: [(u8, u8, u8); 16] = [
        (0x00, 0x00, 0x00),
        (0xcd, 0x00, 0x00),
        (0x00, 0xcd, 0x00),
        (0xcd, 0xcd, 0x00),
        (0x3b, 0x5b, 0xee),
        (0xcd, 0x00, 0xcd),
        (0x00, 0xcd, 0xcd),
        (0xe5, 0xe5, 0xe5),
        (0x7f, 0x7f, 0x7f),
        (0xff, 0x00, 0x00),
        (0x00, 0xff, 0x00),
        (0xff, 0xff, 0x00),
        (0x5c, 0x8c, 0xff),
        (0xff, 0x00, 0xff),
        (0x00, 0xff, 0xff),
        (0xff, 0xff, 0xff),
    ];
    match n {
        0..=15 => BASE[n as usize],
        16..=231 => {
            let i = n - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
            (level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        _ => {
            let v = 8 + 10 * (n - 232);
            (v, v, v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn head(text: &str) -> Head {
        parse_head(text.as_bytes()).expect("a request")
    }

    #[tokio::test]
    async fn a_head_split_over_many_reads_is_read_whole_with_what_follows() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let deadline = Instant::now() + Duration::from_secs(30);
        let writer = tokio::spawn(async move {
            for part in ["GET / HT", "TP/1.1\r\nHost: x\r", "\n\r", "\nrest"] {
                client.write_all(part.as_bytes()).await.unwrap();
                tokio::task::yield_now().await;
            }
            client
        });
        let bytes = read_head(&mut server, 8192, deadline).await.unwrap();
        let _client = writer.await.unwrap();
        assert!(bytes.starts_with(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert_eq!(parse_head(&bytes).unwrap().path, "/");
    }

    #[tokio::test]
    async fn an_endless_head_is_refused_at_the_byte_limit() {
        let (mut client, mut server) = tokio::io::duplex(4096);
        let deadline = Instant::now() + Duration::from_secs(30);
        tokio::spawn(async move {
            let _ = client.write_all(b"GET / HTTP/1.1\r\n").await;
            loop {
                if client
                    .write_all(b"X-Junk: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n")
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
        assert_eq!(read_head(&mut server, 2048, deadline).await, Err(HeadError::TooLarge(2048)));
    }

    #[tokio::test]
    async fn a_trickling_head_is_given_up_at_the_deadline() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let deadline = Instant::now() + Duration::from_millis(300);
        tokio::spawn(async move {
            for _ in 0..100 {
                if client.write_all(b"G").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        assert_eq!(read_head(&mut server, 8192, deadline).await, Err(HeadError::TimedOut));
    }

    #[test]
    fn every_websocket_frame_is_counted_whatever_pieces_it_arrives_in() {
        // A masked text frame "hi", a masked ping with no payload, a 200-byte binary frame
        // (16-bit length), then a continuation fragment.
        let mut bytes = vec![0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2, 0x89, 0x80, 9, 9, 9, 9];
        bytes.extend([0x02, 0xfe, 0, 200, 0, 0, 0, 0]);
        bytes.extend([0u8; 200]);
        bytes.extend([0x80, 0x81, 0, 0, 0, 0, b'x']);
        assert_eq!(FrameScan::default().feed(&bytes), 4);
        let mut scan = FrameScan::default();
        let one_at_a_time: u64 = bytes.iter().map(|b| scan.feed(std::slice::from_ref(b))).sum();
        assert_eq!(one_at_a_time, 4);
    }

    #[test]
    fn a_head_whose_lines_end_in_bare_lfs_is_complete() {
        assert_eq!(find_blank_line(b"GET / HTTP/1.1\nHost: x\n\nrest"), Some(24));
        assert_eq!(find_blank_line(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), Some(27));
        assert_eq!(find_blank_line(b"GET / HTTP/1.1\r\nHost: x\n\r\n"), Some(26));
        assert_eq!(find_blank_line(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
        let head = parse_head(b"GET /x HTTP/1.1\nHost: a:1\n\n").expect("parsed");
        assert_eq!((head.path.as_str(), head.host.as_deref()), ("/x", Some("a:1")));
    }

    #[test]
    fn upgrade_requests_are_told_from_page_requests() {
        let up = head(
            "GET /?abc HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n",
        );
        assert!(up.upgrade);
        let page = head("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(!page.upgrade);
        assert!(parse_head(b"\x16\x03\x01garbage\r\n\r\n").is_none());
    }

    fn status_and_body(resp: &[u8]) -> (String, String) {
        let text = String::from_utf8_lossy(resp).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        (head.lines().next().unwrap().to_owned(), body.to_owned())
    }

    #[test]
    fn the_page_names_the_server_escaped_and_its_assets_are_served() {
        let (status, body) =
            status_and_body(&answer(&head("GET / HTTP/1.1\r\n\r\n"), "<Moo & co>"));
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(body.contains("&lt;Moo &amp; co&gt;"), "{body}");
        assert!(!body.contains("{{SERVER_NAME}}"));
        for path in ["/webclient.js", "/webclient.css", "/colors.css"] {
            let (status, body) =
                status_and_body(&answer(&head(&format!("GET {path}?v=1 HTTP/1.1\r\n\r\n")), "m"));
            assert_eq!(status, "HTTP/1.1 200 OK", "{path}");
            assert!(!body.is_empty(), "{path}");
        }
        assert_eq!(
            status_and_body(&answer(&head("GET /nope HTTP/1.1\r\n\r\n"), "m")).0,
            "HTTP/1.1 404 Not Found"
        );
        let post = answer(&head("POST / HTTP/1.1\r\n\r\n"), "m");
        assert_eq!(status_and_body(&post).0, "HTTP/1.1 405 Method Not Allowed");
        assert!(String::from_utf8_lossy(&post).contains("\r\nAllow: GET, HEAD\r\n"));
        let (status, body) = status_and_body(&answer(&head("HEAD / HTTP/1.1\r\n\r\n"), "m"));
        assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.1 200 OK", ""));
    }

    #[test]
    fn the_palette_covers_every_class_the_renderer_emits() {
        let css = palette_css();
        assert!(css.contains(".color-009{color:#ff0000}"));
        assert!(css.contains(".bgcolor-196{background-color:#ff0000}"));
        assert!(css.contains(".color-255{color:#eeeeee}"));
        assert_eq!(css.matches(".color-").count(), 256);
    }
}
