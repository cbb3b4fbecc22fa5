//! CPU cost per command, measured against the bare websocket server in `../shared/bench/echo-server`
//! in the same run (absolute figures drift on a shared machine; the ratio is what is reported).
//!
//! Each scenario logs its clients in, warms up for a second, then runs closed-loop clients (send
//! one command, wait for its answer, repeat) for the measured window, reading the CPU time of
//! every process of the server under test from /proc before and after.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{Client, Host};

/// What one client does in a loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// `look`, answered with the room.
    Look,
    /// The `echo` input function (out-of-band).
    Echo,
    /// `say` in one shared room: every say is one frame to each client.
    Say,
}

impl Workload {
    /// Parse a scenario name.
    pub fn parse(s: &str) -> Option<Workload> {
        match s {
            "look" => Some(Workload::Look),
            "echo" => Some(Workload::Echo),
            "say" => Some(Workload::Say),
            _ => None,
        }
    }

    /// The frame for command number `k`.
    fn frame(self, k: u64) -> Message {
        let msg = match self {
            Workload::Look => json!(["text", ["look"], {}]),
            Workload::Echo => json!(["echo", [format!("x{k}")], {}]),
            Workload::Say => json!(["text", [format!("say hello {k}")], {}]),
        };
        Message::text(msg.to_string())
    }

    /// Whether a received frame (raw, as sent) is the answer to this client's own command.
    /// Checked on the raw text, without decoding: 200 clients in a room receive 200 frames
    /// per say, and a generator that parses each one is what the run would measure.
    fn is_answer(self, frame: &str) -> bool {
        match self {
            Workload::Look => frame.contains("Limbo"),
            Workload::Echo => frame.contains("Echo returns"),
            Workload::Say => frame.contains("You say"),
        }
    }
}

/// A benchmark client's websocket, used raw (see [`Workload::is_answer`]).
type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Read until this client's own answer; false if the connection ended.
async fn await_answer(ws: &mut Ws, work: Workload) -> bool {
    while let Some(frame) = ws.next().await {
        match frame {
            Ok(Message::Text(t)) if work.is_answer(t.as_str()) => return true,
            Ok(Message::Close(_)) | Err(_) => return false,
            Ok(_) => {}
        }
    }
    false
}

/// Result of one measured run.
pub struct Run {
    /// Commands answered in the window.
    pub commands: usize,
    /// Window length.
    pub secs: f64,
    /// CPU time of the measured processes over the window, µs.
    pub cpu_us: Vec<(String, f64)>,
    /// Sorted latencies.
    pub latencies: Vec<Duration>,
    /// RSS of the measured processes at the end, MiB.
    pub rss_mib: Vec<(String, f64)>,
}

impl Run {
    fn cpu_total(&self) -> f64 {
        self.cpu_us.iter().map(|(_, v)| v).sum()
    }

    /// CPU µs per command, all measured processes together.
    pub fn cpu_per_command(&self) -> f64 {
        self.cpu_total() / self.commands.max(1) as f64
    }

    fn print(&self, label: &str) {
        let p = |q: f64| crate::harness::percentile(&self.latencies, q);
        let per: Vec<String> = self
            .cpu_us
            .iter()
            .map(|(n, v)| format!("{n} {:.0}", v / self.commands.max(1) as f64))
            .collect();
        let rss: Vec<String> = self.rss_mib.iter().map(|(n, v)| format!("{n} {v:.1}")).collect();
        println!(
            "  {label:<9} {:>8.0} cmd/s  p50 {:>7.1?} p99 {:>7.1?} max {:>7.1?}  CPU µs/cmd {:>7.1} ({})  RSS MiB {}",
            self.commands as f64 / self.secs,
            p(0.5),
            p(0.99),
            self.latencies.last().copied().unwrap_or_default(),
            self.cpu_per_command(),
            per.join(", "),
            rss.join(", ")
        );
    }
}

/// CPU time (user + system) of a process, µs.
pub fn cpu_us(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the `(comm)`, which may contain spaces: utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks / hz * 1e6
}

/// How clients send: closed loop (send, wait for the answer, repeat) or open loop at a fixed
/// total rate (each client on its own schedule, latency counted from the scheduled send time,
/// so a host that falls behind is charged for the queue it builds).
#[derive(Debug, Clone, Copy)]
pub enum Pacing {
    ClosedLoop,
    /// Commands per second, all clients together.
    Rate(f64),
}

/// Run `clients` for `secs` after a 1 s warm-up, measuring `pids`.
async fn measure(
    clients: Vec<Client>,
    work: Workload,
    pacing: Pacing,
    secs: f64,
    pids: &[(String, u32)],
) -> Run {
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let n = clients.len();
    let mut tasks = vec![];
    for (i, c) in clients.into_iter().enumerate() {
        let (stop, measuring) = (stop.clone(), measuring.clone());
        let ws = c.ws;
        tasks.push(tokio::spawn(async move {
            match pacing {
                Pacing::ClosedLoop => closed_loop(ws, work, i, stop, measuring).await,
                Pacing::Rate(rate) => {
                    let every = Duration::from_secs_f64(n as f64 / rate);
                    // Spread the clients' schedules over one period.
                    let first = tokio::time::Instant::now() + every.mul_f64(i as f64 / n as f64);
                    open_loop(ws, work, i, first, every, stop, measuring).await
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before: Vec<f64> = pids.iter().map(|(_, p)| cpu_us(*p)).collect();
    let t0 = Instant::now();
    measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = t0.elapsed().as_secs_f64();
    let after: Vec<f64> = pids.iter().map(|(_, p)| cpu_us(*p)).collect();
    let rss_mib = pids.iter().map(|(n, p)| (n.clone(), crate::harness::rss_mib(*p))).collect();
    stop.store(true, Ordering::Relaxed);
    let mut latencies = vec![];
    for t in tasks {
        latencies.extend(t.await.expect("client task"));
    }
    latencies.sort();
    let cpu = pids
        .iter()
        .zip(before.iter().zip(&after))
        .map(|((n, _), (b, a))| (n.clone(), a - b))
        .collect();
    Run { commands: latencies.len(), secs: elapsed, cpu_us: cpu, latencies, rss_mib }
}

/// Send, wait for the answer, repeat; the latencies of commands answered while measuring.
async fn closed_loop(
    mut ws: Ws,
    work: Workload,
    i: usize,
    stop: Arc<AtomicBool>,
    measuring: Arc<AtomicBool>,
) -> Vec<Duration> {
    let mut lat = vec![];
    let mut k = i as u64 * 1_000_000;
    while !stop.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        if ws.send(work.frame(k)).await.is_err() || !await_answer(&mut ws, work).await {
            panic!("client {i}: connection lost");
        }
        if measuring.load(Ordering::Relaxed) {
            lat.push(t0.elapsed());
        }
        k += 1;
    }
    lat
}

/// Send on a fixed schedule whatever the answers do; answers come back in order, each charged
/// from its command's scheduled time.
async fn open_loop(
    mut ws: Ws,
    work: Workload,
    i: usize,
    first: tokio::time::Instant,
    every: Duration,
    stop: Arc<AtomicBool>,
    measuring: Arc<AtomicBool>,
) -> Vec<Duration> {
    let mut lat = vec![];
    let mut k = i as u64 * 1_000_000;
    let mut next = first;
    // Scheduled send times of the commands not yet answered, and whether each counts.
    let mut waiting = std::collections::VecDeque::new();
    while !stop.load(Ordering::Relaxed) || !waiting.is_empty() {
        tokio::select! {
            _ = tokio::time::sleep_until(next), if !stop.load(Ordering::Relaxed) => {
                waiting.push_back((next, measuring.load(Ordering::Relaxed)));
                ws.send(work.frame(k)).await.unwrap_or_else(|e| panic!("client {i}: {e}"));
                k += 1;
                next += every;
            }
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(t))) if work.is_answer(t.as_str()) => {
                    if let Some((sent, counts)) = waiting.pop_front() {
                        if counts {
                            lat.push(tokio::time::Instant::now() - sent);
                        }
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => panic!("client {i}: connection lost"),
                Some(Ok(_)) => {}
            },
            // Stopping: answers still owed are waited for only so long.
            _ = tokio::time::sleep(Duration::from_secs(10)), if stop.load(Ordering::Relaxed) => break,
        }
    }
    lat
}

/// The bare websocket server, built from ../shared/bench/echo-server into target/echo-server.
struct EchoServer {
    child: Child,
    url: String,
}

impl EchoServer {
    fn start() -> EchoServer {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let manifest = root.join("../shared/bench/echo-server/Cargo.toml");
        let target = root.join("target/echo-server");
        let st = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--release", "--quiet", "--manifest-path"])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target)
            .status()
            .expect("cargo");
        assert!(st.success(), "building the echo server failed");
        let bin: PathBuf = target.join("release/echo-server");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = Command::new(bin)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("ws://127.0.0.1:{port}/");
        EchoServer { child, url }
    }

    async fn client(&self, name: &str) -> Client {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut c = loop {
            match tokio_tungstenite::connect_async(&self.url).await {
                Ok((ws, _)) => break Client { ws, seen: vec![] },
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                Err(e) => panic!("echo server: {e}"),
            }
        };
        c.expect_text("Welcome").await;
        c.send_text(&format!("connect {name} pw")).await;
        c.expect_oob("logged_in").await;
        c
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One scenario against the host and against the bare server; prints both and the ratio.
pub async fn compare(work: Workload, n: usize, secs: f64, pacing: Pacing) {
    match pacing {
        Pacing::ClosedLoop => {
            println!("{work:?}: {n} clients, {secs} s window (closed loop: send, wait for the answer, repeat)")
        }
        Pacing::Rate(r) => println!(
            "{work:?}: {n} clients, {secs} s window (open loop: {r:.0} commands/s in all on a fixed schedule, latency from the scheduled time)"
        ),
    }
    let echo = EchoServer::start();
    let mut clients = vec![];
    for i in 0..n {
        clients.push(echo.client(&format!("E{i}")).await);
    }
    let bare = measure(clients, work, pacing, secs, &[("bare".into(), echo.child.id())]).await;
    bare.print("bare");
    drop(echo);

    let host = Host::start(crate::harness::MODULES, crate::harness::CONFIG);
    let clients = crate::harness::players(&host.url, n, "P").await;
    let pids = [
        ("portal".to_string(), crate::harness::portal_pid(&host)),
        ("server".to_string(), host.server_pid()),
    ];
    let run = measure(clients, work, pacing, secs, &pids).await;
    run.print("mudhost");
    println!(
        "  ratio mudhost/bare: CPU per command {:.1}×, throughput {:.2}×",
        run.cpu_per_command() / bare.cpu_per_command().max(0.001),
        (run.commands as f64 / run.secs) / (bare.commands as f64 / bare.secs).max(0.001)
    );
}

/// Idle connections: KiB of RSS per connection for the host (both processes) and the bare server.
pub async fn idle(n: usize) {
    println!("idle: {n} open websockets, RSS per connection");
    let echo = EchoServer::start();
    let base = crate::harness::rss_mib(echo.child.id());
    let mut held = vec![];
    for i in 0..n {
        held.push(echo.client(&format!("I{i}")).await);
    }
    let bare_kib = (crate::harness::rss_mib(echo.child.id()) - base) * 1024.0 / n as f64;
    drop(held);
    drop(echo);

    // The default total cap (5,000) is an operator's choice; this measures up to the fd limit.
    let host = Host::start(
        crate::harness::MODULES,
        &format!(
            "{}\nmax_connections = 0\nmax_unauthenticated_connections = 0",
            crate::harness::CONFIG
        ),
    );
    let (portal, server) = (crate::harness::portal_pid(&host), host.server_pid());
    let hold: Option<u64> =
        std::env::var("MUDHOST_IDLE_HOLD_SECS").ok().and_then(|s| s.parse().ok());
    if let Some(hold) = hold {
        println!("  waiting {hold} s before connecting: portal pid {portal}, server pid {server}");
        tokio::time::sleep(Duration::from_secs(hold)).await;
    }
    // One client first, so the baseline includes what the first connection sets up once (the
    // connection screen's module instance, lazily built tables): the figure is per connection.
    let mut held = vec![host.client().await];
    let (portal_base, server_base) =
        (crate::harness::rss_mib(portal), crate::harness::rss_mib(server));
    for _ in 0..n {
        held.push(host.client().await);
    }
    let per_conn = |now: f64, base: f64| (now - base) * 1024.0 / n as f64;
    let (p, s) = (
        per_conn(crate::harness::rss_mib(portal), portal_base),
        per_conn(crate::harness::rss_mib(server), server_base),
    );
    let kib = p + s;
    // For profiling (`heaptrack -p`): time to attach before, and to look while they are held.
    if let Some(hold) = hold {
        println!("  holding {n} connections for {hold} s");
        tokio::time::sleep(Duration::from_secs(hold)).await;
    }
    println!(
        "  bare {bare_kib:.1} KiB/conn; mudhost {kib:.1} KiB/conn (portal {p:.1} + server {s:.1}); ratio {:.2}×",
        kib / bare_kib.max(0.001)
    );
}
