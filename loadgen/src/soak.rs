//! `soak N R K`: players run state-changing scripts while the server is killed at random
//! moments; every answer must arrive exactly once and every view match the server's.

use std::time::{Duration, Instant};

use crate::harness::{players, CONFIG, MODULES};
use crate::support::{Client, Host};

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
pub(crate) async fn soak(n: usize, rounds: usize, kills: usize) {
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
