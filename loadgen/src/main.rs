//! Load generator: starts a real host (portal + server) from a release build and measures it
//! with many websocket clients. Run through `cargo xtask bench`, which builds everything first.
//!
//! Scenarios:
//! - `restart N`: N players logged in; the server is SIGKILLed and reloaded, twice each; reports
//!   the time until every player has an answer again, and the portal's and server's RSS.
//! - `hotreload N R`: N players send commands continuously while a module is replaced R times
//!   (atomic rename, alternating two builds); reports file-landed → first-new-answer latency.
//! - `throughput N SECS`: N players each send commands back to back; reports commands/s and
//!   latency percentiles.
//! - `fairness N R`: one player pipelines R runaway commands (each cut at the guest deadline)
//!   while N healthy players keep sending cheap ones; reports the healthy players' latency.
//! - `look N SECS [RATE]`, `echo …`, `say …`: clients against the host and against the bare
//!   websocket server in the same run, closed loop or (with RATE) open loop at RATE commands/s
//!   in all; reports commands/s, latency, CPU µs per command of each process, RSS, and the
//!   ratio (see `perf.rs`).
//! - `idle N`: N open connections; KiB per connection of the host and of the bare server.
//! - `roomsets K`: one player in a room holding 0, 10, 100, 1000 things that each carry a cmdset
//!   (the `box` module's); at each size, K commands one after another; reports the server's CPU
//!   µs and the wall time per command (the merged cmdset is cached per session until a provider
//!   changes, so the cost must stay flat), and the first command after the room changed (a merge).
//! - `hookcost K`: one player sends K commands one after another with no input hook, with
//!   `spamguard`, and with `spamguard` + `nick`; reports the server's CPU µs per command.
//! - `soak N R K`: N players each run R rounds of `say`, `ooc`, `ic`, `get`/`drop pebble` and
//!   `client_options` while the server is SIGKILLed K times at random moments; then every
//!   answer must have arrived exactly once, and each player's view (in character, carrying the
//!   pebble or not) must match the server's session table (`look`, `who`: no ghosts) and the
//!   database (`inventory`, the garden). Fails (non-zero exit) on any difference.
//! - `timers N [SECS]`: N persistent repeating timers (the `timertest` module's `bench`), spread
//!   evenly over a 10 s interval (N/10 firings a second), beside 50 players each sending `look`
//!   every 100 ms for SECS (default 20); reports the players' command latency percentiles and the
//!   firings' lateness (firing time minus due time, measured in the handler).
//! - `pycost K`: one player sends K commands one after another of a Rust command and of the
//!   Python `pyhello` (guest-examples/python); reports the server's CPU µs per command of each.
//! - `logins N`: N clients at once each create an account and log in, with the default argon2id
//!   cost; reports failures and the server's RSS (baseline, peak sampled from /proc, after).
//! - `addrflood SECS [CONNS]`: with the default limits, one address floods `look` lines as fast
//!   as its CONNS (4) telnet connections take them (reconnecting whenever it is disconnected),
//!   while a player from another address sends `echoback` ten times a second; reports that
//!   player's round trip p50/p99 alone and under the flood, and what became of the flood.

mod perf;
#[path = "../../tests/support.rs"]
mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{Client, Host};

const MODULES: &[&str] = &["unloggedin", "account", "character", "trouble"];
/// Benchmark clients send commands back to back, faster than any player types: no command rate,
/// no inbound budget (each client is on an address of its own, so per-address limits are moot).
const BASE_CONFIG: &str = "cmdset_character = [\"character\", \"trouble\"]\ncommand_rate = 0\ncommand_rate_per_ip = 0\ninbound_frames_per_sec = 0\ninbound_frames_per_sec_per_ip = 0\ninbound_bytes_per_sec = 0\ninbound_bytes_per_sec_per_ip = 0";
/// And a deadline a busy shared machine cannot turn into failed commands (a failed command has
/// no answer to wait for). The fairness scenario keeps the default deadline: it is what it measures.
const CONFIG: &str =
    "cmdset_character = [\"character\", \"trouble\"]\ncommand_rate = 0\nguest_deadline_ms = 2000\ncommand_rate_per_ip = 0\ninbound_frames_per_sec = 0\ninbound_frames_per_sec_per_ip = 0\ninbound_bytes_per_sec = 0\ninbound_bytes_per_sec_per_ip = 0";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    match args.first().map(String::as_str) {
        Some("restart") => restart(num(1, 1000) as usize).await,
        Some("hotreload") => hotreload(num(1, 200) as usize, num(2, 20) as usize).await,
        Some("throughput") => throughput(num(1, 1000) as usize, num(2, 10)).await,
        Some("fairness") => fairness(num(1, 50) as usize, num(2, 200) as usize).await,
        Some(w @ ("look" | "echo" | "say")) => {
            let work = perf::Workload::parse(w).expect("matched above");
            let pacing = match num(3, 0) {
                0 => perf::Pacing::ClosedLoop,
                rate => perf::Pacing::Rate(rate as f64),
            };
            perf::compare(work, num(1, 50) as usize, num(2, 10) as f64, pacing).await
        }
        Some("idle") => perf::idle(num(1, 1000) as usize).await,
        Some("logins") => logins(num(1, 200) as usize).await,
        Some("soak") => soak(num(1, 100) as usize, num(2, 30) as usize, num(3, 10) as usize).await,
        Some("roomsets") => roomsets(num(1, 2000) as usize).await,
        Some("hookcost") => hookcost(num(1, 2000) as usize).await,
        Some("pycost") => pycost(num(1, 2000) as usize).await,
        Some("addrflood") => addrflood(num(1, 10), num(2, 4) as usize).await,
        Some("timers") => timers(num(1, 10_000) as usize, num(2, 20)).await,
        _ => eprintln!("usage: mudhost-loadgen restart [N] | hotreload [N] [R] | throughput [N] [SECS] | fairness [N] [R] | look|echo|say [N] [SECS] [RATE] | idle [N] | logins [N] | roomsets [K] | hookcost [K] | pycost [K] | soak [N] [R] [K] | addrflood [SECS] [CONNS] | timers [N] [SECS]"),
    }
}

/// Log N players in, 100 at a time.
async fn players(url: &str, n: usize, prefix: &str) -> Vec<Client> {
    let started = Instant::now();
    let mut out = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|i| {
                let (url, name) = (url.to_string(), format!("{prefix}{i}"));
                tokio::spawn(async move { Client::player(&url, &name).await })
            })
            .collect();
        for t in tasks {
            out.push(t.await.expect("login task"));
        }
    }
    println!("  {n} players logged in in {:.1?}", started.elapsed());
    out
}

fn rss_mib(pid: u32) -> f64 {
    proc_status(pid, "VmRSS:") / 1024.0
}

/// A numeric field of /proc/PID/status (0 if the process is gone).
fn proc_status(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn portal_pid(host: &Host) -> u32 {
    let status = host.cli(&["status"]);
    status
        .split("portal pid ")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .and_then(|p| p.parse().ok())
        .unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Send one tagged command from every client and wait for all answers; returns per-client times.
async fn all_answer(clients: &mut Vec<Client>, tag: &str, since: Instant) -> Vec<Duration> {
    for c in clients.iter_mut() {
        c.send_text(&format!("echoback {tag}")).await;
    }
    let mut tasks = vec![];
    for mut c in clients.drain(..) {
        let want = format!("echoback v1: {tag}");
        tasks.push(tokio::spawn(async move {
            c.expect_text(&want).await;
            (c, since.elapsed())
        }));
    }
    let mut times = vec![];
    for t in tasks {
        let (c, d) = t.await.expect("client task");
        clients.push(c);
        times.push(d);
    }
    times.sort();
    times
}

async fn restart(n: usize) {
    println!("restart: {n} players");
    let host = Host::start(MODULES, CONFIG);
    let mut clients = players(&host.url, n, "R").await;
    let (portal, server) = (portal_pid(&host), host.server_pid());
    println!("  RSS before: portal {:.1} MiB, server {:.1} MiB", rss_mib(portal), rss_mib(server));
    for kind in ["kill", "reload", "kill", "reload"] {
        let old = host.server_pid();
        let t0 = Instant::now();
        if kind == "reload" {
            host.cli(&["reload"]);
        } else {
            unsafe { libc::kill(old as i32, libc::SIGKILL) };
        }
        let times = all_answer(&mut clients, kind, t0).await;
        let new = host.server_pid();
        println!(
            "  {kind}: all {n} answering again after {:.0?} (p50 {:.0?}); server pid {old} → {new}",
            times.last().unwrap(),
            percentile(&times, 0.5)
        );
        println!(
            "  RSS after {kind}: portal {:.1} MiB, server {:.1} MiB",
            rss_mib(portal),
            rss_mib(new)
        );
        // The host's own part: from the restart to every session restored, from its log.
        let log = host.log();
        let restored = log.lines().rfind(|l| l.contains("sessions restored")).unwrap_or("");
        println!("    host log: {}", restored.get(11..).unwrap_or(restored).trim());
    }
}

async fn hotreload(n: usize, reloads: usize) {
    println!("hotreload: {n} players, {reloads} reloads");
    let host = Host::start(MODULES, CONFIG);
    let clients = players(&host.url, n, "H").await;
    let stop = Arc::new(AtomicBool::new(false));
    // The moment (µs since `origin`) a client first saw each version tag.
    let origin = Instant::now();
    let seen_v1 = Arc::new(AtomicU64::new(0));
    let seen_v2 = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let mut tasks = vec![];
    for (i, mut c) in clients.into_iter().enumerate() {
        let (stop, v1, v2, failures) =
            (stop.clone(), seen_v1.clone(), seen_v2.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            let mut k = 0u64;
            while !stop.load(Ordering::Relaxed) {
                c.send_text(&format!("echoback {i}-{k}")).await;
                let t = loop {
                    let t = c.next_text().await.expect("connected");
                    if t.starts_with("echoback")
                        || t.contains("error")
                        || t.contains("not available")
                    {
                        break t;
                    }
                };
                let at = origin.elapsed().as_micros() as u64;
                match t.get(9..11) {
                    Some("v1") => v1.store(at, Ordering::Relaxed),
                    Some("v2") => v2.store(at, Ordering::Relaxed),
                    _ => {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
                k += 1;
            }
        }));
    }
    let mut latencies = vec![];
    for r in 0..reloads {
        let (src, flag) = if r % 2 == 0 { ("trouble_v2", &seen_v2) } else { ("trouble", &seen_v1) };
        let tmp = host.dir.path().join("incoming.wasm.part");
        std::fs::copy(support::guest(src), &tmp).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let landed = origin.elapsed().as_micros() as u64;
        std::fs::rename(&tmp, host.modules_dir().join("trouble.wasm")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while flag.load(Ordering::Relaxed) < landed {
            assert!(Instant::now() < deadline, "new version never answered");
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        latencies.push(Duration::from_micros(flag.load(Ordering::Relaxed) - landed));
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    latencies.sort();
    println!(
        "  file landed → first answer by the new version: p50 {:.0?}, max {:.0?} (includes the watcher's debounce); failed commands {}",
        percentile(&latencies, 0.5),
        latencies.last().unwrap(),
        failures.load(Ordering::Relaxed)
    );
}

/// Player `i` sends `echoback` and waits for the answer until `stop`, pausing `pause` between
/// commands (none: back to back); returns each command's latency.
async fn echo_until(
    mut c: Client,
    i: usize,
    stop: Arc<AtomicBool>,
    pause: Option<Duration>,
) -> Vec<Duration> {
    let mut lat = vec![];
    let mut k = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        c.send_text(&format!("echoback {i}-{k}")).await;
        c.expect_text("echoback").await;
        lat.push(t0.elapsed());
        k += 1;
        if let Some(p) = pause {
            tokio::time::sleep(p).await;
        }
    }
    lat
}

async fn throughput(n: usize, secs: u64) {
    println!("throughput: {n} players for {secs} s, each sending commands back to back");
    let host = Host::start(MODULES, CONFIG);
    let clients = players(&host.url, n, "T").await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = vec![];
    for (i, c) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(echo_until(c, i, stop.clone(), None)));
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = vec![];
    for t in tasks {
        all.extend(t.await.expect("client task"));
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    println!(
        "  {} commands in {elapsed:.1} s = {:.0} commands/s; latency p50 {:.1?}, p99 {:.1?}, max {:.1?}",
        all.len(),
        all.len() as f64 / elapsed,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        all.last().unwrap()
    );
    println!(
        "  server RSS {:.1} MiB, portal RSS {:.1} MiB",
        rss_mib(host.server_pid()),
        rss_mib(portal_pid(&host))
    );
}

async fn fairness(n: usize, runaways: usize) {
    println!("fairness: {n} healthy players while one pipelines {runaways} runaway commands (50 ms deadline each)");
    let host = Host::start(MODULES, BASE_CONFIG);
    let clients = players(&host.url, n, "F").await;
    let mut spammer = Client::player(&host.url, "Spammer").await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = vec![];
    for (i, c) in clients.into_iter().enumerate() {
        // A player types, reads and types again: ~10 commands a second each.
        tasks.push(tokio::spawn(echo_until(c, i, stop.clone(), Some(Duration::from_millis(100)))));
    }
    let t0 = Instant::now();
    for _ in 0..runaways {
        spammer.send_text("spin").await;
    }
    let mut cut = 0;
    while cut < runaways {
        match tokio::time::timeout(Duration::from_secs(120), spammer.next_text()).await {
            Ok(Some(t)) if t.contains("untrapped error") => cut += 1,
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    let spam_time = t0.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut all = vec![];
    for t in tasks {
        all.extend(t.await.expect("client task"));
    }
    all.sort();
    println!(
        "  the {cut} runaway commands took {spam_time:.1?} to be cut; healthy: {} commands, latency p50 {:.1?}, p99 {:.1?}, max {:.1?}",
        all.len(),
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        all.last().unwrap()
    );
}

async fn logins(n: usize) {
    println!("logins: {n} clients at once, each creating an account and logging in (argon2id 19 MiB, t=2)");
    // The game's real hashing cost, not the tests' cheap one.
    let host = Host::start(
        MODULES,
        &format!("{CONFIG}\nargon2_memory_kib = 19456\nargon2_iterations = 2"),
    );
    let server = host.server_pid();
    let baseline = rss_mib(server);
    let stop = Arc::new(AtomicBool::new(false));
    let peak_kib = Arc::new(AtomicU64::new(0));
    let peak_threads = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, peak_kib, peak_threads) = (stop.clone(), peak_kib.clone(), peak_threads.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                peak_kib.fetch_max(proc_status(server, "VmRSS:") as u64, Ordering::Relaxed);
                peak_threads.fetch_max(proc_status(server, "Threads:") as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let started = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let url = host.url.clone();
            tokio::spawn(async move { Client::player(&url, &format!("L{i}")).await })
        })
        .collect();
    let mut failed = 0;
    for t in tasks {
        if t.await.is_err() {
            failed += 1;
        }
    }
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    // Give the allocator a moment, as an operator would look a little later.
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!("  {} of {n} logged in in {took:.1?}; {failed} failed", n - failed);
    println!(
        "  server RSS: baseline {baseline:.1} MiB, peak {:.1} MiB, 2 s after {:.1} MiB; peak threads {}",
        peak_kib.load(Ordering::Relaxed) as f64 / 1024.0,
        rss_mib(server),
        peak_threads.load(Ordering::Relaxed)
    );
}

async fn roomsets(k: usize) {
    println!(
        "roomsets: one player, {k} commands per room size; things in the room each carry a cmdset"
    );
    let mut modules = MODULES.to_vec();
    modules.push("box");
    let host = Host::start(&modules, CONFIG);
    let mut c = players(&host.url, 1, "R").await.pop().expect("one player");
    let pid = host.server_pid();
    let mut spawned = 0;
    for size in [0usize, 10, 100, 1000] {
        while spawned < size {
            let n = (size - spawned).min(500);
            c.send_text(&format!("spawnsets {n} box")).await;
            c.expect_text("spawned").await;
            spawned += n;
        }
        // The first command after the room changed merges again (one object set per thing).
        let t0 = Instant::now();
        c.send_text("echoback first").await;
        c.expect_text("echoback").await;
        let first = t0.elapsed();
        let (cpu0, t0) = (perf::cpu_us(pid), Instant::now());
        for i in 0..k {
            c.send_text(&format!("echoback {i}")).await;
            c.expect_text("echoback").await;
        }
        let (cpu, wall) = (perf::cpu_us(pid) - cpu0, t0.elapsed());
        println!(
            "  {size:>5} cmdsets in the room: server CPU {:.1} µs/command, wall {:.1} µs/command; first command after the change {:.1?}",
            cpu / k as f64,
            wall.as_secs_f64() * 1e6 / k as f64,
            first
        );
    }
}

async fn hookcost(k: usize) {
    println!("hookcost: one player, {k} commands per configuration");
    for hooks in [&[][..], &["spamguard"][..], &["spamguard", "nick"][..]] {
        let mut modules = MODULES.to_vec();
        modules.extend(hooks);
        let list: Vec<String> = hooks.iter().map(|h| format!("{h:?}")).collect();
        let host = Host::start(&modules, &format!("{CONFIG}\ninput_hooks = [{}]", list.join(", ")));
        let mut c = players(&host.url, 1, "H").await.pop().expect("one player");
        let pid = host.server_pid();
        for i in 0..100 {
            c.send_text(&format!("echoback warm{i}")).await;
            c.expect_text("echoback").await;
        }
        let (cpu0, t0) = (perf::cpu_us(pid), Instant::now());
        for i in 0..k {
            c.send_text(&format!("echoback {i}")).await;
            c.expect_text("echoback").await;
        }
        let (cpu, wall) = (perf::cpu_us(pid) - cpu0, t0.elapsed());
        println!(
            "  input_hooks = [{}]: server CPU {:.1} µs/command, wall {:.1} µs/command",
            list.join(", "),
            cpu / k as f64,
            wall.as_secs_f64() * 1e6 / k as f64
        );
    }
}

/// One player, K commands one after another of a Rust command (`echoback`, the `trouble`
/// module) and of the Python `pyhello`: the server's CPU per command of each, over websockets.
async fn pycost(k: usize) {
    println!("pycost: one player, {k} commands each of Rust `echoback` and Python `pyhello`");
    if !support::guest_dir().join("pyhello.wasm").is_file() {
        println!("  skipped: no pyhello.wasm (`cargo xtask test` installs componentize-py, then `cargo xtask guests` builds it)");
        return;
    }
    let mut modules = MODULES.to_vec();
    modules.push("pyhello");
    // The Python runtime needs more memory than the default cap; compiled at start (~1 min).
    let host = Host::start(
        &modules,
        &format!(
            "{CONFIG}\ncmdset_character = [\"character\", \"trouble\", \"pyhello\"]\n\
             guest_module_memory_mib = {{ pyhello = 128 }}\nguest_module_deadline_ms = {{ pyhello = 1000 }}\n\
             module_background_compile_bytes = 1000000000"
        )
        .replacen("cmdset_character = [\"character\", \"trouble\"]\n", "", 1),
    );
    let mut c = players(&host.url, 1, "P").await.pop().expect("one player");
    let pid = host.server_pid();
    for (line, answer) in [("echoback", "echoback"), ("pyhello", "from Python")] {
        for i in 0..100 {
            c.send_text(&format!("{line} warm{i}")).await;
            c.expect_text(answer).await;
        }
        let (cpu0, t0) = (perf::cpu_us(pid), Instant::now());
        for i in 0..k {
            c.send_text(&format!("{line} {i}")).await;
            c.expect_text(answer).await;
        }
        let (cpu, wall) = (perf::cpu_us(pid) - cpu0, t0.elapsed());
        println!(
            "  {line}: server CPU {:.1} µs/command, wall {:.1} µs/command",
            cpu / k as f64,
            wall.as_secs_f64() * 1e6 / k as f64
        );
    }
}

/// What one soak player believes after its script, from the answers it got.
struct SoakView {
    name: String,
    client: Client,
    carrying: bool,
    /// Answers that arrived twice, or never (described).
    errors: Vec<String>,
}

/// Read texts until one contains `needle` (or one of `or`); all texts seen, inclusive.
async fn soak_until(c: &mut Client, needle: &str, or: &[&str]) -> Vec<String> {
    let mut seen = vec![];
    loop {
        let t = c.next_text().await.unwrap_or_else(|| panic!("closed waiting for {needle}"));
        let done = t.contains(needle) || or.iter().any(|o| t.contains(o));
        seen.push(t);
        if done {
            return seen;
        }
    }
}

/// One soak player's script; every answer it waits for is counted at the end.
async fn soak_player(mut c: Client, name: String, rounds: usize) -> SoakView {
    let mut texts = vec![];
    let mut carrying = false;
    for r in 0..rounds {
        let tag = format!("{name}-{r}");
        c.send_text(&format!("say {tag}")).await;
        texts.extend(soak_until(&mut c, &format!("You say, \"{tag}\""), &[]).await);
        c.send_text("ooc").await;
        texts.extend(soak_until(&mut c, "You go OOC", &[]).await);
        c.send_text("ic").await;
        texts.extend(soak_until(&mut c, &format!("You become {name}"), &[]).await);
        if carrying {
            c.send_text("drop pebble").await;
            texts.extend(soak_until(&mut c, "You drop pebble", &[]).await);
            carrying = false;
        } else {
            c.send_text("get pebble").await;
            let seen = soak_until(&mut c, "You pick up pebble", &["Could not find"]).await;
            carrying = seen.last().is_some_and(|t| t.contains("You pick up pebble"));
            texts.extend(seen);
        }
        c.send_json(serde_json::json!(["client_options", [], {"version": format!("r{r}")}])).await;
    }
    // Everything sent before this has been answered when its answer arrives.
    let end = format!("{name}-end");
    c.send_text(&format!("say {end}")).await;
    texts.extend(soak_until(&mut c, &format!("You say, \"{end}\""), &[]).await);
    let count = |needle: &str| texts.iter().filter(|t| t.contains(needle)).count();
    let mut errors = vec![];
    for r in 0..rounds {
        let n = count(&format!("You say, \"{name}-{r}\""));
        if n != 1 {
            errors.push(format!("{name}: say {r} answered {n} times"));
        }
    }
    for (needle, want) in [("You go OOC", rounds), (&format!("You become {name}.") as &str, rounds)]
    {
        let n = count(needle);
        if n != want {
            errors.push(format!("{name}: {needle:?} {n} times for {want} commands"));
        }
    }
    let held = count("You pick up pebble") as i64 - count("You drop pebble") as i64;
    if held != carrying as i64 {
        errors.push(format!("{name}: picked up minus dropped is {held}"));
    }
    SoakView { name, client: c, carrying, errors }
}

/// Players run a script of state-changing commands while the server is killed at random moments;
/// afterwards their views are checked against the session table and the database.
async fn soak(n: usize, rounds: usize, kills: usize) {
    println!("soak: {n} players, {rounds} rounds each, {kills} server kills");
    let host = Host::start(MODULES, CONFIG);
    let mut clients = players(&host.url, n, "K").await;
    for c in clients.iter_mut() {
        c.send_text("go garden").await;
        soak_until(c, "The Garden", &[]).await;
    }
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, c)| tokio::spawn(soak_player(c, format!("K{i}"), rounds)))
        .collect();
    // Kill at pseudo-random moments (a fixed-seed xorshift: reproducible runs).
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for k in 0..kills {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(50 + seed % 700)).await;
        if tasks.iter().all(|t| t.is_finished()) {
            println!("  the players finished after {k} kills");
            break;
        }
        let pid = host.server_pid();
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        while host.server_pid() == pid {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let mut views = vec![];
    for t in tasks {
        views.push(t.await.expect("soak player"));
    }
    println!("  scripts done in {:.1?}", started.elapsed());
    let mut errors: Vec<String> = views.iter().flat_map(|v| v.errors.clone()).collect();
    // Each view against the server's session table and the database.
    let mut carriers = 0;
    // Others' texts arrive meanwhile: each answer is told apart by what it says.
    let places = ["The Garden", "no location", "out-of-character", "Out-of-Character", "Limbo"];
    for v in views.iter_mut() {
        v.client.send_text("look").await;
        let look = soak_until(&mut v.client, places[0], &places[1..]).await.pop().unwrap();
        if !look.starts_with("The Garden") {
            errors.push(format!("{}: believes it is in the garden, look says {look:?}", v.name));
        }
        v.client.send_text("inventory").await;
        let inv = soak_until(&mut v.client, "You are ", &[]).await.pop().unwrap();
        if inv.contains("pebble") != v.carrying {
            errors.push(format!("{}: carrying {} but inventory says {inv:?}", v.name, v.carrying));
        }
        carriers += v.carrying as usize;
    }
    let observer = &mut views[0].client;
    observer.send_text("who").await;
    let who = soak_until(observer, "logged in.", &[]).await.pop().unwrap();
    let want = format!("{n} unique accounts logged in");
    if !who.contains(&want) {
        errors.push(format!("who does not list exactly the {n} players (ghosts?): {who}"));
    }
    observer.send_text("look").await;
    let garden = soak_until(observer, places[0], &places[1..]).await.pop().unwrap();
    if carriers > 1 || (carriers == 0) != garden.contains("pebble") {
        errors.push(format!("{carriers} players carry the pebble; the garden: {garden:?}"));
    }
    let twice = errors.iter().filter(|e| e.contains(" times")).count();
    println!(
        "  {} differences ({twice} answers lost or doubled); server starts: {}",
        errors.len(),
        host.cli(&["status"])
    );
    for e in errors.iter().take(20) {
        println!("    {e}");
    }
    assert!(errors.is_empty(), "soak: {} differences", errors.len());
}

/// Round trips of `echoback` from `c`, ten a second, for `secs`.
async fn round_trips(c: &mut Client, secs: u64, tag: &str) -> Vec<Duration> {
    let mut lat = vec![];
    let end = Instant::now() + Duration::from_secs(secs);
    let mut k = 0u64;
    while Instant::now() < end {
        let t0 = Instant::now();
        c.send_text(&format!("echoback {tag}{k}")).await;
        c.expect_text(&format!("echoback v1: {tag}{k}")).await;
        lat.push(t0.elapsed());
        k += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    lat.sort();
    lat
}

async fn addrflood(secs: u64, conns: usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    println!(
        "addrflood: one address floods `look` on {conns} telnet connections for {secs} s; a player elsewhere sends echoback 10/s (default limits)"
    );
    // The game's limits as shipped: they are what is measured.
    let host = Host::start(MODULES, "cmdset_character = [\"character\", \"trouble\"]");
    let mut honest = Client::player(&host.url, "Honest").await;
    let alone = round_trips(&mut honest, 3, "a").await;
    let telnet = host.telnet.expect("telnet on");
    let stop = Arc::new(AtomicBool::new(false));
    let (lines, reconnects) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut flooders = vec![];
    for _ in 0..conns {
        let (stop, lines, reconnects) = (stop.clone(), lines.clone(), reconnects.clone());
        flooders.push(tokio::spawn(async move {
            let burst = b"look\r\n".repeat(256);
            while !stop.load(Ordering::Relaxed) {
                let sock = tokio::net::TcpSocket::new_v4().unwrap();
                sock.bind("127.2.0.1:0".parse().unwrap()).unwrap();
                let Ok(conn) = sock.connect(telnet).await else { continue };
                let (mut rd, mut wr) = conn.into_split();
                // Read and drop whatever comes back, so the flood is not stopped as a slow reader.
                let drain = tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    while matches!(rd.read(&mut buf).await, Ok(n) if n > 0) {}
                });
                while !stop.load(Ordering::Relaxed) {
                    let sent =
                        tokio::time::timeout(Duration::from_secs(1), wr.write_all(&burst)).await;
                    match sent {
                        Ok(Ok(())) => {
                            lines.fetch_add(256, Ordering::Relaxed);
                        }
                        Ok(Err(_)) => break,
                        // Not read for a second: the portal has paused this connection.
                        Err(_) => {}
                    }
                    if drain.is_finished() {
                        break;
                    }
                }
                drain.abort();
                reconnects.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let flooded = round_trips(&mut honest, secs, "f").await;
    stop.store(true, Ordering::Relaxed);
    for f in flooders {
        let _ = f.await;
    }
    let show = |name: &str, l: &[Duration]| {
        println!(
            "  {name}: {} round trips, p50 {:.1?}, p99 {:.1?}, max {:.1?}",
            l.len(),
            percentile(l, 0.5),
            percentile(l, 0.99),
            l.last().unwrap()
        )
    };
    show("alone", &alone);
    show("under the flood", &flooded);
    println!(
        "  the flood: {} lines handed to the flooders' sockets in {secs} s ({:.0}/s; most never read: the portal closes a flooder at its first over-budget read), {} connections ended and were reopened",
        lines.load(Ordering::Relaxed),
        lines.load(Ordering::Relaxed) as f64 / secs as f64,
        reconnects.load(Ordering::Relaxed)
    );
}

async fn timers(n: usize, secs: u64) {
    const INTERVAL_MS: usize = 10_000;
    const STEPS: usize = 100;
    println!("timers: {n} repeating timers every {INTERVAL_MS} ms beside 50 players, {secs} s");
    let host = Host::start(
        &["unloggedin", "account", "character", "timertest"],
        &format!(
            "cmdset_character = [\"character\", \"timertest\"]\ncommand_rate = 0\n\
             guest_deadline_ms = 2000\ntimer_max_per_module = {n}\ncommand_rate_per_ip = 0\n\
             inbound_frames_per_sec_per_ip = 0\ninbound_bytes_per_sec_per_ip = 0"
        ),
    );
    let mut admin = Client::player(&host.url, "Timekeeper").await;
    // Spread the timers over one interval: a share every interval / STEPS.
    let share = n.div_ceil(STEPS);
    let mut left = n;
    let started = Instant::now();
    for step in 0..STEPS {
        let k = share.min(left);
        if k == 0 {
            break;
        }
        admin.send_text(&format!("tbench {k} {INTERVAL_MS}")).await;
        admin.expect_text("scheduled").await;
        left -= k;
        let next = started + Duration::from_millis(((step + 1) * INTERVAL_MS / STEPS) as u64);
        tokio::time::sleep_until(next.into()).await;
    }
    // Reset the lateness record, then measure players and firings together.
    admin.send_text("tlate").await;
    admin.expect_text("late:").await;
    let clients = players(&host.url, 50, "T").await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = vec![];
    for mut c in clients {
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut times = vec![];
            while !stop.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                c.send_text("look").await;
                c.expect_text("Limbo").await;
                times.push(t0.elapsed());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            times
        }));
    }
    let server = host.server_pid();
    let cpu0 = perf::cpu_us(server);
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let cpu = perf::cpu_us(server) - cpu0;
    stop.store(true, Ordering::Relaxed);
    let mut times = vec![];
    for t in tasks {
        times.extend(t.await.expect("player task"));
    }
    times.sort();
    admin.send_text("tlate").await;
    let late = admin.expect_text("late:").await;
    println!(
        "  players: {} commands, p50 {:.1?}, p99 {:.1?}, max {:.1?}",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().unwrap()
    );
    println!("  firings (ms): {}", late.trim_start_matches("late: "));
    println!("  server CPU: {:.0} % of one core", cpu / 1e6 / secs as f64 * 100.0);
}
