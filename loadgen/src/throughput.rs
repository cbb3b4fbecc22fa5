//! `throughput N SECS`: commands back to back from N players; `fairness N R`: one player's
//! runaway commands against N healthy players' latency.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::harness::{percentile, players, portal_pid, rss_mib, BASE_CONFIG, CONFIG, MODULES};
use crate::support::{Client, Host};

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

/// `throughput N SECS`: see the scenario list in `main.rs`.
pub(crate) async fn throughput(n: usize, secs: u64) {
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

/// `fairness N R`: see the scenario list in `main.rs`.
pub(crate) async fn fairness(n: usize, runaways: usize) {
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
