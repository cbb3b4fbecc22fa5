//! `logins N`: N clients at once create an account and log in (default argon2id cost).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::harness::{proc_status, rss_mib, CONFIG, MODULES};
use crate::support::{Client, Host};

/// `logins N`: see the scenario list in `main.rs`.
pub(crate) async fn logins(n: usize) {
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
