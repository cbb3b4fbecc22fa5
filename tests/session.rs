//! One input from websocket to a WASM cmdset and back: connection screen, accounts, login,
//! puppeting, talking, persistence across a full restart, bad input, and a trapping guest.

use crate::support;

use futures_util::SinkExt;
use serde_json::json;
use support::{Client, Host, GAME};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_new_player_sees_the_screen_creates_an_account_and_becomes_its_character() {
    let host = Host::start(GAME, "");
    let mut c = Client::connect(&host.url).await;
    let screen = c.expect_text("connect <username> <password>").await;
    assert!(screen.contains("create <username> <password>"), "screen: {screen}");

    c.send_text("create Alice password123").await;
    let created = c.expect_text("was created").await;
    assert!(created.contains("A new account 'Alice' was created. Welcome!"), "{created}");

    c.send_text("connect Alice password123").await;
    let oob = c.expect_oob("logged_in").await;
    assert_eq!(oob, json!(["logged_in", [], {}]));
    c.expect_text("You become Alice.").await;
    let room = c.expect_text("Limbo").await;
    assert!(room.contains("Limbo"), "first look after puppeting shows the room: {room}");
    let look = c.ask("look").await;
    assert!(look.starts_with("Limbo"), "look: {look}");
}

#[tokio::test]
async fn say_in_a_room_reaches_everyone_there_with_the_right_wording() {
    let host = Host::start(GAME, "");
    let mut ann = host.player("Ann").await;
    let mut bob = host.player("Bob").await;
    ann.expect_text("Bob has entered the game.").await;

    bob.send_text("say hello").await;
    assert_eq!(bob.expect_text("say").await, "You say, \"hello\"");
    assert_eq!(ann.expect_text("says").await, "Bob says, \"hello\"");
}

#[tokio::test]
async fn accounts_characters_and_rooms_survive_a_full_restart() {
    let mut host = Host::start(GAME, "");
    {
        let mut c = host.player("Cleo").await;
        c.send_text("go garden").await;
        c.expect_text("The Garden").await;
        c.send_text("say remember me").await;
        c.expect_text("You say").await;
    }
    assert!(host.stop().success(), "portal exits 0 on SIGTERM");
    host.launch();
    let mut c = host.client().await;
    c.send_text("create Cleo password123").await;
    c.expect_text("already an account with the name 'Cleo'").await;
    c.send_text("connect Cleo password123").await;
    c.expect_text("You become Cleo.").await;
    let look = c.ask("look").await;
    assert!(look.starts_with("The Garden"), "same character, same room after restart: {look}");
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_quit_closes_cleanly() {
    let host = Host::start(GAME, "");
    let mut c = host.client().await;
    c.send_text("create Dora password123").await;
    c.expect_text("was created").await;
    c.send_text("connect Dora wrongpassword").await;
    assert_eq!(c.next_text().await.unwrap(), "Username and/or password is incorrect.");
    c.send_text("quit").await;
    // As in Evennia's websocket protocol, the reason is in the close frame, not a text.
    let (texts, reason) = c.expect_close_reason().await;
    assert_eq!(reason, "Good bye! Disconnecting.");
    assert!(!texts.iter().any(|t| t.contains("Good bye")), "{texts:?}");
}

#[tokio::test]
async fn malformed_frames_never_crash_the_host_or_disturb_another_session() {
    let host = Host::start(GAME, "");
    let mut bystander = host.player("Eve").await;
    let mut bad = host.client().await;

    for junk in ["look", "{\"a\":1}", "[]", "[1,[],{}]", "[\"text\",[],7]", "\u{0}\u{1}"] {
        bad.send_raw(Message::text(junk)).await;
        let reply = bad.next_text().await.expect("an error reply, not a dropped connection");
        assert!(reply.starts_with("input dropped"), "{junk:?} → {reply}");
    }
    bad.send_raw(Message::binary(vec![0xc1, 0xff, 0x00, 0x13])).await;
    assert!(bad.next_text().await.unwrap().contains("MessagePack"));
    // A huge line is refused with Evennia's text, not passed on.
    bad.send_text(&"x".repeat(7000)).await;
    assert!(bad.next_text().await.unwrap().contains("too long"));
    // The bad client is still served.
    let screen = bad.ask("look").await;
    assert!(screen.contains("connect"), "{screen}");

    // Invalid UTF-8 in a text frame: that connection is closed with 1007, nobody else notices.
    let mut broken = host.client().await;
    let frame = Frame::message(vec![b'[', 0xff, 0xfe, b']'], OpCode::Data(Data::Text), true);
    broken.ws.send(Message::Frame(frame)).await.unwrap();
    assert!(broken.next().await.is_none(), "connection with invalid UTF-8 is closed");

    bystander.send_text("say still here").await;
    assert_eq!(bystander.expect_text("You say").await, "You say, \"still here\"");
}

#[tokio::test]
async fn a_trapping_guest_command_answers_only_its_caller() {
    let host = Host::start(
        &["unloggedin", "account", "character", "trouble"],
        r#"cmdset_character = ["character", "trouble"]"#,
    );
    let mut victim = host.player("Finn").await;
    let mut other = host.player("Gwen").await;
    victim.expect_text("Gwen has entered the game.").await;

    victim.send_text("panic").await;
    assert_eq!(victim.next_text().await.unwrap(), "An untrapped error occurred.");
    assert!(host.log().contains("deliberate panic"), "guest panic text goes to the log");

    // The other player saw nothing of it and is still served; the module still works.
    other.send_text("say fine").await;
    assert_eq!(other.expect_text("You say").await, "You say, \"fine\"");
    assert_eq!(victim.expect_text("says").await, "Gwen says, \"fine\"");
    assert_eq!(victim.ask("ok").await, "trouble ok");
}

#[tokio::test]
async fn idle_is_a_silent_keepalive_that_does_not_count_as_a_command() {
    let host = Host::start(
        &["unloggedin", "account", "character", "trouble"],
        r#"cmdset_character = ["character", "trouble"]"#,
    );
    let mut c = host.player("Ida").await;
    let before: u64 = c.ask("counters").await.trim_start_matches("cmd_total ").parse().unwrap();
    c.send_text("idle").await;
    c.send_text("idle").await;
    // The first answer after the keepalives is the next command's: idle produced no output.
    let after: u64 = c.ask("counters").await.trim_start_matches("cmd_total ").parse().unwrap();
    assert_eq!(after, before + 1, "only the counters command itself was counted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_hashing_does_not_hold_up_the_game_loop() {
    // A deliberately expensive hash (64 MiB, 8 passes: hundreds of milliseconds).
    let host = Host::start(support::GAME, "argon2_memory_kib = 65536\nargon2_iterations = 8");
    let mut c = host.client().await;
    let mut other = host.client().await;
    c.send_text("create Hugo password123").await;
    c.expect_text("was created").await;
    // While Hugo's password is being checked, another session's command is answered: with
    // hashing on the game loop, it would wait for the login. (Hugo's own later input waits for
    // his login, so that his inputs keep their order.)
    c.send_text("connect Hugo password123").await;
    other.send_text("look").await;
    // Both sockets are read at once, Hugo's first: if his login is there by the time the other
    // answer is (as when the check holds up the loop, which then sends both together), his wins.
    let first = tokio::select! {
        biased;
        _ = c.expect_text("You become Hugo.") => "Hugo's login",
        _ = other.expect_text("connect <username>") => "the other answer",
    };
    assert_eq!(first, "the other answer", "the other session waited for the password check");
    c.expect_text("You become Hugo.").await;
}

#[tokio::test]
async fn a_connection_that_stops_answering_pings_is_reaped() {
    let host = Host::start(GAME, "ws_ping_secs = 1");
    let mut watcher = host.player("Wendy").await;
    // Zed logs in, then his client goes silent: it never reads again, so it never answers a ping.
    let zed = host.player("Zed").await;
    watcher.expect_text("Zed has entered the game.").await;
    let gone = watcher.expect_text("Zed has left the game").await;
    assert_eq!(gone, "Zed has left the game (connection lost).");
    drop(zed);
    // Wendy, who does read (and so answers pings), is still connected.
    assert!(watcher.ask("look").await.starts_with("Limbo"));
}

#[tokio::test]
async fn a_burst_of_output_bigger_than_a_write_batch_arrives_complete_and_in_order() {
    // The connection writes what is queued in batches with one flush each; 500 messages from one
    // call fill several batches, and none may be lost at a batch's edge.
    let host = Host::start(
        &["unloggedin", "account", "character", "trouble"],
        r#"cmdset_character = ["character", "trouble"]"#,
    );
    let mut c = host.player("Burster").await;
    for round in 0..3 {
        c.send_text("burst 500").await;
        for i in 0..500 {
            let t = c.next_text().await.expect("connected");
            assert_eq!(t, format!("burst {i}"), "round {round}");
        }
    }
    assert_eq!(c.ask("echoback done").await, "echoback v1: done");
}
