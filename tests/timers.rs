//! Module timers: the example game's gate (it closes itself once, also through a reload and a
//! SIGKILL), and the scheduler's guarantees with the `timertest` module: a trapping firing changes
//! nothing and the timer fires again at its next tick, a timer scheduled by a failed command never
//! fires, a repeating timer late by a minute fires once, and the quota and minimum interval are
//! refused with a clear error.

use crate::support;

use std::time::{Duration, Instant};

use support::{Client, Host, GAME, WAIT};

/// Every text the client has been sent so far that contains `needle`.
fn seen_texts(c: &Client, needle: &str) -> usize {
    c.seen
        .iter()
        .filter(|v| v[0] == "text" && v[1][0].as_str().unwrap_or("").contains(needle))
        .count()
}

async fn answer(c: &mut Client, line: &str, needle: &str) -> String {
    c.send_text(line).await;
    c.expect_text(needle).await
}

/// Wait until a server other than `old_pid` is up.
fn wait_for_new_server(host: &Host, old_pid: u32) {
    let deadline = Instant::now() + WAIT;
    loop {
        let status = host.cli(&["status"]);
        if let Some(rest) = status.split("server up (pid ").nth(1) {
            let pid: u32 = rest.split(')').next().unwrap().parse().unwrap();
            if pid != old_pid {
                return;
            }
        }
        assert!(Instant::now() < deadline, "no new server: {status}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Root (the superuser) and Bob in the garden; Bob opens the gate.
async fn open_gate(host: &Host) -> (Client, Client) {
    let mut root = host.player_from("Root", "127.40.1.1").await;
    let mut bob = host.player_from("Bob", "127.40.1.2").await;
    answer(&mut root, "garden", "The Garden").await;
    answer(&mut bob, "garden", "The Garden").await;
    assert_eq!(answer(&mut bob, "gate", "The gate is").await, "The gate is closed.");
    assert_eq!(answer(&mut bob, "go gate", "The gate is").await, "The gate is closed.");
    assert_eq!(answer(&mut bob, "open gate", "You open").await, "You open the gate.");
    assert_eq!(root.expect_text("opens the gate").await, "Bob opens the gate.");
    (root, bob)
}

/// While open the gate lets Bob through and back; then it shuts, seen once by both.
async fn through_and_shut(root: &mut Client, bob: &mut Client) {
    assert!(answer(bob, "gate", "The Orchard").await.starts_with("The Orchard"));
    assert!(answer(bob, "garden", "The Garden").await.starts_with("The Garden"));
    assert_eq!(root.expect_text("swings shut").await, "The gate swings shut.");
    assert_eq!(bob.expect_text("swings shut").await, "The gate swings shut.");
    // Closed again; and nothing shut it a second time in the meantime.
    assert_eq!(answer(bob, "gate", "The gate is").await, "The gate is closed.");
    assert_eq!(answer(root, "gate", "The gate is").await, "The gate is closed.");
    assert_eq!(seen_texts(root, "swings shut"), 1, "{:?}", root.seen);
    assert_eq!(seen_texts(bob, "swings shut"), 1, "{:?}", bob.seen);
}

#[tokio::test]
async fn the_gate_closes_itself_once_after_a_server_reload_during_its_ten_seconds() {
    let host = Host::start(&[GAME, &["box", "gate"]].concat(), "");
    let (mut root, mut bob) = open_gate(&host).await;
    root.send_text("reload").await;
    root.expect_text("Server restarted").await;
    bob.expect_text("Server restarted").await;
    through_and_shut(&mut root, &mut bob).await;
}

#[tokio::test]
async fn the_gate_closes_itself_once_after_a_sigkill_during_its_ten_seconds() {
    let host = Host::start(&[GAME, &["box", "gate"]].concat(), "");
    let (mut root, mut bob) = open_gate(&host).await;
    let pid = host.server_pid();
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    wait_for_new_server(&host, pid);
    through_and_shut(&mut root, &mut bob).await;
}

#[tokio::test]
async fn a_gate_closing_whose_commit_the_server_dies_after_is_seen_once_and_not_run_again() {
    // The server dies right after the firing's transaction commits, before its frame is sent:
    // the next server resends the stored frame and must not fire the timer again.
    let host = Host::start_with_env(
        &[GAME, &["box", "gate"]].concat(),
        "",
        &[("MUDHOST_FAILPOINT", "after-commit:timer:close gate")],
    );
    let (mut root, mut bob) = open_gate(&host).await;
    through_and_shut(&mut root, &mut bob).await;
    assert!(host.log().contains("failpoint: the server dies now"), "the failpoint fired");
}

fn timer_game() -> Host {
    Host::start(
        &[GAME, &["timertest"]].concat(),
        r#"cmdset_character = ["character", "timertest"]"#,
    )
}

fn timer_game_with(extra: &str) -> Host {
    Host::start(
        &[GAME, &["timertest"]].concat(),
        &format!("cmdset_character = [\"character\", \"timertest\"]\n{extra}"),
    )
}

#[tokio::test]
async fn a_timer_whose_callback_traps_changes_nothing_and_fires_again_at_its_next_tick() {
    let host = timer_game();
    let mut c = host.player("Tess").await;
    // Every 300 ms; the handler counts the firing in an attribute, then traps for the first 1.5 s.
    assert!(answer(&mut c, "ttrap 300 1500", "timer").await.ends_with("scheduled"));
    // The first firing that does not trap counts 1: the trapped ones were undone completely.
    let first = c.expect_text("fired trap-until:").await;
    assert!(first.ends_with(" #1"), "{first}");
    let second = c.expect_text("fired trap-until:").await;
    assert!(second.ends_with(" #2"), "{second}");
    assert!(host.log().contains("timer firing failed and was undone"), "the trap was logged");
}

#[tokio::test]
async fn a_timer_scheduled_by_a_failed_command_never_fires() {
    let host = timer_game();
    let mut c = host.player("Tess").await;
    assert_eq!(answer(&mut c, "tfail 100", "error").await, "An untrapped error occurred.");
    assert!(answer(&mut c, "tdelay 600 after", "timer").await.ends_with("scheduled"));
    assert_eq!(c.expect_text("fired").await, "fired after #1");
    assert_eq!(seen_texts(&c, "fired never"), 0, "{:?}", c.seen);
    assert_eq!(answer(&mut c, "tlist", "timers:").await, "timers: ");
}

#[tokio::test]
async fn a_repeating_timer_that_missed_a_minute_of_ticks_fires_once_on_start() {
    let mut host = timer_game();
    host.create_from("Tess", "127.40.2.1").await;
    let mut c = host.login_from("Tess", "127.40.2.1").await;
    c.expect_text("Limbo").await;
    assert!(answer(&mut c, "trepeat 10000 tick", "timer").await.ends_with("scheduled"));
    // Stop before it fires, then make the stored timer 61 s overdue: six missed ticks.
    host.stop();
    let db = rusqlite::Connection::open(host_db(&host)).unwrap();
    let changed = db.execute("UPDATE timers SET due_ms = due_ms - 61000", []).unwrap();
    assert_eq!(changed, 1);
    drop(db);
    host.launch();
    // It fired once at start (before anyone was there to see it): the next tick, on the
    // original schedule, is the second firing ever, not the eighth.
    let mut c = host.login_from("Tess", "127.40.2.1").await;
    let list = answer(&mut c, "tlist", "timers:").await;
    let due_in: i64 = list.rsplit(" in ").next().unwrap().parse().unwrap();
    assert!((0..=10_000).contains(&due_in), "{list}");
    assert_eq!(c.expect_text("fired tick").await, "fired tick #2");
}

/// The world database of a host's game folder.
fn host_db(host: &Host) -> std::path::PathBuf {
    host.config_path().parent().unwrap().join("data").join("game.sqlite3")
}

#[tokio::test]
async fn timers_over_the_module_quota_or_under_the_minimum_interval_are_refused_with_the_limit() {
    let host = timer_game_with("timer_max_per_module = 2\ntimer_min_interval_ms = 500");
    let mut c = host.player("Tess").await;
    assert_eq!(
        answer(&mut c, "trepeat 499 fast", "timer").await,
        "timer refused: a repeating timer's interval must be at least timer_min_interval_ms (500 ms)"
    );
    assert!(answer(&mut c, "tdelay 60000 a", "timer").await.ends_with("scheduled"));
    assert!(answer(&mut c, "tmem 60000 b", "timer").await.ends_with("scheduled"));
    assert_eq!(
        answer(&mut c, "tdelay 60000 c", "timer").await,
        "timer refused: quota: this module already has timer_max_per_module (2) timers"
    );
    // Cancelling one makes room again.
    let list = answer(&mut c, "tlist", "timers:").await;
    let id = list.trim_start_matches("timers: ").split(' ').next().unwrap().to_string();
    assert_eq!(answer(&mut c, &format!("tcancel {id}"), "cancelled").await, "cancelled: true");
    assert!(answer(&mut c, "tdelay 60000 c", "timer").await.ends_with("scheduled"));
}

#[tokio::test]
async fn thousands_of_timers_due_at_once_do_not_hold_up_players_commands() {
    // One firing per round (timer_firings_per_round): a player's command waits for at most one.
    let host = timer_game_with("timer_firings_per_round = 1");
    let mut c = host.player("Tess").await;
    assert_eq!(answer(&mut c, "tmany 3000 300", "scheduled").await, "3002 timers scheduled");
    assert_eq!(c.expect_text("fired").await, "fired first #1");
    // 3000 firings are still to run before `last`; the player's command is served between them.
    c.send_text("look").await;
    let mut order = vec![];
    while order.len() < 2 {
        let t = c.next_text().await.expect("a text");
        if t.starts_with("Limbo") {
            order.push("look");
        } else if t.starts_with("fired last") {
            order.push("last");
        }
    }
    assert_eq!(order, ["look", "last"]);
}
