//! `restart N`: the server SIGKILLed and reloaded with N players logged in; `hotreload N R`: a
//! module replaced R times while N players send commands.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::harness::{percentile, players, portal_pid, rss_mib, CONFIG, MODULES};
use crate::support::{self, Client, Host};

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

/// `restart N`: see the scenario list in `main.rs`.
pub(crate) async fn restart(n: usize) {
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

/// `hotreload N R`: see the scenario list in `main.rs`.
pub(crate) async fn hotreload(n: usize, reloads: usize) {
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
