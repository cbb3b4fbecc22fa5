//! Portal and server as two processes: players stay connected through server crashes and
//! reloads, input sent during the gap is delivered in order exactly once, sessions (ndb
//! included) are restored, and sessids are never reused.

use crate::support;

use std::collections::BTreeSet;

use support::{Client, Host};

/// The example game plus the test module (echoback, ndb and sessid commands).
const MODULES: &[&str] = &["unloggedin", "account", "character", "trouble"];
const CHARACTER_WITH_TROUBLE: &str = r#"cmdset_character = ["character", "trouble"]"#;

fn kill_server(host: &Host) -> u32 {
    let pid = host.server_pid();
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    pid
}

/// Wait until the portal has noticed that server `old` is gone.
fn wait_server_gone(host: &Host, old: u32) {
    let deadline = std::time::Instant::now() + support::WAIT;
    while host.cli(&["status"]).contains(&format!("server up (pid {old})")) {
        assert!(std::time::Instant::now() < deadline, "the portal never noticed the server died");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Wait until a server other than `old` is up.
fn wait_new_server(host: &Host, old: u32) -> u32 {
    let deadline = std::time::Instant::now() + support::WAIT;
    loop {
        let pid = host.server_pid();
        if pid != old {
            return pid;
        }
        assert!(std::time::Instant::now() < deadline, "no new server");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Read this client's answers until `echoback` lines for tags 0..n have arrived; assert each came
/// exactly once and in order. Other texts (restart notices, room messages) are ignored.
async fn expect_echoes_in_order(c: &mut Client, who: &str, n: usize) {
    let mut got = vec![];
    while got.len() < n {
        let t =
            c.next_text().await.unwrap_or_else(|| panic!("{who} was disconnected; got {got:?}"));
        if let Some(tag) = t.strip_prefix("echoback v1: ") {
            got.push(tag.to_string());
        }
    }
    let want: Vec<String> = (0..n).map(|i| format!("{who}-{i}")).collect();
    assert_eq!(got, want, "{who}: answers exactly once and in order");
}

#[derive(Clone, Copy, Debug)]
enum Restart {
    Crash,
    InGameReload,
    CliReload,
}

/// 50 players send input before, during and after a server restart of the given kind.
async fn players_survive(kind: Restart) {
    let host = Host::start(MODULES, CHARACTER_WITH_TROUBLE);
    // The first account is the superuser: it can use the in-game reload command.
    let mut admin = host.player("Admin").await;
    let mut players = vec![];
    for i in 0..50 {
        let name = format!("P{i}");
        let mut c = host.player(&name).await;
        c.send_text("go garden").await;
        c.expect_text("The Garden").await;
        players.push((name, c));
    }
    // Before: ten inputs each, not waiting for answers, so some are in flight at the restart.
    for (name, c) in players.iter_mut() {
        for i in 0..10 {
            c.send_text(&format!("echoback {name}-{i}")).await;
        }
    }
    let old = host.server_pid();
    match kind {
        Restart::Crash => {
            kill_server(&host);
        }
        Restart::InGameReload => admin.send_text("reload testing").await,
        Restart::CliReload => assert_eq!(host.cli(&["reload", "testing"]), "reloading"),
    }
    // During: ten more each while the server is going down and coming back.
    for (name, c) in players.iter_mut() {
        for i in 10..20 {
            c.send_text(&format!("echoback {name}-{i}")).await;
        }
    }
    wait_new_server(&host, old);
    // After: ten more.
    for (name, c) in players.iter_mut() {
        for i in 20..30 {
            c.send_text(&format!("echoback {name}-{i}")).await;
        }
    }
    for (name, c) in players.iter_mut() {
        expect_echoes_in_order(c, name, 30).await;
    }
    for (name, c) in players.iter_mut().take(5) {
        c.send_text("look").await;
        let look = c.expect_text("The Garden").await;
        assert!(look.starts_with("The Garden"), "{name} is still in the garden: {look}");
        c.send_text("sessid").await;
        c.expect_text("sessid ").await;
    }
    if !matches!(kind, Restart::Crash) {
        assert!(admin.expect_text("Server restart initiated").await.contains("(Reason: testing)"));
    }
    admin.expect_text("... Server restarted.").await;
    // Nobody was shown the login screen again.
    for (name, c) in players.iter() {
        let screens =
            c.seen.iter().filter(|v| v.to_string().contains("connect &lt;username")).count();
        assert_eq!(screens, 1, "{name} saw the connection screen only at connect");
        // Restored sessions get no puppet hooks: the one "You become" is the login's.
        let become_texts = c.seen.iter().filter(|v| v.to_string().contains("You become")).count();
        assert_eq!(become_texts, 1, "{name} was told 'You become' only at login");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_players_stay_connected_and_answered_through_a_server_crash() {
    players_survive(Restart::Crash).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_players_stay_connected_and_answered_through_an_in_game_reload() {
    players_survive(Restart::InGameReload).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_players_stay_connected_and_answered_through_mudhost_reload() {
    players_survive(Restart::CliReload).await;
}

#[tokio::test]
async fn session_ndb_survives_a_server_restart() {
    let host = Host::start(MODULES, CHARACTER_WITH_TROUBLE);
    let mut c = host.player("Nina").await;
    assert_eq!(c.ask("ndbset colour teal").await, "ndb colour = teal");
    let old = kill_server(&host);
    wait_new_server(&host, old);
    c.send_text("ndbget colour").await;
    assert_eq!(c.expect_text("ndb colour").await, "ndb colour = teal");
}

#[tokio::test]
async fn a_client_connecting_while_the_server_is_away_gets_the_screen_when_it_is_back() {
    let host = Host::start(MODULES, r#"restart_backoff_ms = 1500"#);
    let mut early = host.client().await;
    let old = kill_server(&host);
    wait_server_gone(&host, old);
    let mut late = Client::connect(&host.url).await;
    late.send_text("look").await;
    let screen = late.expect_text("connect <username> <password>").await;
    assert!(screen.contains("create <username> <password>"));
    // The early client still works and was not shown the screen again unasked.
    early.send_text("help").await;
    let help = early.expect_text("create").await;
    assert!(!help.contains("Welcome to"), "{help}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_clients_connecting_during_the_gap_all_get_the_screen() {
    let host = Host::start(MODULES, r#"restart_backoff_ms = 1500"#);
    let old = kill_server(&host);
    wait_server_gone(&host, old);
    let mut clients = vec![];
    for _ in 0..100 {
        clients.push(Client::connect(&host.url).await);
    }
    for c in clients.iter_mut() {
        c.expect_text("connect <username> <password>").await;
    }
}

#[tokio::test]
async fn input_beyond_the_queue_bound_is_refused_with_a_notice_and_the_rest_delivered() {
    let host = Host::start(
        MODULES,
        &format!(
            "{CHARACTER_WITH_TROUBLE}\nqueued_inputs_per_session = 5\nrestart_backoff_ms = 1500"
        ),
    );
    let mut c = host.player("Quinn").await;
    let old = kill_server(&host);
    wait_server_gone(&host, old);
    for i in 0..8 {
        c.send_text(&format!("echoback Quinn-{i}")).await;
    }
    for _ in 0..3 {
        let t = c.next_text().await.unwrap();
        assert!(t.starts_with("Your input was not queued"), "{t}");
    }
    expect_echoes_in_order(&mut c, "Quinn", 5).await;
}

#[tokio::test]
async fn sessids_are_never_reused_across_server_restarts() {
    let host = Host::start(MODULES, CHARACTER_WITH_TROUBLE);
    let mut seen = BTreeSet::new();
    let mut keep = host.player("Keeper").await;
    let keeper_id = keep.ask("sessid").await;
    seen.insert(keeper_id.clone());
    for round in 0..3 {
        for j in 0..3 {
            let mut c = host.client().await;
            let name = format!("R{round}x{j}");
            c.send_text(&format!("create {name} password123")).await;
            c.expect_text("was created").await;
            c.send_text(&format!("connect {name} password123")).await;
            c.expect_text("You become").await;
            c.send_text("sessid").await;
            let id = c.expect_text("sessid ").await;
            assert!(seen.insert(id.clone()), "sessid reused: {id}");
            c.send_text("quit").await;
            c.expect_closed().await;
        }
        let old = kill_server(&host);
        wait_new_server(&host, old);
        keep.send_text("sessid").await;
        assert_eq!(keep.expect_text("sessid ").await, keeper_id, "restored with the same sessid");
    }
    assert_eq!(seen.len(), 10);
}

#[tokio::test]
async fn shutdown_tells_players_and_both_processes_exit_zero() {
    let mut host = Host::start(MODULES, "");
    let mut c = host.player("Sam").await;
    assert_eq!(host.cli(&["stop"]), "stopped");
    let texts = c.expect_closed().await;
    assert!(texts.iter().any(|t| t.contains("Server is being SHUT DOWN!")), "{texts:?}");
    assert!(host.wait_exit().success(), "portal exits 0");
    let log = host.log();
    assert!(log.contains("server process exited"), "server exited 0:\n{log}");
    assert!(!log.contains("server process died"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_connecting_during_a_reload_get_the_screen() {
    let host = Host::start(MODULES, "");
    let mut early = host.player("Early").await;
    let old = host.server_pid();
    assert_eq!(host.cli(&["reload"]), "reloading");
    // Connect while the old server is exiting and the new one starting.
    let mut late = vec![];
    for _ in 0..10 {
        late.push(Client::connect(&host.url).await);
    }
    for c in late.iter_mut() {
        let screen = c.expect_text("connect <username> <password>").await;
        assert!(screen.contains("create <username> <password>"));
    }
    wait_new_server(&host, old);
    early.expect_text("... Server restarted.").await;
}

#[tokio::test]
async fn killing_the_portal_leaves_no_orphaned_server_and_no_damaged_data() {
    let mut host = Host::start(MODULES, "");
    {
        let mut c = host.player("Orla").await;
        c.send_text("go tower").await;
        c.expect_text("The Tower").await;
    }
    let server = host.server_pid();
    host.kill_portal();
    let deadline = std::time::Instant::now() + support::WAIT;
    while std::path::Path::new(&format!("/proc/{server}")).exists()
        && !std::fs::read_to_string(format!("/proc/{server}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
    {
        assert!(std::time::Instant::now() < deadline, "server {server} outlived its portal");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    host.launch();
    let mut c = host.client().await;
    c.send_text("connect Orla password123").await;
    c.expect_text("You become Orla.").await;
    assert!(c.ask("look").await.starts_with("The Tower"));
}
