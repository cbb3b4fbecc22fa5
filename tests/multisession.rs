//! Evennia's session layer through real websockets: the four multisession modes, message
//! routing, the OOC account commands and their texts, the session-handler host API with its
//! permission checks, and a reload that restores every session property.
//!
//! Every account is created from its own loopback address, so per-address throttles never
//! count one test's clients together.

use crate::support;

use serde_json::{json, Value};
use support::{Client, Host};

const MODULES: &[&str] = &["unloggedin", "account", "character", "trouble"];

/// The example game plus the test commands (`sessid`, `sessdata`, `kick`, ...) in and out of
/// character, with extra config lines.
fn start(extra: &str) -> Host {
    Host::start(MODULES, &format!("cmdset_account = [\"account\", \"trouble\"]\n{extra}"))
}

/// The first account is the superuser; creating it first leaves the others ordinary players.
async fn create_root(host: &Host) {
    host.create_from("Root", "127.0.0.2").await;
}

/// The session id of a client (through the test module's `sessid`).
async fn sessid(c: &mut Client) -> u64 {
    c.send_text("sessid").await;
    c.expect_text("sessid ").await.trim_start_matches("sessid ").parse().unwrap()
}

/// Look, and return the room description among whatever else arrives (room chatter, texts
/// shared from other sessions).
async fn look_room(c: &mut Client) -> String {
    c.send_text("look").await;
    loop {
        let t = c.next_text().await.expect("connected");
        if ["Limbo", "The Garden", "The Tower"]
            .iter()
            .any(|room| t.starts_with(&format!("{room}\n")))
        {
            return t;
        }
    }
}

// --- the four modes ---------------------------------------------------------------------------

#[tokio::test]
async fn mode_0_a_second_login_disconnects_the_first_with_evennias_reason() {
    let host = start("");
    create_root(&host).await;
    let mut bob = host.player_from("Bob", "127.0.1.1").await;
    let mut first = host.player_from("Ann", "127.0.1.2").await;
    bob.expect_text("Ann has entered the game.").await;

    let mut second = host.login_from("Ann", "127.0.1.3").await;
    second.expect_text("You become Ann.").await;
    let (texts, reason) = first.expect_close_reason().await;
    assert_eq!(reason, "Logged in from elsewhere. Disconnecting.");
    assert!(
        !texts.iter().any(|t| t.contains("Logged in from elsewhere")),
        "reason only in the close frame: {texts:?}"
    );
    // A deliberate leave: no "(connection lost)".
    assert_eq!(bob.expect_text("Ann has left").await, "Ann has left the game.");
    bob.expect_text("Ann has entered the game.").await;
    assert!(look_room(&mut second).await.starts_with("Limbo"));
}

#[tokio::test]
async fn mode_1_two_sessions_share_one_character_and_both_hear_it_and_either_acts() {
    let host = start("multisession_mode = 1");
    create_root(&host).await;
    let mut bob = host.player_from("Bob", "127.0.2.1").await;
    let mut a = host.player_from("Ann", "127.0.2.2").await;
    bob.expect_text("Ann has entered the game.").await;
    let mut b = host.login_from("Ann", "127.0.2.3").await;
    b.expect_text("Sharing Ann with another of your sessions.").await;
    a.expect_text("Ann is now shared from another of your sessions.").await;

    // Output to the character reaches both sessions.
    bob.send_text("say hello").await;
    assert_eq!(a.expect_text("Bob says").await, "Bob says, \"hello\"");
    assert_eq!(b.expect_text("Bob says").await, "Bob says, \"hello\"");
    // Input from either session acts on the one character.
    b.send_text("go garden").await;
    b.expect_text("The Garden").await;
    assert!(look_room(&mut a).await.starts_with("The Garden"));
    // What the character is told (here its own speech, as Evennia's `at_say`) reaches both.
    a.send_text("say from a").await;
    assert_eq!(a.expect_text("You say").await, "You say, \"from a\"");
    assert_eq!(b.expect_text("You say").await, "You say, \"from a\"");
}

#[tokio::test]
async fn mode_2_ic_from_a_second_session_takes_over_and_another_character_plays_independently() {
    let host =
        start("multisession_mode = 2\nmax_nr_characters = 2\nmax_nr_simultaneous_puppets = 2");
    create_root(&host).await;
    let mut bob = host.player_from("Bob", "127.0.3.1").await;
    let mut a = host.player_from("Ann", "127.0.3.2").await;
    bob.expect_text("Ann has entered the game.").await;

    // Auto-puppet on login takes the last character over from the first session.
    let mut b = host.login_from("Ann", "127.0.3.3").await;
    b.expect_text("Taking over Ann from another of your sessions.").await;
    b.expect_text("You become Ann.").await;
    a.expect_text("Ann is now acted from another of your sessions.").await;
    // The first session is OOC but still connected.
    a.send_text("look").await;
    let screen = a.expect_text("Account Ann").await;
    assert!(screen.contains("(played by you in session 2)"), "{screen}");

    a.send_text("charcreate Bea = A busy bee.").await;
    assert_eq!(
        a.expect_text("Created new character").await,
        "Created new character Bea. Use ic Bea to enter the game as this character."
    );
    a.send_text("ic Bea").await;
    a.expect_text("You become Bea.").await;
    bob.expect_text("Bea has entered the game.").await;

    b.send_text("say from ann").await;
    assert_eq!(a.expect_text("Ann says").await, "Ann says, \"from ann\"");
    a.send_text("say from bea").await;
    assert_eq!(b.expect_text("Bea says").await, "Bea says, \"from bea\"");
    a.send_text("go garden").await;
    a.expect_text("The Garden").await;
    assert!(look_room(&mut b).await.starts_with("Limbo"), "Ann did not move with Bea");
}

#[tokio::test]
async fn mode_2_a_second_puppet_over_the_limit_is_refused_to_every_session() {
    let host =
        start("multisession_mode = 2\nmax_nr_characters = 2\nmax_nr_simultaneous_puppets = 1");
    create_root(&host).await;
    let mut a = host.player_from("Ann", "127.0.4.1").await;
    let mut b = host.login_from("Ann", "127.0.4.2").await;
    b.expect_text("Taking over Ann").await;
    a.expect_text("is now acted from another of your sessions.").await;
    a.send_text("charcreate Bea").await;
    a.expect_text("Created new character Bea").await;
    a.send_text("ic Bea").await;
    assert_eq!(a.expect_text("puppets").await, "You cannot control any more puppets (max 1)");
    assert_eq!(b.expect_text("puppets").await, "You cannot control any more puppets (max 1)");
    a.send_text("look").await;
    let screen = a.expect_text("Account Ann").await;
    assert!(screen.contains(" - Bea [Player]\n"), "Bea is not played: {screen}");
}

#[tokio::test]
async fn mode_3_two_sessions_share_a_character_while_a_third_plays_another() {
    let host =
        start("multisession_mode = 3\nmax_nr_characters = 2\nmax_nr_simultaneous_puppets = 2");
    create_root(&host).await;
    let mut bob = host.player_from("Bob", "127.0.5.1").await;
    let mut a = host.player_from("Ann", "127.0.5.2").await;
    let mut b = host.login_from("Ann", "127.0.5.3").await;
    b.expect_text("Sharing Ann with another of your sessions.").await;
    let mut c = host.login_from("Ann", "127.0.5.4").await;
    c.expect_text("Sharing Ann with another of your sessions.").await;
    c.send_text("ooc").await;
    c.expect_text("You go OOC.").await;
    c.send_text("charcreate Bea").await;
    c.expect_text("Created new character Bea").await;
    c.send_text("ic Bea").await;
    c.expect_text("You become Bea.").await;

    bob.send_text("say hi all").await;
    for s in [&mut a, &mut b, &mut c] {
        assert_eq!(s.expect_text("Bob says").await, "Bob says, \"hi all\"");
    }
    c.send_text("say buzz").await;
    assert_eq!(a.expect_text("Bea says").await, "Bea says, \"buzz\"");
    assert_eq!(b.expect_text("Bea says").await, "Bea says, \"buzz\"");
    a.send_text("say hum").await;
    assert_eq!(c.expect_text("Ann says").await, "Ann says, \"hum\"");
    // `sessions` shows each session's own puppet.
    c.send_text("sessions").await;
    let table = c.expect_text("Your current session(s):").await;
    assert_eq!(table.matches("Ann").count(), 2, "{table}");
    assert_eq!(table.matches("Bea").count(), 1, "{table}");
}

// --- routing ------------------------------------------------------------------------------------

#[tokio::test]
async fn account_object_command_and_announce_messages_reach_the_right_sessions() {
    let host = start("multisession_mode = 1");
    create_root(&host).await;
    let mut stranger = Client::connect_from(&host.url, "127.0.6.9").await;
    stranger.expect_text("connect").await;
    let mut bob = host.player_from("Bob", "127.0.6.1").await;
    let mut a = host.player_from("Ann", "127.0.6.2").await;
    let mut b = host.login_from("Ann", "127.0.6.3").await;
    b.expect_text("Sharing Ann").await;

    // Account message: every session of the account, nobody else.
    a.send_text("tellaccount for the account").await;
    assert_eq!(a.expect_text("for the").await, "for the account");
    assert_eq!(b.expect_text("for the").await, "for the account");
    // Object message: every session puppeting the object.
    bob.send_text("say for the room").await;
    assert_eq!(a.expect_text("Bob says").await, "Bob says, \"for the room\"");
    assert_eq!(b.expect_text("Bob says").await, "Bob says, \"for the room\"");
    // A command's reply: only the session that issued it.
    a.send_text("look").await;
    a.expect_text("Limbo").await;
    assert_eq!(b.ask("echoback mark").await, "echoback v1: mark", "b saw nothing of a's look");
    // Announce: everyone, logged in or not.
    a.send_text("announce hear ye").await;
    for c in [&mut stranger, &mut bob, &mut a, &mut b] {
        assert_eq!(c.expect_text("hear ye").await, "hear ye");
    }
    // The tellaccount text never reached Bob or the stranger.
    for c in [&bob, &stranger] {
        assert!(!c.seen.iter().any(|v| v.to_string().contains("for the account")));
    }
}

// --- OOC commands -------------------------------------------------------------------------------

#[tokio::test]
async fn the_ooc_screen_lists_sessions_with_a_star_and_characters_with_count_and_permissions() {
    let host =
        start("multisession_mode = 3\nmax_nr_characters = 3\nmax_nr_simultaneous_puppets = 3");
    create_root(&host).await;
    let mut a = host.player_from("Ann", "127.0.7.1").await;
    let mut b = host.login_from("Ann", "127.0.7.2").await;
    b.expect_text("Sharing Ann").await;
    b.send_text("ooc").await;
    assert_eq!(b.expect_text("You go OOC.").await, "\nYou go OOC.\n");
    let screen = b.expect_text("Account Ann").await;
    let rule = "-".repeat(68);
    let lines: Vec<&str> = screen.lines().collect();
    assert_eq!(lines[0], rule);
    assert_eq!(lines[1], "Account Ann (you are Out-of-Character)");
    assert!(
        screen.contains(
            "Connected session(s):\n  1 websocket (127.0.7.1)\n* 2 websocket (127.0.7.2)\n"
        ),
        "{screen}"
    );
    assert!(screen.contains("charcreate <name> [=description] - create new character"), "{screen}");
    assert!(
        screen.contains("Available character(s) (1/3, ic <name> to play):\n - Ann [Player] (played by you in session 1)\n"),
        "{screen}"
    );
    assert_eq!(lines.last(), Some(&rule.as_str()));

    b.send_text("charcreate Bea").await;
    b.expect_text("Created new character Bea").await;
    b.send_text("look").await;
    let screen = b.expect_text("Account Ann").await;
    assert!(screen.contains("(2/3, ic <name> to play)"), "{screen}");
    assert!(screen.contains("\n - Bea [Player]\n"), "{screen}");
    // In character, `look` is the room's.
    assert!(look_room(&mut a).await.starts_with("Limbo"));
}

#[tokio::test]
async fn with_one_character_ooc_shows_the_short_form_and_the_room_sees_a_plain_leave() {
    let host = start("");
    create_root(&host).await;
    let mut bob = host.player_from("Bob", "127.0.8.1").await;
    let mut a = host.player_from("Ann", "127.0.8.2").await;
    bob.expect_text("Ann has entered the game.").await;
    a.send_text("ooc").await;
    a.expect_text("You go OOC.").await;
    let short = "You are out-of-character (OOC).\nUse ic to get back into the game.";
    assert_eq!(a.next_text().await.unwrap(), short);
    assert_eq!(bob.expect_text("Ann has left").await, "Ann has left the game.");
    assert_eq!(a.ask("look").await, short);
    assert_eq!(a.ask("ooc").await, "You are already OOC.");
    a.send_text("ic").await;
    a.expect_text("You become Ann.").await;
    a.expect_text("Limbo").await;
    bob.expect_text("Ann has entered the game.").await;
    assert_eq!(a.ask("ic Ann").await, "You are already puppeting this object.");
}

#[tokio::test]
async fn ic_with_a_wrong_name_is_refused() {
    let host = start("");
    create_root(&host).await;
    let mut a = host.player_from("Ann", "127.0.9.1").await;
    assert_eq!(a.ask("ic Nobody").await, "That is not a valid character choice.");
    assert_eq!(
        a.ask("ic Root").await,
        "That is not a valid character choice.",
        "not another account's character"
    );
}

#[tokio::test]
async fn a_superuser_may_ic_another_accounts_free_character_but_not_a_played_one() {
    let host = start(
        "multisession_mode = 2
max_nr_simultaneous_puppets = 2",
    );
    let mut root = host.player_from("Root", "127.0.27.1").await;
    host.create_from("Ann", "127.0.27.2").await;
    let mut bob = host.player_from("Bob", "127.0.27.3").await;
    root.send_text("ic Ann").await;
    root.expect_text("You become Ann.").await;
    root.send_text("ic Bob").await;
    assert_eq!(
        root.expect_text("already puppeted").await,
        "Bob is already puppeted by another Account."
    );
    bob.send_text("echoback still Bob").await;
    bob.expect_text("echoback v1: still Bob").await;
}

#[tokio::test]
async fn charcreate_over_the_limit_is_refused_but_a_superuser_has_no_limit() {
    let host = start("");
    create_root(&host).await;
    let mut a = host.player_from("Ann", "127.0.10.2").await;
    assert_eq!(a.ask("charcreate Extra").await, "You may only have a maximum of 1 character.");

    let host = start("max_nr_characters = 2");
    let mut root = host.player_from("Root", "127.0.10.3").await;
    let mut c = host.player_from("Cai", "127.0.10.4").await;
    assert_eq!(c.ask("charcreate Root").await, "A character named 'Root' already exists.");
    c.send_text("charcreate Cid").await;
    c.expect_text("Created new character Cid").await;
    assert_eq!(c.ask("charcreate Cox").await, "You may only have a maximum of 2 characters.");
    // The superuser may have any number.
    for name in ["Extra", "Spare"] {
        root.send_text(&format!("charcreate {name}")).await;
        root.expect_text(&format!("Created new character {name}")).await;
    }
    root.send_text("ooc").await;
    let screen = root.expect_text("Account Root").await;
    assert!(screen.contains("(3/unlimited, ic <name> to play)"), "{screen}");
    assert!(screen.contains(" - Spare [Developer]"), "{screen}");
}

#[tokio::test]
async fn a_guest_cannot_make_owned_characters_behind_the_character_limit() {
    let host = start("");
    create_root(&host).await;
    let mut a = host.player_from("Ann", "127.0.28.1").await;
    assert_eq!(
        a.ask("forgeowner").await,
        "refused: 'owner_account' is set by the host (character-create)."
    );
}

#[tokio::test]
async fn chardelete_removes_a_free_character_but_not_one_being_played() {
    let host = start("max_nr_characters = 2");
    create_root(&host).await;
    let mut a = host.player_from("Ann", "127.0.11.1").await;
    a.send_text("charcreate Bea").await;
    a.expect_text("Created new character Bea").await;
    assert_eq!(
        a.ask("chardelete Ann").await,
        "You cannot delete a character that is being played."
    );
    assert_eq!(a.ask("chardelete Nobody").await, "You have no such character to delete.");
    assert_eq!(a.ask("chardelete Bea").await, "Character 'Bea' was permanently deleted.");
    assert_eq!(a.ask("ic Bea").await, "That is not a valid character choice.");
}

#[tokio::test]
async fn quit_says_goodbye_once_and_counts_the_sessions_left() {
    let host = start("multisession_mode = 1");
    create_root(&host).await;
    let mut a = host.player_from("Ann", "127.0.12.1").await;
    let mut b = host.login_from("Ann", "127.0.12.2").await;
    b.expect_text("Sharing Ann").await;
    a.send_text("quit").await;
    let (texts, reason) = a.expect_close_reason().await;
    assert_eq!(reason, "quit");
    let goodbyes: Vec<_> = texts.iter().filter(|t| t.contains("Quitting")).collect();
    assert_eq!(goodbyes, ["Quitting. One session is still connected."]);
    // The other session is still connected and served.
    b.send_text("echoback alive").await;
    b.expect_text("echoback v1: alive").await;
}

#[tokio::test]
async fn quit_all_closes_every_session_of_the_account() {
    let host = start("multisession_mode = 1");
    create_root(&host).await;
    let mut bob = host.player_from("Bob", "127.0.13.1").await;
    let mut a = host.player_from("Ann", "127.0.13.2").await;
    bob.expect_text("Ann has entered the game.").await;
    let mut b = host.login_from("Ann", "127.0.13.3").await;
    b.expect_text("Sharing Ann").await;
    a.send_text("quit/all").await;
    let (texts, reason) = a.expect_close_reason().await;
    assert_eq!(reason, "quit/all");
    let goodbyes: Vec<_> = texts.iter().filter(|t| t.contains("Quitting")).collect();
    assert_eq!(goodbyes, ["Quitting all sessions. Hope to see you soon again."]);
    let (texts, reason) = b.expect_close_reason().await;
    assert_eq!(reason, "quit/all");
    assert!(!texts.iter().any(|t| t.contains("Quitting")), "only the issuer is told: {texts:?}");
    assert_eq!(bob.expect_text("Ann has left").await, "Ann has left the game.");
    bob.send_text("who").await;
    let who = bob.expect_text("logged in.").await;
    assert!(!who.contains("Ann"), "{who}");
    assert!(who.ends_with("One unique account logged in."), "{who}");
}

#[tokio::test]
async fn who_lists_accounts_once_per_session_and_counts_unique_accounts() {
    let host = start("multisession_mode = 1");
    create_root(&host).await;
    let mut bob = host.player_from("Bob", "127.0.14.1").await;
    let _a = host.player_from("Ann", "127.0.14.2").await;
    let mut b = host.login_from("Ann", "127.0.14.3").await;
    b.expect_text("Sharing Ann").await;
    bob.send_text("who").await;
    let who = bob.expect_text("Accounts:").await;
    assert_eq!(who.matches("Ann").count(), 2, "{who}");
    assert_eq!(who.matches("Bob").count(), 1, "{who}");
    assert!(who.ends_with("2 unique accounts logged in."), "{who}");
}

// --- the session-handler host API ---------------------------------------------------------------

#[tokio::test]
async fn disconnecting_needs_your_own_session_or_a_superuser_and_the_handler_queries_answer() {
    let host = start("multisession_mode = 1");
    let mut root = host.player_from("Root", "127.0.15.1").await;
    let mut bob = host.player_from("Bob", "127.0.15.2").await;
    let mut a = host.player_from("Ann", "127.0.15.3").await;
    let mut b = host.login_from("Ann", "127.0.15.4").await;
    b.expect_text("Sharing Ann").await;
    let mut browser =
        Client::connect_from(&format!("{}?tab-one&7&firefox", host.url), "127.0.15.5").await;
    browser.expect_text("connect").await;

    // Earlier texts (room arrivals, sharing) may still be unread, so each answer is looked for.
    let a_id = sessid(&mut a).await;
    bob.send_text(&format!("kick {a_id}")).await;
    assert_eq!(
        bob.expect_text("disconnect").await,
        "You may not disconnect another account's session."
    );
    a.send_text("accounts").await;
    assert_eq!(a.expect_text("accounts ").await, "accounts Ann,Bob,Root");
    a.send_text("csess tab-one").await;
    let found = a.expect_text("csessid sessions").await;
    assert_eq!(found.trim_start_matches("csessid sessions ").split(',').count(), 1, "{found}");
    a.send_text("csess tab-two").await;
    assert_eq!(a.expect_text("csessid sessions").await, "csessid sessions ");

    // Your own other sessions: disconnect-duplicates, with Evennia's reason.
    a.send_text("kickdups").await;
    assert_eq!(a.expect_text("closed ").await, "closed 1");
    assert_eq!(b.expect_close_reason().await.1, "Logged in from elsewhere. Disconnecting.");
    // A superuser may close anyone's session, and everyone's.
    let bob_id = sessid(&mut bob).await;
    root.send_text(&format!("kick {bob_id}")).await;
    assert_eq!(root.expect_text("kicked").await, format!("kicked {bob_id}"));
    assert_eq!(bob.expect_close_reason().await.1, "kicked");
    a.send_text("kickall").await;
    assert_eq!(a.expect_text("superuser").await, "Only a superuser may disconnect everyone.");
    root.send_text("kickall").await;
    for c in [&mut root, &mut a, &mut browser] {
        assert_eq!(c.expect_close_reason().await.1, "You have been disconnected.");
    }
}

// --- input functions ----------------------------------------------------------------------------

#[tokio::test]
async fn echo_answers_with_python_formatted_arguments() {
    let host = start("");
    let mut c = Client::connect_from(&host.url, "127.0.16.1").await;
    c.expect_text("connect").await;
    c.send_json(json!(["echo", ["x"], {}])).await;
    assert_eq!(c.next_text().await.unwrap(), "Echo returns: ['x'], {}");
    c.send_json(json!(["echo", [1, true, null], {"k": "it's"}])).await;
    assert_eq!(c.next_text().await.unwrap(), "Echo returns: [1, True, None], {'k': \"it's\"}");
}

#[tokio::test]
async fn get_inputfuncs_lists_the_input_functions_in_kwargs() {
    let host = start("");
    let mut c = Client::connect_from(&host.url, "127.0.17.1").await;
    c.expect_text("connect").await;
    c.send_json(json!(["get_inputfuncs", [], {}])).await;
    let v = c.expect_oob("get_inputfuncs").await;
    assert_eq!(v[1], json!([]));
    for name in ["text", "echo", "client_options", "get_client_options", "get_inputfuncs", "login"]
    {
        assert!(v[2][name].is_string(), "{name} missing in {v}");
    }
}

#[tokio::test]
async fn client_options_reports_sets_and_refuses_flags_as_evennia_does() {
    let host = start("");
    let mut c = Client::connect_from(&host.url, "127.0.18.1").await;
    c.expect_text("connect").await;
    c.send_json(json!(["client_options", [], {}])).await;
    let v = c.expect_oob("client_options").await;
    assert_eq!(v[2]["ENCODING"], json!("utf-8"));
    assert_eq!(v[2]["LOCALECHO"], json!(false));
    assert!(v[2].get("CLIENTNAME").is_none(), "only Evennia's reportable flags: {v}");

    c.send_json(json!(["client_options", [], {
        "client": "tester", "version": "1.2", "encoding": "latin-1", "screenwidth": 120,
        "nocolor": "on", "bogus": 1, "cmdid": 3
    }]))
    .await;
    let sid = {
        let t = c.next_text().await.unwrap();
        assert!(t.starts_with("Inputfunc client_settings(Session "), "{t}");
        assert!(t.ends_with("): Wrong/unrecognized input: bogus"), "{t}");
        t
    };
    assert!(!sid.contains("cmdid"));
    c.send_json(json!(["client_options", [], {"encoding": "no-such-codec"}])).await;
    assert_eq!(c.next_text().await.unwrap(), "The encoding 'no-such-codec' is invalid. ");
    c.send_json(json!(["get_client_options", [], {}])).await;
    let v = c.expect_oob("client_options").await;
    assert_eq!(v[2]["ENCODING"], json!("latin-1"), "ENCODING holds the name");
    assert_eq!(v[2]["NOCOLOR"], json!(true));
    assert_eq!(v[2]["SCREENWIDTH"], json!({"0": 120}));
    // NOCOLOR now strips colour from this client's text.
    c.send_text("look").await;
    let frame = c.expect_oob("text").await;
    assert!(!frame[1][0].as_str().unwrap().contains("<span"), "{frame}");
}

#[tokio::test]
async fn localecho_sends_each_command_line_back_before_its_answer() {
    let host = start("");
    let mut c = Client::connect_from(&host.url, "127.0.19.1").await;
    c.expect_text("connect").await;
    c.send_text("help").await;
    assert!(c.next_text().await.unwrap().contains("You are not yet logged into the game"));
    c.send_json(json!(["client_options", [], {"localecho": true}])).await;
    c.send_text("help").await;
    assert_eq!(c.next_text().await.unwrap(), "help");
    assert!(c.next_text().await.unwrap().contains("You are not yet logged into the game"));
}

#[tokio::test]
async fn the_login_input_function_logs_in_and_websocket_close_disconnects() {
    let host = start("");
    create_root(&host).await;
    host.create_from("Ann", "127.0.20.1").await;
    let mut bob = host.player_from("Bob", "127.0.20.2").await;
    let mut c = Client::connect_from(&host.url, "127.0.20.1").await;
    c.expect_text("connect").await;
    c.send_json(json!(["login", [], {"name": "Ann", "password": "wrong-password"}])).await;
    assert_eq!(c.next_text().await.unwrap(), "Username and/or password is incorrect.");
    c.send_json(json!(["login", [], {"name": "Ann", "password": "password123"}])).await;
    assert_eq!(c.expect_oob("logged_in").await, json!(["logged_in", [], {}]));
    c.expect_text("You become Ann.").await;
    bob.expect_text("Ann has entered the game.").await;
    c.send_json(json!(["websocket_close", [], {}])).await;
    c.expect_close_reason().await;
    bob.expect_text("Ann has left the game").await;
}

// --- markup, one test per code family -------------------------------------------------------------

/// The HTML of the answer to `echoback <markup>` (the test module echoes its argument).
async fn rendered(c: &mut Client, markup: &str) -> String {
    c.send_text(&format!("echoback {markup}")).await;
    loop {
        let v = c.expect_oob("text").await;
        let html = v[1][0].as_str().unwrap().to_string();
        if let Some(rest) = html.strip_prefix("echoback v1: ") {
            return rest.to_string();
        }
    }
}

async fn markup_client() -> (Host, Client) {
    let host = start("");
    let c = host.player_from("Ann", "127.0.21.1").await;
    (host, c)
}

fn span(class: &str, text: &str) -> String {
    format!("<span class=\"{class}\">{text}</span>")
}

#[tokio::test]
async fn markup_letters_are_bright_lowercase_and_normal_uppercase_colours() {
    let (_h, mut c) = markup_client().await;
    assert_eq!(
        rendered(&mut c, "|rA|RB|wC|WD").await,
        span("color-009", "A") + &span("color-001", "B") + &span("color-015", "C") + "D"
    );
}

#[tokio::test]
async fn markup_backgrounds_uppercase_are_ansi_and_lowercase_map_to_xterm() {
    let (_h, mut c) = markup_client().await;
    assert_eq!(
        rendered(&mut c, "|[BA|[bB|[rC|[xD").await,
        span("bgcolor-004", "A")
            + &span("bgcolor-021", "B")
            + &span("bgcolor-196", "C")
            + &span("bgcolor-102", "D")
    );
}

#[tokio::test]
async fn markup_xterm_cube_codes_colour_foreground_and_background() {
    let (_h, mut c) = markup_client().await;
    assert_eq!(
        rendered(&mut c, "|500A|[005B").await,
        span("color-196", "A") + &span("color-196 bgcolor-021", "B")
    );
}

#[tokio::test]
async fn markup_greyscale_runs_from_black_through_232_255_to_white() {
    let (_h, mut c) = markup_client().await;
    assert_eq!(
        rendered(&mut c, "|=aA|=bB|=yC|=zD|[=bE").await,
        span("color-016", "A")
            + &span("color-232", "B")
            + &span("color-255", "C")
            + &span("color-231", "D")
            + &span("color-231 bgcolor-232", "E")
    );
}

#[tokio::test]
async fn markup_bang_codes_and_hilite_change_only_what_they_name() {
    let (_h, mut c) = markup_client().await;
    assert_eq!(
        rendered(&mut c, "|r|!GA|H|!GB|hC").await,
        span("color-010", "A") + &span("color-002", "B") + &span("color-010", "C")
    );
}

#[tokio::test]
async fn markup_underline_blink_and_inverse_become_classes() {
    let (_h, mut c) = markup_client().await;
    assert_eq!(
        rendered(&mut c, "|uA|n|^B|n|*C|n|r|[B|*D").await,
        span("underline", "A")
            + &span("blink", "B")
            + &span("color-000 bgcolor-007", "C")
            + &span("color-004 bgcolor-009", "D")
    );
}

#[tokio::test]
async fn markup_literal_codes_give_newline_tab_space_and_pipe() {
    let (_h, mut c) = markup_client().await;
    assert_eq!(rendered(&mut c, "a|/b|-c|_d||e|>f").await, "a<br>b    c d|e    f");
}

#[tokio::test]
async fn markup_mxp_links_become_clickable_anchors() {
    // Links the game emits (the test module's `links`); a player's own cannot make one
    // (tests/output_safety.rs).
    let (_h, mut c) = markup_client().await;
    c.send_text("links").await;
    let html = loop {
        let v = c.expect_oob("text").await;
        let html = v[1][0].as_str().unwrap().to_string();
        if html.starts_with("links: ") {
            break html;
        }
    };
    assert!(
        html.contains("<a id=\"mxplink\" href=\"#\" onclick=\"Evennia.msg(&quot;text&quot;,[&quot;look&quot;],{});return false;\">Look around</a>"),
        "{html}"
    );
    assert!(
        html.contains("<a id=\"mxplink\" href=\"https://evennia.com\" target=\"_blank\">docs</a>"),
        "{html}"
    );
}

// --- reload ---------------------------------------------------------------------------------------

/// The session's data as the host keeps it (through the `session-data` host query).
async fn session_data(c: &mut Client) -> Value {
    c.send_text("sessdata").await;
    let text = c.expect_text("sessdata ").await;
    serde_json::from_str(text.trim_start_matches("sessdata ")).expect("session data is JSON")
}

#[tokio::test]
async fn a_server_reload_restores_every_session_property() {
    restores_every_session_property(false).await;
}

#[tokio::test]
async fn a_server_crash_restores_every_session_property() {
    restores_every_session_property(true).await;
}

/// Give a session a value for every property, restart the server (reload, or SIGKILL), and
/// compare the host's data for the session before and after, field by field.
async fn restores_every_session_property(crash: bool) {
    let host = start("");
    create_root(&host).await;
    host.create_from("Ann", "127.0.22.1").await;
    let mut c =
        Client::connect_from(&format!("{}?browser-key&1&firefox", host.url), "127.0.22.1").await;
    c.expect_text("connect").await;
    c.send_text("connect Ann password123").await;
    c.expect_text("You become Ann.").await;
    c.send_text("ndbset colour blue").await;
    c.expect_text("ndb colour = blue").await;
    c.send_text("sessadd trouble").await;
    c.expect_text("session cmdset trouble").await;
    c.send_json(
        json!(["client_options", [], {"client": "tester", "version": "1.2", "screenwidth": 120}]),
    )
    .await;
    let before = session_data(&mut c).await;
    // The values set above are really there, so the comparison below means something.
    assert_eq!(before["csessid"], json!("browser-key"));
    assert_eq!(before["uname"], json!("Ann"));
    assert!(before["puid"].is_u64());
    assert_eq!(before["ndb"], json!({"colour": "blue"}));
    assert_eq!(before["cmdset_storage"], json!(["trouble"]));
    assert_eq!(before["protocol_flags"]["CLIENTNAME"], json!("tester 1.2"));
    assert_eq!(before["protocol_flags"]["SCREENWIDTH"], json!({"0": 120}));
    assert!(before["cmd_total"].as_u64().unwrap() >= 3, "connect, ndbset, sessadd");

    if crash {
        let pid = host.server_pid();
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        // Input sent now waits in the portal and is run by the next server.
    } else {
        assert_eq!(host.cli(&["reload"]), "reloading");
        c.expect_text("... Server restarted.").await;
    }
    let after = session_data(&mut c).await;
    for field in [
        "sessid",
        "address",
        "protocol_key",
        "protocol_flags",
        "csessid",
        "logged_in",
        "uid",
        "uname",
        "puid",
        "conn_time",
        "cmdset_storage",
        "ndb",
    ] {
        assert_eq!(after[field], before[field], "{field} survives the reload");
    }
    // The first `sessdata` is the only command in between.
    assert_eq!(after["cmd_total"].as_u64().unwrap(), before["cmd_total"].as_u64().unwrap() + 1);
    for field in ["cmd_last", "cmd_last_visible"] {
        assert!(after[field].as_u64().unwrap() >= before[field].as_u64().unwrap(), "{field}");
    }
    let fields = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(fields(&after), fields(&before), "no field lost or added");
    // Still the same character, and the restored session cmdset still answers.
    assert!(look_room(&mut c).await.starts_with("Limbo"));
    assert_eq!(c.ask("ndbget colour").await, "ndb colour = blue");
}

// --- idle timeout -------------------------------------------------------------------------------

#[tokio::test]
async fn idle_sessions_are_disconnected_even_with_keepalives_but_superusers_and_builders_stay() {
    // Long enough that setting the players up on a loaded machine never looks idle to the sweep.
    let host = start("idle_timeout_secs = 4");
    let mut root = host.player_from("Root", "127.0.23.1").await;
    let mut builder = host.player_from("Bob", "127.0.23.5").await;
    // Evennia's noidletimeout lock: Builder and above are exempt.
    root.send_text("perm Bob = Builder").await;
    root.expect_text("Permission 'Builder' given to Bob").await;
    let mut stranger = Client::connect_from(&host.url, "127.0.23.2").await;
    stranger.expect_text("connect").await;
    let mut ann = host.player_from("Ann", "127.0.23.3").await;
    let mut keeper = host.player_from("Keeper", "127.0.23.4").await;

    // The keeper sends only the keepalive, every half second: that keeps a proxy from closing
    // the connection, but it is not a command, so the keeper times out like the others.
    let keep = async {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
        loop {
            tick.tick().await;
            // The portal may close the connection at any moment: a failed send is expected.
            let frame = serde_json::json!(["text", ["idle"], {}]).to_string();
            let _ = futures_util::SinkExt::send(
                &mut keeper.ws,
                tokio_tungstenite::tungstenite::Message::text(frame),
            )
            .await;
        }
    };
    let reaped = async {
        let (_, reason) = stranger.expect_close_reason().await;
        assert_eq!(reason, "idle timeout exceeded", "unlogged-in sessions time out too");
        let (_, reason) = ann.expect_close_reason().await;
        assert_eq!(reason, "idle timeout exceeded");
    };
    tokio::select! {
        _ = keep => unreachable!(),
        _ = reaped => {}
    }
    let (_, reason) = keeper.expect_close_reason().await;
    assert_eq!(reason, "idle timeout exceeded", "keepalives do not count as commands");
    // The superuser and the builder, silent as long, are still served.
    root.send_text("echoback here").await;
    root.expect_text("echoback v1: here").await;
    builder.send_text("echoback builder").await;
    builder.expect_text("echoback v1: builder").await;
}

// --- password -------------------------------------------------------------------------------------

#[tokio::test]
async fn password_checks_the_old_password_and_the_new_one_then_works_at_the_next_login() {
    let host = start("");
    create_root(&host).await;
    let mut a = host.player_from("Ann", "127.0.24.1").await;
    assert_eq!(a.ask("password password123").await, "Usage: password <oldpass> = <newpass>");
    a.send_text("password wrong-one = better-secret").await;
    assert_eq!(a.next_text().await.unwrap(), "The specified old password isn't correct.");
    a.send_text("password password123 = short").await;
    assert_eq!(
        a.next_text().await.unwrap(),
        "This password is too short. It must contain at least 8 characters."
    );
    a.send_text("password password123 = better-secret").await;
    assert_eq!(a.next_text().await.unwrap(), "Password changed.");
    a.send_text("quit").await;
    a.expect_close_reason().await;

    let mut c = Client::connect_from(&host.url, "127.0.24.1").await;
    c.expect_text("connect").await;
    c.send_text("connect Ann password123").await;
    assert_eq!(c.next_text().await.unwrap(), "Username and/or password is incorrect.");
    c.send_text("connect Ann better-secret").await;
    c.expect_text("You become Ann.").await;
}

// --- character creation and puppeting settings ------------------------------------------------

#[tokio::test]
async fn without_auto_create_and_auto_puppet_a_login_shows_the_ooc_screen_and_ic_enters() {
    let host = start("auto_create_character_with_account = false\nauto_puppet_on_login = false");
    create_root(&host).await;
    host.create_from("Ann", "127.0.25.1").await;
    let mut a = host.login_from("Ann", "127.0.25.1").await;
    let screen = a.expect_text("Account Ann").await;
    assert!(screen.contains("You don't have a character yet. Use charcreate."), "{screen}");
    assert_eq!(a.ask("ic").await, "Usage: ic <character>");
    a.send_text("charcreate Ann = The first of her name.").await;
    a.expect_text("Created new character Ann").await;
    a.send_text("ic Ann").await;
    a.expect_text("You become Ann.").await;
    assert!(look_room(&mut a).await.starts_with("Limbo"), "a new character starts in Limbo");
    a.send_text("look me").await;
    a.expect_text("The first of her name.").await;
    a.send_text("quit").await;
    a.expect_close_reason().await;

    // The next login does not puppet: the OOC screen shows the character, free to play.
    let mut a = host.login_from("Ann", "127.0.25.1").await;
    let screen = a.expect_text("Account Ann").await;
    assert!(
        screen.contains("Available character(s) (1/1, ic <name> to play):\n - Ann [Player]\n"),
        "{screen}"
    );
}

#[tokio::test]
async fn with_auto_puppet_but_no_character_the_login_says_the_character_does_not_exist() {
    let host = start("auto_create_character_with_account = false");
    create_root(&host).await;
    host.create_from("Ann", "127.0.26.1").await;
    let mut a = host.login_from("Ann", "127.0.26.1").await;
    assert_eq!(a.next_text().await.unwrap(), "The Character does not exist.");
}
