//! Crash safety: every input is applied and answered exactly once whatever moment the server dies
//! at, a failed command changes nothing, poison input is quarantined, only our own server joins
//! the link, one session's inputs keep their order, and stops are clean in any state.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use support::{Client, Host, GAME, WAIT};
use tokio_tungstenite::tungstenite::Message;

/// Read texts until one contains `needle`, returning every text seen on the way (inclusive).
async fn texts_until(c: &mut Client, needle: &str) -> Vec<String> {
    let mut seen = vec![];
    loop {
        let t = c
            .next_text()
            .await
            .unwrap_or_else(|| panic!("closed while waiting for {needle:?}: {seen:?}"));
        let done = t.contains(needle);
        seen.push(t);
        if done {
            return seen;
        }
    }
}

/// Wait until the server has been restarted after `old_pid` and is up again.
fn wait_for_new_server(host: &Host, old_pid: u32) -> u32 {
    let deadline = Instant::now() + WAIT;
    loop {
        let status = host.cli(&["status"]);
        if let Some(rest) = status.split("server up (pid ").nth(1) {
            let pid: u32 = rest.split(')').next().unwrap().parse().unwrap();
            if pid != old_pid {
                return pid;
            }
        }
        assert!(Instant::now() < deadline, "no new server: {status}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Walk to the garden (a command that writes, so the outbox is not empty around the one under
/// test), then send `line`, which the failpoint `kind` kills the server on, and `inventory`.
/// Returns the host, the player and the texts up to the inventory's answer, once a new server
/// is up.
async fn kill_on(kind: &str, line: &str) -> (Host, Client, Vec<String>) {
    let host = Host::start_with_env(GAME, "", &[("MUDHOST_FAILPOINT", &format!("{kind}:{line}"))]);
    let mut p = host.player("Walker").await;
    p.send_text("go garden").await;
    p.expect_text("pebble").await;
    let pid = host.server_pid();
    p.send_text(line).await;
    p.send_text("inventory").await;
    let seen = texts_until(&mut p, "You are ").await;
    assert_ne!(wait_for_new_server(&host, pid), pid);
    assert!(host.log().contains("failpoint: the server dies now"), "the failpoint fired");
    (host, p, seen)
}

/// Fail-point the `get pebble` and check it was applied and answered once.
async fn pebble_is_taken_exactly_once(kind: &str) {
    // The server dies after committing `get pebble` and before (or while) sending its answer.
    // The answer arrives once, from the outbox of the next server, and the replayed input is
    // not run again (it would answer "Could not find 'pebble'.").
    let (_host, mut p, seen) = kill_on(kind, "get pebble").await;
    let picked = seen.iter().filter(|t| t.contains("You pick up pebble")).count();
    assert_eq!(picked, 1, "answered exactly once: {seen:?}");
    assert!(!seen.iter().any(|t| t.contains("Could not find")), "not applied twice: {seen:?}");
    assert!(
        seen.last().unwrap().contains("You are carrying")
            && seen.last().unwrap().contains("pebble"),
        "the pebble is carried: {seen:?}"
    );
    // And nothing more arrives for `get pebble` afterwards.
    assert_eq!(p.ask("inventory").await.matches("pebble").count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_between_commit_and_send_applies_and_answers_get_exactly_once() {
    pebble_is_taken_exactly_once("after-commit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_effects_frame_still_applies_and_answers_get_exactly_once() {
    pebble_is_taken_exactly_once("truncated-frame").await;
}

/// A command that changes nothing (`look`) sends its frame without storing it in the outbox:
/// killed between its commit and its send (or half-way through the frame), its answer is not in
/// any outbox, so the portal's unacknowledged input is what brings it back. Answered once,
/// before what was typed after it.
async fn look_is_answered_exactly_once(kind: &str) {
    let (_host, mut p, seen) = kill_on(kind, "look here").await;
    let looks = seen.iter().filter(|t| t.starts_with("The Garden")).count();
    assert_eq!(looks, 1, "answered exactly once: {seen:?}");
    // Before the answer to what was typed after it (the restart notice may come first).
    let look_at = seen.iter().position(|t| t.starts_with("The Garden"));
    assert!(look_at < Some(seen.len() - 1), "in order: {seen:?}");
    // Nothing more arrives for it afterwards, and the game goes on.
    assert!(p.ask("inventory").await.starts_with("You are "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_between_commit_and_send_of_a_command_that_changed_nothing_answers_it_once() {
    look_is_answered_exactly_once("after-commit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_frame_of_a_command_that_changed_nothing_still_answers_it_once() {
    look_is_answered_exactly_once("truncated-frame").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_frames_are_refused_at_the_portal_and_the_server_stays_up() {
    let host = Host::start(GAME, "");
    let mut bad = host.player("Nester").await;
    let mut good = host.player("Bystander").await;
    let pid = host.server_pid();

    // Built as bytes: `["text", [[[ ... "x" ... ]]], {}]` and
    // `["client_options", [], {"screenwidth": {"k": {"k": ... 1}}}]`, 1000 levels deep.
    let mut text_frame = vec![0x93, 0xa4];
    text_frame.extend(b"text");
    text_frame.extend(std::iter::repeat_n(0x91u8, 1000));
    text_frame.extend([0xa1, b'x', 0x80]);
    bad.send_raw(Message::binary(text_frame)).await;
    assert!(bad.expect_text("nested deeper than 32").await.contains("input dropped"));

    let mut opts_frame = vec![0x93, 0xae];
    opts_frame.extend(b"client_options");
    opts_frame.extend([0x90, 0x81, 0xab]);
    opts_frame.extend(b"screenwidth");
    for _ in 0..1000 {
        opts_frame.extend([0x81, 0xa1, b'k']);
    }
    opts_frame.push(0x01);
    bad.send_raw(Message::binary(opts_frame)).await;
    bad.expect_text("nested deeper than 32").await;
    // The same in JSON, past serde_json's own recursion limit.
    bad.send_raw(Message::text(format!(
        "[\"text\",{}\"x\"{}]",
        "[".repeat(5000),
        "]".repeat(5000)
    )))
    .await;
    bad.expect_text("nested deeper than 32").await;

    // The server keeps its pid for 10 s while everyone is answered.
    let until = Instant::now() + Duration::from_secs(10);
    let mut rounds = 0;
    while Instant::now() < until {
        good.send_text("say still fine").await;
        assert_eq!(good.expect_text("You say").await, "You say, \"still fine\"");
        bad.send_text("say me too").await;
        assert_eq!(bad.expect_text("You say").await, "You say, \"me too\"");
        rounds += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(rounds > 5);
    assert_eq!(host.server_pid(), pid, "the server never restarted");
    assert!(host.cli(&["status"]).contains("server starts 1;"), "{}", host.cli(&["status"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rogue_process_with_a_forged_hello_is_refused_and_learns_nothing() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = Host::start(GAME, "");
    let mut p = host.player("Watcher").await;
    let pid = host.server_pid();
    let data = host.dir.path().join("data");

    // Modes: the data folder is private, and so are the sockets and the database.
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("link.sock")), 0o600);
    assert_eq!(mode(&data.join("portal.sock")), 0o600);
    for f in std::fs::read_dir(&data).unwrap() {
        let f = f.unwrap().path();
        if f.is_file() {
            assert_eq!(mode(&f) & 0o077, 0, "{} is private", f.display());
        }
    }

    // A forged hello: the right shape and version, no secret.
    let mut rogue = tokio::net::UnixStream::connect(data.join("link.sock")).await.unwrap();
    let hello = mudhost::link::ServerMsg::Hello {
        version: mudhost::link::LINK_VERSION,
        pid: 4242,
        secret: "guess".into(),
    };
    rogue.write_all(&mudhost::link::encode_frame(&hello).unwrap()).await.unwrap();
    let mut got = vec![];
    tokio::time::timeout(WAIT, rogue.read_to_end(&mut got))
        .await
        .expect("the portal closes the link")
        .unwrap();
    let reply: mudhost::link::PortalMsg = mudhost::link::decode_body(&got[4..]).unwrap();
    assert!(matches!(reply, mudhost::link::PortalMsg::Refused { .. }), "{reply:?}");
    assert_eq!(
        got.len(),
        4 + u32::from_be_bytes(got[..4].try_into().unwrap()) as usize,
        "only the refusal"
    );

    // A frame too large for a hello is cut off before it is read.
    let mut rogue = tokio::net::UnixStream::connect(data.join("link.sock")).await.unwrap();
    rogue.write_all(&(60u32 << 20).to_be_bytes()).await.unwrap();
    let mut got = vec![];
    tokio::time::timeout(WAIT, rogue.read_to_end(&mut got)).await.expect("closed").unwrap();
    assert!(got.is_empty());

    assert_eq!(p.ask("say unaffected").await, "You say, \"unaffected\"");
    assert_eq!(host.server_pid(), pid);
    assert!(host.log().contains("wrong secret"), "the refusal is logged with the peer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_connect_and_say_sent_back_to_back_are_answered_in_order() {
    let host = Host::start(GAME, "");
    let mut c = host.client().await;
    for line in ["create Quick password123", "connect Quick password123", "say hi"] {
        c.send_text(line).await;
    }
    let seen = texts_until(&mut c, "You say, \"hi\"").await;
    let pos = |needle: &str| {
        seen.iter().position(|t| t.contains(needle)).unwrap_or_else(|| panic!("{needle}: {seen:?}"))
    };
    assert!(pos("was created") < pos("You become Quick"), "{seen:?}");
    assert!(pos("You become Quick") < pos("You say"), "{seen:?}");
    assert!(!seen.iter().any(|t| t.contains("incorrect")), "{seen:?}");
}

/// Wait until the portal no longer reports the server as up (it noticed a kill).
fn wait_for_server_down(host: &Host) {
    let deadline = Instant::now() + WAIT;
    while host.cli(&["status"]).contains("server up") {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The player was told of the shutdown, the portal exited 0, and after a new start nobody's
/// character (here `left`'s) is still in a room.
async fn told_shut_down_and_nobody_left(host: &mut Host, p: &mut Client, left: &str) {
    assert!(p.expect_closed().await.iter().any(|t| t.contains("SHUT DOWN")), "players are told");
    assert!(host.wait_exit().success());
    host.launch();
    nobody_is_left_standing(host, left).await;
}

/// Nobody's character is left in a room: a newcomer looking around sees no one.
async fn nobody_is_left_standing(host: &Host, left: &str) {
    let mut c = host.player("Newcomer").await;
    let look = c.ask("look").await;
    assert!(!look.contains(left), "{left} was left in the world: {look}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_right_after_a_server_kill_exits_cleanly_and_leaves_nobody_in_the_world() {
    let mut host = Host::start(GAME, "restart_backoff_ms = 3000");
    let mut p = host.player("Standing").await;
    let pid = host.server_pid();
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    // The portal notices (status no longer says up) and then is told to stop during the gap.
    wait_for_server_down(&host);
    assert_eq!(host.cli(&["stop"]), "stopped");
    told_shut_down_and_nobody_left(&mut host, &mut p, "Standing").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_right_after_a_reload_exits_cleanly_and_leaves_nobody_in_the_world() {
    let mut host = Host::start(GAME, "");
    let mut p = host.player("Reloader").await;
    host.cli(&["reload"]);
    assert_eq!(host.cli(&["stop"]), "stopped");
    told_shut_down_and_nobody_left(&mut host, &mut p, "Reloader").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_to_the_server_shuts_the_game_down_cleanly() {
    let mut host = Host::start(GAME, "");
    let mut p = host.player("Termed").await;
    let pid = host.server_pid();
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    told_shut_down_and_nobody_left(&mut host, &mut p, "Termed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_changes_things_and_then_traps_changes_nothing() {
    let host = Host::start(
        &["unloggedin", "account", "character", "trouble"],
        "cmdset_character = [\"character\", \"trouble\"]",
    );
    let mut p = host.player("Atom").await;
    let mut other = host.player("Witness").await;
    p.expect_text("Witness has entered the game.").await;
    assert_eq!(p.ask("markset before").await, "mark set to before");
    // The failed command's text, its announce to everyone, its attribute, ndb value and new
    // object all vanish: the player sees only the error.
    assert_eq!(p.ask("marktrap after").await, "An untrapped error occurred.");
    assert_eq!(p.ask("markget").await, "mark before; ndb <unset>; leftovers 0");
    assert_eq!(
        other.ask("say anything?").await,
        "You say, \"anything?\"",
        "no announce reached others"
    );
    assert!(!other.seen.iter().any(|v| v.to_string().contains("mark set to after")));
    // And it survives a restart the same way (the database was rolled back too).
    host.cli(&["reload"]);
    p.expect_text("Server restarted").await;
    assert_eq!(p.ask("markget").await, "mark before; ndb <unset>; leftovers 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_that_kills_the_server_twice_is_dropped_and_the_game_goes_on() {
    let host = Host::start_with_env(GAME, "", &[("MUDHOST_FAILPOINT", "poison:say poison")]);
    let mut p = host.player("Poisoner").await;
    let mut other = host.player("Healthy").await;
    let pid = host.server_pid();
    p.send_text("say poison").await;
    p.send_text("say after").await;
    p.expect_text("the server failed twice while running it").await;
    assert_eq!(p.expect_text("You say").await, "You say, \"after\"", "later input still runs");
    other.send_text("say fine").await;
    assert_eq!(other.expect_text("You say").await, "You say, \"fine\"");
    assert_ne!(host.server_pid(), pid);
    let log = host.log();
    assert!(
        log.contains("input dropped: the server died twice in a row while running it"),
        "{log}"
    );
    assert!(log.contains("digest="), "the drop is logged with a digest");
    assert!(
        !log.contains("say poison\" ")
            && !log.lines().any(|l| l.contains("dropped") && l.contains("poison"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_queued_during_a_gap_runs_even_if_its_client_has_gone() {
    let host = Host::start(
        &["unloggedin", "account", "character", "trouble"],
        "cmdset_character = [\"character\", \"trouble\"]\nrestart_backoff_ms = 1500",
    );
    let mut p = host.player("Leaver").await;
    let pid = host.server_pid();
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    wait_for_server_down(&host);
    p.send_text("markset queued").await;
    p.ws.close(None).await.unwrap();
    while p.ws.next().await.is_some() {}
    wait_for_new_server(&host, pid);
    let mut again = Client::connect(&host.url).await;
    again.expect_text("connect").await;
    again.send_text("connect Leaver password123").await;
    again.expect_text("You become Leaver").await;
    again.send_text("markget").await;
    assert_eq!(again.expect_text("mark ").await, "mark queued; ndb <unset>; leftovers 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_link_without_a_secret_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mudhost.toml"),
        "ws_addr = \"127.0.0.1:0\"\nlink = \"tcp:127.0.0.1:0\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(support::mudhost_bin())
        .args(["start", "--config"])
        .arg(dir.path().join("mudhost.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("link_secret"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_effects_fail_the_guest_call_and_the_server_stays_up_and_truthful() {
    let host = Host::start(
        &["unloggedin", "account", "character", "trouble"],
        "cmdset_character = [\"character\", \"trouble\"]",
    );
    let mut bad = host.player("Flooder").await;
    let mut others = vec![];
    for i in 0..3 {
        others.push(host.player(&format!("Other{i}")).await);
    }
    let pid = host.server_pid();
    for cmd in ["flood", "hoard"] {
        bad.send_text(cmd).await;
        assert_eq!(bad.expect_text("error").await, "An untrapped error occurred.", "{cmd}");
        for o in others.iter_mut() {
            o.send_text("say still here").await;
            assert_eq!(o.expect_text("You say").await, "You say, \"still here\"", "after {cmd}");
        }
    }
    assert!(
        !others[0].seen.iter().any(|v| v.to_string().contains("xxxxxxxx")),
        "no flood text reached anyone"
    );
    let status = host.cli(&["status"]);
    assert!(status.contains(&format!("server up (pid {pid})")), "{status}");
    assert!(status.contains("server starts 1;"), "{status}");
    // A reload hands every session over (nothing oversized is left in them) and works.
    host.cli(&["reload"]);
    bad.expect_text("Server restarted").await;
    assert_eq!(bad.ask("ndbget hoard0").await, "ndb hoard0 = <unset>");
    assert_ne!(host.server_pid(), pid);
}
