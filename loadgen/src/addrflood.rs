//! `addrflood SECS [CONNS]`: one address floods while a player from another address measures
//! its round trips.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::harness::{percentile, MODULES};
use crate::support::{Client, Host};

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

/// `addrflood SECS [CONNS]`: see the scenario list in `main.rs`.
pub(crate) async fn addrflood(secs: u64, conns: usize) {
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
