//! Channels (Evennia's comms) and `execute-cmd` through real websockets, with the example game's
//! `comms` module: `public` reaches every session of every subscribed account (in and out of
//! character), channel nicks (`pub hello`), history kept through a reload and a SIGKILL, bans
//! and mutes by the owner, every channel limit refused naming its key; `ponder` and `force`
//! make a character (or an NPC no one puppets) run a command, and `execute-cmd`'s depth and per-unit bounds stop a loop and
//! a fan, and a failing executed command undoes the command that ran it.
//!
//! Every account is created from its own loopback address, so per-address throttles never count
//! one test's clients together.

use crate::support;

use std::time::{Duration, Instant};

use support::{Client, Host, GAME, WAIT};

/// The example game with its channels.
fn start(extra: &str) -> Host {
    Host::start(&[GAME, &["comms"]].concat(), extra)
}

async fn answer(c: &mut Client, line: &str, needle: &str) -> String {
    c.send_text(line).await;
    c.expect_text(needle).await
}

/// How many texts the client has been sent so far that contain `needle`.
fn seen_texts(c: &Client, needle: &str) -> usize {
    c.seen
        .iter()
        .filter(|v| {
            v[0] == "text" && support::plain(v[1][0].as_str().unwrap_or("")).contains(needle)
        })
        .count()
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

#[tokio::test]
async fn public_reaches_every_session_of_two_accounts_puppeting_or_not_and_pub_is_its_nick() {
    // Mode 2: Ann has two sessions, one in character and one out of it.
    let host = start("multisession_mode = 2\nauto_puppet_on_login = false");
    host.create_from("Root", "127.25.0.1").await;
    host.create_from("Ann", "127.25.0.2").await;
    host.create_from("Bob", "127.25.0.3").await;
    let mut ann_ic = host.login_from("Ann", "127.25.0.2").await;
    answer(&mut ann_ic, "ic Ann", "You become Ann.").await;
    let mut ann_ooc = host.login_from("Ann", "127.25.0.4").await;
    let mut bob = host.login_from("Bob", "127.25.0.3").await;
    answer(&mut bob, "ic Bob", "You become Bob.").await;

    bob.send_text("pub hello all").await;
    for c in [&mut bob, &mut ann_ic, &mut ann_ooc] {
        assert_eq!(c.expect_text("[public]").await, "[public] Bob: hello all");
    }
    // Out of character, by the channel's name.
    ann_ooc.send_text("public hi from the lobby").await;
    for c in [&mut bob, &mut ann_ic, &mut ann_ooc] {
        assert_eq!(c.expect_text("[public]").await, "[public] Ann: hi from the lobby");
    }
    // channel alone lists the subscriptions; /who names the subscribers.
    let list = answer(&mut bob, "channel", "Channel subscriptions").await;
    assert!(list.contains("public") && list.contains("pub"), "{list}");
    let who = answer(&mut bob, "channel/who public", "Subscribed to public:").await;
    for name in ["Ann", "Bob", "Root(offline)"] {
        assert!(who.lines().any(|l| l == name), "{name} in {who}");
    }
    // Each session got each message once.
    assert_eq!(seen_texts(&ann_ic, "[public] Bob: hello all"), 1);
    assert_eq!(seen_texts(&ann_ooc, "[public] Bob: hello all"), 1);
}

#[tokio::test]
async fn channel_history_and_a_created_channel_survive_a_reload_and_a_sigkill() {
    let host = start("");
    let mut root = host.player_from("Root", "127.25.1.1").await;
    let mut bob = host.player_from("Bob", "127.25.1.2").await;
    answer(&mut root, "channel/create tea;t = Tea time", "Created (and joined) new channel 'tea'.")
        .await;
    answer(&mut bob, "channel/sub tea", "You are now subscribed to the channel tea").await;
    answer(&mut bob, "pub before the reload", "[public] Bob: before the reload").await;
    answer(&mut bob, "t a cup before", "[tea] Bob: a cup before").await;

    root.send_text("reload").await;
    root.expect_text("Server restarted").await;
    bob.expect_text("Server restarted").await;
    let history = answer(&mut bob, "channel/history public", "[public]").await;
    assert!(history.contains("[public] Bob: before the reload"), "{history}");
    assert_eq!(
        answer(&mut bob, "t after the reload", "[tea]").await,
        "[tea] Bob: after the reload"
    );
    assert_eq!(root.expect_text("[tea]").await, "[tea] Bob: after the reload");

    let pid = host.server_pid();
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    wait_for_new_server(&host, pid);
    let history = answer(&mut bob, "channel/history tea", "[tea]").await;
    assert_eq!(history, "[tea] Bob: a cup before\n[tea] Bob: after the reload");
    assert_eq!(
        answer(&mut root, "tea after the crash", "[tea]").await,
        "[tea] Root: after the crash"
    );
}

#[tokio::test]
async fn a_banned_account_is_refused_with_the_text_and_only_the_owner_may_ban() {
    let host = start("");
    host.create_from("Root", "127.25.2.1").await;
    let mut ann = host.player_from("Ann", "127.25.2.2").await;
    let mut bob = host.player_from("Bob", "127.25.2.3").await;
    answer(&mut ann, "channel/create tea", "Created (and joined) new channel 'tea'.").await;
    answer(&mut bob, "channel/sub tea", "You are now subscribed").await;
    assert_eq!(
        answer(&mut bob, "channel/ban tea = Ann", "access").await,
        "You don't have access to ban users on channel tea"
    );
    assert_eq!(
        answer(&mut ann, "channel/ban tea = Bob", "Banned").await,
        "Banned Bob from channel tea."
    );
    // The ban ended Bob's subscription: its nick is gone and he cannot come back.
    assert_eq!(
        answer(&mut bob, "channel tea = let me in", "subscribed").await,
        "You are not subscribed to channel tea."
    );
    assert_eq!(
        answer(&mut bob, "channel/sub tea", "banned").await,
        "You are banned from channel tea."
    );
    let bans = answer(&mut ann, "channel/ban tea", "Bans on channel tea").await;
    assert!(bans.ends_with("Bob"), "{bans}");
    answer(&mut ann, "channel/unban tea = Bob", "Un-banned Bob from channel tea").await;
    answer(&mut bob, "channel/sub tea", "You are now subscribed").await;

    // A muted subscriber hears nothing until unmuted.
    assert_eq!(answer(&mut bob, "channel/mute tea", "Muted").await, "Muted channel tea.");
    answer(&mut ann, "tea while muted", "[tea] Ann: while muted").await;
    assert_eq!(answer(&mut bob, "channel/unmute tea", "Un-muted").await, "Un-muted channel tea.");
    answer(&mut ann, "tea after", "[tea] Ann: after").await;
    assert_eq!(bob.expect_text("[tea]").await, "[tea] Ann: after");
    assert_eq!(seen_texts(&bob, "while muted"), 0);
}

#[tokio::test]
async fn channel_limits_are_refused_with_errors_naming_their_keys() {
    let host = start(
        "channel_max_count = 2\nchannel_name_chars = 8\nchannel_message_chars = 20\n\
         channel_history_size = 3\nchannel_max_subscribers = 2",
    );
    let mut root = host.player_from("Root", "127.25.3.1").await;
    let mut ann = host.player_from("Ann", "127.25.3.2").await;
    let mut bob = host.player_from("Bob", "127.25.3.3").await;
    let long = answer(&mut ann, "channel/create teatimenow", "channel_name_chars").await;
    assert_eq!(long, "A channel name or alias is longer than channel_name_chars (8 characters).");
    answer(&mut ann, "channel/create tea", "Created").await;
    let many = answer(&mut ann, "channel/create cake", "channel_max_count").await;
    assert_eq!(many, "There are already channel_max_count (2) channels.");
    let text = answer(&mut ann, "pub this message is far too long", "channel_message_chars").await;
    assert_eq!(text, "Your message is longer than channel_message_chars (20 characters).");
    answer(&mut bob, "channel/sub tea", "You are now subscribed").await;
    let full = answer(&mut root, "channel/sub tea", "channel_max_subscribers").await;
    assert_eq!(full, "Channel tea is full (channel_max_subscribers: 2 subscribers).");
    for i in 1..=5 {
        answer(&mut ann, &format!("tea m{i}"), &format!("[tea] Ann: m{i}")).await;
        bob.expect_text(&format!("[tea] Ann: m{i}")).await;
    }
    let history = answer(&mut bob, "channel/history tea", "[tea]").await;
    assert_eq!(history, "[tea] Ann: m3\n[tea] Ann: m4\n[tea] Ann: m5");
    // The public channel was full when Bob's account was made (Root and Ann): he is not in it.
    let mine = answer(&mut bob, "channel", "Channel subscriptions").await;
    assert!(!mine.contains("public"), "{mine}");
}

#[tokio::test]
async fn ponder_makes_your_character_say_it_and_force_makes_another_run_a_command() {
    let host = start("");
    let mut root = host.player_from("Root", "127.25.4.1").await;
    let mut bob = host.player_from("Bob", "127.25.4.2").await;
    assert_eq!(
        answer(&mut bob, "ponder the stars", "You say").await,
        "You say, \"Hmm... the stars\""
    );
    assert_eq!(root.expect_text("Bob says").await, "Bob says, \"Hmm... the stars\"");
    assert_eq!(
        answer(&mut root, "force Bob = say I was made to", "You have forced").await,
        "You have forced Bob to: say I was made to"
    );
    assert_eq!(bob.expect_text("You say").await, "You say, \"I was made to\"");
    // force is a Builder's command: a Player does not have it.
    answer(&mut bob, "force Root = say no", "not available").await;
}

#[tokio::test]
async fn execute_cmd_stops_a_loop_at_its_depth_and_a_fan_at_its_per_unit_bound() {
    let host = Host::start(
        &[GAME, &["comms", "hostile"]].concat(),
        "cmdset_character = [\"character\", \"hostile\"]",
    );
    let mut ann = host.player_from("Ann", "127.25.5.1").await;
    let refused = answer(&mut ann, "execloop", "execloop refused").await;
    assert_eq!(
        refused,
        "execloop refused: execute-cmd is nested deeper than execute_cmd_max_depth (5)"
    );
    // The command and its five nested runs, no more.
    assert_eq!(seen_texts(&ann, "execloop ran"), 6);
    // Depth first, as Evennia's synchronous execute_cmd: the first branch meets the depth bound,
    // then the lines of the unit reach the per-unit bound (2 + 4 + 8 + 16 + 32 > 50).
    let refused = answer(&mut ann, "execfan", "execute_cmd_max_per_unit").await;
    assert_eq!(
        refused,
        "execfan refused: execute-cmd ran execute_cmd_max_per_unit (50) lines in this unit of work"
    );
    // The game goes on.
    assert_eq!(answer(&mut ann, "fine", "hostile fine").await, "hostile fine");
}

#[tokio::test]
async fn execute_cmd_depth_is_a_config_key() {
    let host = start("execute_cmd_max_depth = 2");
    let mut root = host.player_from("Root", "127.25.6.1").await;
    let refused =
        answer(&mut root, "force me = force me = force me = say too deep", "deeper").await;
    assert_eq!(refused, "execute-cmd is nested deeper than execute_cmd_max_depth (2)");
    assert_eq!(seen_texts(&root, "too deep\""), 0, "the innermost say never ran");
}

#[tokio::test]
async fn force_makes_an_npc_no_one_puppets_speak_to_the_room() {
    let host = Host::start(
        &[GAME, &["comms", "hostile"]].concat(),
        "cmdset_character = [\"character\", \"hostile\"]",
    );
    let mut root = host.player_from("Root", "127.25.8.1").await;
    let mut ann = host.player_from("Ann", "127.25.8.2").await;
    answer(&mut root, "npc Golem", "npc Golem made").await;
    assert_eq!(
        answer(&mut root, "force Golem = say I live", "You have forced").await,
        "You have forced Golem to: say I live"
    );
    assert_eq!(ann.expect_text("Golem says").await, "Golem says, \"I live\"");
    assert_eq!(root.expect_text("Golem says").await, "Golem says, \"I live\"");
    // `force` is an account command: the NPC has no such command, and nothing breaks.
    answer(&mut root, "force Golem = force Ann = say no", "You have forced").await;
    assert_eq!(answer(&mut ann, "say still here", "You say").await, "You say, \"still here\"");
    assert_eq!(seen_texts(&ann, "\"no\""), 0);
}

#[tokio::test]
async fn a_timer_makes_a_character_run_a_command() {
    let host = Host::start(
        &[GAME, &["comms", "hostile"]].concat(),
        "cmdset_character = [\"character\", \"hostile\"]",
    );
    let mut ann = host.player_from("Ann", "127.25.9.1").await;
    answer(&mut ann, "execlater", "execlater scheduled").await;
    assert_eq!(ann.expect_text("You say").await, "You say, \"tick\"");
}

#[tokio::test]
async fn a_failing_executed_command_undoes_the_command_that_ran_it() {
    let host = Host::start(
        &[GAME, &["comms", "hostile"]].concat(),
        "cmdset_character = [\"character\", \"hostile\"]",
    );
    let mut ann = host.player_from("Ann", "127.25.7.1").await;
    assert!(answer(&mut ann, "execundo", "untrapped")
        .await
        .starts_with("An untrapped error occurred."));
    // Neither its text nor its leftover happened.
    assert_eq!(seen_texts(&ann, "leftover made"), 0);
    let room = answer(&mut ann, "look", "Limbo").await;
    assert!(!room.contains("leftover"), "{room}");
}
