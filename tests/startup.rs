//! Starting and stopping the game as a whole: broken modules in the folder at a start, one portal
//! per game, stops during a restart gap, a server that fails while starting, panics, and the
//! operator's commands (`init`, `status`).

use crate::support;

use std::time::{Duration, Instant};

use support::{Client, Host, GAME, WAIT};

/// Wait until the log has `n` lines containing every one of `needles`; returns those lines.
fn wait_log_lines(host: &Host, needles: &[&str], n: usize) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let log = host.log();
        let lines: Vec<String> = log
            .lines()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .map(str::to_string)
            .collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(Instant::now() < deadline, "log never had {n} lines with {needles:?}:\n{log}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Wait until a server other than `old` is up; returns its pid.
fn wait_new_server(host: &Host, old: u32) -> u32 {
    let deadline = Instant::now() + WAIT;
    loop {
        let pid = host.server_pid();
        if pid != old {
            return pid;
        }
        assert!(Instant::now() < deadline, "no new server");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test]
async fn a_module_panicking_or_sleeping_at_load_does_not_crash_loop_the_server_at_any_start() {
    // In the folder from the first start: one module panics (writing its message to stderr)
    // while its metadata is read, one sleeps in `at-load`.
    let modules = [GAME, &["load_panic", "hostile_sleepy_load"]].concat();
    let host = Host::start(&modules, "");
    let panic_rejected = ["module rejected", "load_panic", "guest panicked: load-time panic"];
    let sleep_rejected = ["module rejected", "hostile_sleepy_load", "would wait"];

    // Cold start: both are rejected with the hot load's one-line errors and the game serves.
    let mut c = host.player("Pat").await;
    wait_log_lines(&host, &panic_rejected, 1);
    wait_log_lines(&host, &sleep_rejected, 1);
    assert!(c.ask("look").await.starts_with("Limbo"));

    // Reload: the new server rejects them again and serves.
    let old = host.server_pid();
    assert_eq!(host.cli(&["reload"]), "reloading");
    c.expect_text("... Server restarted.").await;
    wait_new_server(&host, old);
    wait_log_lines(&host, &panic_rejected, 2);
    assert!(c.ask("look").await.starts_with("Limbo"));

    // Crash restart: the same.
    let old = host.server_pid();
    unsafe { libc::kill(old as i32, libc::SIGKILL) };
    c.expect_text("... Server restarted.").await;
    wait_new_server(&host, old);
    wait_log_lines(&host, &panic_rejected, 3);
    wait_log_lines(&host, &sleep_rejected, 3);
    assert!(c.ask("look").await.starts_with("Limbo"));
    let mut late = Client::connect(&host.url).await;
    late.expect_text("connect <username> <password>").await;
    assert_eq!(host.log().matches("server process started").count(), 3, "{}", host.log());
}

/// Run a second `mudhost start` on `host`'s game; it must exit by itself within the wait.
/// Returns its exit status and stderr.
fn second_start(host: &Host) -> (std::process::ExitStatus, String) {
    let mut child = std::process::Command::new(support::mudhost_bin())
        .arg("start")
        .arg("--config")
        .arg(host.config_path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run mudhost start");
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("a second portal started on a running game:\n{}", host.log());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (status, err)
}

/// Modification time of a file in the game's data folder, to the nanosecond.
fn mtime(host: &Host, name: &str) -> std::time::SystemTime {
    std::fs::metadata(host.dir.path().join("data").join(name)).unwrap().modified().unwrap()
}

#[tokio::test]
async fn a_refused_second_start_does_not_touch_the_running_games_files() {
    let host = Host::start(GAME, "");
    let mut c = host.player("Rosa").await;
    let server = host.server_pid();
    // The game is idle: nothing writes the in-flight marker the server has mapped.
    let marker = mtime(&host, "inflight");
    for _ in 0..5 {
        let (status, err) = second_start(&host);
        assert!(!status.success(), "refused with a non-zero exit");
        assert!(err.contains("a portal is already running"), "{err}");
        assert_eq!(mtime(&host, "inflight"), marker, "the in-flight marker was rewritten");
    }
    // Refused starts while commands run do not take the server down either.
    for i in 0..10 {
        c.send_text("look").await;
        second_start(&host);
        assert!(c.expect_text("Limbo").await.starts_with("Limbo"), "round {i}");
    }
    assert_eq!(host.server_pid(), server, "the server was never restarted");
}

#[tokio::test]
async fn a_second_portal_is_refused_even_when_the_control_socket_was_deleted() {
    let host = Host::start(GAME, "");
    let mut c = host.player("Ivo").await;
    let server = host.server_pid();
    std::fs::remove_file(host.dir.path().join("data/portal.sock")).unwrap();
    let (status, err) = second_start(&host);
    assert!(!status.success(), "refused with a non-zero exit");
    assert!(err.contains("a portal is already running"), "{err}");
    // The first portal still owns its link: its next server (after a crash) joins it and the
    // player is served as before, in the same room.
    unsafe { libc::kill(server as i32, libc::SIGKILL) };
    c.expect_text("... Server restarted.").await;
    assert!(c.ask("look").await.starts_with("Limbo"));
}

#[tokio::test]
async fn a_stop_while_the_next_server_is_starting_stops_the_game_with_no_play_after_shut_down() {
    // Every server takes a second and a half to say hello, so the stop below comes while the
    // next server process exists but has not joined the link.
    let mut host = Host::start_with_env(GAME, "", &[("MUDHOST_FAILPOINT", "slow-start:1500")]);
    let mut c = host.player("Stan").await;
    let old = host.server_pid();
    unsafe { libc::kill(old as i32, libc::SIGKILL) };
    let deadline = Instant::now() + WAIT;
    while !host.cli(&["status"]).contains("server starting (pid")
        || host.cli(&["status"]).contains(&format!("(pid {old})"))
    {
        assert!(Instant::now() < deadline, "no server was restarted");
        std::thread::sleep(Duration::from_millis(5));
    }
    let stopping = Instant::now();
    assert_eq!(host.cli(&["stop"]), "stopped");
    c.expect_text("Server is being SHUT DOWN!").await;
    // Input after the notice is never run: no server takes the sessions over.
    c.send_text("look").await;
    let after = c.expect_closed().await;
    assert!(!after.iter().any(|t| t.contains("Limbo")), "played after SHUT DOWN: {after:?}");
    assert!(host.wait_exit().success(), "the portal exits 0");
    let took = stopping.elapsed();
    assert!(took < Duration::from_secs(10), "the stop took {took:?}");
}

#[tokio::test]
async fn a_panic_on_the_game_thread_exits_non_zero_with_a_clear_line_and_the_game_goes_on() {
    let host = Host::start_with_env(GAME, "", &[("MUDHOST_FAILPOINT", "panic:look")]);
    let mut c = host.player("Pia").await;
    let old = host.server_pid();
    c.send_text("look").await;
    // The server died on it (non-zero), came back, and ran the input once.
    c.expect_text("... Server restarted.").await;
    assert!(c.expect_text("Limbo").await.starts_with("Limbo"));
    wait_new_server(&host, old);
    let died = wait_log_lines(&host, &["server process died", &format!("pid={old}")], 1);
    assert!(died[0].contains("exit status: 101"), "{died:?}");
    let log = host.log();
    let panic = log.lines().find(|l| l.contains("ERROR") && l.contains("panic: failpoint"));
    assert!(panic.is_some_and(|l| l.contains("thread=\"game\"")), "{log}");
    assert!(!log.contains("the portal went away"), "{log}");
}

#[tokio::test]
async fn a_panic_in_the_portals_hub_exits_non_zero_with_a_clear_line() {
    let mut host = Host::start_with_env(GAME, "", &[("MUDHOST_FAILPOINT", "portal-panic:boom")]);
    let mut c = host.player("Hal").await;
    c.send_text("boom").await;
    let status = host.wait_exit();
    assert!(!status.success(), "the portal exited {status}");
    let log = host.log();
    assert!(log.contains("panic: failpoint: a deliberate panic in the portal's hub"), "{log}");
    assert!(log.contains("the portal's hub panicked"), "{log}");
}

#[test]
fn init_writes_a_config_only_its_user_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let game = dir.path().join("game");
    let out = std::process::Command::new(support::mudhost_bin())
        .arg("init")
        .arg(&game)
        .output()
        .expect("run mudhost init");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mode = std::fs::metadata(game.join("mudhost.toml")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mudhost.toml is {:o}", mode & 0o777);
}

#[tokio::test]
async fn status_against_a_wedged_portal_fails_with_a_clear_error_instead_of_hanging() {
    let host = Host::start(GAME, "control_timeout_ms = 1000");
    let status = host.cli(&["status"]);
    let portal: i32 =
        status.split("portal pid ").nth(1).unwrap().split(';').next().unwrap().parse().unwrap();
    // A wedged portal: its control socket still accepts (the kernel does), nothing answers.
    unsafe { libc::kill(portal, libc::SIGSTOP) };
    let started = Instant::now();
    let out = std::process::Command::new(support::mudhost_bin())
        .args(["status", "--config"])
        .arg(host.config_path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = out.id();
    let waited = std::thread::spawn(move || out.wait_with_output().unwrap());
    let deadline = Instant::now() + WAIT;
    while !waited.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if !waited.is_finished() {
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
    unsafe { libc::kill(portal, libc::SIGCONT) };
    let out = waited.join().unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "status hung for {took:?}");
    assert!(!out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did not answer") && err.contains("control_timeout_ms"), "{err}");
    // The portal, woken, answers again.
    assert!(host.cli(&["status"]).contains("server up"));
}

#[tokio::test]
async fn a_client_connecting_while_servers_fail_to_start_gets_the_connection_screen_later() {
    let host = Host::start(GAME, "");
    let mut early = host.client().await;
    // From the next start on, the database cannot be opened (a folder stands in its place).
    let db = host.dir.path().join("data/game.sqlite3");
    for f in ["game.sqlite3", "game.sqlite3-wal", "game.sqlite3-shm"] {
        let _ = std::fs::remove_file(host.dir.path().join("data").join(f));
    }
    std::fs::create_dir(&db).unwrap();
    let failed = "Error: opening the database";
    let old = host.server_pid();
    unsafe { libc::kill(old as i32, libc::SIGKILL) };
    let before = wait_log_lines(&host, &[failed], 1).len();
    let mut late = Client::connect(&host.url).await;
    // Servers that said hello after `late` connected, and then failed.
    wait_log_lines(&host, &[failed], before + 2);
    std::fs::remove_dir(&db).unwrap();
    // A server that can serve shows `late` its screen, unasked.
    let screen = late.expect_text("connect <username> <password>").await;
    assert!(screen.contains("create <username> <password>"), "{screen}");
    early.send_text("look").await;
    early.expect_text("connect <username> <password>").await;
}

/// Try to take the exclusive lock on `path` from this process; the open file holds it.
fn try_flock(path: &std::path::Path) -> Option<std::fs::File> {
    use std::os::unix::io::AsRawFd;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .unwrap();
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    (r == 0).then_some(f)
}

#[tokio::test]
async fn a_server_finding_its_database_locked_by_another_is_refused_and_the_game_resumes_after() {
    let host = Host::start(GAME, "restart_backoff_ms = 1000");
    let mut c = host.player("Lou").await;
    let lock = host.dir.path().join("data/game.sqlite3.lock");
    assert!(try_flock(&lock).is_none(), "the running server holds its database's lock");
    let old = host.server_pid();
    unsafe { libc::kill(old as i32, libc::SIGKILL) };
    // Another process takes the database while no server runs.
    let deadline = Instant::now() + WAIT;
    let held = loop {
        if let Some(f) = try_flock(&lock) {
            break f;
        }
        assert!(Instant::now() < deadline, "the dead server's lock was never released");
        std::thread::sleep(Duration::from_millis(5));
    };
    wait_log_lines(&host, &["another server is using the database"], 1);
    c.send_text("look").await;
    drop(held);
    // The input waited in the portal and runs once a server can open the database.
    assert!(c.expect_text("Limbo").await.starts_with("Limbo"));
}
