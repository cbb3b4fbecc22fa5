//! Crash safety, part two: after any crash the server's sessions are what the players were last
//! shown; work that is not a text input is quarantined when it kills the server; a login attempt
//! counts once whatever crashes; session data stays bounded; a database locked by another process
//! loses nothing; idleness does not follow steps of the wall clock; a reload asked for by a command
//! happens once.

use crate::support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;
use support::{Client, Host, GAME, WAIT};

/// Read texts until one contains one of `needles`, returning every text seen (inclusive). One
/// deadline for the whole wait: a crash-looping server's restart notices must not extend it.
async fn texts_until(c: &mut Client, needles: &[&str]) -> Vec<String> {
    let mut seen = vec![];
    let deadline = tokio::time::Instant::now() + WAIT * 2;
    loop {
        let t = tokio::time::timeout_at(deadline, c.next_text())
            .await
            .unwrap_or_else(|_| panic!("no {needles:?} in time: {seen:?}"))
            .unwrap_or_else(|| panic!("closed while waiting for {needles:?}: {seen:?}"));
        let done = needles.iter().any(|n| t.contains(n));
        seen.push(t);
        if done {
            return seen;
        }
    }
}

/// Send `line` and return the first text after it that contains one of `needles`.
async fn answer(c: &mut Client, line: &str, needles: &[&str]) -> String {
    c.send_text(line).await;
    texts_until(c, needles).await.pop().expect("at least one text")
}

/// The texts until the connection closes, within one deadline (a crash-looping server's restart
/// notices must not extend it).
async fn closed(c: &mut Client) -> Vec<String> {
    tokio::time::timeout(WAIT * 2, c.expect_closed()).await.expect("closed in time")
}

/// The pid of the server the portal reports as up, if one is.
fn server_up(host: &Host) -> Option<u32> {
    let status = host.cli(&["status"]);
    let rest = status.split("server up (pid ").nth(1)?;
    rest.split(')').next()?.parse().ok()
}

/// Wait until a server other than `old_pid` is up.
fn wait_for_new_server(host: &Host, old_pid: u32) -> u32 {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(pid) = server_up(host).filter(|&p| p != old_pid) {
            return pid;
        }
        assert!(Instant::now() < deadline, "no new server: {}", host.cli(&["status"]));
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A host of the example game whose server runs with the failpoint `spec`.
fn failpoint_host(spec: &str, extra_config: &str) -> Host {
    Host::start_with_env(GAME, extra_config, &[("MUDHOST_FAILPOINT", spec)])
}

/// In every OOC look of the example game with one character per account ("You are
/// out-of-character (OOC).").
const OOC: &str = "out-of-character";

fn assert_fired(host: &Host) {
    assert!(host.log().contains("failpoint: the server dies now"), "the failpoint fired");
}

// --- session state exactly once ---------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_committing_ooc_leaves_the_player_ooc_on_the_new_server() {
    let host = failpoint_host("after-commit:ooc", "");
    let mut p = host.player("Oocer").await;
    let pid = host.server_pid();
    // "You go OOC." and the OOC screen, once, from the new server's resend.
    let seen = {
        p.send_text("ooc").await;
        texts_until(&mut p, &[OOC]).await
    };
    assert_eq!(seen.iter().filter(|t| t.contains("You go OOC")).count(), 1, "{seen:?}");
    wait_for_new_server(&host, pid);
    assert_fired(&host);
    let look = answer(&mut p, "look", &[OOC, "no location", "Limbo"]).await;
    assert!(look.contains(OOC), "the new server knows the player is OOC: {look}");
    let again = answer(&mut p, "ooc", &["OOC"]).await;
    assert!(again.contains("You are already OOC."), "ooc does not answer twice: {again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_committing_ic_leaves_the_player_in_the_room_on_the_new_server() {
    let host = failpoint_host("after-commit:ic Icer", "");
    let mut p = host.player("Icer").await;
    answer(&mut p, "ooc", &[OOC]).await;
    let pid = host.server_pid();
    let seen = {
        p.send_text("ic Icer").await;
        texts_until(&mut p, &["Limbo"]).await
    };
    assert_eq!(seen.iter().filter(|t| t.contains("You become Icer")).count(), 1, "{seen:?}");
    wait_for_new_server(&host, pid);
    assert_fired(&host);
    let look = answer(&mut p, "look", &[OOC, "no location", "Limbo"]).await;
    assert!(look.starts_with("Limbo"), "the new server knows the player is IC: {look}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_committing_quit_leaves_no_ghost_in_who() {
    let host = failpoint_host("after-commit:quit", "");
    let mut quitter = host.player("Quitter").await;
    let mut witness = host.player("Witness").await;
    let pid = host.server_pid();
    quitter.send_text("quit").await;
    let texts = closed(&mut quitter).await;
    assert_eq!(texts.iter().filter(|t| t.contains("Quitting")).count(), 1, "{texts:?}");
    wait_for_new_server(&host, pid);
    assert_fired(&host);
    let who = answer(&mut witness, "who", &["logged in"]).await;
    assert!(!who.contains("Quitter"), "a quit player is not in who: {who}");
    assert!(who.contains("Witness"), "{who}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_committing_a_login_leaves_the_player_logged_in_on_the_new_server() {
    let host = failpoint_host("after-commit:connect Conner password123", "");
    let mut c = host.client().await;
    answer(&mut c, "create Conner password123", &["was created"]).await;
    let pid = host.server_pid();
    let seen = {
        c.send_text("connect Conner password123").await;
        texts_until(&mut c, &["Limbo"]).await
    };
    assert_eq!(seen.iter().filter(|t| t.contains("You become Conner")).count(), 1, "{seen:?}");
    wait_for_new_server(&host, pid);
    assert_fired(&host);
    let look = answer(&mut c, "look", &[OOC, "no location", "Limbo", "connect"]).await;
    assert!(look.starts_with("Limbo"), "the new server knows the player is logged in: {look}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_committing_charcreate_creates_the_character_once() {
    let host = failpoint_host("after-commit:charcreate Second", "max_nr_characters = 3");
    let mut p = host.player("Maker").await;
    answer(&mut p, "ooc", &["Out-of-Character"]).await;
    let pid = host.server_pid();
    let seen = {
        p.send_text("charcreate Second").await;
        texts_until(&mut p, &["Created new character", "already exists"]).await
    };
    assert!(seen.last().unwrap().contains("Created new character Second"), "{seen:?}");
    wait_for_new_server(&host, pid);
    assert_fired(&host);
    let again = answer(&mut p, "charcreate Second", &["Second"]).await;
    assert!(again.contains("already exists"), "{again}");
    answer(&mut p, "ic Second", &["Limbo"]).await;
    let look = answer(&mut p, "look", &[OOC, "Out-of-Character", "no location", "Limbo"]).await;
    assert!(look.starts_with("Limbo"), "{look}");
}

// --- every unit of work is quarantined ---------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_that_kills_the_server_twice_is_dropped_and_the_game_goes_on() {
    let host = failpoint_host("poison-unit:disconnect", "");
    let mut leaver = host.player("Leaver").await;
    let mut stayer = host.player("Stayer").await;
    let pid = host.server_pid();
    leaver.ws.close(None).await.unwrap();
    while leaver.ws.next().await.is_some() {}
    wait_for_new_server(&host, pid);
    // The disconnect kills the next server too; then it is applied in the portal alone, and
    // everyone else plays on.
    let who = answer(&mut stayer, "who", &["logged in"]).await;
    assert!(!who.contains("Leaver"), "{who}");
    assert_eq!(
        answer(&mut stayer, "say still here", &["You say"]).await,
        "You say, \"still here\""
    );
    let log = host.log();
    assert!(log.contains("dropped: the server died twice in a row while running it"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_completion_that_kills_the_server_twice_is_dropped_and_its_player_told() {
    let host = failpoint_host("poison-unit:login", "");
    let mut c = host.client().await;
    answer(&mut c, "create Doomed password123", &["was created"]).await;
    c.send_text("connect Doomed password123").await;
    texts_until(&mut c, &["the server failed twice while running it"]).await;
    // The server is up and serves others.
    let mut other = host.client().await;
    assert!(answer(&mut other, "create Fine password123", &["was created"]).await.contains("Fine"));
    assert!(host.log().contains("dropped: the server died twice in a row while running it"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_over_that_kills_the_server_twice_closes_that_session_and_the_game_goes_on() {
    let host = failpoint_host("poison-unit:restore", "");
    let mut p = host.player("Handed").await;
    let pid = host.server_pid();
    // Every server from now on dies restoring this session: after two, the portal closes it.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let texts = closed(&mut p).await;
    assert!(
        texts.iter().any(|t| t.contains("the server failed twice while handling it")),
        "the player is told: {texts:?}"
    );
    let mut newcomer = host.client().await;
    assert!(answer(&mut newcomer, "create Newer password123", &["was created"])
        .await
        .contains("Newer"));
    assert!(host
        .log()
        .contains("session dropped: the server died twice in a row while running it"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_disconnect_that_kills_the_server_twice_closes_that_session_and_the_game_goes_on() {
    let host = failpoint_host("poison-unit:sweep", "idle_timeout_secs = 2");
    // The first account is a superuser, exempt from the idle timeout: it stays and watches.
    let mut admin = host.player("Watcher").await;
    let mut idler = host.player("Idler").await;
    let texts = closed(&mut idler).await;
    assert!(
        texts.iter().any(|t| t.contains("the server failed twice while handling it")),
        "the player is told: {texts:?}"
    );
    let who = answer(&mut admin, "who", &["logged in"]).await;
    assert!(who.contains("Watcher") && !who.contains("Idler"), "{who}");
}

// --- throttles count an attempt once ----------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_during_a_password_check_does_not_count_the_attempt_twice() {
    let host =
        failpoint_host("during-check:connect Careful password123", "login_throttle_limit = 2");
    let ip = support::fresh_loopback();
    let mut c = Client::connect_from(&host.url, ip).await;
    c.expect_text("connect").await;
    answer(&mut c, "create Careful password123", &["was created"]).await;
    // One failure from this address: one of the two allowed.
    answer(&mut c, "connect Careful wrong-password", &["incorrect"]).await;
    let pid = host.server_pid();
    let got = answer(&mut c, "connect Careful password123", &["You become", "Too many"]).await;
    assert!(got.contains("You become Careful"), "{got}");
    wait_for_new_server(&host, pid);
    assert_fired(&host);
    c.send_text("quit").await;
    c.expect_closed().await;
    // Still one failure counted: the right password logs in again from the same address.
    let mut again = Client::connect_from(&host.url, ip).await;
    again.expect_text("connect").await;
    let got = answer(&mut again, "connect Careful password123", &["You become", "Too many"]).await;
    assert!(got.contains("You become Careful"), "{got}");
}

// --- session data is bounded ------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_options_cannot_grow_a_sessions_data_without_bound() {
    let host = Host::start(
        &["unloggedin", "account", "character", "trouble"],
        "cmdset_character = [\"character\", \"trouble\"]\ncommand_rate = 0",
    );
    let mut p = host.player("Grower").await;
    let mut other = host.player("Other").await;
    let version = "v".repeat(4000);
    for _ in 0..100 {
        p.send_json(json!(["client_options", [], {"version": version}])).await;
    }
    p.send_json(json!(["client_options", [], {"client": "c".repeat(5000)}])).await;
    let data = answer(&mut p, "sessdata", &["sessdata"]).await;
    assert!(data.len() < 16 * 1024, "session data bounded: {} bytes", data.len());
    // A keyword argument longer than an input line is refused at the portal, as an argument is.
    p.send_json(json!(["client_options", [], {"client": "y".repeat(7000)}])).await;
    let refused = p.next_text().await.unwrap();
    assert!(refused.contains("too long"), "{refused}");
    let who = answer(&mut other, "who", &["logged in"]).await;
    assert!(who.contains("Grower"), "{who}");
}

// --- a locked database loses nothing ----------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_while_another_process_holds_the_database_lock_is_applied_once_after_release() {
    let host = Host::start(GAME, "");
    let mut p = host.player("Patient").await;
    answer(&mut p, "go garden", &["pebble"]).await;
    // An operator's `sqlite3 game.sqlite3` with `BEGIN EXCLUSIVE` (or a VACUUM) in progress.
    let db = rusqlite::Connection::open(host.dir.path().join("data/game.sqlite3")).unwrap();
    db.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let pid = host.server_pid();
    p.send_text("get pebble").await;
    // Held until the server gave up on the write, or well past SQLite's old 10 s wait.
    let until = Instant::now() + Duration::from_secs(12);
    while Instant::now() < until && server_up(&host) == Some(pid) {
        std::thread::sleep(Duration::from_millis(50));
    }
    db.execute_batch("COMMIT").unwrap();
    let seen = texts_until(&mut p, &["You pick up", "untrapped error", "Could not find"]).await;
    assert!(seen.last().unwrap().contains("You pick up pebble"), "{seen:?}");
    let inv = answer(&mut p, "inventory", &["You are"]).await;
    assert_eq!(inv.matches("pebble").count(), 1, "{inv}");
    assert!(!p.seen.iter().any(|v| v.to_string().contains("untrapped")), "nothing failed");
}

// --- idleness on a monotonic clock ------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forward_step_of_the_wall_clock_does_not_kick_active_players() {
    let clock = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(clock.path(), "0").unwrap();
    let clock_path = clock.path().to_str().unwrap().to_string();
    let host = Host::start_with_env(
        GAME,
        "idle_timeout_secs = 6",
        &[("MUDHOST_CLOCK_OFFSET_FILE", &clock_path)],
    );
    // The first account is a superuser, exempt from the idle timeout.
    let _admin = host.player("Admin").await;
    let mut p = host.player("Active").await;
    // The wall clock jumps an hour ahead (NTP after a VM resume); a sweep (every 3 s) passes.
    std::fs::write(clock.path(), "3600000").unwrap();
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        assert_eq!(answer(&mut p, "say here", &["You say"]).await, "You say, \"here\"");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Idleness still counts: a silent player is disconnected.
    let texts = closed(&mut p).await;
    assert!(!texts.iter().any(|t| t.contains("You say")), "{texts:?}");
}

// --- a reload asked for by a command happens once ---------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_committing_reload_reloads_once() {
    let host = failpoint_host("after-commit:reload", "");
    let mut p = host.player("Admin").await;
    p.send_text("reload").await;
    let mut seen = texts_until(&mut p, &["Server restarted"]).await;
    assert_fired(&host);
    p.send_text("say after").await;
    seen.extend(texts_until(&mut p, &["You say"]).await);
    let initiated = seen.iter().filter(|t| t.contains("Server restart initiated")).count();
    assert_eq!(initiated, 1, "{seen:?}");
}
