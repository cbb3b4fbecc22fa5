//! `timers N [SECS]`: N persistent repeating timers beside 50 players sending `look`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::harness::{percentile, players};
use crate::perf;
use crate::support::{Client, Host};

/// `timers N [SECS]`: see the scenario list in `main.rs`.
pub(crate) async fn timers(n: usize, secs: u64) {
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
