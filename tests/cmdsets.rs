//! Cmdsets from every provider (session, account, puppet, objects near the puppet), Evennia's
//! merge rules across them (no-objs, no-exits, object sets as duplicates), persistence of
//! provider stacks through restarts, locks by permission and the admin command that grants one,
//! `help` from the merged cmdset, and a module built against WIT 0.1.0 serving beside current ones.
//!
//! Accounts are created from distinct loopback addresses, so per-address throttles never count
//! one test's clients together.

use crate::support;

use std::path::Path;

use support::{Client, Host};

/// The example game with the test commands and the box.
const MODULES: &[&str] = &[
    "unloggedin",
    "account",
    "character",
    "box",
    "trouble",
    "provtest",
    "provtest_noexits",
    "provtest_keymerge",
];

fn start(extra: &str) -> Host {
    Host::start(MODULES, &format!("cmdset_account = [\"account\", \"trouble\"]\n{extra}"))
}

/// The `help` index (Evennia's layout: the commands' keys in a grid, by category).
async fn help_index(c: &mut Client) -> String {
    answer(c, "help", "help").await
}

/// Whether a command's key is listed in a `help` index.
fn listed(help: &str, key: &str) -> bool {
    help.split_whitespace().any(|w| w == key)
}

/// Send a line and wait for the answer starting with `prefix` (skipping room chatter).
async fn answer(c: &mut Client, line: &str, prefix: &str) -> String {
    c.send_text(line).await;
    c.expect_text(prefix).await
}

const NOT_AVAILABLE: &str = "Command '";

#[tokio::test]
async fn the_box_lends_its_commands_near_it_and_look_becomes_a_multimatch() {
    let host = start("");
    let mut c = host.player_from("Root", "127.10.0.1").await;
    // In Limbo the box is far away: its commands do not exist for us.
    assert!(answer(&mut c, "open box", NOT_AVAILABLE)
        .await
        .starts_with("Command 'open box' is not available."));
    answer(&mut c, "go garden", "The Garden").await;
    // Two `look`s now: the character's and the box's (object sets merge as duplicates). The
    // player's own commands are numbered first and a lent one names its object (Evennia's
    // get_extra_info), so the character's look (with its aliases) is `look-1` and the box's
    // `look-2`.
    let multi = answer(&mut c, "look", "More than one match").await;
    assert_eq!(
        multi,
        "More than one match for 'look' (please narrow target):\n look-1 [l;ls]\n look-2 (box)"
    );
    assert_eq!(answer(&mut c, "look-2", "The box").await, "The box is closed.");
    assert_eq!(answer(&mut c, "open box", "You").await, "You open the box.");
    assert_eq!(answer(&mut c, "look-2", "The box").await, "The box is open. It is empty.");
    assert!(answer(&mut c, "look-1", "The Garden").await.starts_with("The Garden"));
    // Carried along, the box still lends its commands; put down elsewhere, it does not.
    answer(&mut c, "get box", "You pick up").await;
    answer(&mut c, "go limbo", "Limbo").await;
    assert_eq!(answer(&mut c, "close box", "You").await, "You close the box.");
    answer(&mut c, "drop box", "You drop").await;
    answer(&mut c, "go garden", "The Garden").await;
    assert!(answer(&mut c, "open box", NOT_AVAILABLE)
        .await
        .starts_with("Command 'open box' is not available"));
}

#[tokio::test]
async fn session_account_and_object_stacks_are_providers_and_persistent_ones_survive_a_reload() {
    let host = start("");
    let mut root = host.player_from("Root", "127.10.1.1").await;
    let mut bob = host.player_from("Bob", "127.10.1.2").await;
    root.expect_text("Bob has entered the game.").await;

    // On the account: every session of the account has it, here even in Limbo (the box's
    // commands answer that no box is near, which shows they are merged).
    answer(&mut bob, "cmdsetop add account box", "cmdsetop add").await;
    assert_eq!(answer(&mut bob, "open box", "You").await, "You don't see a box here.");
    assert!(
        answer(&mut root, "open box", NOT_AVAILABLE).await.starts_with("Command"),
        "only Bob's account"
    );
    // On an object in the room: everyone near it; on the room itself: everyone in it.
    answer(&mut root, "cmdsetop add here provtest_noexits", "cmdsetop add").await;
    assert_eq!(answer(&mut root, "provmark", "provmark").await, "provmark noexits");
    assert_eq!(answer(&mut bob, "provmark", "provmark").await, "provmark noexits");
    // A temporary one on the session.
    answer(&mut root, "cmdsetop addtemp session box", "cmdsetop addtemp").await;
    assert_eq!(answer(&mut root, "open box", "You").await, "You don't see a box here.");
    assert_eq!(
        answer(&mut root, "cmdsetop list here", "cmdsets on").await,
        "cmdsets on here: [provtest_noexits]"
    );
    // A temporary one on the pebble... in the garden; and remove works.
    answer(&mut bob, "cmdsetop remove account box", "cmdsetop remove").await;
    assert!(answer(&mut bob, "open box", NOT_AVAILABLE).await.starts_with("Command"));
    answer(&mut bob, "cmdsetop add account box", "cmdsetop add").await;

    root.send_text("reload").await;
    root.expect_text("Server restarted").await;
    bob.expect_text("Server restarted").await;
    // Persistent stacks (account, room) came back from the database; the session's
    // temporary one did not.
    assert_eq!(answer(&mut bob, "open box", "You").await, "You don't see a box here.");
    assert_eq!(answer(&mut bob, "provmark", "provmark").await, "provmark noexits");
    assert!(answer(&mut root, "open box", NOT_AVAILABLE).await.starts_with("Command"));
}

#[tokio::test]
async fn no_objs_hides_objects_commands_and_no_exits_hides_only_exits() {
    let host = start("");
    let mut c = host.player_from("Root", "127.10.2.1").await;
    // The exit `garden` in Limbo carries the box's cmdset: an exit's commands.
    answer(&mut c, "cmdsetop add garden box", "cmdsetop add").await;
    assert_eq!(answer(&mut c, "open box", "You").await, "You don't see a box here.");
    // A session set saying no_exits drops the exit's set.
    answer(&mut c, "cmdsetop addtemp session provtest_noexits", "cmdsetop").await;
    assert!(answer(&mut c, "open box", NOT_AVAILABLE).await.starts_with("Command 'open box'"));
    answer(&mut c, "cmdsetop remove session provtest_noexits", "cmdsetop").await;
    assert_eq!(answer(&mut c, "open box", "You").await, "You don't see a box here.");
    // In the garden, a session set saying no_objs drops the box's set (an ordinary object).
    answer(&mut c, "go garden", "The Garden").await;
    answer(&mut c, "cmdsetop addtemp session provtest", "cmdsetop").await;
    assert_eq!(answer(&mut c, "provmark", "provmark").await, "provmark noobjs");
    assert!(
        answer(&mut c, "look", "The Garden").await.starts_with("The Garden"),
        "no multimatch without the box"
    );
    assert!(answer(&mut c, "open box", NOT_AVAILABLE).await.starts_with("Command 'open box'"));
    answer(&mut c, "cmdsetop remove session provtest", "cmdsetop").await;
    assert_eq!(answer(&mut c, "open box", "You").await, "You open the box.");
}

#[tokio::test]
async fn every_exit_in_the_room_is_a_command_that_moves_you_unless_a_set_says_no_exits() {
    let host = start("");
    let mut root = host.player_from("Root", "127.10.7.1").await;
    let mut bob = host.player_from("Bob", "127.10.7.2").await;
    root.expect_text("Bob has entered the game.").await;
    // Typing an exit's name moves you; the room you leave and the one you reach are told.
    assert!(answer(&mut root, "garden", "The Garden").await.starts_with("The Garden"));
    assert_eq!(
        bob.expect_text("Root is leaving").await,
        "Root is leaving Limbo, heading for The Garden."
    );
    // The garden's exits, not Limbo's: `tower` is not here, `limbo` is.
    assert!(answer(&mut root, "tower", NOT_AVAILABLE)
        .await
        .starts_with("Command 'tower' is not available."));
    assert!(answer(&mut root, "limbo", "Limbo").await.starts_with("Limbo"));
    assert_eq!(bob.expect_text("Root arrives").await, "Root arrives to Limbo from The Garden.");
    // An exit's `aliases` attribute names more ways to take it (`tower` is also `up` and `u`,
    // the tower's `down` also `d`).
    assert!(answer(&mut root, "u", "The Tower").await.starts_with("The Tower"));
    assert!(answer(&mut root, "d", "Limbo").await.starts_with("Limbo"));
    assert!(answer(&mut root, "up", "The Tower").await.starts_with("The Tower"));
    assert!(answer(&mut root, "down", "Limbo").await.starts_with("Limbo"));
    // Nothing may follow an exit's name (Evennia's `^$`); exits are not in `help`.
    assert!(answer(&mut root, "garden now", NOT_AVAILABLE)
        .await
        .starts_with("Command 'garden now' is not available."));
    let help = help_index(&mut root).await;
    assert!(!listed(&help, "garden"), "{help}");
    // A set saying no_exits takes the exits' commands away; `go` still works.
    answer(&mut root, "cmdsetop addtemp session provtest_noexits", "cmdsetop").await;
    assert!(answer(&mut root, "garden", NOT_AVAILABLE)
        .await
        .starts_with("Command 'garden' is not available."));
    assert!(answer(&mut root, "go garden", "The Garden").await.starts_with("The Garden"));
    answer(&mut root, "cmdsetop remove session provtest_noexits", "cmdsetop").await;
    assert!(answer(&mut root, "limbo", "Limbo").await.starts_with("Limbo"));
    // An exit made now is a command at once; one whose creation was undone is not.
    assert!(answer(&mut root, "portal", NOT_AVAILABLE)
        .await
        .starts_with("Command 'portal' is not available."));
    assert_eq!(answer(&mut root, "mkexit portal", "exit").await, "exit portal made");
    assert!(answer(&mut root, "portal", "Limbo").await.starts_with("Limbo"));
    assert!(answer(&mut root, "mkexit hatch fail", "An untrapped")
        .await
        .starts_with("An untrapped error occurred."));
    assert!(answer(&mut root, "hatch", NOT_AVAILABLE)
        .await
        .starts_with("Command 'hatch' is not available."));
    // A set that replaces the character's (provtest_keymerge) takes `go` away, but not the exits:
    // the game's `__exit_command` is a system command, and those survive every merge.
    answer(&mut root, "cmdsetop addtemp here provtest_keymerge", "cmdsetop").await;
    assert!(answer(&mut root, "go garden", NOT_AVAILABLE)
        .await
        .starts_with("Command 'go garden' is not available."));
    assert!(answer(&mut root, "garden", "The Garden").await.starts_with("The Garden"));
}

#[tokio::test]
async fn priority_groups_and_key_mergetypes_apply_across_providers() {
    let host = start("");
    let mut c = host.player_from("Root", "127.10.6.1").await;
    // A Union set lent by the room (priority 0, merged after the character's set in the same
    // priority group): everything stays.
    answer(&mut c, "cmdsetop addtemp here provtest_noexits", "cmdsetop").await;
    assert_eq!(answer(&mut c, "say hi", "You say").await, "You say, \"hi\"");
    answer(&mut c, "cmdsetop remove here provtest_noexits", "cmdsetop").await;
    // Its key_mergetypes make it Replace the CharacterCmdSet inside the priority-0 group: the
    // character's commands go; the account's (priority -10, merged below as Union) and the test
    // module's (priority 1, merged on top) stay, and the account's `look` is no longer hidden by
    // the character's (it answers as Evennia's OOC look does for a puppeting session).
    answer(&mut c, "cmdsetop addtemp here provtest_keymerge", "cmdsetop").await;
    assert_eq!(answer(&mut c, "provmark", "provmark").await, "provmark keymerge");
    assert!(answer(&mut c, "say hi", "Command")
        .await
        .starts_with("Command 'say hi' is not available."));
    assert_eq!(answer(&mut c, "ok", "trouble").await, "trouble ok");
    assert_eq!(
        answer(&mut c, "look", "You currently").await,
        "You currently have no ability to look around."
    );
    answer(&mut c, "cmdsetop remove here provtest_keymerge", "cmdsetop").await;
    assert_eq!(answer(&mut c, "say back", "You say").await, "You say, \"back\"");
}

#[tokio::test]
async fn locks_follow_the_account_permission_which_an_admin_grants_and_which_persists() {
    let host = start("");
    let mut root = host.player_from("Root", "127.10.3.1").await;
    let mut bob = host.player_from("Bob", "127.10.3.2").await;
    root.expect_text("Bob has entered the game.").await;
    // A Player has neither the Builder command nor the admin command, nor sees them in help.
    assert!(answer(&mut bob, "buildertest", NOT_AVAILABLE)
        .await
        .starts_with("Command 'buildertest'"));
    assert!(answer(&mut bob, "perm Root = Developer", NOT_AVAILABLE)
        .await
        .starts_with("Command 'perm"));
    let help = help_index(&mut bob).await;
    assert!(!listed(&help, "buildertest") && !listed(&help, "perm"), "{help}");
    assert_eq!(answer(&mut root, "perm Bob", "Permissions").await, "Permissions on Bob: Player");
    assert!(answer(&mut root, "perm Bob = Wizard", "'Wizard'")
        .await
        .contains("is not a permission"));
    assert_eq!(
        answer(&mut root, "perm Bob = builder", "Permission").await,
        "Permission 'Builder' given to Bob (the Account)."
    );
    assert_eq!(answer(&mut bob, "buildertest", "builder").await, "builder ok");
    let help = help_index(&mut bob).await;
    assert!(listed(&help, "buildertest"), "{help}");
    // Builder is below Developer: still no admin command.
    assert!(answer(&mut bob, "perm Root = Player", NOT_AVAILABLE).await.starts_with("Command"));

    root.send_text("reload").await;
    bob.expect_text("Server restarted").await;
    assert_eq!(answer(&mut bob, "buildertest", "builder").await, "builder ok");
}

#[tokio::test]
async fn help_lists_commands_from_every_provider_the_caller_can_use() {
    let host = start("");
    let mut c = host.player_from("Root", "127.10.4.1").await;
    let help = help_index(&mut c).await;
    // Account (help, who), character (look, say) and test module (ok) commands.
    for key in ["help", "who", "look", "say", "ok"] {
        assert!(listed(&help, key), "{key} missing from:\n{help}");
    }
    assert!(!listed(&help, "open"), "no box nearby");
    answer(&mut c, "go garden", "The Garden").await;
    let help = help_index(&mut c).await;
    assert!(listed(&help, "open"), "{help}");
    assert!(answer(&mut c, "help open", "---").await.contains("Usage:\n  open box"));
}

/// The example character module as built against WIT 0.2.0, before 0.2.1 added
/// `object-contents-packed`: it lists a room with `object-contents-briefs`.
#[tokio::test]
async fn a_module_built_against_wit_0_2_0_serves_on_this_host_beside_current_ones() {
    let host = Host::start_prepared(
        &["unloggedin", "account", "box"],
        r#"cmdset_character = ["character_0_2_0"]"#,
        &[],
        |dir| {
            let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/fixtures/character_0_2_0.wasm");
            std::fs::copy(fixture, dir.join("modules/character_0_2_0.wasm")).unwrap();
        },
    );
    let mut root = host.player_from("Root", "127.10.5.3").await;
    let mut bob = host.player_from("Bob", "127.10.5.4").await;
    let report = answer(&mut root, "modules", "Modules:").await;
    let line = report
        .lines()
        .find(|l| l.starts_with("character_0_2_0 "))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(line.contains("WIT 0.2.0"), "{line}");
    assert!(report.lines().any(|l| l.starts_with("box ") && l.contains("WIT 0.4.0")), "{report}");
    // Its look lists the room through the 0.2.0 import; its exits move you.
    let limbo = answer(&mut root, "look", "Limbo").await;
    assert!(
        limbo.contains("Exits: garden and tower") && limbo.contains("Characters: Bob"),
        "{limbo}"
    );
    assert!(answer(&mut root, "garden", "The Garden").await.contains("You see: box and pebble"));
    assert_eq!(
        bob.expect_text("Root is leaving").await,
        "Root is leaving Limbo, heading for The Garden."
    );
}

/// The example input hook (nick) and session class (chargen) as built against WIT 0.2.1, before
/// 0.3.0: their exports are found by their 0.2 names and their host calls reach the current host.
#[tokio::test]
async fn an_input_hook_and_a_session_class_built_against_wit_0_2_1_serve_on_this_host() {
    let host = Host::start_prepared(
        &["unloggedin", "account", "character", "box", "nick", "chargen"],
        "input_hooks = [\"nick\"]\nsession_class = \"chargen\"\n\
         cmdset_account = [\"account\", \"nick\"]\nmultisession_mode = 2\n\
         max_nr_characters = 3\nmax_nr_simultaneous_puppets = 3\nauto_puppet_on_login = false",
        &[],
        |dir| {
            for m in ["nick", "chargen"] {
                let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(format!("../tests/fixtures/{m}_0_2_1.wasm"));
                std::fs::copy(fixture, dir.join(format!("modules/{m}.wasm"))).unwrap();
            }
        },
    );
    host.create_from("Root", "127.10.5.7").await;
    let mut c = host.login_from("Root", "127.10.5.7").await;
    let report = answer(&mut c, "modules", "Modules:").await;
    for m in ["nick ", "chargen "] {
        let line = report.lines().find(|l| l.starts_with(m)).unwrap_or_else(|| panic!("{report}"));
        assert!(line.contains("WIT 0.2.1"), "{line}");
    }
    // The 0.2.1 session class runs its hooks and its per-session cmdset.
    let started = answer(&mut c, "charcreate", "Character creation").await;
    assert!(started.contains("in this session only"), "{started}");
    assert_eq!(c.expect_oob("prompt").await[1][0], "[chargen: name]");
    assert_eq!(
        answer(&mut c, "name Bea", "Name").await,
        "Name: Bea. Now describe your character: desc <text>."
    );
    // The 0.2.1 input hook rewrites input before the parser.
    assert_eq!(
        answer(&mut c, "nick nb = name Cid", "Inputline").await,
        "Inputline-nick 'nb' mapped to 'name Cid'."
    );
    assert_eq!(
        answer(&mut c, "nb", "Name").await,
        "Name: Cid. Now describe your character: desc <text>."
    );
}

/// Copy the 0.1.0 fixture into a game's modules folder.
fn with_fixture(dir: &Path) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/legacy_0_1_0.wasm");
    std::fs::copy(fixture, dir.join("modules/legacy_0_1_0.wasm")).unwrap();
}

#[tokio::test]
async fn a_module_built_against_wit_0_1_0_loads_and_serves_beside_current_ones() {
    let host = Host::start_prepared(
        &["unloggedin", "account", "character", "box"],
        r#"cmdset_character = ["character", "legacy_0_1_0"]"#,
        &[],
        with_fixture,
    );
    let mut c = host.player_from("Root", "127.10.5.1").await;
    let report = answer(&mut c, "modules", "Modules:").await;
    let line = report
        .lines()
        .find(|l| l.starts_with("legacy_0_1_0 "))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(line.contains("WIT 0.1.0") && line.contains("LegacyCmdSet"), "{line}");
    assert!(
        report.lines().any(|l| l.starts_with("character ") && l.contains("WIT 0.4.0")),
        "{report}"
    );
    // Its host calls (ndb, current session) work as they did, next to current commands.
    let first = answer(&mut c, "oldping hi", "oldpong").await;
    assert!(first.starts_with("oldpong 1 from session ") && first.ends_with(":hi"), "{first}");
    assert!(answer(&mut c, "oldping", "oldpong").await.starts_with("oldpong 2 from session "));
    assert!(answer(&mut c, "look", "Limbo").await.starts_with("Limbo"));
    // Its commands are in the merged help too.
    assert!(listed(&help_index(&mut c).await, "oldping"));
}

/// `object-create` failing in the database ends the command: it used to answer id 0, an object
/// that does not exist, and the command went on with it.
#[tokio::test]
async fn a_database_failure_creating_an_object_ends_the_command_instead_of_answering_a_false_id() {
    let host = start("");
    let mut root = host.player_from("Root", "127.10.9.1").await;
    let db = rusqlite::Connection::open(host.dir.path().join("data/game.sqlite3")).unwrap();
    db.execute_batch(
        "CREATE TRIGGER failing_disk BEFORE INSERT ON objects WHEN NEW.key = 'trapdoor' \
         BEGIN SELECT RAISE(ABORT, 'injected database failure'); END;",
    )
    .unwrap();
    drop(db);
    root.send_text("mkexit trapdoor").await;
    let mut seen = vec![];
    while !seen.last().is_some_and(|t: &String| t.contains("untrapped error")) {
        seen.push(root.next_text().await.expect("connection open"));
    }
    assert_eq!(seen, ["An untrapped error occurred."]);
    assert!(answer(&mut root, "trapdoor", NOT_AVAILABLE)
        .await
        .starts_with("Command 'trapdoor' is not available."));
    // Other objects are created as ever.
    assert_eq!(answer(&mut root, "mkexit portal", "exit").await, "exit portal made");
}
